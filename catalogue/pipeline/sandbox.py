"""Work on untrusted input in a process of its own, bounded in memory and time, so that a
file built to exhaust either takes down that process and not the server.

The process is spawned, not forked (the server is threaded: a fork copies locks other
threads hold); its address space is capped with RLIMIT_AS, and the parent kills it when
its time is up, or when it has sat at its memory limit for STUCK seconds: work whose small
allocations all fail may spin in the allocator without ever raising MemoryError (CPython
reading a CSV has been seen to), and would otherwise hold its process until the time limit
and be refused for the wrong one.
"""
from __future__ import annotations

import multiprocessing
import os
import resource
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

POLL = 0.25  # seconds between looks at the child's address space
STUCK = 3.0  # seconds at its memory limit after which the work is taken to be stuck there
FULL = 2 * 2**20  # bytes below the limit at which the next allocation (glibc asks 1 MiB) fails


class Exceeded(Exception):
    """The work needed more memory or time than it may have; `limit` says which."""

    def __init__(self, limit: str, message: str):
        super().__init__(message)
        self.limit = limit


def run(function: Callable[..., T], *args: Any, memory: int, seconds: float) -> T:
    """`function(*args)` in a spawned process with at most `memory` bytes of address space
    and `seconds` of time: its result, or its exception raised again here. The function,
    its arguments and its result must pickle. Raises Exceeded past either limit."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_bounded, args=(sending, memory, function, args), daemon=True,
                              name="bounded")
    process.start()
    sending.close()  # the child's end: once the child is gone, reading ends (EOFError)
    try:
        _wait(receiving, process.pid, memory, seconds)
        try:
            outcome, value = receiving.recv()
        except EOFError:  # killed without a word: out of memory where no MemoryError is raised
            process.join()
            raise Exceeded("memory", f"stopped (exit code {process.exitcode}), as it does when it needs "
                                     f"more than the memory limit of {memory:,} bytes") from None
    finally:
        process.kill()
        process.join()
        receiving.close()
    if outcome == "memory":
        raise Exceeded("memory", f"needed more than the memory limit of {memory:,} bytes")
    if outcome == "error":
        raise value
    return value


def _wait(receiving, pid: int, memory: int, seconds: float) -> None:
    """Until the child's answer is there; Exceeded when its time is up or it is stuck at its
    memory limit (see the module's comment)."""
    deadline = time.monotonic() + seconds
    full_since = None
    while not receiving.poll(max(0.0, min(POLL, deadline - time.monotonic()))):
        now = time.monotonic()
        if _address_space(pid) > memory - FULL:
            full_since = now if full_since is None else full_since
            if now - full_since >= STUCK:
                raise Exceeded("memory", f"needed more than the memory limit of {memory:,} bytes "
                                         f"(it stopped at the limit and made no answer)")
        else:
            full_since = None
        if now >= deadline:
            raise Exceeded("time", f"took longer than the limit of {seconds:g} s")


def _bounded(sending, memory: int, function: Callable[..., Any], args: tuple) -> None:
    """The child: the work, its answer, and an exit that waits for nothing (threads the work
    left behind, such as a server it had no memory left to shut down, would hold it open)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        answer = ("ok", function(*args))
    except MemoryError:
        answer = ("memory", None)
    except BaseException as exc:  # raised again in the parent, where the caller says what it means
        # An allocation that fails in C code may surface as another error (a SystemError, a
        # thread that cannot start, ...): near the limit, it is the limit that was met.
        answer = ("memory", None) if _near(memory) else (
            "error", exc if isinstance(exc, Exception) else RuntimeError(f"{type(exc).__name__}: {exc}"))
    try:
        sending.send(answer)  # pickled whole before anything is sent
    except MemoryError:
        sending.send(("memory", None))
    except Exception as exc:  # an exception that does not pickle: its text does
        sending.send(("error", RuntimeError(f"{type(answer[1]).__name__}: {answer[1]} ({exc})")))
    finally:
        os._exit(0)


def _near(memory: int) -> bool:
    """Whether this process's address space is within a tenth of `memory`. The failed work's
    frames are still held here, by the exception being handled."""
    return _address_space("self") > memory * 0.9


def _address_space(pid: int | str) -> int:
    """A process's address space in bytes (Linux's /proc/PID/statm; elsewhere, or once the
    process is gone, 0: only the time limit then stops work stuck at its memory limit)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0
