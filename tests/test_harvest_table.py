"""Variable lists published as CSV and XLSX, harvested over HTTP into the store and the index."""
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from catalogue.fileserver import FileServer
from catalogue.harvest import harvest
from catalogue.models import Period
from support import EU_HEALTH, by_name, search, settings_in, snapshot, write_config

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

    assert [h.record for h in mfr.held_back] == ["variable SVLEN (row 6)"]
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


def test_dataset_whose_contact_has_no_email_is_held_back_as_one_record(tmp_path, fixture_server):
    config = write_config(tmp_path, csv_source(fixture_server.url, contact='{ name = { nb = "MFR" } }'))

    [summary] = harvest(settings_in(tmp_path), config)

    assert {h.record for h in summary.held_back} == {"variable SVLEN (row 6)", "dataset mfr"}
    assert summary.accepted == summary.seen - 2
