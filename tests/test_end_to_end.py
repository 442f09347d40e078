"""From the bundled demo sources, over HTTP, to what an applicant sees through the API."""
from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import unquote_plus

import httpx
import pytest
from fastapi.testclient import TestClient

from catalogue.search.analysis import STOP_WORDS
from catalogue.site.app import create_app
from support import corpus, described, free_port, wait_for


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_harvest, demo_data):
    return demo_data(tmp_path_factory.mktemp("end-to-end")), demo_harvest[1]


@pytest.fixture(scope="module")
def app(demo):
    return create_app(demo[0])


@pytest.fixture(scope="module")
def light_client(tmp_path_factory, demo_data):
    """The demo without its large code lists, for reading /catalog whole."""
    return TestClient(create_app(demo_data(tmp_path_factory.mktemp("end-to-end-light"), light=True)))


def test_demo_harvest_accepts_all_but_the_deliberately_broken_variable_and_what_munin_lacks(demo):
    _, summaries = demo
    assert {s.status for s in summaries} == {"ok"}
    held = [h for s in summaries if s.source != "munin" for h in s.held_back]
    assert [h.record.split()[1] for h in held] == ["MSIS_UGYLDIG_EKSEMPEL"]
    assert held[0].path == "skos:prefLabel"
    # The documents Munin's captured answers name but that were not captured answer 404.
    [munin] = [s for s in summaries if s.source == "munin"]
    assert {"dataset K_BDR", "dataset K_BIV", "variable V_ALS.F2.OSALSFRSR1TALE"} <= {h.record for h in munin.held_back}
    assert all("HTTP 404" in h.message for h in munin.held_back)


@pytest.mark.parametrize("words", ["fødselsvekt", "birth weight"])
def test_birth_weight_is_found_by_its_common_name(client, words):
    """MFR calls it "Barnets vekt i hele gram" ("Child`s weight (gram)"): found by synonym."""
    top = client.get("/api/variables", params={"q": words}).json()["items"][0]
    assert top["name"] == "VEKT" and top["label"] == {"nb": "Barnets vekt i hele gram", "en": "Child`s weight (gram)"}
    assert top["source"] == "mfr" and top["dataset"] == "mfr/mfr"
    assert top["uri"] == "http://catalogue.test/id/variable/mfr/mfr/VEKT"


def test_demo_has_the_promised_breadth(client):
    body = client.get("/api/variables", params={"size": 1}).json()
    assert body["total"] >= 300
    facets = body["facets"]
    assert len(facets["dataset"]) >= 6
    assert len(facets["publisher"]) >= 4
    assert {"code_list", "integer"} <= {v["value"] for v in facets["value_type"]}
    everything = client.get("/api/variables", params={"size": 100, "page": 1}).json()["items"]
    assert any(len(item["periods"]) > 1 for item in everything), "some variables have gaps"
    assert any(item["periods"] and item["periods"][-1]["end"] for item in everything), "some ended"


def test_facet_and_year_filters_narrow_results(client):
    all_dcat = client.get("/api/variables", params={"source": "helsedata"}).json()
    assert all_dcat["total"] > 50
    assert {i["source"] for i in all_dcat["items"]} == {"helsedata"}
    old = client.get("/api/variables", params={"source": "helsedata", "from": 1970, "to": 1975}).json()
    assert 0 < old["total"] < all_dcat["total"]
    for item in old["items"]:
        assert any((p["start"] or "0000") <= "1975-12-31" and (p["end"] is None or p["end"] >= "1970")
                   for p in item["periods"])


def test_bad_year_range_is_a_clear_error(client):
    response = client.get("/api/variables", params={"from": 2010, "to": 2000})
    assert response.status_code == 422
    assert "before" in response.text


def test_variable_page_shows_code_list_versions(client):
    hits = client.get("/api/variables", params={"q": "fylke", "value_type": "code_list"}).json()["items"]
    klass = next(i for i in hits if i["code_list"] == "https://data.ssb.no/api/klass/v1/classifications/104")
    detail = client.get(f"/api/variables/{klass['id']}").json()
    assert len(detail["code_list_versions"]) >= 3
    html = client.get(f"/variables/{klass['id']}").text
    assert "Trøndelag" in html and "Viken" in html


def test_html_pages_have_json_twins_and_escape_text(client):
    page = client.get("/", params={"q": "mors fødselsår"})
    assert page.status_code == 200
    assert 'rel="alternate"' in page.headers["link"]
    assert "Gruppert for &lt;=1958" in page.text and "<=1958" not in page.text
    assert "Nullstill" in page.text and "built-in method" not in page.text
    english = client.get("/variables/mfr/mfr/VEKT", params={"lang": "en"})
    assert "Child`s weight (gram)" in english.text and "Periods with data" in english.text
    assert client.get("/variables/mfr/mfr/VEKT").cookies.get("lang") is None


def test_the_api_docs_load_only_files_of_this_site(client):
    """The Content-Security-Policy allows scripts and styles from this site alone (the browser
    test checks the page renders under it)."""
    page = client.get("/docs").text
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert loaded and all(url.startswith("/") and not url.startswith("//") for url in loaded)
    assert all(client.get(url).status_code == 200 for url in loaded)
    assert "<script>" not in page  # no inline script: it would not run
    assert client.get("/redoc").status_code == 404  # only the one documentation page


def test_rdf_of_a_variable_links_its_dataset(client):
    from rdflib import Graph, URIRef
    from catalogue.model.namespaces import DISCO
    ttl = client.get("/variables/mfr/mfr/VEKT.ttl")
    graph = Graph().parse(data=ttl.text, format="turtle")
    assert (URIRef("http://catalogue.test/id/dataset/mfr/mfr"), DISCO.variable,
            URIRef("http://catalogue.test/id/variable/mfr/mfr/VEKT")) in graph


def test_unknown_ids_are_404(client):
    assert client.get("/api/variables/nope/nope/NOPE").status_code == 404
    assert client.get("/datasets/nope/nope", headers={"accept": "text/html"}).status_code == 404


def test_catalog_conforms_to_official_dcat_ap_no_shapes(light_client):
    from rdflib import Graph
    from catalogue.gate.shacl import validate
    folder = corpus("shapes", "dcat-ap-no", "v3-draft")
    shapes = Graph()
    for name in ("dcatapno3-core-shapes.ttl", "dcatapno3-range-shapes.ttl"):
        shapes.parse(folder / name)
    graph = Graph().parse(data=light_client.get("/catalog").text, format="turtle")
    report = validate(graph, shapes)
    assert report.violations == []
    assert len(graph) > 3000


def test_catalog_conforms_to_official_dcat_ap_3_shapes(light_client):
    """DCAT-AP 3.0.1's SHACL, ranges included (HealthDCAT-AP partners start from it). What
    Munin's captured answers give is all it finds: the kilde names its legislation by ELI IRIs
    nothing types as eli:LegalResource (a closed-world range), and a variable's group is named
    only by ALS's hierarchy, which was not captured."""
    from rdflib import Graph
    from catalogue.gate.shacl import validate
    shapes = Graph().parse(corpus("shapes", "dcat-ap-3.0.1", "dcat-ap-SHACL.ttl"))
    response = light_client.get("/catalog", params={"profile": "dcat-ap"})
    assert response.headers["content-profile"] == "<http://data.europa.eu/r5r/>"
    report = validate(Graph().parse(data=response.text, format="turtle"), shapes)
    found = sorted((v.focus.split("/id/")[-1], v.path) for v in report.violations)
    assert found == [("dataset/munin/K_ALS", "<http://data.europa.eu/r5r/applicableLegislation>")] * 4 + [
        ("structure/munin/K_ALS/variabelgruppe/6f649fb0-5181-485d-8b7c-2e70fba2f6f1", "skos:prefLabel")]


def test_cli_harvest_while_serving_updates_the_running_server(tmp_path):
    """`catalogue harvest` from cron next to a running `catalogue serve` on one data dir."""
    env = {"CATALOGUE_DATA_DIR": str(tmp_path), "PORT": "0", "PATH": ""}
    first = subprocess.run([sys.executable, "-m", "catalogue.cli", "harvest", "--source", "mfr"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "mfr" in first.stdout and "accepted" in first.stdout
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "catalogue.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/api/variables"
        assert wait_for(url, params={"source": "npr"})["total"] == 0
        second = subprocess.run([sys.executable, "-m", "catalogue.cli", "harvest", "--source", "npr"],
                                env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr
        assert httpx.get(url, params={"source": "npr"}).json()["total"] > 50
        assert httpx.get(url, params={"q": "fødselsvekt"}).json()["total"] >= 1
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_variable_page_offers_similar_variables_of_other_registries(client):
    similar = client.get("/api/variables/mfr/mfr/VEKT").json()["similar"]
    assert similar and all(not s["id"].startswith("mfr/") for s in similar)
    assert any("vekt" in s["label"]["nb"].lower() for s in similar)
    # each says why, and never because of a function word, even for names full of them
    with_i = [v["id"] for v in client.get("/api/variables", params={"q": "i", "size": 8}).json()["items"]]
    assert with_i
    for variable_id in ["mfr/mfr/VEKT", *with_i]:
        similar = client.get(f"/api/variables/{variable_id}").json()["similar"]
        assert all(s["words"] or s["code_list"] is not None for s in similar), variable_id
        assert not {w for s in similar for w in s["words"]} & STOP_WORDS, variable_id
    page = client.get("/variables/mfr/mfr/VEKT", params={"lang": "nb"}, headers={"accept": "text/html"}).text
    assert "Lignende variabler i andre registre" in page and "Tilgang</dt><dd>Ikke-offentlig" in page


def test_minted_uris_dereference_to_rdf_or_to_their_page(client):
    from rdflib import Graph, URIRef
    from catalogue.model.namespaces import DISCO
    vekt = "/id/variable/mfr/mfr/VEKT"
    page = client.get(vekt, headers={"accept": "text/html,application/xhtml+xml"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/variables/mfr/mfr/VEKT"
    turtle = client.get(vekt, headers={"accept": "text/turtle"})
    assert turtle.headers["content-type"].startswith("text/turtle") and turtle.headers["vary"] == "Accept"
    graph = Graph().parse(data=turtle.text, format="turtle")
    assert (URIRef("http://catalogue.test/id/dataset/mfr/mfr"), DISCO.variable,
            URIRef("http://catalogue.test" + vekt)) in graph
    jsonld = client.get("/id/dataset/mfr/mfr", headers={"accept": "application/ld+json"})
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    assert client.get("/id/dataset/mfr/mfr", headers={"accept": "text/html"}, follow_redirects=False).headers["location"] == "/datasets/mfr/mfr"
    assert client.get("/id/nothing/here", headers={"accept": "text/turtle"}).status_code == 404
    assert client.get("/catalog", headers={"accept": "application/n-triples"}).headers["content-type"].startswith("application/n-triples")


def test_a_page_tells_partners_how_to_harvest(client):
    page = client.get("/partners", params={"lang": "en"}, headers={"accept": "text/html"}).text
    assert "For harvesters" in page and 'url = "http://catalogue.test/catalog?page=1&amp;size=100"' in page
    assert "SPARQL 1.1 (read-only)" in page


def test_every_kind_of_minted_uri_dereferences(demo, client):
    """Each IRI under the base the catalogue describes (catalogue, datasets, variables, code
    lists and their codes, agents, Munin's structures, nodes that were blank at the source)
    answers with its own description in RDF, and with a page for a browser."""
    import re
    from collections import defaultdict

    from rdflib import Graph, URIRef
    from catalogue.storage.store import Store
    base = demo[0].base_uri
    found: dict[str, set[str]] = defaultdict(set)
    for path in (demo[0].data_dir / "graphs").glob("*.nt"):
        for iri in re.findall(r"^<(" + re.escape(base) + r"[^>]*)>", path.read_text(encoding="utf-8"), re.M):
            kind = iri[len(base):].split("/")[0 if iri[len(base):].startswith("catalog") else 1]
            found[kind].add(iri)
    assert set(found) == {"catalog", "variable", "dataset", "codelist", "genid", "agent", "structure"}, set(found)
    assert Store(demo[0].data_dir, base).catalogue_uri in found["catalog"]
    for kind, iris in found.items():
        # 15 of each kind, and every declared version (they once answered a browser with 500)
        for iri in sorted(iris)[:15] + sorted(i for i in iris if "/version/" in i):
            path = "/" + iri[len(base):]
            answer = client.get(path, headers={"accept": "text/turtle"})
            assert answer.status_code == 200, (kind, iri)
            assert (URIRef(iri), None, None) in Graph().parse(data=answer.text, format="turtle"), iri
            page = client.get(path, headers={"accept": "text/html"})
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), iri


def test_a_list_item_shows_what_changed_in_its_code_list_in_the_years_wanted(client):
    applicant = client  # with a list of its own
    variable_id = "helsedata/befolkning/BOSTEDSFYLKE"  # coded with KLASS's county classification
    applicant.post("/list/items", data={"variable": variable_id, "from": "2017", "to": "2021"})
    [item] = applicant.get("/api/list").json()["items"]
    changes = item["code_changes"]
    assert changes["uri"] == "https://data.ssb.no/api/klass/v1/classifications/104"
    assert len(changes["versions"]) == 3  # in force 2017 (to 2018), 2018–2020 and from 2020
    merged = changes["changes"][0]  # 2018: Sør- and Nord-Trøndelag became Trøndelag
    assert {c["code"] for c in merged["removed"]} == {"16", "17"} and {c["code"] for c in merged["added"]} == {"50"}
    page = applicant.get("/list", headers={"accept": "text/html"}).text
    assert "Kodeverk i de ønskede årene" in page and "<code>50</code>" in page and "1 av variablene" in page
    # years before any change: one version, nothing to reckon with
    applicant.post("/list/update", data={"variable": variable_id, "from": "2010", "to": "2016"})
    [item] = applicant.get("/api/list").json()["items"]
    assert len(item["code_changes"]["versions"]) == 1 and item["code_changes"]["changes"] == []


def test_registers_by_holder_say_who_decides_access_and_where_to_apply(client):
    assert client.get("/datasets", follow_redirects=False).headers["location"] == "/registers"
    holders = client.get("/api/registers").json()["holders"]
    registers = [r for h in holders for r in h["registers"]]
    assert {"Folkehelseinstituttet", "Helsedirektoratet", "Kreftregisteret", "Statistisk sentralbyrå"} <= {
        h["name"] for h in holders}
    assert len(registers) >= 6 and all(r["variables"] > 0 and r["access_body"] for r in registers)
    # no source of the demo names an access body but Munin: the catalogue's own, said as such
    mfr = next(r for r in registers if r["id"] == "mfr/mfr")
    assert mfr["access_body"]["nb"] == "Helsedirektoratet" and not mfr["access_body_stated"]
    assert mfr["apply_url"] == "https://www.fhi.no/he/mfr/" and mfr["apply_email"] == "helsedata@helsedir.no"
    page = client.get("/registers", headers={"accept": "text/html"}).text
    assert "Registre og hvordan du søker" in page and 'href="/datasets/mfr/mfr"' in page
    # dataset pages name their themes, never by URI
    dataset = client.get("/datasets/mfr/mfr", headers={"accept": "text/html"}).text
    assert "Svangerskap" in dataset and ">https://psi.norge.no/los/" not in dataset


def test_the_start_page_explains_itself_with_examples_that_find_something_and_the_latest_changes(client):
    page = client.get("/", headers={"accept": "text/html"}).text
    examples = re.findall(r'<li><a href="/\?q=([^"]+)">', page)
    assert len(examples) >= 4 and "Sist endret i katalogen" in page and 'href="/changes"' in page
    for example in examples:
        assert client.get(f"/api/variables?q={example}").json()["total"] > 0, unquote_plus(example)
    assert "Prøv for eksempel" not in client.get("/?q=vekt", headers={"accept": "text/html"}).text
    assert client.get("/favicon.ico").headers["content-type"].startswith("image/svg+xml")


# -- the real code lists ----------------------------------------------------------------------

ICD10, ICPC2 = "https://data.helsedirektoratet.no/kodeverk/icd-10", "https://data.helsedirektoratet.no/kodeverk/icpc-2"
ATC = "https://data.fhi.no/kodeverk/atc"


def test_icd10_has_four_versions_and_m1906_is_in_2025_but_not_2026_on_its_page(client):
    import re
    answer = client.get("/api/code-lists", params={"uri": ICD10}).json()
    assert [v["version_label"] for v in answer["versions"]] == ["2023", "2024", "2025", "2026"]
    assert [v["codes"] for v in answer["versions"]] == [19637, 19637, 19639, 19634]
    m1906 = next(c for c in client.get("/api/code-lists", params={"uri": ICD10, "code": "M1906"}).json()["codes"]
                 if c["code"] == "M1906")
    assert [cell is not None for cell in m1906["in_versions"]] == [True, True, True, False]
    html = client.get("/code-lists", params={"uri": ICD10, "code": "M190", "lang": "nb"},
                      headers={"accept": "text/html"}).text
    row = re.search(r"<tr><td><code>M1906</code></td>(.*?)</tr>", html.split('class="codes code-matrix"')[1], re.S)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert len(cells) == 4 and "finnes ikke" not in cells[2] and "finnes ikke" in cells[3]


def test_catalog_has_m1906_in_icd10_2025_and_not_in_2026(demo, client):
    from rdflib import Literal, URIRef
    from rdflib.namespace import SKOS
    m1906 = f"{ICD10}/2025/M1906"
    part = described(client, m1906)
    assert (URIRef(m1906), SKOS.notation, Literal("M1906")) in part
    assert (URIRef(m1906), SKOS.inScheme, URIRef(f"{ICD10}/2025")) in part
    assert not described(client, f"{ICD10}/2026/M1906") and described(client, f"{ICD10}/2026/M1900")


@pytest.mark.parametrize("variable_id, code_list", [
    ("npr/npr-somatikk/hovedtilstand", ICD10), ("kpr/kpr/diagnoseICD10", ICD10), ("kpr/kpr/diagnoseICPC2", ICPC2),
    ("kreftregisteret/kreftregisteret-insidens/ICD10", ICD10),
    ("helsedata/dodsarsaksregisteret/UNDERLIGGENDE_DODSARSAK", ICD10), ("helsedata/reseptregisteret/ATC_KODE", ATC)])
def test_diagnoses_and_drugs_point_to_the_real_code_lists(client, variable_id, code_list):
    detail = client.get(f"/api/variables/{variable_id}").json()
    assert detail["code_list"]["uri"] == code_list
    assert len(detail["code_list_versions"]) == (0 if code_list == ATC else 4)


def test_munin_s_captured_variable_is_in_the_demo(client):
    [tale] = client.get("/api/variables", params={"q": "V_ALS.F1.ALSFRSR1TALE"}).json()["items"][:1]
    assert tale["source"] == "munin" and tale["label"]["nb"] == "1. Tale"


def test_a_list_with_icd10_wanted_2024_to_2026_shows_the_five_codes_removed_in_2026(client):
    """The codes an applicant must reckon with, at the item, in the page and in the XLSX."""
    from openpyxl import load_workbook
    import io
    removed = {"M1906", "M1916", "M1926", "M1986", "M1996"}
    variable_id = "npr/npr-somatikk/hovedtilstand"
    client.post("/list/items", data={"variable": variable_id, "from": "2024", "to": "2026"})
    [item] = client.get("/api/list").json()["items"]
    assert item["code_changes"]["versions"] == ["2024", "2025", "2026"]
    last = item["code_changes"]["changes"][-1]
    assert (last["from"], last["to"]) == ("2025", "2026") and {c["code"] for c in last["removed"]} == removed
    page = client.get("/list", headers={"accept": "text/html"}).text
    assert all(f"<code>{code}</code>" in page for code in removed)
    sheet = load_workbook(io.BytesIO(client.get("/list/export.xlsx").content)).active
    header, row = [[c.value for c in r] for r in sheet.iter_rows(max_row=2)]
    cell = dict(zip(header, row))["Kodeendringer i årene"]
    assert "2025 → 2026: 5 fjernet (M1906, M1916, M1926, M1986, M1996)" in cell


def test_english_means_english_down_to_the_holders(client):
    english = client.get("/api/registers", params={"lang": "en"}).json()["holders"]
    assert {"Norwegian Institute of Public Health", "Norwegian Directorate of Health", "Statistics Norway",
            "Cancer Registry of Norway"} <= {h["name"] for h in english}
    page = client.get("/variables/mfr/mfr/VEKT", params={"lang": "en"}, headers={"accept": "text/html"}).text
    assert "Norwegian Institute of Public Health" in page and "Folkehelseinstituttet" not in page


# -- concepts of the code lists, and a way on from nothing ---------------------------

ICD10_DIAGNOSES = {"npr/npr-somatikk/hovedtilstand", "kpr/kpr/diagnoseICD10",
                   "kreftregisteret/kreftregisteret-insidens/ICD10",
                   "helsedata/dodsarsaksregisteret/UNDERLIGGENDE_DODSARSAK"}


def found(client, words: str) -> list[dict]:
    body = client.get("/api/variables", params={"q": words, "size": 100}).json()
    assert body["help"] is None
    return body["items"]


def test_cancer_of_the_lung_ranks_a_cancer_diagnosis_first_saying_through_which_code(client):
    items = found(client, "kreft i lunge")
    top = items[0]
    assert top["code_list"] in (ICD10, ICPC2) and top["name"].lower().startswith(("diagnose", "icd10"))
    [via] = top["via"]
    assert re.fullmatch(r"Ondartet svulst.*lunge.*", via["label"]) and via["notation"][0] in "CR"
    registry = next(hit for hit in items[:3] if hit["id"] == "kreftregisteret/kreftregisteret-insidens/ICD10")
    assert registry["via"][0]["code_list_title"].startswith("ICD-10") and registry["via"][0]["notation"].startswith("C34")
    page = client.get("/", params={"q": "kreft i lunge"}).text
    assert re.search(r'class="via">funnet via ICD-10 [^<]* C34\d Ondartet svulst', page)


def test_lung_cancer_in_one_word_finds_the_icd10_diagnoses(client):
    items = {hit["id"]: hit for hit in found(client, "lungekreft")}
    assert ICD10_DIAGNOSES <= items.keys()
    assert all(items[i]["via"][0]["notation"].startswith("C34") for i in ICD10_DIAGNOSES)


def test_antidepressants_find_the_prescription_registry_s_atc_code(client):
    top3 = found(client, "antidepressiva")[:3]
    [atc] = [hit for hit in top3 if hit["id"] == "helsedata/reseptregisteret/ATC_KODE"]
    assert [(v["notation"], v["label"].lower()) for v in atc["via"]] == [("N06A", "antidepressiva")]


@pytest.mark.parametrize("words", ["diabetes", "sukkersyke", "svangerskapsdiabetes"])
def test_diabetes_in_any_words_finds_the_birth_registry_s_variable_and_the_diagnoses(client, words):
    items = [hit["id"] for hit in found(client, words)]
    assert items[0] == "mfr/mfr/DIABETES_MELLITUS"
    assert {"npr/npr-somatikk/hovedtilstand", "kpr/kpr/diagnoseICD10"} <= set(items)


def test_a_search_that_finds_nothing_offers_a_spelling_codes_and_someone_to_ask(client):
    # misspelt at its first letter: too far to be searched as "keisersnitt", near enough to offer it
    body = client.get("/api/variables", params={"q": "ceisersnitt"}).json()
    assert body["total"] == 0
    help = body["help"]
    assert help["spellings"] == ["keisersnitt"]
    assert any("keisersnitt" in c["label"].lower() and c["code_list_title"] for c in help["concepts"])
    assert help["ask"].startswith("mailto:")
    page = client.get("/", params={"q": "ceisersnitt", "lang": "en"}).text
    assert re.search(r'Did you mean <a href="/\?[^"]*q=keisersnitt', page) and f'href="{help["ask"]}"' in page


def test_several_words_that_find_nothing_get_help_not_an_error(client):
    answer = client.get("/api/variables", params={"q": "ceisersnitt qwxzt"})
    assert answer.status_code == 200 and answer.json()["total"] == 0 and answer.json()["help"]["ask"]
    assert client.get("/", params={"q": "ceisersnitt qwxzt"}).status_code == 200


def test_cancer_of_the_lung_ranks_the_cancer_registry_s_diagnosis_first(client):
    # every variable coded with ICD-10 may hold a lung cancer; the register of cancers says so itself
    ids = [hit["id"] for hit in found(client, "kreft i lunge")]
    assert ids[0] == "kreftregisteret/kreftregisteret-insidens/ICD10"
    assert "helsedata/insidens/ICD10" in ids[:3]  # "Diagnose (ICD-10)": named in its label, not linked


@pytest.mark.parametrize("words, expected", [
    ("innlagt på sykehus", "msis/msis/ErInnlagtSykehus"),  # labelled by its camel-case name
    ("preeklampsi", "mfr/mfr/EKLAMPSI"),                   # "Eklampsi totalt", the compound's last part
    ("svangerskapsforgiftning", "mfr/mfr/EKLAMPSI"),       # the same through the lay word's synonym
    ("leddgikt", "mfr/mfr/REUM_ARTRITT"),                  # the lay word for rheumatoid arthritis
    ("trening", "helseundersokelsen/HUS2024/FYS_AKTIVITET"),
])
def test_words_applicants_use_find_the_variables_registers_name_otherwise(client, words, expected):
    assert expected in [hit["id"] for hit in found(client, words)[:10]]
