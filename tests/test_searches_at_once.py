"""The explorer's searches in a process run at most CATALOGUE_SEARCHES_AT_ONCE at a time, the
rest waiting their turn in order, while the event loop goes on answering."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from catalogue.services import Searches
from catalogue.settings import Settings

SEARCH = 0.1  # seconds a search takes here


def running_at_most(at_once: int, asked: int) -> tuple[int, list[int], float]:
    """`asked` searches of SEARCH seconds started together: how many ran at the same time at most,
    what each caller got back, and how long the event loop waited at most between its turns."""
    searches, lock = Searches(at_once), threading.Lock()
    running, most = 0, 0

    def search(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(SEARCH)
        with lock:
            running -= 1
        return n

    async def main() -> tuple[list[int], float]:
        async def ticking() -> float:  # the loop's other work meanwhile
            longest, last = 0.0, time.perf_counter()
            while True:
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                longest, last = max(longest, now - last), now
                if done.is_set():
                    return longest
        done = asyncio.Event()
        ticker = asyncio.create_task(ticking())
        got = await asyncio.gather(*(searches.run(lambda n=n: search(n)) for n in range(asked)))
        done.set()
        return got, await ticker
    got, longest = asyncio.run(main())
    return most, got, longest


def test_searches_beyond_the_limit_wait_their_turn_while_the_loop_answers():
    most, got, longest = running_at_most(1, 4)
    assert most == 1 and got == [0, 1, 2, 3]
    assert longest < SEARCH  # never held up for a search's length
    most, got, _ = running_at_most(2, 4)
    assert most == 2 and got == [0, 1, 2, 3]


def test_a_failed_search_fails_its_own_request_alone():
    searches = Searches(1)

    async def main():
        def broken():
            raise ValueError("no such field")
        return await asyncio.gather(searches.run(broken), searches.run(lambda: "found"), return_exceptions=True)
    failed, found = asyncio.run(main())
    assert isinstance(failed, ValueError) and found == "found"


def test_the_limit_is_read_from_the_environment():
    assert Settings.from_env({"CATALOGUE_SEARCHES_AT_ONCE": "3"}).searches_at_once == 3
    assert Settings.from_env({}).searches_at_once is None  # then: two per core of the process
    assert Settings.from_env({"CATALOGUE_SEARCHES_AT_ONCE": "0"}).searches_at_once == 1
    with pytest.raises(ValueError):
        Settings.from_env({"CATALOGUE_SEARCHES_AT_ONCE": "many"})
