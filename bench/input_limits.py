"""Peak memory and time of harvesting one huge input, served over loopback HTTP and
harvested through the whole pipeline in a process of its own, under an address-space cap:
by default a generated XLSX of 1,048,576 rows (as many as a sheet can have); with
--blank-nodes N, a DCAT Turtle document of N blank nodes (1,000,000 make about 14 MB).

Run: .venv/bin/python bench/input_limits.py [--rows 1048576] [--max-rows N] [--cap-gib 6]
     [--timeout 900] [--file kept.xlsx]
     .venv/bin/python bench/input_limits.py --blank-nodes 1000000
Prints the outcome (the run's status and error, or that the cap or the timeout stopped it),
the seconds taken and the process's peak resident memory. --file keeps the workbook (it
takes minutes to write) and reuses it when it exists.
"""
from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

from harvest_bench import HEAD, SOURCES, write_workbook

from catalogue.pipeline.fileserver import FileServer


def _harvest(folder: str, url: str, kind: str, max_rows: int | None, cap: int, answer) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    from catalogue.pipeline.harvest import harvest
    from catalogue.settings import Settings
    from catalogue.sources import load_config
    source = SOURCES[SOURCES.index(f"[[source]]\nid = \"{kind}\""):]
    source = source[:source.index("[[source]]", 1)] if kind == "dcat" else source
    if max_rows is not None:
        source = source.replace("[[source.dataset]]", f"max_rows = {max_rows}\n\n[[source.dataset]]")
    path = Path(folder) / "sources.toml"
    path.write_text(HEAD + source.format(url=url), encoding="utf-8")
    settings = Settings(data_dir=Path(folder) / "data", sources_file=path, base_uri="http://bench.test/")
    try:
        [run] = harvest(settings, load_config(path))
        answer.send(f"{run.status}: {run.accepted} of {run.seen} records accepted"
                    + (f"; {run.error}" if run.error else ""))
    except MemoryError:
        answer.send(f"stopped: more than the cap of {cap / 2**30:g} GiB of address space")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_048_575)  # and the header: a full sheet
    parser.add_argument("--max-rows", type=int, default=None, help="the source's max_rows (else its default)")
    parser.add_argument("--cap-gib", type=float, default=6)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--file", type=Path, default=None)
    parser.add_argument("--blank-nodes", type=int, default=None, help="harvest Turtle of this many blank nodes instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        served = Path(tmp) / "served"
        served.mkdir()
        workbook = served / "variabler.xlsx"
        if args.blank_nodes:
            document = served / "katalog.ttl"
            with document.open("w", encoding="utf-8") as out:
                out.write("@prefix e: <http://example.org/> .\n<http://bench.test/d> a <http://www.w3.org/ns/dcat#Dataset> ;\n e:p ")
                out.write(",\n".join(f"[e:n {number}]" for number in range(args.blank_nodes)) + " .\n")
            print(f"document: {document.stat().st_size / 2**20:.1f} MiB", flush=True)
        elif args.file and args.file.exists():
            workbook.symlink_to(args.file.resolve())
        else:
            started = time.perf_counter()
            write_workbook(args.file or workbook, args.rows)
            if args.file:
                workbook.symlink_to(args.file.resolve())
            print(f"wrote {args.rows + 1:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
        if not args.blank_nodes:
            print(f"workbook: {workbook.stat().st_size / 2**20:.1f} MiB", flush=True)
        context = multiprocessing.get_context("spawn")
        receiving, sending = context.Pipe(duplex=False)
        with FileServer(served) as server:
            kind = "dcat" if args.blank_nodes else "table"
            child = context.Process(target=_harvest, args=(tmp, server.url, kind, args.max_rows,
                                                           int(args.cap_gib * 2**30), sending))
            started = time.perf_counter()
            child.start()
            sending.close()
            if receiving.poll(args.timeout):
                try:
                    outcome = receiving.recv()
                except EOFError:
                    outcome = f"died (exit code {child.exitcode}), likely at the cap of {args.cap_gib:g} GiB"
            else:
                outcome = f"still running after {args.timeout:g} s: stopped"
                child.kill()
            child.join()
            seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB -> GiB
    print(f"outcome: {outcome}")
    print(f"time: {seconds:.1f} s; peak resident memory: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
