"""`catalogue serve --workers 2` as an operator runs it: two real processes answering from the
one index in the data directory, each picking up a new index generation on its next search."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from catalogue.search import EmbeddedBackend
from support import free_port, wait_for

CONNECTIONS = 16  # concurrent fresh connections: both workers take some of them


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, demo_data):
    """The demo's data directory served by two worker processes: (base URL, settings, server)."""
    folder = tmp_path_factory.mktemp("workers")
    settings = demo_data(folder, light=True)
    port = free_port()
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(settings.data_dir), "CATALOGUE_SOURCES": str(settings.sources_file),
           "CATALOGUE_BASE_URI": settings.base_uri, "CATALOGUE_SEARCH": "embedded"}
    log = folder / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "catalogue.cli", "serve", "--host", "127.0.0.1",
                                   "--port", str(port), "--workers", "2"],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for(f"{base}/api/variables", params={"size": 1})
        except Exception:
            raise RuntimeError(f"catalogue serve did not start:\n{log.read_text(errors='replace')[-3000:]}")
        yield base, settings, server
    finally:
        server.terminate()
        server.wait(timeout=30)


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
    EmbeddedBackend(settings.data_dir / "index").delete([gone["id"]])

    after = answers(f"{base}/api/variables", q="fødselsvekt")
    assert all(answer["total"] == found[0]["total"] - 1 for answer in after)
    assert all(gone["id"] not in {hit["id"] for hit in answer["items"]} for answer in after)
    sources = [{v["value"]: v["count"] for v in answer["facets"]["source"]}
               for answer in answers(f"{base}/api/variables")]
    before = {v["value"]: v["count"] for v in start[0]["facets"]["source"]}
    assert all(counts == {**before, gone["source"]: before[gone["source"]] - 1} for counts in sources)
