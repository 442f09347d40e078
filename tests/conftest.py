"""Shared fixtures: a data directory, fixture files served over real HTTP, and
sources configurations written as TOML the way a publisher would write them."""
from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catalogue.pipeline.fileserver import FileServer
from catalogue.settings import DEMO_SOURCES, Settings
from catalogue.sources import Config
from support import BASE_URI, FIXTURES, settings_in, store_server_at, write_config


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


# The demo's code lists with tens of thousands of codes (ICD-10's four versions hold 78,500).
LARGE_CODE_LISTS = ["icd10", "icpc2"]


@pytest.fixture
def client(app):
    """A client of the module's `app` (shared, built once) with cookies of its own: a language
    or list one test chose does not follow the next test, whatever the order."""
    from fastapi.testclient import TestClient
    return TestClient(app)


@pytest.fixture(scope="session")
def demo_harvest(tmp_path_factory) -> tuple[Settings, list, Settings]:
    """The bundled demo harvested once for the whole session: its settings, its summaries, and
    the settings of the same demo harvested without LARGE_CODE_LISTS (the first step of the
    harvest, kept aside). Read them through `demo_data`: a full harvest is too slow to repeat
    per test module."""
    from catalogue.pipeline.harvest import harvest
    from catalogue.sources import load_config

    def settings(name: str) -> Settings:
        return Settings(data_dir=tmp_path_factory.mktemp(name) / "data", sources_file=DEMO_SOURCES,
                        base_uri=BASE_URI)

    config = load_config(DEMO_SOURCES)
    light, full = settings("demo-light"), settings("demo")
    summaries = harvest(light, config, only=[s.id for s in config.source if s.id not in LARGE_CODE_LISTS])
    shutil.copytree(light.data_dir, full.data_dir)
    return full, summaries + harvest(full, config, only=LARGE_CODE_LISTS), light


@pytest.fixture(scope="session")
def demo_data(demo_harvest) -> Callable[..., Settings]:
    """`demo_data(folder)`: settings for a copy of the harvested demo's data directory in
    `folder`, for a test (or module) to read or change as its own. `light=True`: the demo
    without LARGE_CODE_LISTS, for tests that read the whole catalogue at once (official
    shapes, HealthDCAT-AP levels), where their alike codes add only time."""
    full, _, light_demo = demo_harvest

    def copy(folder: Path, light: bool = False) -> Settings:
        shutil.copytree((light_demo if light else full).data_dir, folder / "data")
        return Settings(data_dir=folder / "data", sources_file=DEMO_SOURCES, base_uri=BASE_URI)

    return copy


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory, demo_data) -> Iterator[str]:
    """The harvested demo served by `catalogue serve` on 127.0.0.1 (a real server, for browser
    tests): its base URL, no trailing slash. Identifiers are minted under BASE_URI, not this
    server's random port, so that pages and screenshots read the same on every run."""
    from catalogue.access.accounts import Accounts
    from support import DEMO_ADMIN, serving

    folder = tmp_path_factory.mktemp("demo-site")
    settings = demo_data(folder)
    Accounts(settings.data_dir).add(DEMO_ADMIN[0], "admin", password=DEMO_ADMIN[1])
    with serving(settings, folder / "serve.log") as served:
        yield served.url


@pytest.fixture(scope="session")
def postgresql():
    """A PostgreSQL server for the session (tests/postgresql_server.py); skips where the
    PostgreSQL binaries are missing."""
    from postgresql_server import started
    with started() as cluster:
        yield cluster


@pytest.fixture
def database_url(postgresql) -> Iterator[str]:
    """A new, empty PostgreSQL database of this test's own."""
    with postgresql.database() as url:
        yield url



@pytest.fixture
def store_server(tmp_path) -> Iterator[str]:
    """A graph store server of this test's own (see support.store_server_at): its URL."""
    with store_server_at(tmp_path / "store-server") as url:
        yield url
