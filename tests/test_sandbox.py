"""Work on untrusted input in a bounded process: its answer, or which limit it passed."""
import resource
import sys
import time

import pytest

from catalogue.pipeline import sandbox

LIMIT = 300 * 2**20
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the child's /proc/PID/statm")


def _address_space() -> int:
    return int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()


def _fill(until: int) -> list[bytearray]:
    """Memory taken a MiB at a time until the address space reaches `until` or no more is given."""
    held = []
    try:
        while _address_space() < until:
            held.append(bytearray(2**20))
    except MemoryError:
        pass
    return held


def _spin_at_the_limit() -> None:
    """As CPython has been seen to do when every small allocation fails: no MemoryError
    reaches the work's caller, and the process runs on at its limit for ever."""
    held = _fill(LIMIT)
    while True:
        try:
            held.append(bytearray(4096))
        except MemoryError:
            pass


def _below_the_limit_for_a_while() -> int:
    held = _fill(LIMIT - 32 * 2**20)
    time.sleep(sandbox.STUCK + 2)
    return len(held)


def _too_much() -> bytes:
    return bytes(2 * LIMIT)


def _forever() -> None:
    time.sleep(3600)


@linux
def test_work_stuck_at_its_memory_limit_is_stopped_for_memory_before_its_time_is_up():
    with pytest.raises(sandbox.Exceeded) as stopped:
        sandbox.run(_spin_at_the_limit, memory=LIMIT, seconds=60)

    assert stopped.value.limit == "memory"
    assert f"the memory limit of {LIMIT:,} bytes" in str(stopped.value)


@linux
def test_work_that_stays_below_its_memory_limit_is_answered_however_long_it_sits_there():
    assert sandbox.run(_below_the_limit_for_a_while, memory=LIMIT, seconds=60) > 100


def test_work_that_asks_for_more_memory_or_time_than_it_may_have_is_refused_for_that_limit():
    with pytest.raises(sandbox.Exceeded) as memory:
        sandbox.run(_too_much, memory=LIMIT, seconds=60)
    with pytest.raises(sandbox.Exceeded) as time_up:
        sandbox.run(_forever, memory=LIMIT, seconds=1)

    assert (memory.value.limit, time_up.value.limit) == ("memory", "time")
    assert "took longer than the limit of 1 s" in str(time_up.value)
