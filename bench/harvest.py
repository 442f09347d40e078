"""Harvest at scale: a catalogue of table sources (one CSV of variables and one dataset each),
served over loopback HTTP and harvested through the whole pipeline (fetch, parse, SHACL gate,
record versions, store, search index), three ways:

- first: into an empty data directory (every record added, validated and indexed);
- unchanged: all sources again, nothing changed (each CSV answered 304: nothing parsed);
- one changed: one variable's label changed in one source (that source parsed again, the one
  record made again and validated, the others taken as stored, and only the documents that
  read it written to the index);
- rebuild: the whole search index made again from the store (`catalogue index`), alone.

With `--one-source`, the variables are one source's instead: a workbook with a sheet of
`--per-dataset` variables per dataset (the largest a gate's group is), so that its peaks at
two sizes show whether a harvest's memory follows the source or its largest dataset.

Run: .venv/bin/python bench/harvest.py [--sizes 10000,100000] [--sources 20] [--repeat 3]
     .venv/bin/python bench/harvest.py --one-source [--sizes 100000,300000] [--per-dataset 500]
To time a rebuild again and again without harvesting each time, harvest a catalogue once into
a folder that is kept (`--keep FOLDER`, the first step only, of the first size), then:
     .venv/bin/python bench/harvest.py --step rebuild FOLDER
     .venv/bin/python bench/harvest.py --one-changed FOLDER [--repeat 3]   (on copies of it)
Each step runs in a process of its own, so its peak memory (maxrss) is that step's alone; a
rebuild forks a process per core to make documents, so beside it is the peak of what the step
and the processes it forked held together (their Pss added, sampled: see memory.py). Its
seconds and peak are also shown as they were when the sources were stored, before the search
index caught up; times and peaks are medians of `repeat` runs (a fresh catalogue each). The
machine is shared: compare medians.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harvest_bench import HEAD, SOURCES
from memory import TreePeak
from openpyxl import Workbook

from catalogue.pipeline.fileserver import FileServer
from catalogue.settings import Settings
from catalogue.sources import load_config

# harvest_bench's table source, once per register
TABLE = SOURCES[SOURCES.index('[[source]]\nid = "table"'):]


def source(s: int, url: str) -> str:
    return TABLE.replace('id = "table"', f'id = "register{s}"').replace("variabler.xlsx", f"register{s}.csv").format(url=url)


STEPS = ("first", "unchanged", "one changed", "rebuild")
COLUMNS = ["Variabelnavn", "Variabel", "Beskrivelse", "Fra", "Til"]


def row(s: int, i: int, changed: bool = False) -> list[str]:
    label = f"Variabel {i} i register {s}" + (" (endret)" if changed and i == 0 else "")
    return [f"VAR{s}_{i}", label, f"Hva variabel {i} beskriver, med noen ord til",
            str(1960 + i % 40), "" if i % 3 else f"31.12.{2000 + i % 24}"]


def large_source(url: str, n: int, per_dataset: int) -> str:
    """One table source of `n` variables: a workbook with a sheet (and a dataset) per `per_dataset`."""
    head = TABLE.replace("variabler.xlsx", "large.xlsx").format(url=url)
    head = head[:head.index("[[source.dataset]]")].replace("columns = {", f"max_rows = {n + n // per_dataset + 1}\ncolumns = {{", 1)
    return head + "".join(f"""
[[source.dataset]]
id = "register{d}"
title = {{ nb = "Register {d}" }}
description = {{ nb = "Alle variabler i register {d}." }}
themes = ["http://publications.europa.eu/resource/authority/data-theme/HEAL"]
contact = {{ name = {{ nb = "Registeret" }}, email = "register@example.no" }}
sheets = ["D{d}"]
""" for d in range(-(-n // per_dataset)))


def write_workbook(path: Path, n: int, per_dataset: int, changed: bool = False) -> None:
    book = Workbook(write_only=True)
    for d in range(-(-n // per_dataset)):
        sheet = book.create_sheet(f"D{d}")
        sheet.append(COLUMNS)
        for i in range(d * per_dataset, min(n, (d + 1) * per_dataset)):
            sheet.append(row(d, i, changed))
    book.save(path)


def write_source(path: Path, s: int, n: int, changed: bool = False) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(";".join(COLUMNS) + "\n")
        for i in range(n):
            out.write(";".join(row(s, i, changed)) + "\n")


def step(folder: Path, name: str) -> None:
    """One step, in this process: harvest every source (or rebuild the index) and print what it cost as JSON."""
    from catalogue.pipeline.harvest import harvest
    settings = Settings(data_dir=folder / "data", sources_file=folder / "sources.toml", base_uri="http://bench.test/")
    if name == "rebuild":
        rebuild(settings)
        return
    said: list[str] = []
    # the peak and the seconds when the last source was stored, before the index is brought up to date
    stored = [0.0, 0.0]

    def progress(message: str) -> None:
        said.append(message)
        if message.startswith("  "):  # a source's run
            stored[:] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.perf_counter() - started

    started = time.perf_counter()
    with TreePeak(os.getpid()) as held:
        runs = harvest(settings, load_config(folder / "sources.toml"), progress=progress)
    seconds = time.perf_counter() - started
    expected = {"first": "ok", "unchanged": "unchanged"}.get(name)
    assert all(r.status == (expected or r.status) and not r.error for r in runs), [(r.source, r.error) for r in runs]
    print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "tree_mb": held.mb,
                      "stored_mb": stored[0], "stored_seconds": stored[1],
                      "parsed": sum(r.parsed and r.status != "failed" for r in runs),
                      "changed": sum(r.changed + r.added + r.removed for r in runs),
                      "made": sum(r.seen - r.reused for r in runs if r.status == "ok"),
                      "index": [m.removeprefix("index: ") for m in said if m.startswith("index")]}))


def rebuild(settings: Settings) -> None:
    from catalogue.pipeline.harvest import settle
    from catalogue.storage.store import Store
    store = Store(settings.data_dir, settings.base_uri)
    started = time.perf_counter()
    with store.lock(), TreePeak(os.getpid()) as held:
        count = settle(settings, store, rebuild=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak, "tree_mb": held.mb,
                      "stored_mb": 0, "stored_seconds": 0,
                      "parsed": 0,
                      "changed": 0, "made": 0, "index": [f"{count:,} documents"]}))


def run_size(n: int, sources: int, repeat: int, per_dataset: int | None = None, keep: Path | None = None) -> None:
    """`per_dataset`: one source of `n` variables in datasets of so many (else `sources` sources);
    `keep`: the folder to harvest into, once, the first step only, and leave."""
    per_source = n if per_dataset else n // sources
    results: dict[str, list[dict]] = {s: [] for s in STEPS}
    repeat = 1 if keep else repeat
    for _ in range(repeat):
        folder = keep or Path(tempfile.mkdtemp(prefix=f"harvest-bench-{n}-"))
        folder.mkdir(parents=True, exist_ok=True)
        try:
            served = folder / "served"
            served.mkdir()
            if per_dataset:
                write_workbook(served / "large.xlsx", n, per_dataset)
            for s in range(0 if per_dataset else sources):
                write_source(served / f"register{s}.csv", s, per_source)
            with FileServer(served) as server:
                (folder / "sources.toml").write_text(HEAD + (
                    large_source(server.url, n, per_dataset) if per_dataset
                    else "".join(source(s, server.url) for s in range(sources))), encoding="utf-8")
                for name in STEPS[:1] if keep else STEPS:
                    if name == "one changed" and per_dataset:
                        write_workbook(served / "large.xlsx", n, per_dataset, changed=True)
                    elif name == "one changed":
                        write_source(served / "register0.csv", 0, per_source, changed=True)
                    out = subprocess.run([sys.executable, __file__, "--step", name, str(folder)],
                                         check=True, stdout=subprocess.PIPE, text=True).stdout
                    results[name].append(json.loads(out.strip().splitlines()[-1]))
        finally:
            if not keep:
                shutil.rmtree(folder, ignore_errors=True)
    print(f"\n== {n:,} variables in one source, datasets of {per_dataset:,}, median of {repeat}" if per_dataset
          else f"\n== {n:,} variables in {sources} sources ({per_source:,} each), median of {repeat}")
    for name in (name for name in STEPS if results[name]):
        report(name, results[name])


def report(name: str, runs: list[dict]) -> None:
    last = runs[-1]
    print(f"{name:>12}: {statistics.median(r['seconds'] for r in runs):7.1f} s, "
          f"peak {statistics.median(r['peak_mb'] for r in runs):6,.0f} MB "
          f"(with its forked processes {statistics.median(r['tree_mb'] for r in runs):6,.0f} MB Pss) "
          f"({statistics.median(r['stored_seconds'] for r in runs):7.1f} s, {statistics.median(r['stored_mb'] for r in runs):6,.0f} MB "
          f"before the index); sources parsed {last['parsed']}, "
          f"records changed {last['changed']:,}, made {last['made']:,}; index: {'; '.join(last['index']) or 'untouched'}", flush=True)


def one_changed(kept: Path, repeat: int) -> None:
    """The one-changed step on copies of a catalogue of several sources kept by `--keep`, its
    files served again where its sources say they are."""
    runs = []
    per_source = sum(1 for _ in (kept / "served" / "register0.csv").open(encoding="utf-8")) - 1
    port = int(re.search(r"127\.0\.0\.1:(\d+)", (kept / "sources.toml").read_text(encoding="utf-8"))[1])
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="harvest-bench-copy-", dir=kept.parent) as copy:
            folder = Path(copy) / kept.name
            shutil.copytree(kept, folder)
            write_source(folder / "served" / "register0.csv", 0, per_source, changed=True)
            with FileServer(folder / "served", port=port):
                out = subprocess.run([sys.executable, __file__, "--step", "one changed", str(folder)],
                                     check=True, stdout=subprocess.PIPE, text=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
    print(f"\n== {kept}: one variable changed, median of {repeat}")
    report("one changed", runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", help="default: 10000,100000 (with --one-source: 100000,300000)")
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one-source", action="store_true", help="all variables in one source")
    parser.add_argument("--per-dataset", type=int, default=500, help="with --one-source: variables per dataset")
    parser.add_argument("--keep", type=Path, help="harvest the first size into this folder, once, and keep it")
    parser.add_argument("--one-changed", type=Path, metavar="FOLDER",
                        help="time the one-changed step on copies of a catalogue kept by --keep")
    parser.add_argument("--step", nargs=2, help=argparse.SUPPRESS)  # the child process of one step
    args = parser.parse_args()
    if args.step:
        step(Path(args.step[1]), args.step[0])
        return
    if args.one_changed:
        one_changed(args.one_changed, args.repeat)
        return
    sizes = args.sizes or ("100000,300000" if args.one_source else "10000,100000")
    for n in [int(size) for size in sizes.split(",")][:1 if args.keep else None]:
        run_size(n, args.sources, args.repeat, args.per_dataset if args.one_source else None, args.keep)


if __name__ == "__main__":
    main()
