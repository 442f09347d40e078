"""Metadata quality at scale: scoring one source of 100,000 synthetic variables (the search
benchmark's synthetic store) from its graph file, as the first visit to its quality page does.

Run: .venv/bin/python bench/quality.py [--variables 100000] [--runs 3]

Each run scores the source in a process of its own, so its peak memory is that run's (with
what the imports take, printed apart). Prints the median of the runs: the time to score and
cache the source, peak memory, and the time a later visit takes to read a page of 100
records from the cache. The machine is shared: compare medians, run again when in doubt.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).parent))
import search  # noqa: E402  (the search benchmark's synthetic store)

SOURCE = "npr"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score(folder: Path) -> dict:
    """One run, in this process: score the source with no cache, then read a page from the cache."""
    from catalogue.curation.quality import quality
    from catalogue.storage.store import Store
    store = Store(folder, search.BASE)
    source = store.state().sources[SOURCE]
    shutil.rmtree(folder / "quality", ignore_errors=True)
    before = peak_mb()
    started = time.perf_counter()
    summary, _ = quality(store, source)
    seconds = time.perf_counter() - started
    peak = peak_mb()
    started = time.perf_counter()
    quality(store, source, offset=50_000, limit=100)
    cached_ms = (time.perf_counter() - started) * 1000
    return {"seconds": seconds, "peak_mb": peak, "imports_mb": before, "cached_ms": cached_ms,
            "records": summary["records"], "cache_mb": (folder / "quality" / f"{SOURCE}.jsonl").stat().st_size / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variables", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--score", type=Path, help=argparse.SUPPRESS)  # one run, in this process
    args = parser.parse_args()
    if args.score:
        print(json.dumps(score(args.score)))
        return
    folder = Path(tempfile.mkdtemp(prefix="quality-bench-"))
    try:
        # synthetic_store spreads the variables over its SOURCES: here they all go to one source.
        with mock.patch.object(search, "SOURCES", [SOURCE]):
            search.synthetic_store(folder, args.variables)
        runs = [json.loads(subprocess.run([sys.executable, __file__, "--score", str(folder)], check=True,
                                          capture_output=True, text=True).stdout) for _ in range(args.runs)]
        median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(f"one source, {args.variables:,} variables ({median['records']:,.0f} records scored), "
              f"median of {args.runs} runs:\n"
              f"  score and cache: {median['seconds']:.2f} s, peak memory {median['peak_mb']:,.0f} MB "
              f"({median['imports_mb']:,.0f} MB of it before scoring), cache {median['cache_mb']:,.1f} MB\n"
              f"  a page of 100 records from the cache: {median['cached_ms']:.1f} ms")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
