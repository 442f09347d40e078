"""A rebuild's documents made in forked processes, one per core: the same index as made in one
process, the work done in the order asked, a failure told, and no process left behind, even
when the rebuild is killed."""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from catalogue.forked import WorkFailed, in_order
from catalogue.search import EmbeddedBackend, Query, build_documents, read_catalogue
from catalogue.search.embedded import PARTS, REGISTERS, SUMMARY
from catalogue.storage.store import Store

QUERIES = [Query(), Query(text="fødselsvekt"), Query(text="brystkreft"), Query(text="diagnose", year_from=2015),
           Query(filters={"source": ("helsedata",)}, sort="name"), Query(text="vaksine", page=2, size=5)]


@pytest.fixture(scope="module")
def store(tmp_path_factory, demo_data):
    settings = demo_data(tmp_path_factory.mktemp("forked"))
    return Store(settings.data_dir, settings.base_uri)


def test_an_index_made_a_variable_at_a_time_in_forked_processes_is_the_index_made_at_once(store, tmp_path):
    """Batches of one variable (registers of one source cut where a batch is full), made in two
    processes, and all the documents at once, in this one: the same hits in the same order,
    the same compound words and the same summary (facet names, coverage, holders)."""
    alone, forked = EmbeddedBackend(tmp_path / "alone"), EmbeddedBackend(tmp_path / "forked")
    alone.rebuild(build_documents(store))
    forked.rebuild(read_catalogue(store, batch=1, processes=2).documents)
    for query in QUERIES:
        assert forked.search(query) == alone.search(query), query
    assert forked.search(QUERIES[0]).total > 300
    assert forked.matching(Query()) == alone.matching(Query())
    for kept in (PARTS, REGISTERS, SUMMARY):  # compound words, summary by register and whole
        assert _kept(forked, kept) == _kept(alone, kept), kept


def _kept(backend: EmbeddedBackend, name: str):
    return json.loads((backend.root / backend._pointer.read_text().strip() / name).read_text())


def test_the_documents_are_made_in_other_processes_only_where_they_are_read_from_the_graph_files(store):
    def pids(documents) -> set[int]:
        return set(documents.each_batch(lambda docs: os.getpid()))

    forked = pids(read_catalogue(store, batch=1, processes=3).documents)
    assert os.getpid() not in forked and len(forked) == 3  # this process takes what three others made
    # without the files, a document is read from the graph store, whose handle stays in this process
    assert pids(read_catalogue(store, batch=1, processes=2, files=False).documents) == {os.getpid()}


def test_work_in_forked_processes_comes_back_in_the_order_of_the_tasks():
    tasks = list(range(23))
    assert list(in_order(lambda t: (t, t * t), tasks, processes=3)) == [(t, t * t) for t in tasks]
    assert list(in_order(lambda t: t, [], processes=3)) == []
    # where the taker of the results does no task, as many children do them; one process is
    # one worker still
    done = list(in_order(lambda t: (t, os.getpid()), tasks, processes=3, taker_works=False))
    assert [t for t, _ in done] == tasks
    assert os.getpid() not in {pid for _, pid in done} and len({pid for _, pid in done}) == 3
    assert {pid for _, pid in in_order(lambda t: (t, os.getpid()), tasks, processes=1, taker_works=False)} \
        == {os.getpid()}


def test_a_failing_task_is_told_with_its_error_and_no_process_is_left():
    def work(task: int) -> int:
        if task == 5:
            raise ValueError("no such register: 5")
        return task

    before = _children()
    with pytest.raises(WorkFailed, match="ValueError: no such register: 5"):
        list(in_order(work, range(9), processes=2))
    assert _children() <= before  # every child ended and waited for


def test_work_no_longer_wanted_leaves_no_process():
    before = _children()
    results = in_order(lambda t: t, range(1000), processes=2)
    assert next(results) == 0
    assert len(_children() - before) == 1
    results.close()
    assert _children() <= before


WORK_KILLED = textwrap.dedent("""
    import fcntl, os, sys, time
    from catalogue.forked import in_order
    lock = open(sys.argv[1], "w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # as a rebuild holds the data directory's lock

    def work(task):
        if task:
            time.sleep(600)

    for _ in in_order(work, range(4), processes=2):
        print("task 0 done", flush=True)  # by this process; its child is at task 1
""")


def test_a_killed_parent_takes_its_children_with_it_and_its_lock_is_free(tmp_path):
    """Children inherit the lock's descriptor: were one left running, the next harvest would wait
    for it for ever."""
    lock = tmp_path / ".lock"
    parent = subprocess.Popen([sys.executable, "-c", WORK_KILLED, str(lock)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout.readline() == "task 0 done\n"
    [child] = _children(parent.pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    with open(lock, "w") as handle:
        deadline = time.monotonic() + 10
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, "a child of the killed process still holds the lock"
                time.sleep(0.05)
    assert not _alive(child)


def _children(parent: int | None = None) -> set[int]:
    """The children of `parent` (this process), ended but not waited for too."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == (parent or os.getpid()):
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False
