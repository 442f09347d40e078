"""`catalogue serve --workers 2` as an operator runs it: two real processes answering from the
one index in the data directory, each picking up a new index generation on its next search."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from catalogue.search import EmbeddedBackend
from catalogue.settings import SEARCHES_PER_CORE
from support import metric, serving

CONNECTIONS = 16  # concurrent fresh connections: both workers take some of them
KEPT = 16  # connections opened at once and kept: spread over two workers, all on one by chance 1 in 2**15


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


def test_each_worker_searches_with_its_share_of_the_cores(two_workers):
    _, _, server = two_workers
    share = -(-len(os.sched_getaffinity(0)) // 2)
    pids = workers(server.pid)
    assert len(pids) == 2
    for pid in pids:
        environ = dict(item.split(b"=", 1) for item in (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0") if b"=" in item)
        assert environ[b"CATALOGUE_SEARCHES_AT_ONCE"] == str(SEARCHES_PER_CORE * share).encode()


def test_the_metrics_of_either_worker_count_the_requests_of_both(two_workers):
    base, _, _ = two_workers
    def searches() -> float:
        return metric(httpx.get(f"{base}/metrics").text, "catalogue_http_request_duration_seconds_count",
                      method="GET", route="/api/variables", status="2xx") or 0
    before = searches()
    answers(f"{base}/api/variables", q="svangerskap")  # over 16 connections: both workers answer some
    assert [searches() for _ in range(4)] == [before + CONNECTIONS] * 4


def test_connections_opened_at_once_and_kept_open_are_spread_over_both_workers(two_workers):
    """As a proxy's pool of kept connections, or a benchmark's clients, come to a server one of
    whose workers has just been busy: all opened, then all asked. With one socket shared by the
    workers, the busy one, woken first, took all 16 connections (or 15) in 3 tries of 7, and
    the other worker idled while they lasted."""
    base, _, server = two_workers
    port = urlsplit(base).port
    pids = workers(server.pid)
    deadline = time.monotonic() + 60
    while not all(sockets_of(pid, port, LISTENING) for pid in pids):  # each worker has loaded the site
        assert time.monotonic() < deadline, "a worker never listened"
        time.sleep(.1)

    async def kept() -> dict[int, int]:
        opened = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(KEPT)))
        try:
            for _, writer in opened:
                writer.write(b"GET /api/variables?q=f%C3%B8dselsvekt HTTP/1.1\r\nHost: test\r\n\r\n")
            for reader, _ in opened:
                assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
            return {pid: len(sockets_of(pid, port, ESTABLISHED)) for pid in pids}  # while still open
        finally:
            for _, writer in opened:
                writer.close()
    for _ in range(6):
        with httpx.Client(base_url=base) as one:  # one worker busy, the other idle
            for _ in range(100):
                one.get("/api/variables", params={"q": "fødselsvekt"}).raise_for_status()
        held = asyncio.run(kept())
        assert sum(held.values()) == KEPT
        assert all(held.values()), held


def test_a_second_server_on_the_port_of_one_with_workers_is_refused(two_workers, tmp_path):
    base, settings, _ = two_workers
    port = urlsplit(base).port
    ran = subprocess.run([sys.executable, "-m", "catalogue.cli", "serve", "--port", str(port), "--workers", "2"],
                         env={**os.environ, "CATALOGUE_DATA_DIR": str(settings.data_dir), "HOST": "127.0.0.1",
                              "CATALOGUE_SOURCES": str(settings.sources_file), "CATALOGUE_BASE_URI": settings.base_uri},
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in ran.stderr
    assert httpx.get(f"{base}/healthz").status_code == 200  # the first still answers, alone


LISTENING, ESTABLISHED = "0A", "01"  # states in /proc/net/tcp


def sockets_of(pid: int, port: int, state: str) -> set[str]:
    """The sockets of process `pid` on local port `port` in `state` (their inodes, from /proc)."""
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                found.add(f"socket:[{fields[9]}]")

    def link(fd: str) -> str:
        try:
            return os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:  # closed while listed
            return ""
    return found & {link(fd) for fd in os.listdir(f"/proc/{pid}/fd")}
