"""Real code lists harvested from files over HTTP (the `codelist` kind): Norwegian ICD-10
and ICPC-2 in their yearly versions and FHI's ATC tree, from the shared corpus served in
place on 127.0.0.1; their validity, what changed between versions, their page, /catalog,
and variables of a table source that point to them."""
from __future__ import annotations

import json
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS

from catalogue.model.models import CodeList, Period
from catalogue.pipeline.fileserver import FileServer
from catalogue.pipeline.harvest import harvest
from catalogue.profiles.dcat_ap_no_3 import from_graph
from catalogue.site.app import create_app
from support import BASE_URI, by_name, corpus, described, settings_in, snapshot, write_config

LISTS = f"{BASE_URI}id/codelist/"
ICD10, ICPC2, ATC = LISTS + "icd10/icd10", LISTS + "icpc2/icpc2", LISTS + "atc/atc"
YEARS = ["2023", "2024", "2025", "2026"]
REMOVED_2026 = ["M1906", "M1916", "M1926", "M1986", "M1996"]

SOURCES = """
[[source]]
id = "icd10"
name = "ICD-10"
publisher = "fhi"
kind = "codelist"
url = "{url}/icd10-no/ICD10_{{version}}.json"
title = {{ nb = "ICD-10", en = "ICD-10" }}
identifier = "ICD-10"
versions = ["2023", "2024", "2025", "2026"]

[[source]]
id = "icpc2"
name = "ICPC-2"
publisher = "fhi"
kind = "codelist"
url = "{url}/icpc2-no/ICPC2_{{version}}.json"
title = {{ nb = "ICPC-2" }}
versions = ["2023", "2024", "2025", "2026"]

[[source]]
id = "atc"
name = "ATC"
publisher = "fhi"
kind = "codelist"
url = "{url}/atc-no/ATC_no_FHI_tree.derived.csv"
title = {{ nb = "ATC-klassifikasjonen" }}
fields = {{ code = "code", label = {{ nb = "name_nb" }}, parent = "parent" }}

[[source]]
id = "registre"
name = "Variabler som bruker kodeverkene"
publisher = "fhi"
kind = "table"
url = "{variables}/variabler.csv"
code_lists = {{ kodeverk = "{lists}" }}
columns = {{ name = "Navn", label = "Tittel", code_list = "Kodeverk" }}

[[source.dataset]]
id = "register"
title = {{ nb = "Et register" }}
description = {{ nb = "Diagnoser og legemidler." }}
themes = ["http://publications.europa.eu/resource/authority/data-theme/HEAL"]
contact = {{ name = {{ nb = "Registeret" }}, email = "register@example.no" }}
"""
VARIABLES = """Navn;Tittel;Kodeverk
hovedtilstand;Hovedtilstand;kodeverk:icd10/icd10
diagnoseICPC2;Diagnose (ICPC-2);kodeverk:icpc2/icpc2
atc;Legemiddel (ATC);kodeverk:atc/atc
"""


@pytest.fixture(scope="module")
def harvested(tmp_path_factory):
    """The three code lists and a table source pointing to them, harvested once."""
    lists = corpus("codelists")
    folder = tmp_path_factory.mktemp("codelists")
    (folder / "served").mkdir()
    (folder / "served" / "variabler.csv").write_text(VARIABLES, encoding="utf-8")
    settings = settings_in(folder)
    with FileServer(lists) as files, FileServer(folder / "served") as variables:
        config = write_config(folder, SOURCES.format(url=files.url, variables=variables.url, lists=LISTS))
        summaries = harvest(settings, config)
    assert [(s.source, s.status, s.held_back) for s in summaries] == [
        (source, "ok", []) for source in ("icd10", "icpc2", "atc", "registre")]
    return settings


@pytest.fixture(scope="module")
def graph(harvested) -> Graph:
    return snapshot(harvested).to_graph()


@pytest.fixture(scope="module")
def client(harvested) -> TestClient:
    return TestClient(create_app(harvested))


def version(graph: Graph, list_uri: str, year: str) -> CodeList:
    return from_graph(CodeList, graph, f"{list_uri}/{year}")


def notations(graph: Graph, scheme: str) -> set[str]:
    return {str(graph.value(c, SKOS.notation)) for c in graph.subjects(SKOS.inScheme, URIRef(scheme))}


# -- the stored graph ----------------------------------------------------------------------

def test_icd10_has_four_yearly_versions_the_last_open_ended(graph):
    whole = from_graph(CodeList, graph, ICD10)

    assert whole.versions == [f"{ICD10}/{year}" for year in YEARS]
    assert whole.periods == [Period(start=date(2023, 1, 1))]
    assert [version(graph, ICD10, y).periods for y in YEARS] == [
        [Period(start=date(2023, 1, 1), end=date(2023, 12, 31))],
        [Period(start=date(2024, 1, 1), end=date(2024, 12, 31))],
        [Period(start=date(2025, 1, 1), end=date(2025, 12, 31))],
        [Period(start=date(2026, 1, 1))]]
    assert [len(notations(graph, f"{ICD10}/{y}")) for y in YEARS] == [19637, 19637, 19639, 19634]


def test_2026_lacks_the_codes_removed_that_2025_has(graph):
    in_2025, in_2026 = notations(graph, f"{ICD10}/2025"), notations(graph, f"{ICD10}/2026")

    assert set(REMOVED_2026) <= in_2025
    assert not set(REMOVED_2026) & in_2026
    assert (URIRef(f"{ICD10}/2025/M1906"), SKOS.prefLabel, None) in graph


def test_icpc2_versions_have_their_real_counts(graph):
    assert [len(notations(graph, f"{ICPC2}/{y}")) for y in YEARS] == [690, 707, 708, 708]


def test_atc_is_one_list_with_its_hierarchy(graph):
    atc = from_graph(CodeList, graph, ATC)
    codes = {c.notation: c for c in atc.concepts}

    assert (atc.versions, len(codes)) == ([], 2840)
    assert codes["N06A"].broader == codes["N06"].uri and codes["N06"].broader == codes["N"].uri
    assert codes["N"].broader is None
    assert codes["N06A"].label == {"nb": "ANTIDEPRESSIVA"}
    # a name with a comma, quoted in the CSV
    assert codes["A02BA53"].label == {"nb": "famotidin, kombinasjoner"}


def test_variables_of_a_table_source_point_to_the_lists(harvested):
    variables = by_name(harvested)

    assert variables["hovedtilstand"].code_list == ICD10
    assert variables["diagnoseICPC2"].code_list == ICPC2
    assert variables["atc"].code_list == ATC
    assert variables["hovedtilstand"].code_list_title == {"nb": "ICD-10", "en": "ICD-10"}


# -- the code list page and /catalog ---------------------------------------------------------

def test_code_list_page_counts_what_changed_between_versions(client):
    answer = client.get("/api/code-lists", params={"uri": ICD10}).json()

    assert [v["version_label"] for v in answer["versions"]] == YEARS
    assert [v["codes"] for v in answer["versions"]] == [19637, 19637, 19639, 19634]
    assert [(s["from"], s["to"], s["counts"]) for s in answer["changes"]] == [
        ("2023", "2024", {"added": 0, "removed": 0, "relabelled": 176}),
        ("2024", "2025", {"added": 2, "removed": 0, "relabelled": 8}),
        ("2025", "2026", {"added": 0, "removed": 5, "relabelled": 0})]
    assert [c["code"] for c in answer["changes"][2]["removed"]] == REMOVED_2026
    assert [c["code"] for c in answer["changes"][1]["added"]] == ["K6380", "K6381"]


def test_code_list_page_shows_versions_side_by_side(client):
    html = client.get("/code-lists", params={"uri": ICD10, "code": "M190"},
                      headers={"accept": "text/html"}).text

    assert re.search(r'data-removed="5"', html)
    assert re.search(r'data-relabelled="176"', html)
    matrix = html.split('class="codes code-matrix"')[1]
    row = re.search(r"<tr><td><code>M1906</code></td>(.*?)</tr>", matrix, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert len(cells) == 4 and "finnes ikke" not in cells[2] and "finnes ikke" in cells[3]


def test_code_list_page_pages_through_codes_and_filters_by_prefix(client):
    first = client.get("/api/code-lists", params={"uri": ICD10}).json()
    filtered = client.get("/api/code-lists", params={"uri": ICD10, "code": "m19"}).json()

    assert (first["total"], len(first["codes"])) == (19639, 200)
    assert all(c["code"].startswith("M19") for c in filtered["codes"])
    m1906 = next(c for c in filtered["codes"] if c["code"] == "M1906")
    assert [cell is not None for cell in m1906["in_versions"]] == [True, True, True, False]


def test_an_unknown_code_list_is_not_found(client):
    assert client.get("/api/code-lists", params={"uri": LISTS + "nope"}).status_code == 404


def test_a_minted_code_list_uri_leads_a_browser_to_its_page(client):
    answer = client.get(ICD10.removeprefix(BASE_URI.rstrip("/")), headers={"accept": "text/html"},
                        follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/code-lists?uri=")


def test_variable_page_links_its_list_without_listing_every_code(client, harvested):
    variable = by_name(harvested)["hovedtilstand"]
    html = client.get(f"/variables/{variable.id}", headers={"accept": "text/html"}).text
    answer = client.get(f"/api/variables/{variable.id}").json()

    assert "/code-lists?uri=" in html and "19634" in html
    assert "<code>M1906</code>" not in html
    assert [v["concepts"] for v in answer["code_list_versions"]] == [[], [], [], []]


def test_a_variable_as_of_a_day_has_the_version_valid_that_day(client, harvested):
    variable = by_name(harvested)["hovedtilstand"]
    then = {day: client.get(f"/api/variables/{variable.id}", params={"at": day}).json()["then"]["code_list"]
            for day in ("2025-06-30", "2026-03-01")}

    assert [then[d]["version_label"] for d in sorted(then)] == ["2025", "2026"]
    assert "M1906" in {c["notation"] for c in then["2025-06-30"]["concepts"]}
    assert "M1906" not in {c["notation"] for c in then["2026-03-01"]["concepts"]}


def test_catalog_has_m1906_in_2025_and_not_in_2026(client, harvested):
    m1906 = f"{ICD10}/2025/M1906"
    part = described(client, m1906)
    assert (URIRef(m1906), SKOS.notation, Literal("M1906")) in part
    assert (URIRef(m1906), SKOS.inScheme, URIRef(f"{ICD10}/2025")) in part
    assert not any(described(client, f"{ICD10}/2026/M19{d}6") for d in "01289")


# -- bad input -------------------------------------------------------------------------------

def test_a_version_with_a_bad_code_is_held_back_alone_naming_file_item_and_field(
        settings, serve, tmp_path, make_config):
    served = tmp_path / "served"
    served.mkdir()
    (served / "L_2024.json").write_text(json.dumps([{"code": "A", "text": "a"}]), encoding="utf-8")
    (served / "L_2025.json").write_text(json.dumps([{"code": "A", "text": "a"}, {"text": "b"}]),
                                        encoding="utf-8")
    server = serve(served)

    [summary] = harvest(settings, make_config(f"""
        [[source]]
        id = "liste"
        name = "Liste"
        publisher = "fhi"
        kind = "codelist"
        url = "{server.url}/L_{{version}}.json"
        title = {{ nb = "Liste" }}
        versions = ["2024", "2025"]
        """))

    assert summary.status == "ok"
    assert {h.record for h in summary.held_back} == {"code list liste version 2025"}
    assert "L_2025.json: item 2, field 'code': no code" in summary.held_back[0].message
    assert notations(snapshot(settings).to_graph(), f"{LISTS}liste/liste/2024") == {"A"}


def test_a_version_that_is_not_a_year_must_say_its_validity(settings, make_config):
    [summary] = harvest(settings, make_config("""
        [[source]]
        id = "liste"
        name = "Liste"
        publisher = "fhi"
        kind = "codelist"
        url = "http://127.0.0.1:9/L_{version}.json"
        title = { nb = "Liste" }
        versions = ["2024-rev"]
        """))

    assert summary.status == "failed"
    assert "versions" in summary.error and "'2024-rev' is not a year" in summary.error


def test_explicit_validity_closes_the_latest_version(settings, serve, tmp_path, make_config):
    served = tmp_path / "served"
    served.mkdir()
    (served / "L_v1.json").write_text(json.dumps([{"code": "A", "text": "a"}]), encoding="utf-8")
    server = serve(served)

    [summary] = harvest(settings, make_config(f"""
        [[source]]
        id = "liste"
        name = "Liste"
        publisher = "fhi"
        kind = "codelist"
        url = "{server.url}/L_{{version}}.json"
        title = {{ nb = "Liste" }}
        versions = [{{ id = "v1", valid_from = "2020-07-01", valid_to = "2021-06-30" }}]
        """))

    assert summary.status == "ok"
    stored = version(snapshot(settings).to_graph(), f"{LISTS}liste/liste", "v1")
    assert stored.periods == [Period(start=date(2020, 7, 1), end=date(2021, 6, 30))]
