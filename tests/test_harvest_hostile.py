"""Hostile and broken sources: each fails (or is held) alone, with its reason, while the
run goes on, the good sources are harvested and indexed, and every other stored graph
stays byte for byte as it was."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from catalogue import cli
from catalogue.pipeline.harvest import harvest
from catalogue.site.app import create_app
from catalogue.storage.runs import RunLog
from catalogue.storage.store import Store
from support import DCAT_SOURCE, EU_HEALTH, FIXTURES, MFR_SOURCE, account, bearer, by_name, serve_handler, stop_server

KATALOG = (FIXTURES / "dcat" / "katalog.ttl").read_bytes()
# An ordinary RDF list of 1,000 items on a dataset of its own (it once ended the whole run).
LISTED = (KATALOG.replace(b"https://data.fhi.no/datasett/dar", b"https://data.fhi.no/datasett/dar-liste")
          + b"<https://data.fhi.no/datasett/dar-liste> <http://example.org/sequence> ("
          + b" ".join(b'"%d"' % n for n in range(1000)) + b") .\n")
DAR = {"UNDERLIGGENDE", "DODSSTED"}
TURTLE = {"Content-Type": "text/turtle"}


class HostileServer:
    """A loopback server whose paths each misbehave in their own way (see `routes`)."""

    def __init__(self):
        self.bodies = {"/dcat/katalog.ttl": KATALOG, "/list.ttl": LISTED}  # what the plain paths serve; tests change it
        self.oai_pages = 0
        routes = {"/loop/a": self._redirect("/loop/b"), "/loop/b": self._redirect("/loop/a"),
                  "/elsewhere.ttl": self._redirect_elsewhere, "/nested.json": self._nested,
                  "/drip.ttl": self._drip, "/oai": self._endless_oai}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                try:
                    routes.get(urlsplit(self.path).path, server._plain)(self)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up: that is the test
                    pass

            def log_message(self, *args):
                pass

        server = self
        self.http, self.url = serve_handler(Handler)
        self.port = self.http.server_address[1]

    def close(self):
        stop_server(self.http)

    @staticmethod
    def _send(handler, body: bytes, headers: dict[str, str] | None = None, status: int = 200) -> None:
        handler.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def _plain(self, handler) -> None:
        body = self.bodies.get(handler.path)
        self._send(handler, b"not found", status=404) if body is None else self._send(handler, body, TURTLE)

    def _redirect(self, to: str) -> Callable:
        return lambda handler: self._send(handler, b"", {"Location": to}, status=302)

    def _redirect_elsewhere(self, handler) -> None:
        """To this same server under another host name: RDF the source never named."""
        self._send(handler, b"", {"Location": f"http://localhost:{self.port}/dcat/katalog.ttl"}, status=302)

    def _nested(self, handler) -> None:
        self._send(handler, b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"})

    def _drip(self, handler) -> None:
        """One byte at a time, each well within the client's read timeout, for far too long."""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/turtle")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b"#")
            handler.wfile.flush()
            time.sleep(0.05)

    def _endless_oai(self, handler) -> None:
        """An OAI-PMH repository that hands out a fresh resumption token with every page."""
        self.oai_pages += 1
        assert parse_qs(urlsplit(handler.path).query)["verb"] == ["ListRecords"]
        self._send(handler, f"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2025-03-14T08:00:00Z</responseDate>
<request verb="ListRecords">https://example.no/oai</request>
<ListRecords><resumptionToken>page-{self.oai_pages}</resumptionToken></ListRecords></OAI-PMH>""".encode(),
                   {"Content-Type": "text/xml"})


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.close()


FAST = """timeout = 0.5
retries = 0
"""  # appended to a source's table: no retries to wait for
HOSTILE_SOURCES = """
[[source]]
id = "list"
name = "A list of 1,000 items"
publisher = "fhi"
kind = "dcat"
url = "{url}/list.ttl"

[[source]]
id = "loop"
name = "Redirects in a loop"
publisher = "fhi"
kind = "dcat"
url = "{url}/loop/a"
timeout = 0.5
retries = 0

[[source]]
id = "elsewhere"
name = "Redirected to another host"
publisher = "fhi"
kind = "dcat"
url = "{url}/elsewhere.ttl"
timeout = 0.5
retries = 0

[[source]]
id = "nested"
name = "JSON nested 100,000 deep"
publisher = "fhi"
kind = "json-api"
url = "{url}/nested.json"
fields = {{ name = "name", label = {{ nb = "label" }} }}
timeout = 0.5
retries = 0
[[source.dataset]]
id = "nested"
title = {{ nb = "Dypt" }}
description = {{ nb = "Dypt nøstet." }}
themes = ["{theme}"]
contact = {{ name = {{ nb = "FHI" }}, email = "fhi@example.no" }}

[[source]]
id = "drip"
name = "A byte at a time"
publisher = "fhi"
kind = "dcat"
url = "{url}/drip.ttl"
request_deadline = 1
timeout = 0.5
retries = 0

[[source]]
id = "slow"
name = "A byte at a time, with a source deadline"
publisher = "fhi"
kind = "dcat"
url = "{url}/drip.ttl"
source_deadline = 1
timeout = 0.5
retries = 0

[[source]]
id = "endless"
name = "Resumption tokens without end"
publisher = "fhi"
kind = "ddi"
url = "{url}/oai"
mode = "oai"
max_requests = 5
timeout = 0.5
retries = 0
"""
def graph_files(settings) -> dict[str, bytes]:
    store = Store(settings.data_dir, settings.base_uri)
    return {s.id: (store.graphs_dir / s.graph_file).read_bytes()
            for s in store.state().sources.values() if s.graph_file and s.is_source}


def test_hostile_sources_fail_alone_and_the_good_one_is_harvested_and_indexed(
        settings, make_config, hostile, fixture_server):
    dar = DCAT_SOURCE.format(url=hostile.url) + FAST
    [first] = harvest(settings, make_config(dar))
    before = graph_files(settings)
    hostile.bodies["/dcat/katalog.ttl"] = b""  # an empty 200 where there were records
    config = make_config(dar + HOSTILE_SOURCES.format(url=hostile.url, theme=EU_HEALTH) + MFR_SOURCE.format(url=fixture_server.url))

    runs = {run.source: run for run in harvest(settings, config)}

    assert first.status == "ok"
    assert {source: run.status for source, run in runs.items()} == {
        "dar": "held", "list": "ok", "loop": "failed", "elsewhere": "failed", "nested": "failed", "drip": "failed",
        "slow": "failed", "endless": "failed", "mfr": "ok"}
    assert "has no records, where the source had" in runs["dar"].error
    assert f"{hostile.url}/loop/a: redirects in a loop" in runs["loop"].error
    assert f"redirected to http://localhost:{hostile.port}/dcat/katalog.ttl" in runs["elsewhere"].error
    assert runs["nested"].document == f"{hostile.url}/nested.json"
    assert f"{hostile.url}/nested.json" in runs["nested"].error and "Traceback" not in runs["nested"].error
    assert "longer than the request deadline of 1 s (request_deadline)" in runs["drip"].error
    assert "longer than its deadline of 1 s (source_deadline)" in runs["slow"].error
    assert "limit of 5 requests" in runs["endless"].error and hostile.oai_pages == 5
    # The run went on: the good source is searchable, the held one's records stay, and no
    # other graph changed by a byte.
    assert {"FODSELSVEKT", *DAR} <= set(by_name(settings))
    after = graph_files(settings)
    assert after == {**before, "list": after["list"], "mfr": after["mfr"]}
    assert after["list"].count(b"http://www.w3.org/1999/02/22-rdf-syntax-ns#first") == 1000
    assert all(RunLog(settings.data_dir).get(run.id).error == run.error for run in runs.values())
    state = Store(settings.data_dir, settings.base_uri).state().sources
    assert state["loop"].error == runs["loop"].error and state["dar"].last_run == runs["dar"].id


def test_a_redirect_to_a_host_the_source_names_is_followed(settings, make_config, hostile):
    source = DCAT_SOURCE.format(url=hostile.url).replace("/dcat/katalog.ttl", "/elsewhere.ttl")

    [refused] = harvest(settings, make_config(source))
    [followed] = harvest(settings, make_config(source + 'redirect_hosts = ["localhost"]\n'))

    assert refused.status == "failed" and "more in redirect_hosts" in refused.error
    assert followed.status == "ok" and set(by_name(settings)) == DAR


def test_a_held_answer_is_applied_with_accept_shrink(settings, make_config, hostile, monkeypatch, capsys):
    config = make_config(DCAT_SOURCE.format(url=hostile.url))
    monkeypatch.setenv("CATALOGUE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CATALOGUE_SOURCES", str(config.path))
    monkeypatch.setenv("CATALOGUE_BASE_URI", settings.base_uri)
    assert cli.main(["harvest"]) == 0
    hostile.bodies["/dcat/katalog.ttl"] = b""

    assert cli.main(["harvest"]) == 1
    held = capsys.readouterr().out
    [held_run, *_] = RunLog(settings.data_dir).runs("dar")
    page = TestClient(create_app(settings)).get(f"/harvests/{held_run.id}", params={"lang": "en"}).text
    assert cli.main(["harvest", "--accept-shrink"]) == 2  # only for sources named
    assert set(by_name(settings)) == DAR
    assert cli.main(["harvest", "--source", "dar", "--accept-shrink"]) == 0

    assert "held for confirmation: it has no records, where the source had" in held
    assert "--accept-shrink --source dar" in held
    assert '<span class="bad">Held for confirmation – previous graph kept</span>' in page
    assert "it has no records, where the source had" in page
    [accepted, *_] = RunLog(settings.data_dir).runs("dar")
    assert accepted.status == "ok" and accepted.removed > 0 and not by_name(settings)


def test_an_upload_that_removes_most_records_needs_confirmation(settings, make_config, hostile):
    config = make_config(DCAT_SOURCE.format(url=hostile.url))
    settings.sources_file.write_text(config.path.read_text(encoding="utf-8"), encoding="utf-8")
    harvest(settings, config)
    token = account(settings, "fhi-robot", "publisher", "fhi")
    client = TestClient(create_app(settings))
    # The catalogue alone, without its dataset and variables.
    catalogue_only = KATALOG.split(b"<https://data.fhi.no/datasett/dar> a")[0]
    headers = {**bearer(token), "Content-Type": "text/turtle", "Accept": "application/json"}

    checked = client.post("/sources/dar/publish", params={"filename": "dar.ttl", "dry_run": "true"},
                          content=catalogue_only, headers=headers)
    refused = client.post("/sources/dar/publish", params={"filename": "dar.ttl"}, content=catalogue_only,
                          headers=headers)
    unchanged = set(by_name(settings))
    confirmed = client.post("/sources/dar/publish", params={"confirm_shrink": "true", "filename": "dar.ttl"},
                            content=catalogue_only, headers=headers)
    removed = set(by_name(settings))
    client.post("/sources/dar/publish", params={"filename": "dar.ttl"}, content=KATALOG, headers=headers)
    form = {"files": {"file": ("dar.ttl", catalogue_only, "text/turtle")},
            "headers": {**bearer(token), "Accept": "application/json"}}
    unconfirmed_form = client.post("/sources/dar/publish", **form)
    confirmed_form = client.post("/sources/dar/publish", data={"confirm_shrink": "true"}, **form)

    assert checked.json()["needs_confirmation"].startswith("it would remove")
    assert refused.status_code == 409
    assert "'dar.ttl': held for confirmation: it would remove" in refused.json()["detail"]
    assert "confirm_shrink" in refused.json()["detail"] and unchanged == DAR
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "ok", confirmed.text
    assert len(confirmed.json()["removed"]) >= 2 and not removed
    assert (unconfirmed_form.status_code, confirmed_form.status_code) == (409, 200)
    assert not by_name(settings)
