"""Serving the DCAT catalogue to a harvesting partner: the whole catalogue of a synthetic store
in Turtle and in JSON-LD, and in pages, through `catalogue serve` over HTTP.

Run: .venv/bin/python bench/catalog.py [--variables 100000] [--page-size 10] [--repeat 3]

Each measurement has a server process of its own, so its peak memory (VmHWM) is that
request's: the store loaded (by a first small request, reported apart), plus what serving took. Prints seconds and peak memory of each
run and, with --repeat, their medians (the machine is shared and noisy).
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from search import BASE, synthetic_store  # noqa: E402  (the search benchmark's synthetic store)


def serve(folder: Path, *options: str):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(folder), "CATALOGUE_BASE_URI": BASE}
    server = subprocess.Popen([sys.executable, "-m", "catalogue.cli", "serve", "--port", str(port), *options],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"{url}/api/variables", params={"size": 1}, timeout=60)
            return server, url
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(.2)


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(folder: Path, label: str, fetch, repeat: int) -> None:
    runs = []
    for _ in range(repeat):
        server, url = serve(folder)
        try:
            httpx.get(f"{url}/api/sources", timeout=600).raise_for_status()  # loads the store
            loaded = peak_mb(server.pid)
            started = time.perf_counter()
            size = fetch(url)
            runs.append((time.perf_counter() - started, peak_mb(server.pid)))
            print(f"{label}: {runs[-1][0]:.1f} s, {size / 1e6:,.0f} MB sent, server peak memory {runs[-1][1]:,.0f} MB "
                  f"({loaded:,.0f} MB with the store loaded, before the request)", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    if repeat > 1:
        print(f"{label}: median {median(r[0] for r in runs):.1f} s, median peak memory "
              f"{median(r[1] for r in runs):,.0f} MB ({repeat} runs)", flush=True)


def whole(accept: str, profile: str | None = None):
    def fetch(url: str) -> int:
        size = 0
        params = {"profile": profile} if profile else {}
        with httpx.stream("GET", f"{url}/catalog", params=params, headers={"accept": accept},
                          timeout=3600) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                size += len(chunk)
        return size
    return fetch


def paged(page_size: int):
    def fetch(url: str) -> int:
        size, page = 0, 1
        with httpx.Client(timeout=3600) as client:
            while True:
                response = client.get(f"{url}/catalog", params={"page": page, "size": page_size},
                                      headers={"accept": "text/turtle"})
                if response.status_code == 404:
                    return size
                response.raise_for_status()
                size += len(response.content)
                page += 1
    return fetch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variables", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=10, help="datasets a page")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement (medians printed)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="catalog-bench-"))
    try:
        synthetic_store(folder, args.variables)
        print(f"{args.variables:,} variables", flush=True)
        measure(folder, "whole catalogue, Turtle", whole("text/turtle"), args.repeat)
        measure(folder, "whole catalogue, JSON-LD", whole("application/ld+json"), args.repeat)
        measure(folder, "whole catalogue, Turtle, HealthDCAT-AP", whole("text/turtle", "healthdcat-ap"), args.repeat)
        measure(folder, f"every page of {args.page_size} datasets, Turtle", paged(args.page_size), args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
