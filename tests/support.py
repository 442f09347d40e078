"""Helpers the tests share: configurations, and reading what a harvest stored and indexed."""
from __future__ import annotations

import itertools
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
from rdflib import Graph

from catalogue.search import EmbeddedBackend, Hit, Query, VariableDoc
from catalogue.settings import DEMO_SOURCES, Settings
from catalogue.sources import Config, load_config
from catalogue.storage.store import Snapshot, Store

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
BASE_URI = "http://catalogue.test/"
DEMO_ADMIN = ("demo-admin", "demo admin password")  # the demo server's admin, for browser tests
EU_HEALTH = "http://publications.europa.eu/resource/authority/data-theme/HEAL"

CONFIG_HEAD = """\
[catalogue]
title = { nb = "Testkatalog", en = "Test catalogue" }
publisher = "fhi"
contact = { name = { nb = "Katalogstøtte" }, email = "katalog@example.no" }

[publishers.fhi]
name = "Folkehelseinstituttet"
uri = "https://organization-catalog.fellesdatakatalog.digdir.no/organizations/983744516"
identifier = "983744516"

[publishers.ssb]
name = "Statistisk sentralbyrå"
uri = "https://organization-catalog.fellesdatakatalog.digdir.no/organizations/971526920"
"""
_numbers = itertools.count()


def settings_in(folder: Path) -> Settings:
    return Settings(data_dir=folder / "data", sources_file=folder / "sources.toml", base_uri=BASE_URI)


def write_config(folder: Path, sources: str) -> Config:
    """Write the `[[source]]` tables after a shared catalogue/publishers head to a TOML
    file in `folder` and load it the way the `catalogue` command does."""
    path = folder / f"sources-{next(_numbers)}.toml"
    path.write_text(CONFIG_HEAD + "\n" + textwrap.dedent(sources), encoding="utf-8")
    return load_config(path)


def harvest_demo(settings: Settings, *source_ids: str):
    """Harvest these sources of the bundled demo configuration, as `make run` does."""
    from catalogue.pipeline.harvest import harvest
    return harvest(settings, load_config(DEMO_SOURCES), only=list(source_ids))


def snapshot(settings: Settings) -> Snapshot:
    return Store(settings.data_dir, settings.base_uri, settings.store_url).snapshot()


def search(settings: Settings, text: str = "") -> list[Hit]:
    return EmbeddedBackend(settings.data_dir / "index").search(Query(text=text, size=100)).items


def indexed_documents(settings: Settings, text: str = "") -> list[VariableDoc]:
    """The documents of the variables `text` finds (every one with no text), with their codes."""
    return EmbeddedBackend(settings.data_dir / "index").matching(Query(text=text))


def by_name(settings: Settings) -> dict[str, VariableDoc]:
    """Every searchable variable's document, by its name (dct:identifier)."""
    return {doc.name: doc for doc in indexed_documents(settings)}


def described(client, uri: str) -> Graph:
    """What the catalogue's graph says of `uri`, asked through its SPARQL endpoint (the codes of
    a code list are there and in the whole catalogue, not on its pages)."""
    answer = client.get("/sparql", params={"query": f"CONSTRUCT {{ <{uri}> ?p ?o }} WHERE {{ <{uri}> ?p ?o }}",
                                           "format": "nt"})
    assert answer.status_code == 200, answer.text
    return Graph().parse(data=answer.text, format="nt")


def corpus(*parts: str) -> Path:
    """A file or folder of the shared test corpus, or a skip when it is not there."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared corpus not available: {path} is missing")
    return path


# The MFR variable list as a table source, served from tests/fixtures/table/ at {url}.
MFR_SOURCE = """
[[source]]
id = "mfr"
name = "Medisinsk fødselsregister – variabelliste"
publisher = "fhi"
kind = "table"
url = "{url}/table/mfr-variabler.csv"
columns = {{ name = "Variabelnavn", label = "Variabel", label_en = "Variable (English)", code_list = "Kodeverk", start = "Fra", end = "Til" }}

[[source.dataset]]
id = "mfr"
title = {{ nb = "Medisinsk fødselsregister" }}
description = {{ nb = "Alle fødsler i Norge." }}
themes = ["%s"]
contact = {{ name = {{ nb = "MFR" }}, email = "mfr@fhi.no" }}
""" % EU_HEALTH
DCAT_SOURCE = """
[[source]]
id = "dar"
name = "Dødsårsaksregisteret – DCAT"
publisher = "fhi"
kind = "dcat"
url = "{url}/dcat/katalog.ttl"
"""

KLASS_SOURCE = """
[[source]]
id = "klass"
name = "SSB KLASS"
publisher = "ssb"
kind = "klass"
url = "{url}/klass"
classifications = {classifications}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, **kwargs) -> dict:
    """The JSON at `url`, once a server that is starting answers it."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url, **kwargs).json()
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class Served(NamedTuple):
    url: str  # its base URL, no trailing slash
    process: subprocess.Popen


@contextmanager
def serving(settings: Settings, log: Path, *args: str, **env: str) -> Iterator[Served]:
    """`catalogue serve` (with `args`) as a real process on a free loopback port, over
    `settings` with `env` added, once it answers; stopped after. What it writes goes to
    `log`, which a failed start shows."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "CATALOGUE_DATA_DIR": str(settings.data_dir), "HOST": "127.0.0.1",
                   "CATALOGUE_SOURCES": str(settings.sources_file), "CATALOGUE_BASE_URI": settings.base_uri,
                   "CATALOGUE_SEARCH": "embedded", **env}
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "catalogue.cli", "serve", "--port", str(port), *args],
                                  env=environment, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        try:
            wait_for(f"{base}/healthz")
        except Exception:
            raise RuntimeError(f"catalogue serve did not start:\n{log.read_text(errors='replace')[-3000:]}")
        yield Served(base, server)
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def store_server_at(folder: Path) -> Iterator[str]:
    """An `oxigraph serve` graph store server keeping its database in `folder`, on a free
    loopback port, once it answers: its URL. Skips where the `oxigraph` command (the
    `store-server` extra) is not installed."""
    command = Path(sys.executable).with_name("oxigraph")
    if not command.exists():
        pytest.skip("the graph store server tests need the `oxigraph` command: pip install oxigraph")
    folder.mkdir(parents=True)
    url = f"http://127.0.0.1:{free_port()}"
    with (folder / "server.log").open("wb") as log:
        server = subprocess.Popen([str(command), "serve", "--location", str(folder / "db"),
                                   "--bind", url.removeprefix("http://")],
                                  stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_for(f"{url}/query?query=ASK%7B%7D", headers={"Accept": "application/sparql-results+json"})
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one series of a Prometheus exposition, if it is there."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        found = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if found and ",".join(sorted((found.group(1) or "").split(","))) == wanted:
            return float(found.group(2))
    return None


def account(settings: Settings, name: str, role: str, organisation: str | None = None,
            password: str | None = None) -> str:
    """An account made as the `catalogue accounts` command makes it; returns an API token for it."""
    from catalogue.access.accounts import Accounts
    from catalogue.storage.database import open_database
    accounts = Accounts(open_database(settings))
    accounts.add(name, role, organisation, password)
    return accounts.new_token(name, "test")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_in(client, name: str, password: str) -> str:
    """Log a TestClient in through the login form, as a browser does; returns the
    session's CSRF token (the hidden `csrf` field of the account page's forms)."""
    import re
    form = client.get("/login", headers={"Accept": "text/html"})
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    answer = client.post("/login", data={"name": name, "password": password, "csrf": token, "next": "/account"},
                         headers={"Accept": "text/html"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = client.get("/account", headers={"Accept": "text/html"})
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def serve_handler(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    """`handler` answering on 127.0.0.1 from a thread of its own, and the server's URL;
    end it with `stop_server`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def stop_server(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


def graph_lines(settings: Settings, source_id: str) -> list[str]:
    """The lines of the graph file the committed state names for the source."""
    store = Store(settings.data_dir, settings.base_uri)
    return (store.graphs_dir / store.state().sources[source_id].graph_file).read_text(encoding="utf-8").splitlines()
