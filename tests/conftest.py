"""Shared fixtures: a data directory, fixture files served over real HTTP, and
sources configurations written as TOML the way a publisher would write them."""
from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catalogue.fileserver import FileServer
from catalogue.settings import Settings
from catalogue.sources import Config
from support import FIXTURES, settings_in, write_config


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_in(tmp_path)


@pytest.fixture
def serve() -> Iterator[Callable[[Path], FileServer]]:
    """Start a FileServer on a folder; every server started is stopped after the test."""
    servers: list[FileServer] = []

    def start(folder: Path) -> FileServer:
        server = FileServer(folder).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def fixture_server() -> Iterator[FileServer]:
    """tests/fixtures, served read-only for the whole session."""
    with FileServer(FIXTURES) as server:
        yield server


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Callable[[str], Path]:
    """A writable copy of one fixture folder, for tests that change what a source serves."""

    def copy(name: str) -> Path:
        target = tmp_path / "served" / name
        shutil.copytree(FIXTURES / name, target)
        return target

    return copy


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[[str], Config]:
    """`make_config(sources_toml)`: a loaded configuration with those `[[source]]` tables."""
    return lambda sources: write_config(tmp_path, sources)


@pytest.fixture
def served(tmp_path, fixture_copy, serve):
    """The dcat and table fixtures, copied so a test can change them, served over HTTP."""
    fixture_copy("dcat")
    fixture_copy("table")
    folder = tmp_path / "served"
    return folder, serve(folder).url


@pytest.fixture
def client(app):
    """A client of the module's `app` (shared, built once) with cookies of its own: a language
    or list one test chose does not follow the next test, whatever the order."""
    from fastapi.testclient import TestClient
    return TestClient(app)


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory) -> Iterator[str]:
    """The bundled demo, harvested once into a temporary data dir and served by `catalogue
    serve` on 127.0.0.1 (a real server, for browser tests): its base URL, no trailing slash."""
    import os
    import subprocess
    import sys

    from catalogue.accounts import Accounts
    from catalogue.harvest import harvest
    from catalogue.settings import DEMO_SOURCES
    from catalogue.sources import load_config
    from support import DEMO_ADMIN, free_port, wait_for

    folder = tmp_path_factory.mktemp("demo-site")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Identifiers as `make run` makes them (not this server's random port), so that pages and
    # screenshots read the same on every run.
    base_uri = "http://127.0.0.1:8000/"
    settings = Settings(data_dir=folder / "data", sources_file=DEMO_SOURCES, base_uri=base_uri)
    summaries = harvest(settings, load_config(DEMO_SOURCES))
    assert {s.status for s in summaries} == {"ok"}, [(s.source, s.status) for s in summaries]
    Accounts(settings.data_dir).add(DEMO_ADMIN[0], "admin", password=DEMO_ADMIN[1])
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(settings.data_dir), "CATALOGUE_SOURCES": str(DEMO_SOURCES),
           "CATALOGUE_BASE_URI": base_uri, "CATALOGUE_SEARCH": "embedded", "HOST": "127.0.0.1"}
    log = folder / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "catalogue.cli", "serve", "--port", str(port)],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        try:
            wait_for(f"{base}/api/variables", params={"size": 1})
        except Exception:
            raise RuntimeError(f"catalogue serve did not start:\n{log.read_text(errors='replace')[-3000:]}")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
