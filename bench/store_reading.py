"""What reading the graph store costs a statement, beside parsing the graph file it was
loaded from: the floor under a rebuild of the search index that reads the store.

Run: .venv/bin/python bench/store_reading.py FOLDER [--graphs 3]
on a catalogue kept by `bench/harvest.py --keep FOLDER`. For the largest `graphs` graphs of its
current state it prints microseconds a statement, median over the graphs, three ways:
- scan: the whole graph in one pattern lookup (the store's cheapest read);
- by subject: each subject's statements as a rebuild asks for them (`Snapshot.said_by`, one
  query per batch of subjects, every predicate);
- file: parsing the graph's file (sorted N-Triples, which only the writer keeps);
- file by subject: each subject's statements read from the files as a rebuild on the writer
  reads them (`GraphFiles.said_by`), after one pass over every file that learns where each
  subject's lines start (its time printed apart).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pyoxigraph as ox

from catalogue.storage.graph_files import GraphFiles
from catalogue.storage.store import Snapshot, Store


def per_statement(read) -> float:
    started = time.perf_counter()
    count = read()
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--graphs", type=int, default=3)
    args = parser.parse_args()
    store = Store(args.folder / "data", "http://bench.test/")
    snapshot = Snapshot(store, store.state())
    largest = sorted(((store.triples(source.graph_file), graph, source) for graph, source
                      in snapshot.sources_by_graph().items() if source.graph_file), reverse=True)[:args.graphs]
    files, started = GraphFiles.of(store, store.state()), time.perf_counter()
    files.said_by([], [])
    print(f"where subjects' lines start in the graph files, learnt in {time.perf_counter() - started:.1f} s")
    figures: dict[str, list[float]] = {"scan": [], "by subject": [], "file": [], "file by subject": []}
    for statements, graph, source in largest:
        name = ox.NamedNode(graph)
        quads = list(snapshot.store.quads_for_pattern(None, None, None, name))
        subjects = list(dict.fromkeys(q.subject for q in quads if isinstance(q.subject, ox.NamedNode)))
        predicates = list({q.predicate.value for q in quads})
        del quads
        figures["scan"].append(per_statement(
            lambda: sum(1 for _ in snapshot.store.quads_for_pattern(None, None, None, name))))
        figures["by subject"].append(per_statement(
            lambda: sum(len(said) for said in snapshot.said_by(subjects, predicates).values())))
        figures["file"].append(per_statement(lambda: sum(1 for _ in ox.parse(
            path=str(store.graphs_dir / source.graph_file), format=ox.RdfFormat.N_TRIPLES))))
        figures["file by subject"].append(per_statement(
            lambda: sum(len(said) for said in files.said_by(subjects, predicates).values())))
        print(f"{source.id}: {statements:,} statements, {len(subjects):,} subjects", flush=True)
    for way, found in figures.items():
        print(f"{way:>15}: {statistics.median(found):5.1f} µs a statement")


if __name__ == "__main__":
    main()
