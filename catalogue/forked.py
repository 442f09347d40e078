"""Work spread over forked processes, its results taken in the order of the tasks.

A rebuild makes its documents from what one pass over the graph files learnt: every variable's
source and dataset, and where its statements are. A forked process has all of that at once, its
pages shared with the parent until written, where a process started afresh would have to learn
it again. So the documents of a large catalogue are made in a process per core, and the parent
takes what was made in order and writes the index from it. The pass itself is made so too, a
file a task, the parent one of the processes (catalogue.storage.graph_files).

A child reads only what the parent had in memory and files it reads by offset; it must not touch
what other threads of the parent own (the graph store's handle), and it dies with its parent, so
that a killed rebuild leaves nothing running that holds the data directory's lock."""
from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO, TypeVar

T = TypeVar("T")
R = TypeVar("R")
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when the thread that forked it ends


class WorkFailed(RuntimeError):
    """A task failed in a child process: its traceback is the message."""


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def in_order(work: Callable[[T], R], tasks: Sequence[T], processes: int, taker_works: bool = True) -> Iterator[R]:
    """`work(task)` for each of `tasks`, yielded in their order, done by `processes` processes:
    this one and forked children. With n of them, this one does tasks 0, n, 2n, ... and child
    k tasks k, k + n, ...; each child hands its results over a pipe of its own, so it is at most
    a result or so ahead of what has been taken: what is in flight is a few results, not all of
    them. (This process works too, rather than only wait: a child's pages are its parent's until
    either writes them, and each child writes more of them than it makes.) Where whoever takes
    the results does a good part of a task's work with each, this process would hold the
    children back: unless `taker_works`, n children do the tasks and this one only takes their
    results, at the cost of one more child's pages."""
    n = min(processes, len(tasks))
    first = 0 if not taker_works and n > 1 else 1  # the first worker that is a child
    children: list[tuple[int, BinaryIO]] = []
    parent = os.getpid()  # asked here: a child asking after the fork would hear init's, were this one gone
    try:
        for k in range(first, n):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read)
                _child(work, tasks[k::n], write, parent)
            os.close(write)
            children.append((pid, os.fdopen(read, "rb")))
        for i, task in enumerate(tasks):
            yield work(task) if i % n < first else _result(children[i % n - first][1], i)
    finally:  # finished, failed, or no longer wanted: no child outlives the work
        for pid, pipe in children:
            pipe.close()
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)


def _result(pipe: BinaryIO, task: int):
    try:
        done, result = pickle.load(pipe)
    except EOFError:
        raise WorkFailed(f"the process doing task {task} ended without a result") from None
    if not done:
        raise WorkFailed(result)
    return result


def _child(work: Callable[[T], R], tasks: Sequence[T], fd: int, parent: int) -> None:
    """Do `tasks` and write each result to `fd`; never returns (nothing of the parent's stack
    runs twice, and neither its exit handlers nor its buffered output's flushing run here)."""
    code = 1
    try:
        _die_with(parent)
        with os.fdopen(fd, "wb") as out:
            for task in tasks:
                try:
                    result = (True, work(task))
                except BaseException:  # told to the parent, which raises it there
                    pickle.dump((False, traceback.format_exc()), out)
                    return
                pickle.dump(result, out, pickle.HIGHEST_PROTOCOL)
                out.flush()
        code = 0
    finally:
        os._exit(code)


def _die_with(parent: int) -> None:
    """Be killed when the parent ends, however it ends (Linux; elsewhere the parent's `finally`
    is all there is)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before that was asked
        os._exit(1)
