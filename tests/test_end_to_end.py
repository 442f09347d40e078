"""From the bundled demo sources, over HTTP, to what an applicant sees through the API."""
from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest

from catalogue.harvest import harvest
from catalogue.settings import Settings
from catalogue.site.app import create_app
from catalogue.sources import load_config
from support import corpus, free_port, wait_for


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"),
                        sources_file=Settings.from_env({}).sources_file,
                        base_uri="http://catalogue.test/")
    summaries = harvest(settings, load_config(settings.sources_file))
    return settings, summaries


@pytest.fixture(scope="module")
def app(demo):
    return create_app(demo[0])


def test_demo_harvest_accepts_all_but_the_deliberately_broken_variable(demo):
    _, summaries = demo
    assert {s.status for s in summaries} == {"ok"}
    held = [h for s in summaries for h in s.held_back]
    assert [h.record.split()[1] for h in held] == ["MSIS_UGYLDIG_EKSEMPEL"]
    assert held[0].path == "skos:prefLabel"


def test_birth_weight_is_found_with_its_period(client):
    body = client.get("/api/variables", params={"q": "fødselsvekt"}).json()
    top = body["items"][0]
    assert top["name"] == "VEKT" and top["label"]["nb"] == "Fødselsvekt"
    assert top["source"] == "mfr" and top["dataset"] == "mfr/mfr"
    assert top["periods"] == [{"start": "1967-01-01", "end": None}]
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
    all_mfr = client.get("/api/variables", params={"source": "mfr"}).json()
    assert all_mfr["total"] > 50
    assert {i["source"] for i in all_mfr["items"]} == {"mfr"}
    old = client.get("/api/variables", params={"source": "mfr", "from": 1970, "to": 1975}).json()
    assert 0 < old["total"] < all_mfr["total"]
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
    page = client.get("/", params={"q": "fødselsvekt"})
    assert page.status_code == 200
    assert 'rel="alternate"' in page.headers["link"]
    assert "&lt; 500 g" in page.text and "< 500 g" not in page.text
    assert "Nullstill" in page.text and "built-in method" not in page.text
    english = client.get("/variables/mfr/mfr/VEKT", params={"lang": "en"})
    assert "Birth weight" in english.text and "Periods with data" in english.text
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
    from catalogue.namespaces import DISCO
    ttl = client.get("/variables/mfr/mfr/VEKT.ttl")
    graph = Graph().parse(data=ttl.text, format="turtle")
    assert (URIRef("http://catalogue.test/id/dataset/mfr/mfr"), DISCO.variable,
            URIRef("http://catalogue.test/id/variable/mfr/mfr/VEKT")) in graph


def test_unknown_ids_are_404(client):
    assert client.get("/api/variables/nope/nope/NOPE").status_code == 404
    assert client.get("/datasets/nope/nope", headers={"accept": "text/html"}).status_code == 404


def test_catalog_conforms_to_official_dcat_ap_no_shapes(client):
    from rdflib import Graph
    from catalogue.shacl import validate
    folder = corpus("shapes", "dcat-ap-no", "v3-draft")
    shapes = Graph()
    for name in ("dcatapno3-core-shapes.ttl", "dcatapno3-range-shapes.ttl"):
        shapes.parse(folder / name)
    graph = Graph().parse(data=client.get("/catalog").text, format="turtle")
    report = validate(graph, shapes)
    assert report.violations == []
    assert len(graph) > 3000


def test_catalog_conforms_to_official_dcat_ap_3_shapes(client):
    """DCAT-AP 3.0.1's SHACL, ranges included (HealthDCAT-AP partners start from it)."""
    from rdflib import Graph
    from catalogue.shacl import validate
    shapes = Graph().parse(corpus("shapes", "dcat-ap-3.0.1", "dcat-ap-SHACL.ttl"))
    response = client.get("/catalog", params={"profile": "dcat-ap"})
    assert response.headers["content-profile"] == "<http://data.europa.eu/r5r/>"
    report = validate(Graph().parse(data=response.text, format="turtle"), shapes)
    assert [(v.path, v.message) for v in report.violations] == []


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
    page = client.get("/variables/mfr/mfr/VEKT", params={"lang": "nb"}, headers={"accept": "text/html"}).text
    assert "Lignende variabler i andre registre" in page and "Tilgang</dt><dd>Ikke-offentlig" in page


def test_minted_uris_dereference_to_rdf_or_to_their_page(client):
    from rdflib import Graph, URIRef
    from catalogue.namespaces import DISCO
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
    assert "For harvesters" in page and 'url = "http://catalogue.test/catalog?page=1&amp;size=1000"' in page
    assert "SPARQL 1.1 (read-only)" in page


def test_every_kind_of_minted_uri_dereferences(demo, client):
    """Each IRI under the base the catalogue holds (catalogue, datasets, variables, code
    lists and their codes, nodes that were blank at the source) answers with its own
    description in RDF, and with a page for a browser."""
    import re
    from collections import defaultdict

    from rdflib import Graph, URIRef
    from catalogue.store import Store
    base = demo[0].base_uri
    found: dict[str, set[str]] = defaultdict(set)
    for path in (demo[0].data_dir / "graphs").glob("*.nt"):
        for iri in re.findall(r"<(" + re.escape(base) + r"[^>]*)>", path.read_text(encoding="utf-8")):
            kind = iri[len(base):].split("/")[0 if iri[len(base):].startswith("catalog") else 1]
            found[kind].add(iri)
    assert set(found) == {"catalog", "variable", "dataset", "codelist", "genid"}, set(found)
    assert Store(demo[0].data_dir, base).catalogue_uri in found["catalog"]
    for kind, iris in found.items():
        for iri in sorted(iris)[:15]:
            path = "/" + iri[len(base):]
            answer = client.get(path, headers={"accept": "text/turtle"})
            assert answer.status_code == 200, (kind, iri)
            assert (URIRef(iri), None, None) in Graph().parse(data=answer.text, format="turtle"), iri
            page = client.get(path, headers={"accept": "text/html"})
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), iri
