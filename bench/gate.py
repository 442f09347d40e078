"""The SHACL gate alone: records/s and peak memory of `gate()` on one source's records.

The records are what the table harvester makes of a register's variable list: datasets of
`--per-dataset` variables each, every variable with one or two periods (some ongoing) and a
datatype or a code list of its dataset; one variable in a hundred has no name, so the gate
holds it back. Blank nodes are skolemised as a harvest does before it gates.

Run: .venv/bin/python bench/gate.py [--sizes 2000,10000,60000] [--repeat 3] [--per-dataset 200]
Each run is a process of its own, so its peak memory (maxrss) is that run's alone: "before"
is the process with the records built, "peak" the most it held while gating, "workers" the
most the gate's processes held together (sampled; 0 when it ran in one process). Medians of `repeat`
runs; the machine may be shared.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

BASE = "http://bench.test/"


def records(n: int, per_dataset: int) -> list:
    from catalogue.harvesters import Record
    from catalogue.model.models import Agent, CodeList, ContactPoint, Dataset, Period, Variable
    from catalogue.model.rdf import stable_skolemize
    from catalogue.profiles.dcat_ap_no_3 import to_graph

    publisher = Agent(uri=BASE + "agent/fhi", name={"nb": "Folkehelseinstituttet"})
    out: list[Record] = []
    for d in range(max(1, round(n / (per_dataset + 2)))):
        dataset_uri = f"{BASE}dataset/register{d}"
        code_list = f"{BASE}codelist/register{d}/kjonn"
        record = Record(key=f"code list register{d}/kjonn")
        to_graph(CodeList(uri=code_list, identifier="kjonn", title={"nb": "Kjønn"}, publisher=publisher.uri),
                 record.graph)
        out.append(record)
        for i in range(per_dataset):
            periods = [Period(start=date(1960 + i % 40, 1, 1), end=None if i % 3 else date(2000 + i % 24, 12, 31))]
            if i % 5 == 0:
                periods.insert(0, Period(start=date(1950, 1, 1), end=date(1955, 12, 31)))
            record = Record(key=f"variable register{d}/VAR{i}")
            to_graph(Variable(uri=f"{dataset_uri}/variable/VAR{i}", identifier=f"VAR{i}",
                              label={} if i % 100 == 99 else {"nb": f"Variabel {i} i register {d}"},
                              description={"nb": f"Hva variabel {i} beskriver, med noen ord til"},
                              dataset=dataset_uri, periods=periods,
                              representation=code_list if i % 4 == 0 else "http://www.w3.org/2001/XMLSchema#integer"),
                     record.graph)
            out.append(record)
        record = Record(key=f"dataset register{d}")
        to_graph(Dataset(uri=dataset_uri, identifier=f"register{d}", title={"nb": f"Register {d}"},
                         description={"nb": "Et register"}, publisher=publisher.uri,
                         contact=ContactPoint(name={"nb": "Registeret"}, email="register@example.org"),
                         themes=["http://publications.europa.eu/resource/authority/data-theme/HEAL"],
                         periods=[Period(start=date(1950, 1, 1))]), record.graph)
        to_graph(publisher, record.graph)
        out.append(record)
    for record in out:
        record.graph = stable_skolemize(record.graph, BASE)
    return out


def descendants_mb() -> float:
    """What this process's descendants hold now (the gate's processes are children of a fork
    server, itself a child of this process, so the resource module does not see them)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = (int(fields[1]), int(fields[21]))  # ppid, rss in pages
        except (OSError, IndexError):
            continue  # ended meanwhile
    ours, pages = {os.getpid()}, 0
    for _ in range(3):  # children, grandchildren, ...
        for pid, (ppid, rss) in parents.items():
            if ppid in ours and pid not in ours:
                ours.add(pid)
                pages += rss
    return pages * resource.getpagesize() / 2**20


def run(n: int, per_dataset: int) -> None:
    """One run, in this process: gate `n` records and print what it cost as JSON."""
    from catalogue.pipeline.harvest import gate
    built = records(n, per_dataset)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            workers.append(descendants_mb())

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    verdict = gate(built)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    print(json.dumps({"records": len(built), "seconds": seconds, "before_mb": before,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "workers_mb": max(workers), "held": len(verdict.held_back), "warnings": len(verdict.warnings)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="2000,10000,60000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--per-dataset", type=int, default=200)
    parser.add_argument("--run", type=int, help=argparse.SUPPRESS)  # the child process of one run
    args = parser.parse_args()
    if args.run:
        run(args.run, args.per_dataset)
        return
    for n in (int(size) for size in args.sizes.split(",")):
        results = []
        for _ in range(args.repeat):
            out = subprocess.run([sys.executable, __file__, "--run", str(n), "--per-dataset", str(args.per_dataset)],
                                 check=True, stdout=subprocess.PIPE, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
        median = {key: statistics.median(r[key] for r in results) for key in results[0]}
        print(f"{median['records']:>7,.0f} records: {median['records'] / median['seconds']:6.0f} records/s "
              f"({median['seconds']:.1f} s), memory before {median['before_mb']:,.0f} MB, "
              f"peak {median['peak_mb']:,.0f} MB, workers {median['workers_mb']:,.0f} MB; "
              f"held back {median['held']:.0f}, warnings {median['warnings']:.0f} (median of {args.repeat})",
              flush=True)


if __name__ == "__main__":
    main()
