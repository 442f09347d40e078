"""Curators map registries' variables to each other and curate vocabularies with versions;
applicants see approved mappings on variable pages, partners in the DCAT export."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS

from catalogue.access.audit import Audit
from catalogue.curation import mappings
from catalogue.curation.vocabularies import MAX_TURTLE
from catalogue.model.namespaces import DCAT, DISCO
from catalogue.search import build_documents
from catalogue.site.app import create_app
from catalogue.storage.database import open_database
from catalogue.storage.store import Store
from postgresql_server import with_backend
from support import account, bearer, log_in

BASE = "http://catalogue.test/"
KPR_SEX, CANCER_SEX = "kpr/kpr/kjonn", "kreftregisteret/kreftregisteret-insidens/KJONN"
STANDARD = "https://helsevariabler.no/vocabulary/standard-variables/"
PASSWORD = "a curator's long password"
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory, demo_data):
    """The harvested demo, a curator (token, and a password for the form path) and a publisher;
    the curation store (and the accounts) in the data directory or in PostgreSQL."""
    settings = with_backend(request, demo_data(tmp_path_factory.mktemp("curation"), light=True))
    tokens = {"curator": account(settings, "curator", "curator", password=PASSWORD),
              "publisher": account(settings, "fhi-publisher", "publisher", "fhi")}
    return settings, TestClient(create_app(settings)), tokens


def curator(site) -> dict[str, str]:
    return {**bearer(site[2]["curator"]), **JSON}


def uri(variable_id: str) -> str:
    return f"{BASE}id/variable/{variable_id}"


def approved(site, subject: str, object: str) -> dict:
    """A mapping the curator proposes and approves; each test maps a pair of its own (a pair is
    mapped once), so no test needs another's writes."""
    _, client, _ = site
    made = client.post("/curation/mappings", data={"subject": subject, "object": object}, headers=curator(site))
    assert made.status_code == 200, made.text
    return client.post(f"/curation/mappings/{made.json()['id']}", data={"state": "approved"},
                       headers=curator(site)).json()


def catalog(client) -> Graph:
    return Graph().parse(data=client.get("/catalog").text, format="turtle")


def test_candidates_rank_the_same_variable_first_and_approving_shows_it_everywhere(site):
    settings, client, _ = site
    ranked = client.get("/api/curation/candidates", params={"variable": KPR_SEX}, headers=curator(site)).json()
    first = ranked["candidates"][0]
    assert first["id"] == CANCER_SEX  # same label, definition and KLASS code list
    assert first["parts"] == {"names": 1.0, "definitions": 1.0, "codes": 1.0}
    assert all(not (c["id"] or "").startswith("kpr/") for c in ranked["candidates"])
    assert any(c["uri"] == STANDARD + "kjonn" for c in ranked["candidates"])  # the standard variable competes

    proposed = client.post("/curation/candidates", data={"variable": KPR_SEX}, headers=curator(site)).json()
    mapping = next(m for m in proposed["proposed"] if m["object"] == uri(CANCER_SEX))
    assert (mapping["subject"], mapping["relation"], mapping["state"], mapping["proposed_by"]) == \
        (uri(KPR_SEX), "exactMatch", "proposed", "system")
    again = client.post("/curation/candidates", data={"variable": KPR_SEX}, headers=curator(site)).json()
    assert again["proposed"] == []  # pairs already mapped are not proposed twice

    approved = client.post(f"/curation/mappings/{mapping['id']}", data={"state": "approved"}, headers=curator(site))
    assert approved.status_code == 200 and approved.json()["reviewed_by"] == "curator"

    for here, there in ((KPR_SEX, CANCER_SEX), (CANCER_SEX, KPR_SEX)):
        same = client.get(f"/api/variables/{here}").json()["same_variables"]
        curated = [(s["id"], s["relation"]) for s in same if s["mapping"]]  # beside any twin of another source
        assert curated == [(there, "exactMatch")]
        page = client.get(f"/variables/{here}", params={"lang": "nb"}, headers={"Accept": "text/html"}).text
        section = page.split("Samme variabel andre steder", 1)[1].split("</section>", 1)[0]
        assert f'href="/variables/{there}"' in section and "samme:" in section
    assert (URIRef(uri(KPR_SEX)), SKOS.exactMatch, URIRef(uri(CANCER_SEX))) in catalog(client)

    actions = {(e.action, e.target) for e in Audit(open_database(settings)).entries(actor="curator", limit=100)[1]}
    assert {("mapping.candidates", f"variable:{KPR_SEX}"), ("mapping.review", f"mapping:{mapping['id']}")} <= actions


def test_a_rejected_mapping_shows_nowhere(site):
    _, client, _ = site
    made = client.post("/curation/mappings", data={"subject": "npr/npr-somatikk/kjonn", "object": "mfr/mfr/KJONN",
                                                   "relation": "closeMatch"}, headers=curator(site))
    assert made.status_code == 200, made.text
    rejected = client.post(f"/curation/mappings/{made.json()['id']}", data={"state": "rejected", "note": "barnets kjønn"},
                           headers=curator(site))
    assert rejected.json()["state"] == "rejected"
    for variable_id in ("npr/npr-somatikk/kjonn", "mfr/mfr/KJONN"):
        assert client.get(f"/api/variables/{variable_id}").json()["same_variables"] == []
    graph = catalog(client)
    assert not any(graph.triples((URIRef(uri("npr/npr-somatikk/kjonn")), None, URIRef(uri("mfr/mfr/KJONN")))))
    listed = client.get("/api/curation", params={"state": "rejected"}, headers=curator(site)).json()
    assert [m["note"] for m in listed["mappings"]] == ["barnets kjønn"]


def test_a_variable_maps_to_a_standard_variable(site):
    _, client, _ = site
    mapping = approved(site, "mfr/mfr/VEKT", STANDARD + "fodselsvekt")
    assert mapping["object_source"] == "standard-variables"
    same = client.get("/api/variables/mfr/mfr/VEKT").json()["same_variables"]
    assert [(s["kind"], s["label"]["nb"], s["url"]) for s in same] == \
        [("standard_variable", "Fødselsvekt", "/curation/vocabularies/standard-variables")]
    # partners read it as the concept the variable measures (DDI-RDF Discovery), when exact
    measured = (URIRef(uri("mfr/mfr/VEKT")), DISCO.concept, URIRef(STANDARD + "fodselsvekt"))
    assert (measured in catalog(client)) == (mapping["relation"] == "exactMatch")


def test_a_publisher_cannot_review_or_see_proposals(site):
    _, client, tokens = site
    publisher = {**bearer(tokens["publisher"]), **JSON}
    assert client.post("/curation/mappings/1", data={"state": "approved"}, headers=publisher).status_code == 403
    assert client.get("/api/curation", headers=publisher).status_code == 403
    assert client.get("/api/curation").status_code == 401


def test_vocabulary_versions_are_kept_and_a_bad_one_changes_nothing(site):
    settings, client, _ = site
    first = client.get("/curation/vocabularies/standard-variables/versions/1.ttl")
    assert first.headers["content-type"].startswith("text/turtle") and "ILLUSTRATIVE DEMO VOCABULARY" in first.text
    before = client.get("/api/vocabularies/standard-variables").json()
    newer = first.text + f'<{STANDARD}hoyde> a skos:Concept ; skos:inScheme <{STANDARD}> ; skos:prefLabel "Høyde"@nb .\n'
    put = client.put("/api/vocabularies/standard-variables", content=newer.encode(),
                     params={"note": "høyde"}, headers={**curator(site), "Content-Type": "text/turtle"})
    assert put.status_code == 200, put.text
    number = put.json()["number"]
    assert number == before["vocabulary"]["version"] + 1
    assert client.get("/curation/vocabularies/standard-variables/versions/1.ttl").text == first.text
    assert client.get(f"/curation/vocabularies/standard-variables/versions/{number}.ttl").text == newer
    graph = catalog(client)
    assert (URIRef(STANDARD + "hoyde"), SKOS.prefLabel, Literal("Høyde", lang="nb")) in graph
    assert (URIRef(STANDARD), DCAT.version, Literal(str(number))) in graph

    broken = newer + f'<{STANDARD}vekt> a skos:Concept ; skos:inScheme <{STANDARD}> ; skos:altLabel "Vekt"@nb .\n'
    refused = client.put("/api/vocabularies/standard-variables", content=broken.encode(),
                         headers={**curator(site), "Content-Type": "text/turtle"})
    assert refused.status_code == 422
    [problem] = refused.json()["detail"]
    assert (problem["vocabulary"], problem["concept"], problem["field"]) == \
        ("standard-variables", STANDARD + "vekt", "skos:prefLabel")
    assert "standard-variables" in problem["message"] and STANDARD + "vekt" in problem["message"]
    not_turtle = client.put("/api/vocabularies/standard-variables", content=b"<a> <b> .",
                            headers={**curator(site), "Content-Type": "text/turtle"})
    assert not_turtle.status_code == 422 and not_turtle.json()["detail"][0]["field"] == "turtle"
    deep = f"<{STANDARD}dyp> <{STANDARD}p> " + "[ <http://example.org/p> " * 5000 + "1" + " ]" * 5000 + " ."
    too_deep = client.put("/api/vocabularies/standard-variables", content=deep.encode(),
                          headers={**curator(site), "Content-Type": "text/turtle"})
    assert too_deep.status_code == 422 and "max_depth" in too_deep.json()["detail"][0]["message"]
    assert client.get("/api/vocabularies/standard-variables").json()["vocabulary"]["version"] == number
    assert (URIRef(STANDARD + "vekt"), None, None) not in catalog(client)
    entries = Audit(open_database(settings)).entries(action="vocabulary.version", limit=10)[1]
    assert entries[0].before["version"] == number - 1 and entries[0].after["number"] == number


def test_a_new_vocabulary_needs_a_kind(site):
    _, client, _ = site
    turtle = ('@prefix skos: <http://www.w3.org/2004/02/skos/core#> . @prefix dct: <http://purl.org/dc/terms/> .\n'
              '<https://example.org/tema/> a skos:ConceptScheme ; dct:title "Temaer"@nb .\n'
              '<https://example.org/tema/a> a skos:Concept ; skos:inScheme <https://example.org/tema/> ; '
              'skos:prefLabel "A"@nb .\n')
    headers = {**curator(site), "Content-Type": "text/turtle"}
    assert client.put("/api/vocabularies/temaer", content=turtle.encode(), headers=headers).json()["detail"][0]["field"] == "kind"
    made = client.put("/api/vocabularies/temaer", content=turtle.encode(), params={"kind": "theme"}, headers=headers)
    assert made.status_code == 200 and made.json()["number"] == 1


def test_the_form_path_needs_the_session_and_its_csrf_token_and_escapes_text(site):
    settings, client, _ = site
    browser = TestClient(client.app)
    csrf = log_in(browser, "curator", PASSWORD)
    hostile = '<script>alert("x")</script>'
    form = {"concept": "blodtype", "pref_nb": hostile, "pref_en": "Blood group", "notation": "blodtype"}
    refused = browser.post("/curation/vocabularies/standard-variables/concepts", data=form,
                           headers={"Accept": "text/html"}, follow_redirects=False)
    assert refused.status_code == 403
    sent = browser.post("/curation/vocabularies/standard-variables/concepts", data={**form, "csrf": csrf},
                        headers={"Accept": "text/html"}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/curation/vocabularies/standard-variables"
    page = browser.get("/curation/vocabularies/standard-variables", headers={"Accept": "text/html"}).text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page and hostile not in page
    assert 'href="/curation"' in page  # the curator's nav link
    concepts = {c["uri"]: c for c in client.get("/api/vocabularies/standard-variables").json()["concepts"]}
    assert concepts[STANDARD + "blodtype"]["label"] == {"nb": hostile, "en": "Blood group"}
    entry = Audit(open_database(settings)).entries(action="vocabulary.concept", limit=1)[1][0]
    assert entry.actor == "curator" and entry.after["label"]["nb"] == hostile
    assert 'href="/curation"' not in client.get("/", headers={"Accept": "text/html"}).text  # not for everyone
    variable_page = browser.get(f"/variables/{KPR_SEX}", headers={"Accept": "text/html"}).text
    assert f'href="/curation/candidates?variable={KPR_SEX}"' in variable_page


def test_a_version_can_be_uploaded_as_a_file(site):
    _, client, _ = site
    latest = client.get("/api/vocabularies/standard-variables").json()["vocabulary"]["version"]
    text = client.get(f"/curation/vocabularies/standard-variables/versions/{latest}.ttl").text
    sent = client.post("/curation/vocabularies", data={"vocabulary": "standard-variables", "note": "from a file"},
                       files={"file": ("standard-variables.ttl", text.encode(), "text/turtle")}, headers=curator(site))
    assert sent.status_code == 200, sent.text
    assert (sent.json()["number"], sent.json()["note"]) == (latest + 1, "from a file")


def test_a_version_larger_than_the_limit_is_refused_as_a_body_or_a_file(site):
    _, client, _ = site
    before = client.get("/api/vocabularies/standard-variables").json()["vocabulary"]["version"]
    huge = b"#" * (MAX_TURTLE + 1)
    body = client.put("/api/vocabularies/standard-variables", content=huge,
                      headers={**curator(site), "Content-Type": "text/turtle"})
    assert body.status_code == 413 and "at most" in body.json()["detail"]
    file = client.post("/curation/vocabularies", data={"vocabulary": "standard-variables"},
                       files={"file": ("big.ttl", huge, "text/turtle")}, headers=curator(site))
    assert file.status_code == 413
    assert client.get("/api/vocabularies/standard-variables").json()["vocabulary"]["version"] == before


def test_a_write_while_a_harvest_holds_the_lock_is_503(site, monkeypatch):
    settings, client, _ = site
    monkeypatch.setattr(mappings, "WRITE_WAIT", 0.2)
    with Store(settings.data_dir, settings.base_uri).lock():
        busy = client.post("/curation/mappings", data={"subject": "kpr/kpr/fodselsar", "object": "npr/npr-somatikk/fodselsar"},
                           headers=curator(site))
    assert busy.status_code == 503 and "harvest is running" in busy.json()["detail"]
    assert busy.headers["retry-after"]
    assert all(m["subject"] != uri("kpr/kpr/fodselsar")
               for m in client.get("/api/curation", headers=curator(site)).json()["mappings"])


def test_the_curated_graph_is_not_a_source(site):
    """It is in the store (so /catalog, /sparql and /id/ serve it), but not listed as a
    source, and reindexing makes no search documents of it."""
    settings, client, _ = site
    approved(site, "mfr/mfr/SVLEN", STANDARD + "svangerskapslengde")
    store = Store(settings.data_dir, settings.base_uri)
    assert store.state().sources["curation"].kind == "curation"
    assert "curation" not in {s["id"] for s in client.get("/api/sources").json()["sources"]}
    assert "curation" not in {d.source for d in build_documents(store)}


def test_the_curated_catalog_still_conforms_to_the_official_shapes(site):
    """The vocabularies and approved mappings curators publish add no violation of DCAT-AP-NO's
    or DCAT-AP 3's shapes (the end-to-end checks, on this site)."""
    from test_end_to_end import (test_catalog_conforms_to_official_dcat_ap_3_shapes,
                                 test_catalog_conforms_to_official_dcat_ap_no_shapes)
    _, client, _ = site
    approved(site, "microdata/microdata/BEFOLKNING_KJOENN", STANDARD + "kjonn")
    graph = catalog(client)
    assert (URIRef(STANDARD), DCAT.version, None) in graph and (None, SKOS.exactMatch, None) in graph
    test_catalog_conforms_to_official_dcat_ap_no_shapes(client)
    test_catalog_conforms_to_official_dcat_ap_3_shapes(client)
