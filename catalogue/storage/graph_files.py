"""A state's graph files, read by subject: what a writer has beside its graph store.

A writer keeps each source's graph as an N-Triples file with its lines sorted (see
catalogue.storage.store), so a subject's statements are one run of lines. Reading a subject's
run and parsing it costs about 40 % of asking the graph store for the same statements (6.6
against 16.5 µs a statement at a million variables, bench/store_reading.py), and the store's
answers were half of a rebuild at that size. Where runs start is learnt in one pass over a
file, the first time it is read. The same pass gathers what a reader looks up by predicate,
not by subject (which subjects are variables, which dataset lists which variable): the
subjects of a few types, and the statements of a few `linking` predicates. A writer keeps
what the pass learnt beside the file (a graph file is never changed, only replaced), so a
harvest of one source passes over that source's new file alone: at a million variables in
20 sources, the pass over every file took 13 s of the 60 s of one changed record.

Readers without the files (a follower, a store server's clients) read the graph store.
"""
from __future__ import annotations

import marshal
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from sys import intern

import pyoxigraph as ox

from catalogue.forked import cores, in_order
from catalogue.storage.durable import atomic_write
from catalogue.storage.store import State, Store, derived_file

RUN_READ = 8192  # bytes read at once from where a run starts (a variable's run is a kilobyte or two)
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
INDEX, INDEX_FORMAT = "subjects", 1  # the index kept beside a graph file (see GraphFiles._read)
Said = dict[ox.NamedNode | ox.BlankNode, list[tuple[str, ox.NamedNode | ox.BlankNode | ox.Literal, int]]]
# Of one file: where each IRI subject's run starts, the subjects of each gathered type, and by
# each linking predicate, the subjects that say each object.
_FileIndex = tuple[dict[str, int], dict[str, list[str]], dict[str, dict[str, list[str]]]]


class GraphFiles:
    """The graph files of a state's sources, in the state's order (None for a source without a
    graph), named as the graph store names their `graphs`; read a subject's run of lines at a
    time, or, as gathered in the same pass, the subjects of the types `typed` and the
    statements of the `linking` predicates."""

    def __init__(self, paths: list[Path | None], graphs: list[str] = (), typed: Iterable[str] = (),
                 linking: Iterable[str] = (), keep: bool = False):
        self._paths, self._keep = paths, keep
        self._places = {graph: place for place, graph in enumerate(graphs)}
        self._typed = {f"<{kind}> .".encode(): kind for kind in typed}
        self._linking = {f"<{predicate}> ".encode(): predicate for predicate in linking}
        self._runs: list[dict[str, int]] | None = None  # of each file: subject IRI -> where its run starts
        # (file, predicate) -> object -> the IRI subjects that say it, in the file's order
        self._links: dict[tuple[int, str], dict[str, list[str]]] = defaultdict(dict)

    @classmethod
    def of(cls, store: Store, state: State, typed: Iterable[str] = (), linking: Iterable[str] = ()) -> GraphFiles | None:
        """The files of `state`'s graphs, if every one of them is in the data directory; a
        writer (holding the store's lock) keeps the index of each file it reads beside it."""
        sources = state.sources.values()
        paths = [store.graphs_dir / s.graph_file if s.graph_file else None for s in sources]
        return cls(paths, [store.graph_name(s.id) for s in sources], typed, linking, keep=store.writes) \
            if all(p is None or p.is_file() for p in paths) else None

    def subjects(self, graph: str, predicate: str, obj: str) -> list[str]:
        """The IRI subjects of the statements (?, `predicate`, `obj`) in `graph`, as
        Snapshot.subjects gives them: of a gathered type, or by a linking predicate."""
        if predicate == RDF_TYPE and obj in self._typed.values():
            self._index()
            return self._links.get((self._places[graph], RDF_TYPE), {}).get(obj, [])
        return self._linked(graph, predicate).get(obj, [])

    def pairs(self, graph: str, predicate: str) -> Iterator[tuple[str, str]]:
        """(subject, object) of each statement by the linking `predicate` in `graph` whose
        subject is an IRI, as Snapshot.pairs gives them."""
        return ((subject, obj) for obj, subjects in self._linked(graph, predicate).items() for subject in subjects)

    def objects(self, graph: str, predicate: str) -> list[str]:
        """The objects of the statements by the linking `predicate` in `graph` whose subject is
        an IRI, each once, as Snapshot.objects gives them."""
        return list(self._linked(graph, predicate))

    def _linked(self, graph: str, predicate: str) -> dict[str, list[str]]:
        if predicate not in self._linking.values():
            raise ValueError(f"{predicate} is not gathered from the graph files")
        self._index()
        return self._links.get((self._places[graph], predicate), {})

    def said_by(self, subjects: Iterable[ox.NamedNode | ox.BlankNode], predicates: list[str]) -> Said:
        """What each of `subjects` says by any of `predicates`, as Snapshot.said_by gives it:
        (predicate, object, the graph's place in the state) each, in no particular order."""
        found: Said = {node: [] for node in subjects}
        node_of = {node.value: node for node in found if isinstance(node, ox.NamedNode)}
        wanted = set(predicates)
        # Each file's subjects looked up at once (a subject may be named in several files).
        for place, runs_here in enumerate(self._index()):
            if not (named := node_of.keys() & runs_here.keys()):
                continue
            with open(self._paths[place], "rb") as lines:
                text = b"".join(_run(lines.fileno(), offset) for offset in sorted(map(runs_here.__getitem__, named)))
            for triple in parse_lines(text):
                if (predicate := triple.predicate.value) in wanted:
                    found[node_of[triple.subject.value]].append((predicate, triple.object, place))
        return found

    def _index(self) -> list[dict[str, int]]:
        """Where each IRI subject's run of lines starts, in each file (per file, as kept: a
        lookup is a set intersection a file, and merging them cost a second at a million
        variables); and the subjects of the gathered types and the statements of the linking
        predicates."""
        if self._runs is not None:
            return self._runs
        paths = [path if path is not None and path.stat().st_size else None for path in self._paths]
        kept = [self._kept(path) if path else None for path in paths]
        passed = iter(self._passes([path for path, found in zip(paths, kept) if path and found is None]))
        runs: list[dict[str, int]] = []
        for place, (path, found) in enumerate(zip(paths, kept)):
            if path is None:
                runs.append({})
                continue
            here, typed, links = found or next(passed)
            runs.append(here)
            if typed:
                self._links[place, RDF_TYPE].update(typed)
            for predicate, linked in links.items():
                self._links[place, predicate] = linked
        self._runs = runs
        return runs

    def _passes(self, paths: list[Path]) -> list[_FileIndex]:
        """The pass over each of `paths`, in their order, in a process per core when there are
        several (a pass is a second or two a file of 100,000 variables, and takes nothing but
        the file). A forked process hands its pass over in marshal's form, which keeps the
        interned IRIs interned (shared with what the readers' maps hold)."""
        parent = os.getpid()

        def passed(path: Path) -> _FileIndex | bytes:
            found = self._read(path)
            return found if os.getpid() == parent else marshal.dumps(found)
        return [marshal.loads(found) if isinstance(found, bytes) else found
                for found in in_order(passed, paths, cores() if len(paths) > 1 else 1)]

    def _kept(self, path: Path) -> _FileIndex | None:
        """What the file's index beside it holds, if it was made for the file as it is and
        for what this reader gathers."""
        try:
            head, *found = marshal.loads(derived_file(path, INDEX).read_bytes())
        except (OSError, EOFError, ValueError, TypeError):  # none yet, or not whole
            return None
        return tuple(found) if head == self._head(path) else None

    def _head(self, path: Path) -> tuple:
        return INDEX_FORMAT, path.stat().st_size, tuple(self._typed.values()), tuple(self._linking.values())

    def _read(self, path: Path) -> _FileIndex:
        """One pass over the file: where its subjects' runs start and what is gathered; kept
        beside it for the next reader when this one `keep`s."""
        runs: dict[str, int] = {}
        typed = {kind: [] for kind in self._typed.values()}
        by_spelling = {spelt: typed[kind] for spelt, kind in self._typed.items()}
        links: dict[str, dict[str, list[str]]] = {predicate: {} for predicate in self._linking.values()}
        linking = [(spelt, links[predicate]) for spelt, predicate in self._linking.items()]
        gathers, type_spelt = bool(self._typed or self._linking), f"<{RDF_TYPE}> ".encode()
        offset, prefix, at, subject = 0, b"\0", 0, None
        with open(path, "rb") as lines:
            for line in lines:
                if not line.startswith(prefix):
                    end = line.find(b"> ")
                    prefix, at = line[:end + 2], end + 2  # the predicate starts `at`
                    subject = None
                    if line.startswith(b"<"):  # a blank node says nothing here, as in the graph store
                        subject = _subject(line, end)
                        runs[subject] = offset  # one run a subject: the file is sorted, spelt by one writer
                if gathers and subject is not None:
                    if line.startswith(type_spelt, at):
                        if (kinds := by_spelling.get(line[at + len(type_spelt):].rstrip())) is not None:
                            kinds.append(subject)
                    else:
                        for spelt, linked in linking:
                            if line.startswith(spelt, at):
                                linked.setdefault(_object(line, at + len(spelt)), []).append(subject)
                                break
                offset += len(line)
        if self._keep:
            try:
                atomic_write(derived_file(path, INDEX), marshal.dumps((self._head(path), runs, typed, links)))
            except OSError:  # a data directory this process may not write to: read again next time
                pass
        return runs, typed, links


def parse_lines(lines: bytes) -> Iterator[ox.Triple]:
    """Lines of a graph file as triples. The store wrote them from graphs that passed the
    gate, so their IRIs are not checked again: the parser takes half the time so."""
    return ox.parse(input=lines, format=ox.RdfFormat.N_TRIPLES, lenient=True)


def _subject(line: bytes, end: int) -> str:
    """The IRI a line's subject names (the one kept of it, shared with the readers' maps)."""
    if b"\\" in line[:end]:  # an escaped character: as the parser reads it
        return intern(next(parse_lines(line)).subject.value)
    return intern(line[1:end].decode())


def _object(line: bytes, start: int) -> str:
    """The value of a line's object, which starts at `start` (an IRI's kept once, as subjects' are)."""
    if line.startswith(b"<", start) and b"\\" not in line:
        return intern(line[start + 1:line.index(b">", start)].decode())
    return next(parse_lines(line)).object.value


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
