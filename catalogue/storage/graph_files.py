"""A state's graph files, read by subject: what a writer has beside its graph store.

A writer keeps each source's graph as an N-Triples file with its lines sorted (see
catalogue.storage.store), so a subject's statements are one run of lines. Reading a subject's
run and parsing it costs about 40 % of asking the graph store for the same statements (6.6
against 16.5 µs a statement at a million variables, bench/store_reading.py), and the store's
answers were half of a rebuild at that size. Where runs start
is learnt in one pass over the files, the first time a subject is asked for.

Readers without the files (a follower, a store server's clients) read the graph store.
"""
from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from sys import intern

import pyoxigraph as ox

from catalogue.storage.store import State, Store

RUN_READ = 8192  # bytes read at once from where a run starts (a variable's run is a kilobyte or two)
OFFSET_BITS = 40  # a run's place in its file (files up to a terabyte); above it, the file's place in the state
Said = dict[ox.NamedNode | ox.BlankNode, list[tuple[str, ox.NamedNode | ox.BlankNode | ox.Literal, int]]]


class GraphFiles:
    """The graph files of a state's sources, in the state's order (None for a source without a
    graph), read a subject's run of lines at a time."""

    def __init__(self, paths: list[Path | None]):
        self._paths = paths
        self._runs: dict[str, int | list[int]] | None = None  # subject IRI -> (file << OFFSET_BITS) | offset

    @classmethod
    def of(cls, store: Store, state: State) -> GraphFiles | None:
        """The files of `state`'s graphs, if every one of them is in the data directory."""
        paths = [store.graphs_dir / s.graph_file if s.graph_file else None for s in state.sources.values()]
        return cls(paths) if all(p is None or p.is_file() for p in paths) else None

    def said_by(self, subjects: Iterable[ox.NamedNode | ox.BlankNode], predicates: list[str]) -> Said:
        """What each of `subjects` says by any of `predicates`, as Snapshot.said_by gives it:
        (predicate, object, the graph's place in the state) each, in no particular order."""
        runs = self._index()
        found: Said = {node: [] for node in subjects}
        wanted = set(predicates)
        starts: dict[int, list[tuple[int, ox.NamedNode]]] = defaultdict(list)
        for node in found:
            if isinstance(node, ox.NamedNode) and (at := runs.get(node.value)) is not None:
                for packed in at if isinstance(at, list) else (at,):
                    starts[packed >> OFFSET_BITS].append((packed & ((1 << OFFSET_BITS) - 1), node))
        for place, runs_here in starts.items():
            node_of = {node.value: node for _, node in runs_here}
            with open(self._paths[place], "rb") as lines:
                text = b"".join(_run(lines.fileno(), offset) for offset, _ in sorted(runs_here))
            for triple in ox.parse(input=text, format=ox.RdfFormat.N_TRIPLES):
                if (predicate := triple.predicate.value) in wanted:
                    found[node_of[triple.subject.value]].append((predicate, triple.object, place))
        return found

    def _index(self) -> dict[str, int | list[int]]:
        """Where each IRI subject's run of lines starts, in each file that has one."""
        if self._runs is not None:
            return self._runs
        runs: dict[str, int | list[int]] = {}
        for place, path in enumerate(self._paths):
            if path is None or path.stat().st_size == 0:
                continue
            offset, prefix = 0, b"\0"
            with open(path, "rb") as lines:
                for line in lines:
                    if not line.startswith(prefix):
                        end = line.find(b"> ")
                        prefix = line[:end + 2]
                        if line.startswith(b"<"):  # a blank node says nothing here, as in the graph store
                            subject = _subject(line, end)
                            packed = place << OFFSET_BITS | offset
                            before = runs.setdefault(subject, packed)
                            if before != packed:  # named in several graphs
                                runs[subject] = [*(before if isinstance(before, list) else [before]), packed]
                    offset += len(line)
        self._runs = runs
        return runs


def _subject(line: bytes, end: int) -> str:
    """The IRI a line's subject names (the one kept of it, shared with the readers' maps)."""
    if b"\\" in line[:end]:  # an escaped character: as the parser reads it
        return intern(next(iter(ox.parse(input=line, format=ox.RdfFormat.N_TRIPLES))).subject.value)
    return intern(line[1:end].decode())


def _run(fd: int, offset: int) -> bytes:
    """The run of lines from `offset` on in the file `fd`: those that start with the same subject."""
    data, end, prefix = b"", 0, b""
    while True:
        nl = data.find(b"\n", end)
        if nl < 0:  # the next line is not all read yet
            if more := os.pread(fd, max(RUN_READ, len(data)), offset + len(data)):
                data += more
                continue
            return data if data.startswith(prefix, end) else data[:end]  # the file ends
        if not prefix:
            prefix = data[:data.find(b"> ") + 2]
        elif not data.startswith(prefix, end):
            return data[:end]
        end = nl + 1
