"""The graph store: readers open the checkpoint their state names, read-only, instead of
loading the catalogue into memory; a write reloads only what changed; a reader keeps the
generation it opened while writers go on; a data directory of an earlier release gets its
store from the first server or writer on it. Each as well with the graph store on a store
server (CATALOGUE_STORE_URL), where a checkpoint is a set of graphs on the server."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from catalogue.pipeline.harvest import harvest
from catalogue.settings import DEMO_SOURCES, Settings
from catalogue.site.app import create_app
from catalogue.sources import load_config
from catalogue.storage.remote_store import RemoteGraphStore
from catalogue.storage.store import Store
from support import BASE_URI, FIXTURES

SOURCE = "mfr"  # a small demo source whose second edition changes records


def settings_of(data_dir: Path, base_uri: str = BASE_URI, store_url: str | None = None) -> Settings:
    return Settings(data_dir=data_dir, sources_file=DEMO_SOURCES, base_uri=base_uri, store_url=store_url)


@pytest.fixture(params=["embedded", "server"])
def store_url(request) -> str | None:
    """Where the graph store is: in the data directory (None), or on a store server (its URL)."""
    return request.getfixturevalue("store_server") if request.param == "server" else None


def checkpoints(store: Store) -> list[str]:
    """The names of the checkpoints the graph store holds, oldest first."""
    if not isinstance(store.graph_store, RemoteGraphStore):
        return sorted(p.name for p in store.graph_store.checkpoints.iterdir())
    answer = httpx.post(f"{store.graph_store.url}/query", headers={"Accept": "text/tab-separated-values"},
                        data={"query": "SELECT ?g WHERE { GRAPH ?g {} }"}).text.split()[1:]
    prefix = f"<{store.base_uri}store/checkpoint/"
    return sorted(g.removeprefix(prefix).rstrip(">") for g in answer if g.startswith(prefix))


def opened(harvested: Path, folder: Path, store_url: str | None, base_uri: str = BASE_URI) -> tuple[Settings, Store]:
    """A copy of a harvested data directory whose state's checkpoint is in the graph store at
    `store_url` (as the first server started on it makes it)."""
    settings = settings_of(Path(shutil.copytree(harvested, folder / "data")), base_uri, store_url)
    store = Store(settings.data_dir, settings.base_uri, store_url)
    if store.unchecked(store.state()):
        with store.lock():
            store.write_state(store.state())
    return settings, store


def stored(store: Store) -> dict[str, set[str]]:
    """Each source's triples as a reader of the current state sees them (blank nodes aside)."""
    snapshot = store.snapshot()
    return {source: {str(q.triple) for q in snapshot.store.quads_for_pattern(None, None, None, ox.NamedNode(name))
                     if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)}
            for source, name in snapshot.graph_names.items()}


def in_files(store: Store) -> dict[str, set[str]]:
    return {source.id: {str(t) for t in triples if not isinstance(t.subject, ox.BlankNode)
                        and not isinstance(t.object, ox.BlankNode)}
            for source, triples in store.graph_triples(store.state())}


@pytest.fixture(scope="module")
def harvested(tmp_path_factory) -> Path:
    """A data directory with the demo's first edition of one source harvested."""
    settings = settings_of(tmp_path_factory.mktemp("harvested") / "data")
    assert [r.status for r in harvest(settings, load_config(DEMO_SOURCES), only=[SOURCE])] == ["ok"]
    return settings.data_dir


def test_readers_open_the_checkpoint_the_state_names_and_keep_their_generation(harvested, tmp_path, store_url):
    settings, store = opened(harvested, tmp_path, store_url)
    first = store.snapshot()
    before = stored(store)
    assert before == in_files(store) and before[SOURCE]
    if store_url is None:
        with pytest.raises(RuntimeError):  # a reader opens the store on disk, read-only, not a copy in memory
            first.store.add(ox.Quad(ox.NamedNode("urn:x"), ox.NamedNode("urn:y"), ox.NamedNode("urn:z")))

    unchanged = store.state().checkpoint
    assert [r.status for r in harvest(settings, load_config(DEMO_SOURCES), only=[SOURCE])] == ["unchanged"]
    assert store.state().checkpoint == unchanged, "a harvest changing no graph makes no new checkpoint"

    assert [r.status for r in harvest(settings, load_config(DEMO_SOURCES), only=[SOURCE], demo_edition=2)] == ["ok"]
    after = stored(store)
    assert after == in_files(store) and after[SOURCE] != before[SOURCE]
    assert after["catalogue"] == before["catalogue"]
    # the reader that opened the first generation still reads it whole
    assert {str(q.triple) for q in first.store.quads_for_pattern(None, None, None, ox.NamedNode(first.graph_names[SOURCE]))
            if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)} == before[SOURCE]
    # what no state names is gone: the current checkpoint and the one before it stay
    kept = checkpoints(store)
    assert len(kept) == 2 and kept[-1] == store.state().checkpoint


def test_a_data_directory_of_an_earlier_release_gets_its_store_from_the_first_server(tmp_path, store_url):
    data = Path(shutil.copytree(FIXTURES / "datadir-0.1.0", tmp_path / "data"))
    store = Store(data, "http://127.0.0.1:8000/", store_url)
    assert not (data / "store").exists() and store.state().checkpoint is None
    before = stored(store)  # until then, read from the graph files into memory
    assert before.keys() == in_files(store).keys()

    client = TestClient(create_app(settings_of(data, store.base_uri, store_url)), base_url=store.base_uri.rstrip("/"))
    assert store.graph_store.has(store.state().checkpoint)
    assert stored(store) == before
    assert client.get("/api/variables/kpr/kpr/alder").json()["variable"]["label"]["nb"] == "Alder"


def test_a_changed_base_uri_renames_every_graph_in_the_store(harvested, tmp_path, store_url):
    settings, store = opened(harvested, tmp_path, store_url, "http://elsewhere.test/")
    assert [r.status for r in harvest(settings, load_config(DEMO_SOURCES), only=[SOURCE], demo_edition=2)] == ["ok"]
    snapshot = store.snapshot()
    assert {q.graph_name.value for q in snapshot.store.quads_for_pattern(None, None, None, None)} == \
        set(snapshot.graph_names.values())
    assert stored(store) == in_files(store)


def test_copies_of_processes_that_ended_are_removed(harvested, tmp_path):
    """A SPARQL worker queries its own copy of a checkpoint (it adds the catalogue's
    additions); a copy whose process died without removing it goes at the next clean-up."""
    settings = settings_of(Path(shutil.copytree(harvested, tmp_path / "data")))
    store = Store(settings.data_dir, settings.base_uri)
    dead, live = store.graph_store.copies / "dead", store.graph_store.copies / "live"
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from catalogue.storage.store import Store; "
                    "Store(Path(sys.argv[1]), sys.argv[2]).snapshot(private=Path(sys.argv[3]))",
                    str(settings.data_dir), settings.base_uri, str(dead)], check=True)
    copy = store.snapshot(private=live)
    copy.store.add(ox.Quad(ox.NamedNode("urn:x"), ox.NamedNode("urn:y"), ox.NamedNode("urn:z"), ox.NamedNode("urn:g")))
    assert dead.is_dir()
    with store.lock():
        store.prune(store.state())
    assert not dead.exists() and live.is_dir()
    assert stored(store) == in_files(store)  # what the copy added is its own
