"""Registry holders publish their own metadata: a dry run changes nothing, publishing puts
valid records live and holds invalid ones back, withdrawing takes them out again, and no
publisher touches another organisation's sources."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph

from catalogue.gate.shacl import validate
from catalogue.pipeline import publishing
from catalogue.pipeline.harvest import harvest
from catalogue.pipeline.uploads import Uploads
from catalogue.site.app import create_app
from catalogue.sources import ConfigError
from catalogue.storage.store import State, Store
from support import EU_HEALTH, account, bearer, log_in, settings_in, write_config

SOURCES = """
[[source]]
id = "dar"
name = "Dødsårsaksregisteret"
publisher = "fhi"
kind = "dcat"
url = "upload:"

[[source]]
id = "mfr"
name = "Medisinsk fødselsregister"
publisher = "fhi"
kind = "table"
url = "{url}/table/mfr-variabler.csv"

[source.columns]
name = "Variabelnavn"
label = "Variabel"
value_type = "Datatype"
start = "Fra"
end = "Til"

[[source.dataset]]
id = "mfr"
title = {{ nb = "Medisinsk fødselsregister" }}
description = {{ nb = "Alle fødsler i Norge." }}
themes = ["{theme}"]
contact = {{ name = {{ nb = "MFR" }}, email = "mfr@fhi.no" }}

[[source]]
id = "ssb-dcat"
name = "SSB – DCAT"
publisher = "ssb"
kind = "dcat"
url = "upload:"
"""

# A DCAT-AP-NO catalogue with two good variables and two a publisher must fix: one has no
# identifier, one a name without a language tag.
TURTLE = """\
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix disco: <http://rdf-vocabulary.ddialliance.org/discovery#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<https://data.fhi.no/datasett/dar> a dcat:Dataset ;
    dct:identifier "dar" ;
    dct:title "Dødsårsaksregisteret"@nb ;
    dct:description "Alle dødsfall blant personer bosatt i Norge."@nb ;
    dct:publisher <https://organization-catalog.fellesdatakatalog.digdir.no/organizations/983744516> ;
    dcat:contactPoint [ a vcard:Organization ; vcard:hasEmail <mailto:dar@fhi.no> ] ;
    dcat:theme <http://publications.europa.eu/resource/authority/data-theme/HEAL> ;
    disco:variable <https://data.fhi.no/var/DODSSTED>, <https://data.fhi.no/var/OBDUKSJON>,
                   <https://data.fhi.no/var/UTEN_ID>, <https://data.fhi.no/var/UTEN_SPRAK> .

<https://data.fhi.no/var/DODSSTED> a disco:Variable ;
    dct:identifier "DODSSTED" ; skos:prefLabel "Dødssted"@nb ;
    dct:temporal [ a dct:PeriodOfTime ; dcat:startDate "1986-01-01"^^xsd:date ] .

<https://data.fhi.no/var/OBDUKSJON> a disco:Variable ;
    dct:identifier "OBDUKSJON" ; skos:prefLabel "Obduksjon utført"@nb ;
    dct:temporal [ a dct:PeriodOfTime ; dcat:startDate "1996-01-01"^^xsd:date ] .

<https://data.fhi.no/var/UTEN_ID> a disco:Variable ;
    skos:prefLabel "Variabel uten identifikator"@nb .

<https://data.fhi.no/var/UTEN_SPRAK> a disco:Variable ;
    dct:identifier "UTEN_SPRAK" ; skos:prefLabel "Navn uten språkkode" .
"""
INVALID = {"variable <https://data.fhi.no/var/UTEN_ID>": "dct:identifier",
           "variable UTEN_SPRAK <https://data.fhi.no/var/UTEN_SPRAK>": "skos:prefLabel"}

# A variable list in the registry's own layout: two good rows, a name too long for the
# gate (a SHACL finding) and a date the harvester cannot read (its own finding).
CSV = ("Variabelnavn;Variabel;Datatype;Fra;Til\n"
       "APGAR5;Apgar-skår etter fem minutter;Heltall;1967;\n"
       "FODSELSVEKT;Fødselsvekt;Heltall;1967;\n"
       f"LANGT_NAVN;{'x' * 600};Heltall;1967;\n"
       "SVLEN;Svangerskapslengde;Heltall;31.02.2001;\n").encode()


@pytest.fixture
def site(tmp_path, fixture_server):
    config = write_config(tmp_path, SOURCES.format(url=fixture_server.url, theme=EU_HEALTH))
    settings = replace(settings_in(tmp_path), sources_file=config.path)
    tokens = {"fhi": account(settings, "fhi-robot", "publisher", "fhi"),
              "ssb": account(settings, "ssb-robot", "publisher", "ssb"),
              "curator": account(settings, "kurator", "curator"),
              "admin": account(settings, "root", "admin")}
    harvest(settings, config)  # the URL source, and the catalogue's own graph; `dar` has nothing yet
    return settings, config, TestClient(create_app(settings)), tokens


def upload(client, token: str, source: str, body: bytes, media_type: str, dry_run: bool = False, **params):
    return client.post(f"/sources/{source}/publish", content=body,
                       params={**params, **({"dry_run": "true"} if dry_run else {})},
                       headers={**bearer(token), "Content-Type": media_type})


def found(client, text: str) -> list[dict]:
    return client.get("/api/variables", params={"q": text}).json()["items"]


def stored(settings) -> dict[str, str]:
    """Every file of the data directory but the accounts' and audit log's, by content hash."""
    return {str(p.relative_to(settings.data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(settings.data_dir.rglob("*"))
            if p.is_file() and not p.name.startswith(("accounts.sqlite", "audit.sqlite", ".lock"))}


def audit(client, token: str, action: str) -> list[dict]:
    return client.get("/admin/audit", params={"action": action}, headers=bearer(token)).json()["entries"]


def test_a_dry_run_reports_each_record_and_changes_nothing_then_publish_and_withdraw(site):
    settings, config, client, tokens = site
    before, searched = stored(settings), found(client, "dødssted")

    report = upload(client, tokens["fhi"], "dar", TURTLE.encode(), "text/turtle", dry_run=True)

    assert report.status_code == 200, report.text
    body = report.json()
    assert body["dry_run"] and body["run"] is None
    assert stored(settings) == before  # no graph, record, run, history, index, cache, upload or state
    assert found(client, "dødssted") == searched == []
    assert set(body["held_back"]) == set(INVALID)
    assert {"variable DODSSTED <https://data.fhi.no/var/DODSSTED>", "dataset <https://data.fhi.no/datasett/dar>"} \
        <= set(body["added"])
    findings = {r["key"]: r["findings"] for r in body["records"] if r["held_back"]}
    for key, path in INVALID.items():
        [finding] = [f for f in findings[key] if f["severity"] == "Violation"]
        assert finding["path"] == path and finding["focus"].startswith("https://data.fhi.no/var/")
        assert finding["messages"]["nb"] and finding["messages"]["en"]
        assert finding["messages"]["nb"] != finding["messages"]["en"]
    assert audit(client, tokens["admin"], "publication.publish") == []

    published = upload(client, tokens["fhi"], "dar", TURTLE.encode(), "text/turtle", filename="dar.ttl")

    assert published.status_code == 200, published.text
    body = published.json()
    assert body["status"] == "ok" and body["run_url"] == f"/harvests/{body['run']}"
    assert set(body["held_back"]) == set(INVALID) and body["publication"]["filename"] == "dar.ttl"
    assert client.get(body["run_url"]).status_code == 200
    run = client.get(f"/api{body['run_url']}")
    assert run.status_code == 200 and {h["record"] for h in run.json()["run"]["held_back"]} == set(INVALID)
    [hit] = found(client, "dødssted")
    assert client.get(f"/variables/{hit['id']}").status_code == 200
    assert found(client, "obduksjon") and not found(client, "språkkode") and not found(client, "identifikator")

    # A harvest (scheduled or not) reads the publication: the same file, so nothing changes.
    [again] = harvest(settings, config, only=["dar"])
    assert again.status == "unchanged" and found(client, "dødssted")

    withdrawn = client.post("/sources/dar/withdraw", headers=bearer(tokens["fhi"]))

    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["removed"] >= 3
    assert found(client, "dødssted") == [] and client.get(f"/variables/{hit['id']}").status_code == 404
    removals = client.get("/api/changes", params={"source": "dar"}).json()["items"]
    assert {"DODSSTED", "OBDUKSJON"} <= {e["name"] for e in removals if e["change"] == "removed"}
    [publish] = audit(client, tokens["admin"], "publication.publish")
    [withdraw] = audit(client, tokens["admin"], "publication.withdraw")
    assert (publish["actor"], publish["organisation"], publish["target"]) == ("fhi-robot", "fhi", "source:dar")
    assert publish["before"] is None and publish["after"]["sha256"] == hashlib.sha256(TURTLE.encode()).hexdigest()
    assert publish["after"]["held_back"] == 2
    assert withdraw["actor"] == "fhi-robot" and withdraw["before"]["run"] == body["run"] and withdraw["after"] is None
    assert harvest(settings, config, only=["dar"]) == []  # upload only, and nothing published: skipped
    assert client.post("/sources/dar/withdraw", headers=bearer(tokens["fhi"])).status_code == 404


def test_a_published_table_is_what_harvests_of_the_source_read_until_withdrawn(site):
    settings, config, client, tokens = site
    assert found(client, "røyking")  # from the source's URL

    dry = upload(client, tokens["fhi"], "mfr", CSV, "text/csv", dry_run=True).json()
    assert set(dry["held_back"]) == {"variable mfr/LANGT_NAVN", "variable mfr/SVLEN"}
    records = {r["key"]: r["findings"] for r in dry["records"]}
    [long_name] = records["variable mfr/LANGT_NAVN"]
    assert long_name["path"] == "skos:prefLabel" and "500" in long_name["messages"]["nb"]
    [bad_date] = records["variable mfr/SVLEN"]  # the harvester's own finding names row and column
    assert "row 5, column 'Fra'" in bad_date["messages"]["en"] and bad_date["messages"]["nb"].startswith("Kunne")
    assert "variable mfr/ROYK" in dry["removed"]

    body = upload(client, tokens["fhi"], "mfr", CSV, "text/csv").json()
    assert body["status"] == "ok" and found(client, "apgar") and not found(client, "røyking")

    # The scheduled harvest reads the publication, not the URL: the publication stays.
    [run] = harvest(settings, config, only=["mfr"])
    assert run.status == "unchanged" and found(client, "apgar") and not found(client, "røyking")

    assert client.post("/sources/mfr/withdraw", headers=bearer(tokens["fhi"])).status_code == 200
    assert not found(client, "apgar")
    [run] = harvest(settings, config, only=["mfr"])  # and after withdrawal, the URL again
    assert run.status == "ok" and found(client, "røyking")


def test_the_web_form_checks_publishes_and_withdraws_with_the_sessions_csrf_token(site):
    settings, _, client, _ = site
    account(settings, "fhi-person", "publisher", "fhi", password="et langt passord")
    csrf = log_in(client, "fhi-person", "et langt passord")
    html = {"Accept": "text/html"}

    form = client.get("/sources/dar/publish", headers=html)
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text and f'name="csrf" value="{csrf}"' in form.text
    assert 'formaction="/sources/dar/publish?dry_run=true"' in form.text
    file = {"file": ("dar.ttl", TURTLE.encode(), "application/octet-stream")}  # the extension tells

    checked = client.post("/sources/dar/publish?dry_run=true", files=file, data={"csrf": csrf}, headers=html)
    assert checked.status_code == 200 and "text/html" in checked.headers["content-type"]
    assert "variable &lt;https://data.fhi.no/var/UTEN_ID&gt;" in checked.text  # escaped, never markup
    assert "En variabel må ha nøyaktig én identifikator" in checked.text
    assert client.post("/sources/dar/publish", files=file, headers=html).status_code == 403  # no CSRF token

    published = client.post("/sources/dar/publish", files=file, data={"csrf": csrf}, headers=html,
                            follow_redirects=False)
    assert published.status_code == 303 and published.headers["location"].startswith("/harvests/")
    assert found(client, "dødssted")
    page = client.get("/sources/dar/publish", headers=html).text
    assert "dar.ttl" in page and "fhi-person" in page
    assert 'href="/sources/dar/publish"' in client.get("/sources/dar", headers=html).text

    withdrawn = client.post("/sources/dar/withdraw", data={"csrf": csrf}, headers=html, follow_redirects=False)
    assert withdrawn.status_code == 303 and withdrawn.headers["location"] == "/sources/dar/publish"
    assert not found(client, "dødssted")


def test_a_file_of_the_wrong_type_or_unreadable_is_refused_naming_the_source_and_changes_nothing(site):
    settings, _, client, tokens = site
    before = stored(settings)

    wrong = upload(client, tokens["fhi"], "dar", CSV, "text/csv")
    assert wrong.status_code == 415
    assert "source 'dar' (dcat) takes JSON-LD, N-Triples, RDF/XML, Turtle" in wrong.json()["detail"]
    assert "is CSV" in wrong.json()["detail"]
    nameless = upload(client, tokens["fhi"], "mfr", b"x", "application/octet-stream")
    assert nameless.status_code == 415 and "takes CSV, XLSX" in nameless.json()["detail"]

    broken = upload(client, tokens["fhi"], "dar", b"<https://a> <https://b> .", "text/turtle", filename="dar.ttl")
    assert broken.status_code == 422
    assert broken.json()["detail"].startswith("source 'dar': dar.ttl: cannot parse as turtle")
    bad_csv = upload(client, tokens["fhi"], "mfr", b"Navn;Noe\nA;B\n", "text/csv", filename="liste.csv")
    assert bad_csv.status_code == 422 and "liste.csv" in bad_csv.json()["detail"]
    assert "Variabelnavn" in bad_csv.json()["detail"]  # the header it looked for
    assert stored(settings) == before


def test_an_upload_cannot_make_the_server_fetch_other_addresses(site, fixture_server):
    """A published file is read alone: a Hydra link in it to another address (here the test
    fixtures' server) is not followed, and nothing changes."""
    settings, _, client, tokens = site
    before = stored(settings)
    elsewhere = f"{fixture_server.url}/dcat/katalog.ttl"
    paged = TURTLE + f"""
<https://data.fhi.no/side/1> a <http://www.w3.org/ns/hydra/core#PartialCollectionView> ;
    <http://www.w3.org/ns/hydra/core#next> <{elsewhere}> .
"""
    for dry_run in (True, False):
        answer = upload(client, tokens["fhi"], "dar", paged.encode(), "text/turtle", dry_run=dry_run, filename="dar.ttl")
        assert answer.status_code == 422, answer.text
        assert f"{elsewhere}: not fetched" in answer.json()["detail"]
    assert stored(settings) == before


def test_a_publication_while_a_harvest_runs_is_told_to_come_back(site, monkeypatch):
    settings, _, client, tokens = site
    monkeypatch.setattr(publishing, "WRITE_WAIT", 0.2)
    with Store(settings.data_dir, settings.base_uri).lock():  # as a harvest holds it
        busy = upload(client, tokens["fhi"], "dar", TURTLE.encode(), "text/turtle")
        assert busy.status_code == 503 and busy.headers["retry-after"] == "60"
        assert "a harvest is running" in busy.json()["detail"]
    assert upload(client, tokens["fhi"], "dar", TURTLE.encode(), "text/turtle").status_code == 200


def test_an_upload_larger_than_the_limit_is_refused(site):
    settings, _, _, tokens = site
    client = TestClient(create_app(replace(settings, max_upload_bytes=1000)))
    before = stored(settings)

    for size in (1001, 200_000):  # read to the limit, or refused by its declared length
        refused = upload(client, tokens["fhi"], "mfr", b"a;b\n" * (size // 4 + 1), "text/csv", dry_run=True)
        assert refused.status_code == 413, refused.text
        assert "larger than the limit of 1000 bytes" in refused.json()["detail"]
    assert stored(settings) == before


def test_a_publisher_of_another_organisation_or_a_curator_is_refused(site):
    settings, _, client, tokens = site
    for token in (tokens["ssb"], tokens["curator"]):
        for path in ("/sources/dar/publish?dry_run=true", "/sources/dar/publish", "/sources/dar/withdraw"):
            assert client.post(path, content=TURTLE.encode(), headers={
                **bearer(token), "Content-Type": "text/turtle"}).status_code == 403
        assert client.get("/api/sources/dar/publication", headers=bearer(token)).status_code == 403
    assert client.get("/sources/dar/publish", headers={"Accept": "text/html"},
                      follow_redirects=False).status_code == 303  # to the login page
    assert upload(client, tokens["ssb"], "ssb-dcat", b"", "text/turtle", dry_run=True).status_code == 200
    assert upload(client, tokens["admin"], "dar", TURTLE.encode(), "text/turtle", dry_run=True).status_code == 200
    assert client.get("/sources/nowhere/publish", headers=bearer(tokens["admin"])).status_code == 404


def test_a_publication_that_fails_midway_leaves_the_last_one_whole(site, monkeypatch):
    settings, config, client, tokens = site
    upload(client, tokens["fhi"], "dar", TURTLE.encode(), "text/turtle", filename="dar.ttl")
    before, active = stored(settings), published(settings)

    def full_disk(*_):
        raise OSError("No space left on device")

    monkeypatch.setattr(Store, "replace_graph", full_disk)
    changed = TURTLE.replace("Dødssted", "Sted for dødsfallet")
    with pytest.raises(OSError):
        publishing.publish(settings, config, "dar", "dar.ttl", changed.encode(), "text/turtle", "fhi-robot")

    assert stored(settings) == before
    assert published(settings) == active
    assert found(client, "dødssted") and not found(client, "dødsfallet")


def published(settings):
    return Uploads(settings.data_dir, "dar").active(Store(settings.data_dir, settings.base_uri).state())


def test_only_dcat_and_table_sources_may_be_published_by_upload_only(tmp_path):
    with pytest.raises(ConfigError, match="'url': 'upload:'"):
        write_config(tmp_path, """
            [[source]]
            id = "klass"
            name = "KLASS"
            publisher = "ssb"
            kind = "klass"
            url = "upload:"
            """)


def test_a_shape_without_a_message_in_a_language_gets_one_from_its_constraint():
    shapes = Graph().parse(format="turtle", data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:T ;
            sh:property [ sh:path ex:code ; sh:minCount 1 ] ,
                        [ sh:path ex:size ; sh:maxLength 3 ; sh:message "For lang."@nb ] .""")
    data = Graph().parse(format="turtle", data='<https://example.org/a> a <https://example.org/T> ; '
                                                '<https://example.org/size> "abcdef" .')

    messages = {r.path: r.messages for r in validate(data, shapes).results}

    assert messages["ex:code"] == {"nb": "ex:code: må ha minst 1 verdi(er)", "en": "ex:code: needs at least 1 value(s)"}
    assert messages["ex:size"] == {"nb": "For lang.",
                                   "en": "ex:size: the value may have at most 3 characters (found abcdef)"}


def test_a_publication_an_earlier_release_made_stays_active_until_replaced(tmp_path):
    # That release kept the active publication as uploads/<source>/publication.json, and its
    # state did not name it.
    folder = tmp_path / "uploads" / "dar"
    folder.mkdir(parents=True)
    (folder / "abc.ttl").write_text(TURTLE, encoding="utf-8")
    (folder / "publication.json").write_text(json.dumps({
        "source": "dar", "file": "abc.ttl", "filename": "dar.ttl", "media_type": "text/turtle", "sha256": "abc",
        "bytes": len(TURTLE), "published_by": "fhi-robot", "published": "2026-11-01T10:00:00+00:00",
        "run": "20261101T100000000000-dar"}), encoding="utf-8")
    old = State.model_validate({"sources": {"dar": {"id": "dar", "name": "DÅR", "publisher": "fhi", "kind": "dcat",
                                                    "url": "upload:"}}})
    uploads = Uploads(tmp_path, "dar")
    assert uploads.active(old).filename == "dar.ttl"
    uploads.prune(old)
    assert sorted(p.name for p in folder.iterdir()) == ["abc.ttl", "publication.json"]

    withdrawn = old.model_copy(deep=True)
    withdrawn.sources["dar"].publication = None
    assert uploads.active(withdrawn) is None
    uploads.prune(withdrawn)
    assert list(folder.iterdir()) == []
