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
