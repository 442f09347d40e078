"""Proof by killing: a harvest, a publication and a reindex are killed (SIGKILL) at every
write boundary (CATALOGUE_KILL_AT, see catalogue.storage.durable) and at a few random instants; the
next run heals the data directory to what an uninterrupted run leaves: the same graphs (in
their files and in the graph store), the same search index, the same history and the same run log. A server started on the data
directory right after the kill searches what its committed state holds."""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from catalogue.pipeline import publishing
from catalogue.pipeline.harvest import DEMO_EDITIONS, DEMO_FILES, harvest, settle
from catalogue.pipeline.uploads import Uploads
from catalogue.search import Query, build_documents, open_backend
from catalogue.services import Services
from catalogue.settings import DEMO_SOURCES, Settings
from catalogue.sources import DEMO_PLACEHOLDER, load_config
from catalogue.storage.history import History
from catalogue.storage.runs import RunLog
from catalogue.storage.store import Store
from support import BASE_URI

SOURCE = "mfr"  # a small demo source whose second edition changes records
RANDOM_KILLS = 2  # per operation, besides one kill at every write boundary
BLANK = re.compile(r"_:\w+")  # blank node labels differ from one writing of a graph to the next
DRIVER = "import sys; sys.path.insert(0, sys.argv[1]); import test_kill; test_kill.main(sys.argv[2])"


def settings_of(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, sources_file=DEMO_SOURCES, base_uri=BASE_URI)


def _edition_2_file() -> tuple[str, bytes]:
    """The file the source publishes in the demo's second edition, as a publisher would upload it."""
    name = load_config(DEMO_SOURCES).get(SOURCE).url.replace(DEMO_PLACEHOLDER + "/", "")
    for folder in (*DEMO_EDITIONS[2], DEMO_FILES):
        if (folder / name).is_file():
            return Path(name).name, (folder / name).read_bytes()
    raise AssertionError(f"no file {name} in the demo")


def operate(settings: Settings, operation: str) -> None:
    config = load_config(DEMO_SOURCES)
    if operation == "harvest":
        harvest(settings, config, only=[SOURCE], demo_edition=2)
    elif operation == "publish":
        filename, content = _edition_2_file()
        publishing.publish(settings, config, SOURCE, filename, content, None, by="kill-test")
    elif operation == "reindex":  # as `catalogue index` does
        store = Store(settings.data_dir, settings.base_uri)
        with store.lock():
            settle(settings, store, rebuild=True)
    else:
        raise ValueError(operation)


def main(operation: str) -> None:
    """The killed process: one operation on the data directory CATALOGUE_DATA_DIR names."""
    operate(settings_of(Path(os.environ["CATALOGUE_DATA_DIR"])), operation)


# After a kill, the next run: a harvest of the source (edition 2, which a publication
# publishes too), which must bring whatever was left behind up to date.


def observed(settings: Settings) -> dict:
    """What a user can see of a data directory: each source's triples, each indexed
    variable's id and label, the history events, the runs that changed something; and how
    many files it keeps."""
    store = Store(settings.data_dir, settings.base_uri)
    graphs = {source.id: sorted(BLANK.sub("_:b", str(t)) for t in triples)
              for source, triples in store.graph_triples(store.state())}
    snapshot = store.snapshot()  # what pages read: the graph store's checkpoint the state names
    stored = {source: sorted(BLANK.sub("_:b", str(q.triple))
                             for q in snapshot.store.quads_for_pattern(None, None, None, ox.NamedNode(name)))
              for source, name in snapshot.graph_names.items()}
    index = {doc.id: doc.label for doc in open_backend(settings).matching(Query())}
    events = sorted((e.source, e.subject, e.kind, e.change, json.dumps([f.model_dump() for f in e.fields]))
                    for e in History(settings.data_dir).since(""))
    runs = [(r.source, r.status, r.seen, r.accepted, r.added, r.changed, r.removed, r.kept)
            for r in reversed(RunLog(settings.data_dir).runs(limit=None))
            if r.status in ("failed", "held") or r.added + r.changed + r.removed + r.kept]
    # What a killed writer left is cleaned up: as many files of each kind as an uninterrupted run keeps.
    files = {pattern: len(list(settings.data_dir.glob(pattern)))
             for pattern in ("graphs/*.nt", "records/*", "runs/pending/*", "store/checkpoints/*")}
    return {"graphs": graphs, "stored": stored, "index": index, "history": events, "runs": runs, "files": files}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> dict[str, Path]:
    """Data directories each operation starts from: edition 1 harvested (for a harvest and
    a publication of edition 2), and edition 2 harvested (for a reindex)."""
    folder = tmp_path_factory.mktemp("prepared")
    first = settings_of(folder / "edition-1")
    assert [r.status for r in harvest(first, load_config(DEMO_SOURCES), only=[SOURCE])] == ["ok"]
    second = settings_of(folder / "edition-2")
    shutil.copytree(first.data_dir, second.data_dir)
    operate(second, "harvest")
    return {"harvest": first.data_dir, "publish": first.data_dir, "reindex": second.data_dir}


def _copy(prepared: Path, target: Path) -> Settings:
    shutil.copytree(prepared, target, ignore=shutil.ignore_patterns(".lock", ".harvest.lock"))
    return settings_of(target)


def _start(settings: Settings, operation: str, kill_at: int | None = None) -> subprocess.Popen:
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(settings.data_dir), "CATALOGUE_SOURCES": str(DEMO_SOURCES),
           "CATALOGUE_BASE_URI": BASE_URI, "CATALOGUE_SEARCH": "embedded"}
    env.pop("CATALOGUE_KILL_AT", None)
    if kill_at:
        env["CATALOGUE_KILL_AT"] = str(kill_at)
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(Path(__file__).parent), operation], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)


def _served_as_committed(settings: Settings) -> list[str]:
    """A server started on a killed writer's data directory searches what its state names."""
    Services(settings)
    store = Store(settings.data_dir, settings.base_uri)
    committed = {(doc.id, json.dumps(doc.label, sort_keys=True)) for doc in build_documents(store)}
    indexed = {(doc.id, json.dumps(doc.label, sort_keys=True)) for doc in open_backend(settings).matching(Query())}
    return [] if committed == indexed else [f"a server started after the kill searches "
                                            f"{sorted(indexed - committed)[:3]} instead of "
                                            f"{sorted(committed - indexed)[:3]}"]


def _unnamed_uploads(settings: Settings) -> list[str]:
    """Uploaded files no state names (a publication killed before its commit) are gone
    once the next run has settled; the active publication's record and file stay."""
    state = Store(settings.data_dir, settings.base_uri).state()
    active = Uploads(settings.data_dir, SOURCE).active(state)
    named = {state.sources[SOURCE].publication, active.file} if active else set()
    kept = {path.name for path in (settings.data_dir / "uploads" / SOURCE).glob("*")}
    return [f"uploads no state names are kept: {sorted(kept - named)}"] if kept - named else []


def _differences(expected: dict, found: dict) -> list[str]:
    """Per part that differs, a few of what is missing and of what is extra."""
    out = []
    for part in expected:
        if expected[part] != found[part]:
            want, got = _items(expected[part]), _items(found[part])
            out.append(f"{part} differ: missing {[x for x in want if x not in got][:3]}, "
                       f"extra {[x for x in got if x not in want][:3]}")
    return out


def _items(value: dict | list) -> list:
    if isinstance(value, dict):
        return [(k, v) for k, vs in value.items() for v in (vs if isinstance(vs, list) else [vs])]
    return value


@pytest.mark.parametrize("operation", ["harvest", "publish", "reindex"])
def test_a_writer_killed_anywhere_heals_to_what_an_uninterrupted_run_leaves(operation, prepared, tmp_path):
    reference = _copy(prepared[operation], tmp_path / "reference")
    operate(reference, operation)
    operate(reference, "harvest")
    expected = observed(reference)

    failures, seconds, kill_at = [], 0.0, 0
    while True:  # one kill at each boundary, until the operation passes them all
        kill_at += 1
        settings = _copy(prepared[operation], tmp_path / f"boundary-{kill_at}")
        started = time.monotonic()
        process = _start(settings, operation, kill_at)
        _, stderr = process.communicate(timeout=300)
        if process.returncode == 0:
            seconds = time.monotonic() - started
            break
        assert process.returncode == -9, stderr.decode(errors="replace")[-3000:]
        failures += [f"{stderr.decode().strip()}: {d}" for d in _served_as_committed(settings)]
        operate(settings, "harvest")
        failures += [f"{stderr.decode().strip()}: {d}" for d in _differences(expected, observed(settings))]
        failures += [f"{stderr.decode().strip()}: {d}" for d in _unnamed_uploads(settings)]
        shutil.rmtree(settings.data_dir)
    assert kill_at > 1, "the operation passed no write boundary"

    seed = random.randrange(2**32)
    chance = random.Random(seed)
    for attempt in range(RANDOM_KILLS):
        settings = _copy(prepared[operation], tmp_path / f"random-{attempt}")
        delay = chance.uniform(0, seconds)
        process = _start(settings, operation)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.kill()
        process.communicate(timeout=300)
        operate(settings, "harvest")
        failures += [f"killed after {delay:.2f} s (seed {seed}): {d}"
                     for d in _differences(expected, observed(settings))]
        shutil.rmtree(settings.data_dir)
    assert not failures, "\n".join(failures)


def test_files_a_writer_was_killed_in_the_middle_of_are_removed_by_the_next_run(prepared, tmp_path):
    """A kill between two boundaries, inside a write, leaves the file under its temporary name;
    the next run removes those of processes that are gone, and no other's."""
    settings = _copy(prepared["harvest"], tmp_path / "data")
    gone = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout)
    left = [settings.data_dir / "records" / f".20260101T000000-mfr.nq.gz.{gone}.tmp",
            settings.data_dir / "graphs" / f".mfr.20260101T000000.nt.{gone}.tmp"]
    writing_now = settings.data_dir / "records" / f".mfr.manifest.json.{os.getpid()}.tmp"
    for path in [*left, writing_now]:
        path.write_bytes(b"half a file")
    operate(settings, "harvest")
    assert [path for path in left if path.exists()] == []
    assert writing_now.exists()
