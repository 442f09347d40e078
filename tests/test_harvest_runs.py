"""What every harvest shares: limits and failures that leave the stored graph alone,
conditional requests, Hydra paging, removals and refusals recorded per record,
the harvest log and its pages, and scheduling."""
from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph

from catalogue import cli
from catalogue.pipeline.harvest import RETRY_AFTER, SUPERSEDED, harvest, is_due
from catalogue.pipeline.publishing import publish
from catalogue.pipeline.schedule import Scheduler
from catalogue.site.app import create_app
from catalogue.storage.records import RecordStore, RecordVersion
from catalogue.storage.runs import RunLog
from catalogue.storage.store import Store
from support import DCAT_SOURCE, FIXTURES, by_name, serve_handler, stop_server

DAR = {"UNDERLIGGENDE", "DODSSTED"}
KATALOG = (FIXTURES / "dcat" / "katalog.ttl").read_text(encoding="utf-8")


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hold: threading.Event | None = None  # answer only once it is set


class ScriptedServer:
    """A loopback server whose answers a test sets per path, and which notes what it was asked."""

    def __init__(self):
        self.replies: dict[str, Reply] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                reply = server.replies.get(self.path, Reply(b"not found", 404))
                time.sleep(reply.delay)
                if reply.hold:
                    reply.hold.wait(timeout=30)
                etag = reply.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(reply.status)
                for name, value in {"Content-Length": str(len(reply.body)), **reply.headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up: that is the test
                    pass

            def log_message(self, *args):
                pass

        self.http, self.url = serve_handler(Handler)

    def close(self):
        stop_server(self.http)


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


def rdf_xml(turtle: str) -> bytes:
    return Graph().parse(data=turtle, format="turtle").serialize(format="xml", encoding="utf-8")


def stored_graph(settings) -> tuple[str, bytes]:
    store = Store(settings.data_dir, settings.base_uri)
    name = store.state().sources["dar"].graph_file
    return name, (store.graphs_dir / name).read_bytes()


LIMITED = DCAT_SOURCE + """timeout = 0.5
retries = 1
max_response_bytes = 20000
max_source_bytes = 30000
"""
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dct="http://purl.org/dc/terms/">
<rdf:Description rdf:about="https://data.fhi.no/datasett/dar"><dct:title>&lol3;</dct:title></rdf:Description></rdf:RDF>"""
RDF_XML = {"Content-Type": "application/rdf+xml"}
FAILURES = {
    "server error": (Reply(b"oops", 500), "HTTP 500 (after 2 attempts)"),
    "hangs past its timeout": (Reply(rdf_xml(KATALOG), delay=2.0, headers=RDF_XML), "no answer within 0.5 s"),
    "more than the response limit": (Reply(b"<a/>" * 6000, headers=RDF_XML),
                                     "24000 bytes is more than the response limit of 20000"),
    "malformed XML": (Reply(rdf_xml(KATALOG)[:-40], headers=RDF_XML), "not well-formed XML at line"),
    "entity bomb": (Reply(BOMB, headers=RDF_XML), "XML refused, it declares entities"),
}


@pytest.mark.parametrize("case", FAILURES)
def test_a_failing_answer_leaves_the_previous_graph_and_the_run_names_the_cause(
        settings, make_config, scripted, case):
    config = make_config(LIMITED.format(url=scripted.url).replace("katalog.ttl", "katalog.rdf"))
    scripted.replies["/dcat/katalog.rdf"] = Reply(rdf_xml(KATALOG), headers=RDF_XML)
    [good] = harvest(settings, config)
    before = stored_graph(settings)
    reply, cause = FAILURES[case]
    scripted.replies["/dcat/katalog.rdf"] = reply

    [run] = harvest(settings, config)

    assert good.status == "ok" and run.status == "failed"
    assert cause in run.error and f"{scripted.url}/dcat/katalog.rdf" in run.error
    assert stored_graph(settings) == before
    assert set(by_name(settings)) == DAR
    assert RunLog(settings.data_dir).get(run.id).error == run.error  # the log keeps the cause
    assert Store(settings.data_dir, settings.base_uri).state().sources["dar"].error == run.error


def test_the_size_limit_counts_every_page_of_a_source(settings, make_config, scripted):
    page_2 = f"{scripted.url}/dcat/katalog.ttl?page=2"
    scripted.replies["/dcat/katalog.ttl"] = Reply(
        (KATALOG + f"\n<{page_2}#view> <http://www.w3.org/ns/hydra/core#next> <{page_2}> .\n"
         + "# " + "y" * 12000 + "\n").encode())
    scripted.replies["/dcat/katalog.ttl?page=2"] = Reply(b"# " + b"x" * 19000 + b"\n")
    config = make_config(LIMITED.replace("timeout = 0.5", "timeout = 10").format(url=scripted.url))

    [run] = harvest(settings, config)

    assert run.status == "failed"
    assert "the source has sent more than its limit of 30000 bytes" in run.error
    assert [f.url for f in run.fetched] == [f"{scripted.url}/dcat/katalog.ttl"]


def test_an_unchanged_source_answers_304_and_is_not_stored_again(settings, make_config, scripted):
    scripted.replies["/dcat/katalog.ttl"] = Reply(KATALOG.encode(), headers={
        "ETag": '"v1"', "Content-Type": "text/turtle"})
    config = make_config(DCAT_SOURCE.format(url=scripted.url))
    [first] = harvest(settings, config)
    before = stored_graph(settings)

    [second] = harvest(settings, config)

    assert scripted.requests[-1][1].get("If-None-Match") == '"v1"'
    assert (first.status, second.status) == ("ok", "unchanged")
    assert second.fetched[0].not_modified and second.unchanged == first.accepted
    assert stored_graph(settings) == before
    assert set(by_name(settings)) == DAR


def test_the_bundled_file_server_answers_conditional_requests(settings, make_config, fixture_server):
    config = make_config(DCAT_SOURCE.format(url=fixture_server.url))
    harvest(settings, config)

    [second] = harvest(settings, config)

    assert second.status == "unchanged" and second.fetched[0].not_modified


def test_hydra_pages_are_followed_to_the_end(settings, make_config, tmp_path, serve):
    folder = tmp_path / "paged"
    folder.mkdir()
    dataset, rest = KATALOG.split("<https://data.fhi.no/datasett/dar/variabel/UNDERLIGGENDE> a", 1)
    underliggende, dodssted = rest.split("<https://data.fhi.no/datasett/dar/variabel/DODSSTED> a", 1)
    prefixes = KATALOG.split("# A small", 1)[0]
    hydra = "<{0}> <http://www.w3.org/ns/hydra/core#next> <{1}> .\n"
    (folder / "katalog.ttl").write_text(dataset + hydra.format("katalog.ttl", "katalog.ttl?page=2"))
    (folder / "katalog@page=2.ttl").write_text(
        prefixes + "<https://data.fhi.no/datasett/dar/variabel/UNDERLIGGENDE> a" + underliggende
        + hydra.format("katalog.ttl?page=2", "katalog.ttl?page=3"))
    (folder / "katalog@page=3.ttl").write_text(
        prefixes + "<https://data.fhi.no/datasett/dar/variabel/DODSSTED> a" + dodssted)
    url = serve(folder).url
    config = make_config(DCAT_SOURCE.format(url=url).replace("/dcat/", "/"))

    [run] = harvest(settings, config)

    assert run.status == "ok", run.error
    assert len(run.fetched) == 3 and set(by_name(settings)) == DAR

    # A last page that points back to the first is a loop, not an endless harvest.
    last = folder / "katalog@page=3.ttl"
    with last.open("a") as page:
        page.write(hydra.format("katalog.ttl?page=3", "katalog.ttl"))
    [looping] = harvest(settings, config)
    assert looping.status == "failed" and "loops back to a page already read" in looping.error
    assert set(by_name(settings)) == DAR


def test_a_variable_that_disappears_is_removed_and_its_last_version_kept(settings, make_config, served):
    folder, url = served
    config = make_config(DCAT_SOURCE.format(url=url))
    harvest(settings, config)
    katalog = folder / "dcat" / "katalog.ttl"
    text = katalog.read_text(encoding="utf-8")
    katalog.write_text(text.split("<https://data.fhi.no/datasett/dar/variabel/DODSSTED> a")[0]
                       .replace(",\n                   <https://data.fhi.no/datasett/dar/variabel/DODSSTED>", ""),
                       encoding="utf-8")

    [run] = harvest(settings, config)

    assert (run.status, run.removed, run.added) == ("ok", 1, 0)
    assert set(by_name(settings)) == {"UNDERLIGGENDE"}
    [removed] = [c for c in RunLog(settings.data_dir).changes(run.id) if c.change == "removed"]
    assert removed.key == "variable DODSSTED <https://data.fhi.no/datasett/dar/variabel/DODSSTED>"
    # What the source published before is still in the record store.
    first_run = RunLog(settings.data_dir).runs("dar")[-1]
    lines = RecordStore(settings.data_dir).lines([RecordVersion(hash=removed.old, run=first_run.id)])
    assert any('"Dødssted"@nb' in line for line in lines[removed.old])


def test_a_record_the_gate_now_refuses_keeps_its_last_good_version(settings, make_config, served):
    folder, url = served
    config = make_config(DCAT_SOURCE.format(url=url))
    harvest(settings, config)
    katalog = folder / "dcat" / "katalog.ttl"
    katalog.write_text(katalog.read_text(encoding="utf-8").replace(
        'skos:prefLabel "Dødssted"@nb, "Place of death"@en ;', ""), encoding="utf-8")

    [run] = harvest(settings, config)

    assert (run.status, run.kept, run.held_back_records) == ("ok", 1, 1)
    assert [h.path for h in run.held_back] == ["skos:prefLabel"]
    assert by_name(settings)["DODSSTED"].label["nb"] == "Dødssted"


def test_harvest_log_pages_list_runs_newest_first(settings, make_config, served):
    folder, url = served
    config = make_config(DCAT_SOURCE.format(url=url))
    [first] = harvest(settings, config)
    (folder / "dcat" / "katalog.ttl").write_text("<broken", encoding="utf-8")
    [failed] = harvest(settings, config)
    client = TestClient(create_app(settings))

    listed = client.get("/api/harvests", params={"source": "dar"}).json()["runs"]
    page = client.get("/harvests", headers={"accept": "text/html"})
    run_page = client.get(f"/harvests/{failed.id}", params={"lang": "en"})
    run_json = client.get(f"/api/harvests/{first.id}").json()

    assert [(r["id"], r["status"]) for r in listed] == [(failed.id, "failed"), (first.id, "ok")]
    assert page.status_code == 200 and f'href="/harvests/{failed.id}"' in page.text
    assert "Failed – previous graph kept" in run_page.text and "cannot parse as turtle" in run_page.text
    assert run_json["run"]["added"] == first.seen
    assert {c["change"] for c in run_json["changes"]} == {"added"}
    assert client.get("/api/harvests/nope").status_code == 404


SCHEDULED = DCAT_SOURCE.replace('id = "dar"', 'id = "dar"\ninterval = "1h"')
UNSCHEDULED = DCAT_SOURCE.replace('id = "dar"', 'id = "dar2"')


def test_only_due_sources_are_harvested(settings, make_config, fixture_server, monkeypatch, capsys):
    config = make_config((SCHEDULED + UNSCHEDULED).format(url=fixture_server.url))
    monkeypatch.setenv("CATALOGUE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CATALOGUE_SOURCES", str(config.path))
    monkeypatch.setenv("CATALOGUE_BASE_URI", settings.base_uri)

    assert cli.main(["harvest", "--due"]) == 0
    first = RunLog(settings.data_dir).runs()
    assert cli.main(["harvest", "--due"]) == 0  # within the hour: nothing is due

    assert [r.source for r in first] == ["dar"]  # dar2 has no interval: only on demand
    assert RunLog(settings.data_dir).runs() == first
    entry = Store(settings.data_dir, settings.base_uri).state().sources["dar"]
    later = datetime.fromisoformat(entry.attempted) + timedelta(hours=1, seconds=1)
    assert not is_due(config.get("dar"), entry) and is_due(config.get("dar"), entry, later)


def test_the_scheduler_runs_what_is_due(settings, make_config, fixture_server):
    config = make_config(SCHEDULED.format(url=fixture_server.url))
    scheduler = Scheduler(dataclasses.replace(settings, sources_file=config.path))

    scheduler.run_due()

    [run] = RunLog(settings.data_dir).runs()
    assert run.source == "dar" and run.status == "ok"
    assert datetime.fromisoformat(run.started) <= datetime.now(timezone.utc)


def test_a_failing_source_is_retried_with_backoff_and_never_holds_up_the_others(
        settings, make_config, fixture_server):
    broken = SCHEDULED.replace('id = "dar"', 'id = "broken"').replace("katalog.ttl", "gone.ttl")
    config = make_config((broken + SCHEDULED).format(url=fixture_server.url))
    scheduler = Scheduler(dataclasses.replace(settings, sources_file=config.path))

    scheduler.run_due()
    scheduler.run_due()  # a minute later, say: neither is due again yet

    runs = RunLog(settings.data_dir).runs()
    assert sorted((r.source, r.status) for r in runs) == [("broken", "failed"), ("dar", "ok")]
    assert set(by_name(settings)) == DAR
    entries = Store(settings.data_dir, settings.base_uri).state().sources
    failed_at = datetime.fromisoformat(entries["broken"].attempted)
    retry = timedelta(seconds=RETRY_AFTER)
    assert entries["broken"].failures == 1 and entries["dar"].failures == 0
    assert not is_due(config.get("broken"), entries["broken"], failed_at + retry - timedelta(seconds=1))
    assert is_due(config.get("broken"), entries["broken"], failed_at + retry)
    assert not is_due(config.get("dar"), entries["dar"], failed_at + retry)
    # Each failure in a row doubles the wait, up to the interval.
    third = entries["broken"].model_copy(update={"failures": 3})
    assert not is_due(config.get("broken"), third, failed_at + 4 * retry - timedelta(seconds=1))
    assert is_due(config.get("broken"), third, failed_at + 4 * retry)
    many = entries["broken"].model_copy(update={"failures": 50})
    assert is_due(config.get("broken"), many, failed_at + timedelta(hours=1))


def test_a_slow_source_holds_no_lock_against_publications(settings, make_config, scripted):
    gate = threading.Event()
    scripted.replies["/dcat/katalog.ttl"] = Reply(KATALOG.encode(), headers={"Content-Type": "text/turtle"},
                                                  hold=gate)
    config = make_config(DCAT_SOURCE.format(url=scripted.url))
    runs = []
    harvesting = threading.Thread(target=lambda: runs.extend(harvest(settings, config)))
    harvesting.start()
    try:
        waited = time.monotonic() + 30  # against a hang only
        while not scripted.requests and time.monotonic() < waited:  # until the harvest awaits its answer
            time.sleep(0.01)
        # Meanwhile, the source's publisher publishes a file for it.
        published, _ = publish(settings, config, "dar", "dar.ttl",
                               KATALOG.replace('"Dødssted"@nb', '"Dødssted (publisert)"@nb').encode(),
                               "text/turtle", by="fhi-robot")
        assert harvesting.is_alive()  # the publication did not wait for the harvest
    finally:
        gate.set()
        harvesting.join(timeout=60)

    [run] = runs
    assert published.status == "ok"
    # What the harvest read is older than the publication, so it is not applied.
    assert run.status == "failed" and run.error == SUPERSEDED
    entry = Store(settings.data_dir, settings.base_uri).state().sources["dar"]
    assert entry.last_run == published.id
    assert by_name(settings)["DODSSTED"].label["nb"] == "Dødssted (publisert)"


def test_new_shapes_check_every_record_again(settings, make_config, fixture_server, tmp_path):
    harvest(settings, make_config(DCAT_SOURCE.format(url=fixture_server.url)))
    stricter = tmp_path / "unit-required.ttl"
    stricter.write_text("""
        @prefix sh: <http://www.w3.org/ns/shacl#> .
        @prefix schema: <https://schema.org/> .
        <urn:test:unit> a sh:NodeShape ;
            sh:targetClass <http://rdf-vocabulary.ddialliance.org/discovery#Variable> ;
            sh:property [ sh:path schema:unitText ; sh:minCount 1 ; sh:message "needs a unit" ] .
        """, encoding="utf-8")

    # Unchanged records are not validated again by the same shapes, but by new ones they are.
    [run] = harvest(settings, make_config(DCAT_SOURCE.format(url=fixture_server.url)
                                          + f'shapes = ["{stricter}"]\n'))

    assert run.status == "ok"
    assert {(h.path, h.message) for h in run.held_back} == {("schema:unitText", "needs a unit")}
    assert (run.held_back_records, run.kept) == (2, 2)  # refused, so their last good versions stay
    assert set(by_name(settings)) == DAR
