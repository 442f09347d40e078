"""Variable lists published as CSV and XLSX, harvested over HTTP into the store and the index."""
import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from catalogue.harvesters.table import parse_date
from catalogue.model.models import Period
from catalogue.pipeline.fileserver import FileServer
from catalogue.pipeline.harvest import harvest
from support import harvest_demo, EU_HEALTH, by_name, corpus, search, settings_in, snapshot, write_config

KLASS_104 = "https://data.ssb.no/api/klass/v1/classifications/104"

CSV_SOURCE = """
[[source]]
id = "mfr"
name = "Medisinsk fødselsregister – variabelliste"
publisher = "fhi"
kind = "table"
url = "{url}/table/mfr-variabler.csv"

[source.columns]
name = "{name}"
label = "Variabel"
label_en = "Variable (English)"
description = "Beskrivelse"
value_type = "Datatype"
unit = "{unit}"
code_list = "Kodeverk"
codes = "Verdier"
start = "Fra"
end = "Til"

[[source.dataset]]
id = "mfr"
title = {{ nb = "Medisinsk fødselsregister", en = "Medical Birth Registry of Norway" }}
description = {{ nb = "Alle fødsler i Norge.", en = "All births in Norway." }}
themes = ["{theme}"]
contact = {contact}
"""

XLSX_SOURCE = """
[[source]]
id = "npr"
name = "Norsk pasientregister – variabelliste"
publisher = "fhi"
kind = "table"
url = "{url}/npr-variabler.xlsx"

[source.columns]
name = "Variabelnavn"
label = "Visningsnavn"
label_en = "English label"
value_type = "Datatype"
start = "Gyldig fra"
end = "Gyldig til"

[[source.dataset]]
id = "npr"
title = {{ nb = "Norsk pasientregister" }}
description = {{ nb = "Aktivitet i spesialisthelsetjenesten." }}
themes = ["{theme}"]
contact = {{ name = {{ nb = "NPR" }}, email = "npr@example.no" }}
"""


def csv_source(url: str, name: str = "Variabelnavn", unit: str = "Enhet",
               contact: str = '{ name = { nb = "MFR" }, email = "mfr@fhi.no" }') -> str:
    """The CSV source; `name` and `unit` are the headers its configuration expects."""
    return CSV_SOURCE.format(url=url, name=name, unit=unit, contact=contact, theme=EU_HEALTH)


@pytest.fixture(scope="session")
def xlsx_server(tmp_path_factory):
    """A workbook laid out the way registries publish them, served over HTTP."""
    folder = tmp_path_factory.mktemp("xlsx")
    book = Workbook()
    sheet = book.active
    sheet.title = "Variabler"
    sheet["A1"] = "Variabelliste for Norsk pasientregister, versjon 2024"
    sheet.merge_cells("A1:F1")
    rows = [
        ["Variabelnavn", "Visningsnavn", "English label", "Datatype", "Gyldig fra", "Gyldig til"],
        ["DIAG", "Hoveddiagnose", "Main diagnosis", "Kode", datetime(2008, 1, 1), None],
        ["PROS", "Prosedyrekode", "Procedure code", "Tekst", "01.01.2008", "2019"],
        ["Merk: prosedyrekodene ble lagt om i 2020.", None, None, None, None, None],
        ["ALDER", "Alder ved kontakt", "Age at contact", "Heltall", 2008, None],
    ]
    for number, row in enumerate(rows, start=3):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=number, column=column, value=value)
    sheet["E4"].number_format = "dd.mm.yyyy"
    notes = book.create_sheet("Merknader")
    notes["A1"] = "Merknader til variabellisten"
    notes["A2"] = "Listen oppdateres årlig."
    book.save(folder / "npr-variabler.xlsx")
    with FileServer(folder) as server:
        yield server


@pytest.fixture(scope="module")
def harvested(tmp_path_factory, fixture_server, xlsx_server):
    """One harvest of the CSV and the XLSX source; the tests read what it left behind."""
    folder = tmp_path_factory.mktemp("table-harvest")
    settings = settings_in(folder)
    config = write_config(folder, csv_source(fixture_server.url)
                          + XLSX_SOURCE.format(url=xlsx_server.url, theme=EU_HEALTH))
    summaries = {s.source: s for s in harvest(settings, config)}
    return settings, summaries


def test_both_sources_are_harvested(harvested):
    settings, summaries = harvested

    assert {s: summaries[s].status for s in ("mfr", "npr")} == {"mfr": "ok", "npr": "ok"}
    assert set(by_name(settings)) == {"FODSELSVEKT", "ROYK", "BOSTED_FYLKE", "DIAG", "PROS", "ALDER"}


@pytest.mark.parametrize("name, label", [
    ("FODSELSVEKT", {"nb": "Fødselsvekt", "en": "Birth weight"}),
    ("ROYK", {"nb": "Røyking i svangerskapet", "en": "Smoking during pregnancy"}),
    ("DIAG", {"nb": "Hoveddiagnose", "en": "Main diagnosis"}),
])
def test_variable_has_its_labels_in_bokmal_and_english(harvested, name, label):
    settings, _ = harvested

    assert by_name(settings)[name].label == label


@pytest.mark.parametrize("text, name", [("fødselsvekt", "FODSELSVEKT"), ("smoking", "ROYK"),
                                        ("hoveddiagnose", "DIAG")])
def test_variable_is_found_by_its_label(harvested, text, name):
    settings, _ = harvested

    assert name in [doc.name for doc in search(settings, text)]


@pytest.mark.parametrize("name, periods", [
    # a year as start is its first day; an empty end is ongoing
    ("FODSELSVEKT", [Period(start=date(1967, 1, 1))]),
    # listed on two rows: both periods, the gap 1999-2001 kept; "1998" as end is its last day
    ("ROYK", [Period(start=date(1967, 1, 1), end=date(1998, 12, 31)), Period(start=date(2002, 1, 1))]),
    ("BOSTED_FYLKE", [Period(start=date(1999, 1, 1), end=date(2017, 12, 31))]),
    ("DIAG", [Period(start=date(2008, 1, 1))]),                              # an Excel date cell
    ("PROS", [Period(start=date(2008, 1, 1), end=date(2019, 12, 31))]),      # "01.01.2008" as text
    ("ALDER", [Period(start=date(2008, 1, 1))]),                             # a year as a number
])
def test_variable_has_its_periods(harvested, name, periods):
    settings, _ = harvested

    assert by_name(settings)[name].periods == periods


def test_inline_codes_become_a_code_list(harvested):
    settings, _ = harvested
    smoking = by_name(settings)["ROYK"]

    rows = snapshot(settings).query(f"""
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?code ?label WHERE {{ ?c skos:inScheme <{smoking.code_list}> ;
                                       skos:notation ?code ; skos:prefLabel ?label }}
        ORDER BY ?code""")

    assert smoking.value_type == "code_list"
    assert [(r["code"].value, r["label"].value) for r in rows] == [("1", "Ja"), ("2", "Nei")]


@pytest.mark.parametrize("name, value_type, code_list, unit", [
    ("BOSTED_FYLKE", "code_list", KLASS_104, None),  # "klass:104"
    ("FODSELSVEKT", "integer", None, "gram"),        # "Heltall"
    ("PROS", "string", None, None),                  # "Tekst"
])
def test_variable_has_its_representation(harvested, name, value_type, code_list, unit):
    settings, _ = harvested
    doc = by_name(settings)[name]

    assert (doc.value_type, doc.code_list, doc.unit) == (value_type, code_list, unit)


def test_row_with_unreadable_date_is_held_back_and_the_rest_goes_through(harvested):
    settings, summaries = harvested
    mfr = summaries["mfr"]

    assert [h.record for h in mfr.held_back] == ["variable mfr/SVLEN"]
    assert "row 6" in mfr.held_back[0].message and "'31.02.2001'" in mfr.held_back[0].message
    assert (mfr.seen - mfr.accepted) == 1
    assert "SVLEN" not in by_name(settings)
    assert {"FODSELSVEKT", "ROYK", "BOSTED_FYLKE"} <= set(by_name(settings))


def test_unreadable_date_message_names_its_column(harvested):
    _, summaries = harvested

    assert "column 'Fra'" in summaries["mfr"].held_back[0].message


def test_notes_sheet_and_stray_note_row_are_not_variables(harvested):
    settings, summaries = harvested

    assert summaries["npr"].held_back == []
    assert {d.name for d in search(settings) if d.source == "npr"} == {"DIAG", "PROS", "ALDER"}


@pytest.mark.parametrize("headers", [
    pytest.param({"unit": "Enhetsnavn"}, id="unit header"),
    pytest.param({"name": "Variabelnavn (kort)"}, id="name header"),
])
def test_missing_column_header_fails_the_source_naming_it(tmp_path, fixture_server, headers):
    config = write_config(tmp_path, csv_source(fixture_server.url, **headers))

    [summary] = harvest(settings_in(tmp_path), config)

    assert summary.status == "failed"
    [missing] = headers.values()
    assert missing in (summary.error or "")


def test_dataset_whose_contact_has_no_email_is_warned_of_as_one_record(tmp_path, fixture_server):
    # DCAT-AP-NO 2 and DCAT-AP ask for no way to reach a contact: a warning, not a refusal.
    config = write_config(tmp_path, csv_source(fixture_server.url, contact='{ name = { nb = "MFR" } }'))

    [summary] = harvest(settings_in(tmp_path), config)

    assert {h.record for h in summary.held_back} == {"variable mfr/SVLEN"}
    assert {w.record for w in summary.warnings if w.path == "dcat:contactPoint"} == {"dataset mfr"}
    assert summary.accepted == summary.seen - 1



# -- Spreadsheets the way registries publish them -----------------------------------


# The [[source]] proposed for catalogue/demo/sources.toml (given in full in the report).
def table_source(url: str, columns: str, extra: str = "") -> str:
    """A one-dataset table source "reg" reading `url` with these column mappings."""
    return f"""
[[source]]
id = "reg"
name = "Registeret – variabelliste"
publisher = "fhi"
kind = "table"
url = "{url}"
{extra}
columns = {{ {columns} }}

[[source.dataset]]
id = "reg"
title = {{ nb = "Registeret" }}
description = {{ nb = "Variabler i registeret." }}
themes = ["{EU_HEALTH}"]
contact = {{ name = {{ nb = "Registeret" }}, email = "register@example.no" }}
"""


@pytest.fixture(scope="module")
def kreftregisteret(tmp_path_factory):
    """The demo Kreftregisteret workbook, harvested with the demo configuration."""
    settings = settings_in(tmp_path_factory.mktemp("kreftregisteret"))
    [summary] = harvest_demo(settings, "kreftregisteret")
    return settings, summary


def test_demo_workbook_is_harvested_without_problems(kreftregisteret):
    settings, summary = kreftregisteret

    assert (summary.status, summary.held_back) == ("ok", [])
    assert {d.name for d in search(settings) if d.dataset == "kreftregisteret/kreftregisteret-livmorhals"} \
        == {"PROVEDATO", "CYTOLOGI", "HPV_RESULTAT", "SCREENINGINTERVALL"}


def test_title_notes_section_rows_and_footnotes_are_not_variables(kreftregisteret):
    settings, _ = kreftregisteret

    # above the header: a merged title and a "Merknad:"; between rows: a note in one cell,
    # a row of blank strings, a section title merged across the row; below: a merged footnote
    assert {d.name for d in search(settings) if d.dataset == "kreftregisteret/kreftregisteret-insidens"} == {
        "PERSONLOPENR", "KJONN", "FODSELSAR", "DIAGNOSEDATO", "ALDER_DIAGNOSE", "ICD10",
        "ICDO3_TOPOGRAFI", "ICDO3_MORFOLOGI", "BASIS", "STADIUM", "TNM_T", "TUMORSTORRELSE",
        "PSA", "DODSDATO"}


@pytest.mark.parametrize("name, periods", [
    ("PERSONLOPENR", [Period(start=date(1953, 1, 1))]),   # "1953" to "d.d."
    ("KJONN", [Period(start=date(1953, 1, 1))]),          # "01.01.1953" to "pågående"
    ("FODSELSAR", [Period(start=date(1953, 1, 1))]),      # a number, no end
    ("DIAGNOSEDATO", [Period(start=date(1953, 1, 1))]),   # an Excel date cell
    ("ALDER_DIAGNOSE", [Period(start=date(1953, 1, 1))]),  # "1.1.1953" to "løpende"
    ("ICD10", [Period(start=date(1953, 1, 1))]),          # to "dd"
    # name and texts merged over two rows, one period on each: the gap 2000-2002 stays
    ("STADIUM", [Period(start=date(1953, 1, 1), end=date(1999, 12, 31)),
                 Period(start=date(2003, 1, 1))]),        # "jan 2003"
    ("TNM_T", [Period(start=date(2014, 1, 1))]),          # "januar 2014"
    ("HPV_RESULTAT", [Period(start=date(2015, 2, 1))]),   # "feb 2015"
])
def test_columns_under_a_merged_header_give_periods(kreftregisteret, name, periods):
    settings, _ = kreftregisteret

    assert by_name(settings)[name].periods == periods


def test_variable_on_two_merged_rows_keeps_its_texts_and_codes(kreftregisteret):
    settings, _ = kreftregisteret
    stage = by_name(settings)["STADIUM"]

    codes = snapshot(settings).query(f"""
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?code WHERE {{ ?c skos:inScheme <{stage.code_list}> ; skos:notation ?code }}
        ORDER BY ?code""")

    assert stage.label == {"nb": "Stadium ved diagnose", "en": "Stage at diagnosis"}
    assert [r["code"].value for r in codes] == ["1", "2", "3", "9"]


@pytest.mark.parametrize("name, value_type, unit, code_list", [
    ("TUMORSTORRELSE", "decimal", "mm", None),
    ("PSA", "decimal", "ng/ml", None),
    ("KJONN", "code_list", None, "https://data.ssb.no/api/klass/v1/classifications/2"),
])
def test_merged_header_columns_give_representations(kreftregisteret, name, value_type, unit, code_list):
    settings, _ = kreftregisteret
    doc = by_name(settings)[name]

    assert (doc.value_type, doc.unit, doc.code_list) == (value_type, unit, code_list)


def test_existing_demo_table_sources_still_harvest(tmp_path):
    """mfr, npr and kpr as catalogue/demo/sources.toml configures them."""
    runs = harvest_demo(settings_in(tmp_path), "mfr", "npr", "kpr")

    assert {r.source: (r.status, r.held_back) for r in runs} == {
        s: ("ok", []) for s in ("mfr", "npr", "kpr")}
    assert all(r.accepted > 50 for r in runs)


# -- A workbook with problems in it --------------------------------------------------

def registry_workbook(rows: int = 0) -> Workbook:
    """An NPR-style sheet: a title, a two-row header in which "Gyldighet" and
    "Registrering" each span a "Fra" and a "Til" column, and variables from row 4.
    `rows` adds variables listed once a year from 1900 (1950 missing) to make it long."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Somatikk"
    sheet["A1"] = "Norsk pasientregister – variabelliste"
    sheet.merge_cells("A1:G1")
    for column, text in enumerate(["Variabelnavn", "Visningsnavn", "Datatype"], start=1):
        sheet.cell(2, column, text)
        sheet.merge_cells(start_row=2, start_column=column, end_row=3, end_column=column)
    sheet["D2"], sheet["F2"] = "Gyldighet", "Registrering"
    sheet.merge_cells("D2:E2")
    sheet.merge_cells("F2:G2")
    sheet["D3"], sheet["E3"], sheet["F3"], sheet["G3"] = "Fra", "Til", "Fra", "Til"
    variables = [[f"VAR{n:02}", f"Variabel {n}", "Tekst", "01.01.2008", None, "2008", None]
                 for n in range(4, 30)]
    variables[13] = ["KONTAKTTYPE", "Kontakttype", "Kode", "1.1.2008", "1.13.2015", None, None]
    variables[14] = ["OMSORGSNIVA", None, "Kode", "2008", None, None, None]
    for number, values in enumerate(variables, start=4):
        for column, value in enumerate(values, start=1):
            sheet.cell(number, column, value)
    for n in range(rows):
        year = 1900 + n % 125
        if year != 1950:
            sheet.append([f"AAR{n // 125:03}", "Årsvariabel", "Heltall", f"01.01.{year}",
                          f"31.12.{year}", None, None])
    return book


def serve_workbook(folder: Path, book: Workbook, name: str = "variabler.xlsx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    book.save(folder / name)
    return folder / name


NPR_COLUMNS = ('name = "Variabelnavn", label = "Visningsnavn", value_type = "Datatype", '
               'start = "Gyldighet Fra", end = "Gyldighet Til"')


@pytest.fixture(scope="module")
def workbook_harvest(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workbook")
    serve_workbook(folder / "served", registry_workbook())
    settings = settings_in(folder)
    with FileServer(folder / "served") as server:
        [summary] = harvest(settings, write_config(
            folder, table_source(f"{server.url}/variabler.xlsx", NPR_COLUMNS)))
    return settings, summary


def test_unreadable_date_holds_back_its_row_naming_sheet_row_and_column(workbook_harvest):
    settings, summary = workbook_harvest
    held = {h.record: h.message for h in summary.held_back}

    assert "variable reg/KONTAKTTYPE" in held
    assert held["variable reg/KONTAKTTYPE"].startswith(
        "sheet 'Somatikk', row 17, column 'Gyldighet Til': cannot read '1.13.2015' as a date")
    assert summary.status == "ok" and "KONTAKTTYPE" not in by_name(settings)


def test_row_without_a_label_is_held_back_naming_the_column(workbook_harvest):
    _, summary = workbook_harvest

    assert {h.record: h.message for h in summary.held_back}["variable reg/OMSORGSNIVA"] \
        == "sheet 'Somatikk', row 18, column 'Visningsnavn': no label for variable 'OMSORGSNIVA'"


def test_other_rows_of_the_workbook_go_through(workbook_harvest):
    settings, summary = workbook_harvest

    assert len(summary.held_back) == 2
    assert len(by_name(settings)) == 24
    assert by_name(settings)["VAR04"].periods == [Period(start=date(2008, 1, 1))]


@pytest.mark.parametrize("columns, message", [
    pytest.param('name = "Variabelnavn", label = "Visningsnavn", start = "Fra"',
                 "configured column 'Fra' is 'Gyldighet Fra' and 'Registrering Fra': name it in full",
                 id="ambiguous"),
    pytest.param('name = "Variabelnavn", label = "Visningsnavn", start = "Gyldig fra"',
                 "sheet 'Somatikk', header row 2-3 lacks the configured column(s) ['Gyldig fra'] "
                 "(found: ['Variabelnavn', 'Visningsnavn', 'Datatype', 'Gyldighet Fra', "
                 "'Gyldighet Til', 'Registrering Fra', 'Registrering Til'])", id="missing"),
])
def test_header_that_does_not_fit_the_mapping_fails_the_source(tmp_path, serve, columns, message):
    url = serve(serve_workbook(tmp_path / "served", registry_workbook()).parent).url

    [summary] = harvest(settings_in(tmp_path), write_config(
        tmp_path, table_source(f"{url}/variabler.xlsx", columns)))

    assert summary.status == "failed"
    assert summary.error.startswith(f"{url}/variabler.xlsx: ") and message in summary.error


def test_header_column_is_matched_by_its_last_part_and_ignoring_case(tmp_path, serve):
    url = serve(serve_workbook(tmp_path / "served", registry_workbook()).parent).url
    columns = 'name = "VARIABELNAVN", label = "visningsnavn", start = "gyldighet fra", end = "Gyldighet\\nTil"'

    [summary] = harvest(settings := settings_in(tmp_path), write_config(
        tmp_path, table_source(f"{url}/variabler.xlsx", columns)))

    assert summary.status == "ok"
    assert by_name(settings)["VAR05"].periods == [Period(start=date(2008, 1, 1))]


def test_workbook_with_a_wrong_stored_size_is_read_to_its_last_row(tmp_path, serve):
    """Some writers store <dimension ref="A1"/>; a read-only reader trusting it sees one cell."""
    path = serve_workbook(tmp_path / "served", registry_workbook())
    content = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(content, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', data)
            target.writestr(item, data)
    path.write_bytes(content.getvalue())
    url = serve(path.parent).url

    [summary] = harvest(settings := settings_in(tmp_path), write_config(
        tmp_path, table_source(f"{url}/variabler.xlsx", NPR_COLUMNS)))

    assert summary.status == "ok" and len(by_name(settings)) == 24


def test_long_yearly_listing_is_read_and_its_periods_joined(tmp_path, serve):
    """20 000 rows: each of 160 variables listed once a year; years next to each other join."""
    url = serve(serve_workbook(tmp_path / "served", registry_workbook(rows=20_000)).parent).url

    [summary] = harvest(settings := settings_in(tmp_path), write_config(
        tmp_path, table_source(f"{url}/variabler.xlsx", NPR_COLUMNS)))

    [count] = snapshot(settings).query("""
        PREFIX dct: <http://purl.org/dc/terms/>
        SELECT (COUNT(?v) AS ?n) WHERE { ?v dct:identifier ?name FILTER(STRSTARTS(?name, "AAR")) }""")
    assert summary.status == "ok" and int(count["n"].value) == 160
    assert by_name(settings)["AAR000"].periods == [Period(start=date(1900, 1, 1), end=date(1949, 12, 31)),
                                      Period(start=date(1951, 1, 1), end=date(2024, 12, 31))]


# -- A CSV saved by Excel on Norwegian Windows ------------------------------------------

HJERTE_KAR = ('name = "Variabelnavn", label = "Variabel", value_type = "Datatype", '
              'unit = "Enhet", start = "Gyldighet Fra", end = "Til"')


@pytest.fixture(scope="module")
def hjerte_kar(tmp_path_factory, fixture_server):
    """Windows-1252 (as its encoding option says), a title and a "Merknad:" above a
    two-row header (header_rows = 2), blank rows, a note, a repeated header and a footnote."""
    folder = tmp_path_factory.mktemp("hjerte-kar")
    settings = settings_in(folder)
    [summary] = harvest(settings, write_config(folder, table_source(
        f"{fixture_server.url}/table/hjerte-kar-variabler.csv", HJERTE_KAR,
        'header_rows = 2\nencoding = "cp1252"')))
    return settings, summary


def test_csv_in_windows_1252_with_notes_yields_only_its_variables(hjerte_kar):
    settings, summary = hjerte_kar

    assert summary.status == "ok"
    assert set(by_name(settings)) == {"HJERTEINFARKT", "KOLESTEROL", "BLODTRYKK_SYS", "KREATININ",
                                      "BMI", "ROYKING", "HJERTESVIKT"}
    assert by_name(settings)["ROYKING"].label == {"nb": "Røykestatus"}
    assert by_name(settings)["KREATININ"].unit == "µmol/l"


@pytest.mark.parametrize("name, periods", [
    ("HJERTEINFARKT", [Period(start=date(2012, 1, 1))]),                   # 2012 to d.d.
    ("KOLESTEROL", [Period(start=date(2012, 1, 1))]),                      # jan 2012
    ("BLODTRYKK_SYS", [Period(start=date(2014, 1, 1))]),                   # to løpende
    ("KREATININ", [Period(start=date(2014, 1, 1))]),                       # "2014,0"
    ("BMI", [Period(start=date(2013, 1, 1))]),                             # Excel day 41275 as text
    ("ROYKING", [Period(start=date(2015, 3, 1))]),                         # mars 2015
    ("HJERTESVIKT", [Period(start=date(2012, 1, 1), end=date(2020, 12, 31))]),
])
def test_csv_dates_in_norwegian_forms(hjerte_kar, name, periods):
    settings, _ = hjerte_kar

    assert by_name(settings)[name].periods == periods


def test_csv_bad_date_names_row_and_column(hjerte_kar):
    _, summary = hjerte_kar

    assert [(h.record, h.message) for h in summary.held_back] == [(
        "variable reg/UTSKRIVNING",
        "row 15, column 'Til': cannot read '31.02.2019' as a date (use 1999, 01.01.1999, "
        "januar 1999, 1999-01-01, or d.d. for an open end)")]


@pytest.mark.parametrize("value, end, expected", [
    ("01.01.2010", False, date(2010, 1, 1)),
    ("1.1.2010", False, date(2010, 1, 1)),
    ("31.12.2010 00:00", True, date(2010, 12, 31)),  # a date with a time, as CSV exports have it
    ("2010", False, date(2010, 1, 1)),
    ("2010", True, date(2010, 12, 31)),
    (2010.0, True, date(2010, 12, 31)),               # a year as a number cell
    ("2010,0", False, date(2010, 1, 1)),              # ... and as text with a decimal comma
    ("jan 2010", False, date(2010, 1, 1)),
    ("Januar 2010", True, date(2010, 1, 31)),
    ("feb. 2012", True, date(2012, 2, 29)),
    ("1. mars 2010", False, date(2010, 3, 1)),
    ("12.2010", True, date(2010, 12, 31)),
    ("2010-06", False, date(2010, 6, 1)),
    ("2010-06-15", False, date(2010, 6, 15)),
    (datetime(2010, 6, 15, 12, 0), False, date(2010, 6, 15)),
    (40179, False, date(2010, 1, 1)),                 # an Excel day number without date format
    ("d.d.", True, None), ("dd", True, None), ("pågående", True, None), ("Løpende", True, None),
    ("", True, None),
])
def test_date_forms(value, end, expected):
    assert parse_date(value, end=end) == expected


@pytest.mark.parametrize("value", ["2 010", "2010,5", "31.02.2019", "1.13.2015", "smarch 2010",
                                   "ja 2010", "123"])
def test_unreadable_dates_are_errors(value):
    with pytest.raises(ValueError, match="cannot read"):
        parse_date(value, end=False)


def test_open_end_word_as_a_start_is_an_error():
    with pytest.raises(ValueError, match="'pågående' means an open end, not a start"):
        parse_date("pågående", end=False)


# -- Corpus CSV files ------------------------------------------------------------------

# None of these is a variable list: the CSVW ones are data tables (weather, countries,
# events) whose columns are described by the CSVW metadata JSON beside them; the
# microdata.no ones are headerless data files (unit id;value;start;stop;attributes) whose
# variable is described by the JSON file of the same name. Harvested as a variable list,
# each fails cleanly, naming the file and showing what its first row holds instead.
CORPUS_CSV = ["csvw/cambornedata-snippet.csv", "csvw/countries.csv", "csvw/country_slice.csv",
              "csvw/events-listing.csv"] + [
    f"microdata-no/input-metadata/valid/BEFOLKNING_{n}.csv"
    for n in ("BOSTED", "INNTEKT", "KJOENN", "SIVILSTAND")]


def test_every_corpus_csv_is_listed_here():
    folder = corpus("variables")

    assert sorted(str(p.relative_to(folder)) for pattern in
                  ("csvw/*.csv", "microdata-no/input-metadata/valid/*.csv")
                  for p in folder.glob(pattern)) == sorted(CORPUS_CSV)


@pytest.mark.parametrize("path", CORPUS_CSV)
def test_corpus_csv_that_is_no_variable_list_fails_naming_the_file(tmp_path, serve, path):
    url = f"{serve(corpus('variables')).url}/{path}"
    delimiter = "," if path.startswith("csvw/") else ";"

    [summary] = harvest(settings_in(tmp_path), write_config(tmp_path, table_source(
        url, 'name = "Variabelnavn", label = "Variabel"', f'delimiter = "{delimiter}"')))

    assert summary.status == "failed"
    assert summary.error.startswith(f"{url}: no header row with the configured name column "
                                    f"'Variabelnavn' in its first 30 rows (first row with text: [")
