"""An app server following a writer elsewhere (see catalogue.pipeline.following) while it
catches up with a new generation: the writer commits a one-record change to a synthetic
catalogue, published to PostgreSQL with its graphs on a store server, and the follower's
answers are timed until it serves the new generation.

Run: .venv/bin/python bench/follower.py --database-url URL --store-url URL [--sizes 10000,100000]

Both servers are started beforehand (PostgreSQL, and e.g. `oxigraph serve --location
/tmp/bench-store --bind 127.0.0.1:7878`); the bench publishes its own catalogue there.

Prints, per size: the writer's `catalogue index` (which sends the graphs and publishes the
state), the follower's start (its own index built from the store server), the writer's
commit, then the catch-up's seconds (the whole rebuild, which before the follower caught up in
the background the first request after the change waited for) and the median and slowest of
a variable page and a search, asked one after the other throughout the catch-up, each
answered from the generation before.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from graph_store import change_one_record, harvested_store  # noqa: E402
from search import BASE  # noqa: E402

from catalogue.storage.database import open_database  # noqa: E402
from catalogue.settings import Settings  # noqa: E402
from catalogue.storage.published import Published  # noqa: E402
from catalogue.storage.store import Store  # noqa: E402


def started(folder: Path) -> tuple[subprocess.Popen, str]:
    """`catalogue serve` over `folder`, once it answers (a follower's first start builds its index)."""
    port = int(subprocess.run([sys.executable, "-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); "
                               "print(s.getsockname()[1])"], capture_output=True, text=True).stdout)
    server = subprocess.Popen([sys.executable, "-m", "catalogue.cli", "serve", "--port", str(port), "--workers", "1"],
                              env={**os.environ, "CATALOGUE_DATA_DIR": str(folder), "CATALOGUE_BASE_URI": BASE},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=60)
            return server, url
        except httpx.TransportError:
            if server.poll() is not None:
                raise RuntimeError("the follower did not start")
            time.sleep(.2)


def commit_and_publish(folder: Path) -> float:
    """The writer's commit of a one-record change, and its publication; its seconds."""
    clock = time.perf_counter()
    change_one_record(folder)
    settings = Settings.from_env({**os.environ, "CATALOGUE_DATA_DIR": str(folder), "CATALOGUE_BASE_URI": BASE})
    store = Store(folder, BASE, settings.store_url)
    with store.lock():
        Published(open_database(settings)).publish(store.state(), store.committed(), folder)
    return time.perf_counter() - clock


def timed(client: httpx.Client, path: str, **params) -> float:
    started_at = time.perf_counter()
    client.get(path, params=params).raise_for_status()
    return time.perf_counter() - started_at


def measure(n: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="follower-bench-"))
    writer, follower = root / "writer", root / "follower"
    try:
        harvested_store(writer, n)
        clock = time.perf_counter()
        subprocess.run([sys.executable, "-m", "catalogue.cli", "index"], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "CATALOGUE_DATA_DIR": str(writer), "CATALOGUE_BASE_URI": BASE})
        print(f"{n:,} variables: the writer's index, graphs sent and state published in "
              f"{time.perf_counter() - clock:.1f} s", flush=True)
        clock = time.perf_counter()
        server, url = started(follower)
        try:
            with httpx.Client(base_url=url, timeout=3600) as client:
                while (before := client.get("/readyz").json()["follower"])["catching_up_to"] is not None:
                    time.sleep(.2)
                before = before["serving"]
                print(f"  follower serving after {time.perf_counter() - clock:.1f} s", flush=True)
                variable = client.get("/api/variables", params={"size": 1}).json()["items"][0]["id"]
                print(f"  writer's commit of a one-record change, published: {commit_and_publish(writer):.2f} s",
                      flush=True)
                clock = time.perf_counter()
                pages, searches = [], []
                while (status := client.get("/readyz").json()["follower"])["catching_up_to"] is not None:
                    assert status["serving"] == before, status
                    pages.append(timed(client, f"/api/variables/{variable}"))
                    searches.append(timed(client, "/api/variables", q="blodtrykk"))
                print(f"  caught up in {time.perf_counter() - clock:.1f} s, serving generation "
                      f"{status['serving']} (was {before})", flush=True)
                for label, seconds in (("variable page", pages), ("search", searches)):
                    if seconds:
                        print(f"  {label} during it: median {statistics.median(seconds) * 1000:.0f} ms, slowest "
                              f"{max(seconds) * 1000:.0f} ms, {len(seconds)} asked", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="numbers of variables, comma-separated")
    parser.add_argument("--database-url", required=True, help="PostgreSQL (CATALOGUE_DATABASE_URL)")
    parser.add_argument("--store-url", required=True, help="the graph store server (CATALOGUE_STORE_URL)")
    args = parser.parse_args()
    # for this process and the `catalogue` processes it starts
    os.environ.update(CATALOGUE_DATABASE_URL=args.database_url, CATALOGUE_STORE_URL=args.store_url)
    for n in (int(s) for s in args.sizes.split(",")):
        measure(n)


if __name__ == "__main__":
    main()
