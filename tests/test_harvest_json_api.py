"""JSON variable search APIs and metadata services (helsedata.no-, microdata.no-style),
harvested over HTTP through a mapping written in the sources configuration."""
import json
from datetime import date

import pytest

from catalogue.model.models import CodeList, Period
from catalogue.pipeline.fileserver import FileServer
from catalogue.pipeline.harvest import harvest
from catalogue.profiles.dcat_ap_no_3 import from_graph
from support import (harvest_demo, BASE_URI, EU_HEALTH, by_name, corpus, graph_lines, search, settings_in,
                     snapshot, write_config)


DATASET = """
[[source.dataset]]
id = "{id}"
title = {{ nb = "{title}" }}
description = {{ nb = "Variabler fra {title}." }}
themes = ["{theme}"]
contact = {{ name = {{ nb = "{title}" }}, email = "kontakt@example.no" }}
"""

# A helsedata.no-style search: pages linked by `lenker.neste`, the registry named in each item.
SEARCH_SOURCE = """
[[source]]
id = "sok"
name = "Variabelsøk"
publisher = "fhi"
kind = "json-api"
url = "{url}/json-api/variabelsok/variabler.json"
items = "variabler"
paging = {{ next = "lenker.neste", max_pages = {max_pages} }}

[source.fields]
name = "navn"
label = {{ nb = "tittel.nb", en = "tittel.en" }}
description = {{ nb = "beskrivelse.nb" }}
dataset = "register.kode"
dataset_title = {{ nb = "register.navn" }}
value_type = "datatype"
unit = "enhet"
start = "fra"
end = "til"
codes = {{ items = "kodeverk", code = "kode", label = {{ nb = "navn" }}, valid_from = "gyldigFra", valid_until = "gyldigTil" }}
"""
REGISTRIES = {"NHKR": "Norsk hjerte- og karregister", "RESEPT": "Reseptregisteret"}

PAGED_SOURCE = """
[[source]]
id = "sider"
name = "Sidevis API"
publisher = "fhi"
kind = "json-api"
url = "{url}/json-api/{folder}/variabler"
items = "content"
paging = {{ {paging} }}
fields = {{ name = "name", label = {{ nb = "label" }}, start = "from", end = "to" }}
"""


def datasets(titles: dict[str, str]) -> str:
    """`[[source.dataset]]` tables for the source above them, by id and title."""
    return "".join(DATASET.format(id=id, title=title, theme=EU_HEALTH) for id, title in titles.items())


def search_source(url: str, max_pages: int = 10, any_registry: bool = True) -> str:
    return SEARCH_SOURCE.format(url=url, max_pages=max_pages) + datasets(
        REGISTRIES | ({"*": "Register"} if any_registry else {}))


def paged_source(url: str, folder: str, paging: str) -> str:
    return PAGED_SOURCE.format(url=url, folder=folder, paging=paging) + datasets(
        {"dar": "Dødsårsaksregisteret"})


def codes(code_list: CodeList) -> list[tuple[str, str]]:
    return [(c.notation, c.label.get("nb", "")) for c in code_list.concepts]


# -- a search API with next links ---------------------------------------------------

@pytest.fixture
def searched(settings, fixture_server, make_config):
    [summary] = harvest(settings, make_config(search_source(fixture_server.url)))
    return settings, summary


def test_every_page_is_harvested_and_bad_items_are_held_back(searched):
    settings, summary = searched

    assert summary.status == "ok"
    assert set(by_name(settings)) == {"INFARKT_TYPE", "SYSTOLISK_BT", "ATC_KODE", "OMSORGSNIVA"}
    assert {h.record for h in summary.held_back} == {"variable UTLEVERINGSDATO (dataset RESEPT)",
                                                     "variable BLODTYPE (dataset NHKR)"}


def test_a_changed_item_makes_its_records_again_and_the_rest_are_taken_as_stored(
        tmp_path, settings, fixture_copy, serve, make_config):
    """An item is what its variable and code lists are made from: after one item changed, a
    harvest makes its records and the datasets (whose coverage reads every variable), and
    takes the others as stored; the graph is what a harvest into an empty data directory makes."""
    folder = fixture_copy("json-api")
    config = make_config(search_source(serve(folder.parent).url))
    [first] = harvest(settings, config)
    page = folder / "variabelsok" / "variabler.json"
    body = json.loads(page.read_text(encoding="utf-8"))
    body["variabler"][1]["tittel"]["nb"] = "Systolisk blodtrykk (endret)"
    page.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    [again] = harvest(settings, config)
    made = again.seen - again.held_back_records - again.reused
    # SYSTOLISK_BT, and the datasets NHKR, RESEPT and NPR (the last from the star entry)
    assert (first.reused, again.status, again.changed, made) == (0, "ok", 1, 4)
    assert by_name(settings)["SYSTOLISK_BT"].label["nb"] == "Systolisk blodtrykk (endret)"
    fresh = settings_in(tmp_path / "fresh")
    assert [r.status for r in harvest(fresh, config)] == ["ok"]
    assert graph_lines(settings, "sok") == graph_lines(fresh, "sok")


@pytest.mark.parametrize("record, fragments", [
    ("variable UTLEVERINGSDATO (dataset RESEPT)", ["page 2, item 2", "'fra'", "våren 2004"]),
    ("variable BLODTYPE (dataset NHKR)", ["page 3, item 2", "'datatype'", "unknown value type 'blodgruppe'"]),
])
def test_held_back_item_names_page_item_and_field(searched, record, fragments):
    _, summary = searched
    [message] = [h.message for h in summary.held_back if h.record == record]

    assert all(f in message for f in fragments), message


def test_variables_have_labels_periods_types_and_units(searched):
    settings, _ = searched
    docs = by_name(settings)

    assert docs["SYSTOLISK_BT"].label == {"nb": "Systolisk blodtrykk ved innkomst",
                                          "en": "Systolic blood pressure on admission"}
    assert docs["SYSTOLISK_BT"].periods == [Period(start=date(2012, 1, 1), end=date(2020, 12, 31))]
    assert (docs["SYSTOLISK_BT"].value_type, docs["SYSTOLISK_BT"].unit) == ("integer", "mmHg")
    assert docs["ATC_KODE"].periods == [Period(start=date(2004, 1, 1))]  # no end: ongoing
    assert docs["ATC_KODE"].dataset_title == {"nb": "Reseptregisteret"}
    assert "ATC_KODE" in [d.name for d in search(settings, "legemiddel")]


def test_registry_not_configured_gets_a_dataset_from_the_star_entry(searched):
    settings, _ = searched

    assert by_name(settings)["OMSORGSNIVA"].dataset_title == {"nb": "Norsk pasientregister"}


def test_registry_not_configured_is_held_back_without_a_star_entry(settings, fixture_server, make_config):
    [summary] = harvest(settings, make_config(search_source(fixture_server.url, any_registry=False)))

    [message] = [h.message for h in summary.held_back if "OMSORGSNIVA" in h.record]
    assert "field 'register.kode'" in message and "dataset 'NPR' is not one of" in message
    assert "OMSORGSNIVA" not in by_name(settings)


def test_codes_with_validity_make_one_version_per_period(searched):
    settings, _ = searched
    graph = snapshot(settings).to_graph()
    uri = BASE_URI + "id/codelist/sok/NHKR/INFARKT_TYPE"
    whole = from_graph(CodeList, graph, uri)
    first, second = (from_graph(CodeList, graph, v) for v in whole.versions)

    assert by_name(settings)["INFARKT_TYPE"].code_list == uri
    assert whole.periods == [Period(start=date(2012, 1, 1))]
    assert first.periods == [Period(start=date(2012, 1, 1), end=date(2017, 12, 31))]
    assert codes(first) == [("1", "Type 1 – spontant infarkt"), ("2", "Type 2 – sekundært infarkt"),
                            ("3", "Uspesifisert")]
    assert second.periods == [Period(start=date(2018, 1, 1))]
    assert [c for c, _ in codes(second)] == ["1", "2", "4"]


def test_codes_without_validity_make_one_code_list(searched):
    settings, _ = searched
    uri = by_name(settings)["OMSORGSNIVA"].code_list
    code_list = from_graph(CodeList, snapshot(settings).to_graph(), uri)

    assert code_list.versions == []
    assert codes(code_list) == [("1", "Døgnopphold"), ("3", "Poliklinisk kontakt")]


def test_more_pages_than_allowed_fails_the_source(settings, fixture_server, make_config):
    [summary] = harvest(settings, make_config(search_source(fixture_server.url, max_pages=2)))

    assert summary.status == "failed"
    assert "more than paging.max_pages = 2 pages" in summary.error


# -- page-numbered APIs -------------------------------------------------------------

def test_page_parameter_paging_stops_at_the_empty_page(settings, fixture_server, make_config):
    config = make_config(paged_source(fixture_server.url, "sider",
                                      'page_param = "page", size_param = "size", page_size = 2'))
    [summary] = harvest(settings, config)

    assert (summary.status, summary.held_back) == ("ok", [])
    assert set(by_name(settings)) == {"KJONN", "FODSELSAR", "DODSDATO", "BOSTEDSKOMMUNE"}
    assert by_name(settings)["BOSTEDSKOMMUNE"].periods == [Period(start=date(1951, 1, 1),
                                                                  end=date(2019, 12, 31))]


def test_page_that_repeats_the_one_before_fails_the_source(settings, fixture_server, make_config):
    config = make_config(paged_source(fixture_server.url, "gjentar", 'page_param = "page"'))
    [summary] = harvest(settings, config)

    assert summary.status == "failed"
    assert "variabler?page=1" in summary.error and "page 2 repeats the items of page 1" in summary.error


def test_broken_json_fails_naming_url_and_line(settings, fixture_server, make_config):
    source = paged_source(fixture_server.url, "sider", "").replace(
        "/json-api/sider/variabler", "/json-api/broken.json")
    [summary] = harvest(settings, make_config(source))

    assert summary.status == "failed"
    assert f"{fixture_server.url}/json-api/broken.json: not JSON" in summary.error
    assert "line 4" in summary.error


def test_unreadable_path_in_the_mapping_fails_naming_the_option(settings, fixture_server, make_config):
    source = paged_source(fixture_server.url, "sider", "").replace(
        'name = "name"', 'name = "name[0"')
    [summary] = harvest(settings, make_config(source))

    assert summary.status == "failed"
    assert "fields.name" in summary.error and "'name[0'" in summary.error


# -- microdata.no metadata (shared corpus) --------------------------------------------

MICRODATA = """
[[source]]
id = "{id}"
name = "microdata.no – {id}"
publisher = "ssb"
kind = "json-api"
url = "{url}"

[source.fields]
name = "{name}"
label = {{ nb = "measureVariables[].name[languageCode=no].value", en = "measureVariables[].name[languageCode=en].value" }}
description = {{ nb = "measureVariables[].description[languageCode=no].value" }}
value_type = "measureVariables[].dataType"
unit = "measureVariables[].valueDomain.measurementUnitDescription[languageCode=no].value"
start = "dataRevision.temporalCoverageStart"
end = "dataRevision.temporalCoverageLatest"

[source.fields.codes]
items = "measureVariables[].valueDomain.codeList"
label = {{ nb = "categoryTitle[languageCode=no].value" }}
valid_from = "validFrom"
valid_until = "validUntil"
value_types = ["STRING"]

[source.value_types]
LONG = "http://www.w3.org/2001/XMLSchema#integer"
DOUBLE = "http://www.w3.org/2001/XMLSchema#decimal"
"""

# microdata.no's input metadata has no name of its own (its file name is the name) and
# must follow the rules of microdata-tools' metadata model.
INPUT_CHECKS = """
[source.checks]
required = ["temporalityType", "sensitivityLevel", "populationDescription", "subjectFields",
            "dataRevision.description", "identifierVariables", "measureVariables"]
[source.checks.allowed]
temporalityType = ["FIXED", "STATUS", "ACCUMULATED", "EVENT"]
sensitivityLevel = ["PERSON_GENERAL", "PERSON_SPECIAL", "PUBLIC", "NONPUBLIC"]
"identifierVariables[].unitType" = ["JOBB", "KJORETOY", "FAMILIE", "FORETAK", "HUSHOLDNING", "KOMMUNE",
    "KURS", "PERSON", "VIRKSOMHET", "BK_HELSESTASJONSKONSULTASJON", "NPR_EPISODE", "HKDIR_STUDIESOKNAD",
    "SOSTIL", "TRAFIKKULYKKE", "TRAFIKKULYKKE_PERSON", "MALEPUNKT", "KRG_KREFTTILFELLE"]
"measureVariables[].dataType" = ["STRING", "LONG", "DATE", "DOUBLE"]
[source.checks.keys]
"" = ["temporalityType", "sensitivityLevel", "populationDescription", "spatialCoverageDescription",
      "subjectFields", "dataRevision", "identifierVariables", "measureVariables"]
dataRevision = ["description", "temporalEnd"]
identifierVariables = ["unitType"]
"measureVariables" = ["unitType", "name", "description", "dataType", "uriDefinition", "format", "valueDomain"]
"measureVariables[].valueDomain.codeList" = ["code", "categoryTitle", "validFrom", "validUntil"]
"""

MICRODATA_FOLDER = ("variables", "microdata-no")
PROCESSED = ["SYNT_BEFOLKNING_SIVSTAND", "SYNT_PERSON_INNTEKT", "SYNT_PERSON_MOR", "SYNT_UTDANNING"]
INPUT_VALID = ["BEFOLKNING_BOSTED", "BEFOLKNING_INNTEKT", "BEFOLKNING_KJOENN", "BEFOLKNING_SIVILSTAND",
               "VALID_minimal"]
INPUT_INVALID = {
    "EMPTY_CODELIST": "field 'measureVariables[].valueDomain.codeList': the code list is empty",
    "EXTRA_FIELDS": "field 'dataRevision': unknown key 'newTypeOfField'",
    "INVALID_SENSITIVITY": "field 'sensitivityLevel': 'UNKNOWN' is not one of",
    "INVALID_UNIT_TYPE": "field 'identifierVariables[].unitType': 'IKKE_EN_UNIT_TYPE' is not one of",
    "MISMATCHING_DATATYPE_WITH_CODELIST": "field 'measureVariables[].dataType': a variable of type 'LONG' "
                                          "cannot have a code list",
    "MISSING_IDENTIFIER": "field 'identifierVariables' is missing",
}


@pytest.fixture(scope="module")
def microdata(tmp_path_factory):
    """Every microdata.no JSON file of the corpus, each as a source of its own, harvested once."""
    folder = corpus(*MICRODATA_FOLDER)
    tmp = tmp_path_factory.mktemp("microdata")
    with FileServer(folder) as server:
        dataset = datasets({"microdata": "microdata.no"})
        sources = [MICRODATA.format(id=stem.lower(), name="shortName",
                                    url=f"{server.url}/processed-metadata/{stem}.json") + dataset
                   for stem in PROCESSED]
        sources += [MICRODATA.format(id=stem.lower(), name="@file",
                                     url=f"{server.url}/input-metadata/{kind}/{stem}.json")
                    + INPUT_CHECKS + dataset
                    for kind, stems in (("valid", INPUT_VALID), ("invalid", INPUT_INVALID))
                    for stem in stems]
        settings = settings_in(tmp)
        summaries = harvest(settings, write_config(tmp, "".join(sources)))
    return settings, {s.source: s for s in summaries}


@pytest.mark.parametrize("stem", PROCESSED + INPUT_VALID)
def test_microdata_valid_file_is_accepted_whole(microdata, stem):
    settings, summaries = microdata
    summary = summaries[stem.lower()]

    assert (summary.status, summary.held_back) == ("ok", [])
    assert summary.accepted == summary.seen >= 2  # the variable and its dataset, at least
    assert stem in by_name(settings)


@pytest.mark.parametrize("stem, message", INPUT_INVALID.items())
def test_microdata_invalid_input_is_held_back_naming_the_field(microdata, stem, message):
    _, summaries = microdata
    summary = summaries[stem.lower()]

    assert summary.status == "ok"
    assert f"variable {stem} (dataset microdata)" in {h.record for h in summary.held_back}
    assert any(message in h.message for h in summary.held_back), [h.message for h in summary.held_back]


def test_microdata_processed_metadata_has_temporal_coverage_types_and_units(microdata):
    settings, _ = microdata
    docs = by_name(settings)

    assert docs["SYNT_BEFOLKNING_SIVSTAND"].periods == [Period(start=date(1920, 1, 1), end=date(1951, 1, 2))]
    assert docs["SYNT_PERSON_INNTEKT"].value_type == "integer"
    assert docs["SYNT_PERSON_INNTEKT"].unit == "Norske Kroner"
    assert docs["BEFOLKNING_KJOENN"].label == {"nb": "Befolkning kjønn"}


def test_microdata_code_list_has_a_version_per_validity_period(microdata):
    settings, _ = microdata
    graph = snapshot(settings).to_graph()
    whole = from_graph(CodeList, graph, by_name(settings)["SYNT_BEFOLKNING_SIVSTAND"].code_list)
    versions = [from_graph(CodeList, graph, v) for v in whole.versions]

    assert [v.periods for v in versions] == [[Period(start=date(1926, 1, 1), end=date(1927, 6, 30))],
                                             [Period(start=date(1927, 7, 1))]]
    assert [c for c, _ in codes(versions[0])] == ["1", "2", "3", "4", "5"]
    assert codes(versions[1])[-1] == ("9", "Gjenlevende partner")


# -- the demo sources -------------------------------------------------------------------

def test_demo_sources_harvest_cleanly(settings):
    summaries = {s.source: s for s in harvest_demo(settings, "helsedata-variabelsok", "microdata")}

    assert {k: (s.status, s.held_back) for k, s in summaries.items()} == {
        "helsedata-variabelsok": ("ok", []), "microdata": ("ok", [])}
    docs = by_name(settings)
    assert len([d for d in docs.values() if d.source == "helsedata-variabelsok"]) == 20  # 8 + 8 + 4
    assert docs["HJERTESVIKT_NYHA"].periods == [Period(start=date(2012, 1, 1), end=date(2019, 12, 31))]
    assert docs["RESEPTTYPE"].dataset_title["nb"] == "Reseptregisteret"
    sivstand = from_graph(CodeList, snapshot(settings).to_graph(), docs["BEFOLKNING_SIVSTAND"].code_list)
    assert sivstand.periods == [Period(start=date(1970, 1, 1))] and len(sivstand.versions) == 2
    assert "BEFOLKNING_KJOENN" in [d.name for d in search(settings, "kjønn")]
