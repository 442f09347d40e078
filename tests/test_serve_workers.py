"""`catalogue serve --workers 2` as an operator runs it: two real processes answering from the
one index in the data directory, each picking up a new index generation on its next search."""
from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from catalogue.search import EmbeddedBackend
from support import metric, serving

CONNECTIONS = 16  # concurrent fresh connections: both workers take some of them


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, demo_data):
    """The demo's data directory served by two worker processes: (base URL, settings, server)."""
    folder = tmp_path_factory.mktemp("workers")
    settings = demo_data(folder, light=True)
    with serving(settings, folder / "serve.log", "--workers", "2") as served:
        yield served.url, settings, served.process


def workers(pid: int) -> list[int]:
    """The worker processes `pid` started (from /proc: its children that run multiprocessing's spawn)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (proc / "cmdline").read_bytes()
        except OSError:  # ended while listed
            continue
        if parent == pid and b"spawn_main" in command:
            found.append(int(proc.name))
    return found


def answers(url: str, **params) -> list[dict]:
    """`url` asked CONNECTIONS times at once, each over a connection of its own."""
    async def ask() -> dict:
        async with httpx.AsyncClient(timeout=60) as client:
            response = await client.get(url, params=params)
            response.raise_for_status()
            return response.json()

    async def all_at_once() -> list[dict]:
        return await asyncio.gather(*(ask() for _ in range(CONNECTIONS)))
    return asyncio.run(all_at_once())


def test_two_workers_answer_alike_and_see_a_new_index_generation(two_workers):
    base, settings, server = two_workers
    assert len(workers(server.pid)) == 2

    found = answers(f"{base}/api/variables", q="fødselsvekt")
    assert found[0]["total"] > 0
    assert all(answer == found[0] for answer in found)
    start = answers(f"{base}/api/variables")  # the start page, whose facets each worker counts once
    assert all(answer == start[0] for answer in start)

    # A new index generation (as a harvest of one source makes): one variable fewer.
    gone = found[0]["items"][0]
    EmbeddedBackend(settings.data_dir / "index").patch(gone=[gone["id"]])

    after = answers(f"{base}/api/variables", q="fødselsvekt")
    assert all(answer["total"] == found[0]["total"] - 1 for answer in after)
    assert all(gone["id"] not in {hit["id"] for hit in answer["items"]} for answer in after)
    sources = [{v["value"]: v["count"] for v in answer["facets"]["source"]}
               for answer in answers(f"{base}/api/variables")]
    before = {v["value"]: v["count"] for v in start[0]["facets"]["source"]}
    assert all(counts == {**before, gone["source"]: before[gone["source"]] - 1} for counts in sources)


def test_the_metrics_of_either_worker_count_the_requests_of_both(two_workers):
    base, _, _ = two_workers
    def searches() -> float:
        return metric(httpx.get(f"{base}/metrics").text, "catalogue_http_request_duration_seconds_count",
                      method="GET", route="/api/variables", status="2xx") or 0
    before = searches()
    answers(f"{base}/api/variables", q="svangerskap")  # over 16 connections: both workers answer some
    assert [searches() for _ in range(4)] == [before + CONNECTIONS] * 4
