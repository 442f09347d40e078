"""A running server after a state change: a writer in another process commits a one-record
change to one source of a synthetic store, and the server answers its first variable page
and its first page of /catalog in the new generation, in DCAT-AP-NO and then in HealthDCAT-AP.

Run: .venv/bin/python bench/graph_store.py [--sizes 10000,100000] [--store-url URL]

With `--store-url`, the graph store is on that store server (CATALOGUE_STORE_URL), e.g.
`oxigraph serve --location /tmp/bench-store --bind 127.0.0.1:7878` started beforehand.

Prints, per size: `catalogue index` (the search index, and the graph store where there is
one), the server's start-up (until it answers a search), the writer's commit, then the seconds of each
first request after the change and the server's peak memory (VmHWM, reset just before the
change, so it is what the new generation cost beside what the server already held).
Only the Store API both older and newer releases have is used, so the same script measures
either (run it with the other release's code on the path to compare).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from catalog import peak_mb, serve  # noqa: E402
from search import BASE, SOURCES, synthetic_store  # noqa: E402

from catalogue.storage.store import Store  # noqa: E402


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def change_one_record(folder: Path) -> float:
    """What a harvest of one changed record commits (a new graph file for its source, a new
    state), as a writer process does it; returns its seconds."""
    url = os.environ.get("CATALOGUE_STORE_URL")
    store = Store(folder, BASE, url) if url else Store(folder, BASE)  # releases before it take no store URL
    started = time.perf_counter()
    with store.lock():
        state = store.state()
        source = state.sources[SOURCES[0]]
        lines = (store.graphs_dir / source.graph_file).read_text(encoding="utf-8").splitlines()
        lines.append(f'<{BASE}id/variable/{SOURCES[0]}/V0> <http://purl.org/dc/terms/modified> '
                     '"2026-12-05"^^<http://www.w3.org/2001/XMLSchema#date> .')
        source.graph_file = store.replace_graph(source.id, lines)
        store.write_state(state)
    return time.perf_counter() - started


def harvested_store(folder: Path, n: int) -> None:
    """The synthetic store of `n` variables (search.synthetic_store), its graph files sorted as
    a harvest stores them."""
    synthetic_store(folder, n)
    for path in (folder / "graphs").glob("*.nt"):
        path.write_text("\n".join(sorted(set(path.read_text(encoding="utf-8").splitlines()))) + "\n",
                        encoding="utf-8")


def timed(client: httpx.Client, path: str, **params) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(path, params=params, headers={"accept": "text/turtle"} if path == "/catalog" else {})
    response.raise_for_status()
    return time.perf_counter() - started, len(response.content)


def measure(n: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="graph-store-bench-"))
    try:
        harvested_store(folder, n)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "catalogue.cli", "index"], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "CATALOGUE_DATA_DIR": str(folder), "CATALOGUE_BASE_URI": BASE})
        print(f"{n:,} variables: indexed in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        server, url = serve(folder, "--workers", "1")  # one process: its memory is the server's
        print(f"  server answering after {time.perf_counter() - started:.1f} s, "
              f"{resident_mb(server.pid):,.0f} MB resident", flush=True)
        try:
            with httpx.Client(base_url=url, timeout=3600) as client:
                variable = client.get("/api/variables", params={"size": 1}).json()["items"][0]["id"]
                timed(client, f"/api/variables/{variable}")  # the generation before, as a running server has it
                timed(client, "/catalog", page=1, size=10)
                held = resident_mb(server.pid)
                Path(f"/proc/{server.pid}/clear_refs").write_text("5")  # peak memory from here
                print(f"  writer's commit of a one-record change: {change_one_record(folder):.2f} s", flush=True)
                for label, path, params in (("first variable page", f"/api/variables/{variable}", {}),
                                            ("first /catalog page", "/catalog", {"page": 1, "size": 10}),
                                            ("first HealthDCAT-AP /catalog page", "/catalog",
                                             {"page": 1, "size": 10, "profile": "healthdcat-ap"})):
                    seconds, size = timed(client, path, **params)
                    print(f"  {label} after the change: {seconds:.2f} s ({size:,} bytes), server peak "
                          f"{peak_mb(server.pid):,.0f} MB ({held:,.0f} MB resident before the change)", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="numbers of variables, comma-separated")
    parser.add_argument("--store-url", help="the graph store on this store server (CATALOGUE_STORE_URL)")
    args = parser.parse_args()
    if args.store_url:  # for this process and the `catalogue` processes it starts
        os.environ["CATALOGUE_STORE_URL"] = args.store_url
    for n in map(int, args.sizes.split(",")):
        measure(n)


if __name__ == "__main__":
    main()
