"""Histories: the demo's edition 1 is harvested, then edition 2, in which real later deliveries
replace MFR's (three variables dropped, 144 added) and SYSVAK's (a vaccine code gained), Vardef
gave a definition a new validity period and the DCAT catalogue a dataset a new version. Each
change must show on the variable's history, in /changes (JSON and Atom), in `?at=` answers, and
in the RDF export."""
from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS

from catalogue.gate.shacl import validate
from catalogue.model.namespaces import ADMS, DCAT
from catalogue.pipeline.harvest import harvest
from catalogue.settings import DEMO_SOURCES
from catalogue.site.app import create_app
from catalogue.sources import load_config
from catalogue.storage.database import open_database
from catalogue.storage.history import TIMESTAMPS_BATCH, Event, History
from catalogue.storage.records import RecordStore
from catalogue.storage.runs import RunLog
from postgresql_server import with_backend
from support import BASE_URI, corpus, free_port, settings_in, wait_for

ATOM = "{http://www.w3.org/2005/Atom}"
VAKSINE = "sysvak/sysvak/VAKSINEKODE_VASKET"
BOSTEDSFYLKE = "vardef/vardef-befolkning/bostedsfylke"
SOURCES = ["mfr", "sysvak", "vardef", "klass", "helsedata"]
REMOVED = {"MOR_FAAR", "FAR_FAAR", "FODELAND_KAT_NOR_GBD"}  # in MFR's 2023 delivery, not its 2025 one


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    """Settings of a data directory that holds edition 1 then edition 2, and the moment between."""
    settings = settings_in(tmp_path_factory.mktemp("history"))
    config = load_config(DEMO_SOURCES)
    assert all(r.status == "ok" for r in harvest(settings, config, only=SOURCES))
    between = datetime.now(timezone.utc).isoformat()
    second = harvest(settings, config, only=SOURCES, demo_edition=2)
    assert {r.source: r.status for r in second} == {"mfr": "ok", "sysvak": "ok", "vardef": "ok",
                                                    "klass": "unchanged", "helsedata": "ok"}
    return settings, between


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(request, editions, tmp_path_factory):
    """The site over the two editions, its history in the data directory or in PostgreSQL.
    For PostgreSQL, a copy of the data directory moves to an empty database, where the
    history is rebuilt from the run log as a harvest does when it finds it missing."""
    settings = editions[0]
    if request.param == "postgresql":
        copy = Path(shutil.copytree(settings.data_dir, tmp_path_factory.mktemp("history-postgresql") / "data"))
        settings = with_backend(request, replace(settings, data_dir=copy))
        assert History(open_database(settings)).rebuild(RecordStore(copy), RunLog(copy)) > 0
    return TestClient(create_app(settings))


def _history(client, variable_id: str) -> list[dict]:
    return client.get(f"/api/variables/{variable_id}").json()["history"]


def _changes(client, **params) -> list[dict]:
    """Every change listed, all pages."""
    response = client.get("/api/changes", params=params)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    while response.json().get("next_url"):
        response = client.get(response.json()["next_url"])
        items += response.json()["items"]
    return items


def test_a_redefined_variable_shows_old_and_new_text_side_by_side(client):
    history = _history(client, BOSTEDSFYLKE)
    assert history[0]["at"] > history[-1]["at"]  # newest first
    changed = next(e for e in history if e["kind"] == "variable" and e["change"] == "changed")
    fields = {f["field"]: f for f in changed["fields"]}
    assert fields["description"]["old"]["nb"].endswith("etter fylkesinndelingen som gjelder det året.")
    assert fields["description"]["new"]["nb"].endswith("15 fylker som gjelder fra 1.1.2024.")

    page = client.get(f"/variables/{BOSTEDSFYLKE}", headers={"accept": "text/html"}).text
    section = page[page.index('class="history-section"'):]
    assert '<td class="old">' in section and "etter fylkesinndelingen som gjelder det året." in section
    assert '<td class="new">' in section and "15 fylker som gjelder fra 1.1.2024." in section
    assert f'href="/harvests/{changed["run"]}"' in section


def test_a_code_list_that_gained_a_code_in_a_later_delivery_shows_on_its_variables_history(client):
    """SYSVAK's September 2021 delivery has Janssen's vaccine (JAN03), its April one not."""
    event = next(e for e in _history(client, VAKSINE) if e["kind"] == "code list")
    assert event["change"] == "changed"
    assert event["fields"] == [{"field": "codes", "old": {}, "new": {"JAN03": {"nb": "JAN03"}}}]
    page = client.get(f"/variables/{VAKSINE}", headers={"accept": "text/html"}).text
    assert "<li><code>JAN03</code> JAN03</li>" in page


def test_a_period_that_ended_shows_its_old_and_new_end(client):
    event = next(e for e in _history(client, BOSTEDSFYLKE) if e["kind"] == "version" and e["change"] == "changed")
    assert event["fields"] == [{"field": "valid", "old": [{"start": "2020-01-01"}],
                                "new": [{"start": "2020-01-01", "end": "2023-12-31"}]}]


def test_changes_since_lists_what_edition_two_changed_and_nothing_older(client, editions):
    _, between = editions
    items = _changes(client, since=between)
    seen = {(e["kind"], e["name"] or e["subject"].rsplit("/", 1)[-1], e["change"]) for e in items}
    assert {(kind, name, change) for kind, name, change in seen if change != "added"} == {
        *(("variable", name, "removed") for name in REMOVED), ("code list", "FODELAND_KAT_NOR_GBD", "removed"),
        ("code list", "VAKSINEKODE_VASKET", "changed"), ("code list", "BARN_NR", "changed"),
        ("code list", "UNIK_VAKSINEKODE_VASKET", "changed"),
        ("variable", "bostedsfylke", "changed"), ("version", "2020-01-01", "changed"),
        ("dataset", "msis", "changed")}
    added = [e for e in items if e["change"] == "added" and e["kind"] == "variable"]
    assert len(added) == 144 and {e["source"] for e in added} == {"mfr"}
    stillbirths = next(e for e in added if e["name"] == "DODFODTE_3")
    assert client.get(stillbirths["url"]).status_code == 200  # its page
    assert ("version", "2024-01-01", "added") in seen
    removed = next(e for e in items if e["name"] == "MOR_FAAR")
    assert removed["url"] is None and removed["label"]["nb"] == "Mors fødselsår. Gruppert for <=1958 og >=1990"
    assert client.get("/api/variables/mfr/mfr/MOR_FAAR").status_code == 404
    version = next(e for e in items if e["kind"] == "version" and e["change"] == "added")
    assert version["url"] == f"/variables/{BOSTEDSFYLKE}"
    # From before edition 1, its additions are there too, after edition 2's changes.
    everything = _changes(client, since="2000-01-01")
    assert len(everything) > len(items) and everything[:len(items)] == items


def test_a_new_dcat_dataset_version_shows_with_its_notes_and_previous_version(client, editions):
    _, between = editions
    event = next(e for e in _changes(client, since=between, source="helsedata") if e["kind"] == "dataset")
    fields = {f["field"]: f for f in event["fields"]}
    assert set(fields) == {"version", "version_notes", "previous"}
    assert (fields["version"]["old"], fields["version"]["new"]) == ("3", "4")
    assert fields["previous"]["new"] == "https://data.fhi.no/datasett/msis/versjon/3"
    assert event["url"] == "/datasets/helsedata/msis"
    page = client.get("/datasets/helsedata/msis", headers={"accept": "text/html"}).text
    assert "<dt>Versjon</dt><dd>4</dd>" in page and "testindikasjon meldes for flere sykdommer" in page
    assert "<code>https://data.fhi.no/datasett/msis/versjon/3</code>" in page


def test_changes_per_source_and_per_dataset(client, editions):
    _, between = editions
    assert {e["source"] for e in _changes(client, since=between, source="vardef")} == {"vardef"}
    in_mfr = _changes(client, since=between, dataset="mfr/mfr")
    assert {e["source"] for e in in_mfr} == {"mfr"}
    assert REMOVED == {e["name"] for e in in_mfr if e["change"] == "removed" and e["kind"] == "variable"}
    assert client.get("/api/changes", params={"dataset": "nope/nope"}).status_code == 404
    bad = client.get("/api/changes", params={"since": "last tuesday"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "since"


def _feed(client, **params) -> list:
    response = client.get("/changes", params=params, headers={"accept": "application/atom+xml"})
    assert response.headers["content-type"].startswith("application/atom+xml")
    return ET.fromstring(response.content).findall(f"{ATOM}entry")


def test_changes_as_an_atom_feed(client, editions):
    _, between = editions
    entries = _feed(client, since=between, source="sysvak")
    assert len(entries) == 3
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert "VAKSINEKODE_VASKET: endret (kodeliste)" in titles
    summaries = " ".join(e.findtext(f"{ATOM}summary") for e in entries)
    assert "→ JAN03=JAN03" in summaries
    assert len({e.findtext(f"{ATOM}id") for e in entries}) == 3
    links = [link.get("href") for e in _feed(client, since=between, source="vardef") for link in e.findall(f"{ATOM}link")]
    assert f"{BASE_URI}variables/{BOSTEDSFYLKE}" in links
    # The same list as JSON, and as a page with the feed linked from it.
    assert len(client.get("/changes", params={"since": between, "source": "sysvak", "format": "json"}).json()["items"]) == 3
    page = client.get("/changes", params={"since": between}, headers={"accept": "text/html"}).text
    assert 'type="application/atom+xml"' in page and "VAKSINEKODE_VASKET" in page


def test_at_a_moment_before_edition_two_returns_edition_ones_codes(client, editions):
    _, between = editions
    codes = lambda answer: {c["notation"] for c in answer["code_list"]["concepts"]}  # noqa: E731
    then = client.get(f"/api/variables/{VAKSINE}", params={"at": between}).json()["then"]
    assert then["basis"] == "harvested" and then["label"]["nb"] == "VAKSINEKODE_VASKET"
    assert codes(then) == {"ASZ03", "BNT03", "MOD03", "Ukjen"}
    now = client.get(f"/api/variables/{VAKSINE}", params={"at": datetime.now(timezone.utc).isoformat()}).json()["then"]
    assert codes(now) == {"ASZ03", "BNT03", "JAN03", "MOD03", "Ukjen"}
    # A date before the catalogue's first harvest: the earliest version it has, said so.
    early = client.get(f"/api/variables/{VAKSINE}", params={"at": "1990-01-01"}).json()["then"]
    assert early["basis"] == "earliest" and codes(early) == codes(then)


def test_at_a_date_uses_the_version_the_source_declared_valid_then(client):
    before = client.get(f"/api/variables/{BOSTEDSFYLKE}", params={"at": "2023-06-01"}).json()["then"]
    after = client.get(f"/api/variables/{BOSTEDSFYLKE}", params={"at": "2024-06-01"}).json()["then"]
    assert before["basis"] == after["basis"] == "declared"
    assert before["description"]["nb"].endswith("etter fylkesinndelingen som gjelder det året.")
    assert after["description"]["nb"].endswith("15 fylker som gjelder fra 1.1.2024.")
    assert before["version"]["valid"] == [{"start": "2020-01-01", "end": "2023-12-31"}]
    # KLASS 104 (counties): the classification version valid on each date.
    assert before["code_list"]["periods"] == [{"start": "2020-01-01", "end": "2023-12-31"}]
    assert after["code_list"]["periods"][0]["start"] == "2024-01-01"
    codes = lambda answer: {c["notation"] for c in answer["code_list"]["concepts"]}  # noqa: E731
    assert "30" in codes(before) and "30" not in codes(after)  # Viken, split in three in 2024
    assert {"31", "32", "33"} <= codes(after)
    assert client.get(f"/api/variables/{BOSTEDSFYLKE}", params={"at": "2024-13-01"}).status_code == 422


def test_the_variable_page_shows_the_variable_as_it_was_on_a_chosen_date(client, editions):
    _, between = editions
    page = client.get(f"/variables/{VAKSINE}", params={"at": between}, headers={"accept": "text/html"}).text
    then = page[page.index('<section class="as-of"'):page.index("</section>")]
    assert "Versjonen katalogen hadde høstet da" in then
    assert "<td><code>ASZ03</code></td><td>ASZ03</td>" in then and "<code>JAN03</code>" not in then
    bad = client.get(f"/variables/{VAKSINE}", params={"at": "soon"}, headers={"accept": "text/html"})
    assert bad.status_code == 422 and "<code>at</code>: &#39;soon&#39; is not a date" in bad.text


def test_classification_versions_show_which_codes_replace_which(client):
    page = client.get(f"/variables/{BOSTEDSFYLKE}", headers={"accept": "text/html"}).text
    assert "<td><code>31</code></td><td>Østfold</td><td>Erstatter <code>30</code> Viken" in page
    assert "Erstattet av <code>31</code> Østfold" in page


def test_versions_a_dcat_source_declares_for_a_variable_answer_at(client):
    early = client.get("/api/variables/helsedata/msis/DIAGNOSE", params={"at": "1995-05-01"}).json()["then"]
    late = client.get("/api/variables/helsedata/msis/DIAGNOSE", params={"at": "2010-05-01"}).json()["then"]
    assert early["basis"] == late["basis"] == "declared"
    assert (early["version"]["version"], late["version"]["version"]) == ("1", "2")
    assert "av 1977" in early["description"]["nb"] and "av 2003" in late["description"]["nb"]
    assert late["version"]["notes"]["nb"].startswith("Ny MSIS-forskrift")


def test_the_variable_page_lists_declared_versions_newest_first(client):
    body = client.get(f"/api/variables/{BOSTEDSFYLKE}").json()
    assert [v["valid"][0]["start"] for v in body["versions"]] == ["2024-01-01", "2020-01-01", "1990-01-01"]
    page = client.get(f"/variables/{BOSTEDSFYLKE}", headers={"accept": "text/html"}).text
    assert "Versjoner oppgitt av kilden" in page and "15 fylker" in page


def test_the_export_describes_versions_in_dcat_3_and_still_conforms(client, editions):
    _, between = editions
    graph = Graph().parse(data=client.get("/catalog").text, format="turtle")
    variable = URIRef(f"{BASE_URI}id/variable/vardef/bf0fy1k3")
    versions = set(graph.objects(variable, DCAT.hasVersion))
    assert len(versions) == 3
    newest = URIRef(f"{BASE_URI}id/variable/vardef/bf0fy1k3/version/2024-01-01")
    assert graph.value(newest, DCAT.previousVersion) == URIRef(f"{BASE_URI}id/variable/vardef/bf0fy1k3/version/2020-01-01")
    assert graph.value(newest, ADMS.versionNotes) is not None
    # When the catalogue first saw, and last saw change, each dataset and variable.
    assert str(graph.value(variable, DCTERMS.issued)) < between < str(graph.value(variable, DCTERMS.modified))
    mfr = URIRef(f"{BASE_URI}id/dataset/mfr/mfr")
    assert str(graph.value(mfr, DCTERMS.modified)) > between  # its variables changed
    folder = corpus("shapes", "dcat-ap-no", "v3-draft")
    shapes = Graph()
    for name in ("dcatapno3-core-shapes.ttl", "dcatapno3-range-shapes.ttl"):
        shapes.parse(folder / name)
    assert validate(graph, shapes).violations == []


def test_an_unchanged_harvest_adds_no_history_and_a_lost_history_is_rebuilt(editions):
    settings, _ = editions
    history = History(settings.data_dir)
    before = history.since("2000-01-01", limit=10_000)
    runs = harvest(settings, load_config(DEMO_SOURCES), only=["mfr"], demo_edition=2)
    assert runs[0].status == "unchanged"
    assert history.since("2000-01-01", limit=10_000) == before

    (settings.data_dir / "history.sqlite").rename(settings.data_dir / "history.lost")
    assert History(settings.data_dir).rebuild(RecordStore(settings.data_dir), RunLog(settings.data_dir)) == 9  # ok runs: 5 + 4 (KLASS unchanged)
    key = lambda e: (e.at, e.run, e.subject, e.kind, e.change, e.name, e.owner, e.version,  # noqa: E731
                     tuple(f.model_dump_json() for f in e.fields))
    assert sorted(map(key, history.since("2000-01-01", limit=10_000))) == sorted(map(key, before))


def test_a_restarted_server_serves_the_same_history(editions):
    settings, between = editions
    port = free_port()
    env = {"CATALOGUE_DATA_DIR": str(settings.data_dir), "CATALOGUE_BASE_URI": BASE_URI, "PATH": ""}
    server = subprocess.Popen([sys.executable, "-m", "catalogue.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        body = wait_for(f"http://127.0.0.1:{port}/api/variables/{VAKSINE}")
        assert [(e["kind"], e["change"]) for e in body["history"]][0] == ("code list", "changed")
        then = httpx.get(f"http://127.0.0.1:{port}/api/variables/{VAKSINE}", params={"at": between}).json()["then"]
        assert "JAN03" not in {c["notation"] for c in then["code_list"]["concepts"]}
    finally:
        server.terminate()
        server.wait(timeout=10)



def test_timestamps_asked_for_many_resources_are_those_of_the_whole_history(tmp_path):
    """What a page of the catalogue asks for (the resources on it, more than one query may
    name) is what the whole history says of them, a dataset's last change counting its
    variables' changes."""
    history = History(tmp_path)
    dataset = "http://example.org/id/dataset/d"
    events = [Event(at=f"2026-01-{1 + i % 28:02d}T00:00:00.000000+00:00", run="r1", source="s", record=f"v{i}",
                    subject=f"http://example.org/id/variable/v{i}", kind="variable", change="added", owner=dataset)
              for i in range(TIMESTAMPS_BATCH * 2 + 10)]
    events.append(Event(at="2025-06-01T00:00:00.000000+00:00", run="r1", source="s", record="d", subject=dataset,
                        kind="dataset", change="added"))
    history.add("r1", events)
    whole = history.timestamps()
    asked = [dataset, *(e.subject for e in events[:TIMESTAMPS_BATCH + 5]), "http://example.org/id/variable/none"]
    assert history.timestamps(asked) == {s: whole[s] for s in asked if s in whole}
    assert whole[dataset] == ("2025-06-01T00:00:00.000000+00:00", "2026-01-28T00:00:00.000000+00:00")
    assert history.latest() == "2026-01-28T00:00:00.000000+00:00"
