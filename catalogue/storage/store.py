"""The store: one named graph per source, kept as files in the data directory and in a
persistent graph store that readers query: in the data directory
(catalogue.storage.graphstore), or on a SPARQL server several hosts share
(catalogue.storage.remote_store).

A source's graph is written aside under a new name, and becomes current when a new
generation of the state file naming it is written (catalogue.storage.durable.atomic_write):
the one commit point of every write. The state names the graph store's checkpoint holding
exactly its graphs, made just before. A reader that follows the state file therefore
always sees whole graphs, and a writer that fails or is killed before the state is
written leaves the last good graph of its source in place. Several processes can share
a data directory: writers take a lock, readers notice a new generation and open its
checkpoint.
"""
from __future__ import annotations

import fcntl
import heapq
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from itertools import islice
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox
from pydantic import BaseModel, Field
from rdflib import Graph

from catalogue.model.namespaces import bind_prefixes
from catalogue.model.rdf import GENID, held, to_rdflib
from catalogue.storage.durable import atomic_write, unfinished, writing
from catalogue.storage.graphstore import GraphStore
from catalogue.storage.records import nt_lines
from catalogue.storage.remote_store import BATCH, RemoteGraphStore, RemoteStore

if TYPE_CHECKING:
    from catalogue.storage.published import Published



class HeldBack(BaseModel):
    """A record the gate (or the harvester) refused, with what to fix; or, as a run's
    warning, what to improve in a record that went through."""

    record: str
    focus: str | None = None
    path: str | None = None
    message: str  # in English, as run pages show it
    severity: str = "Violation"
    messages: dict[str, str] = Field(default_factory=dict)  # the message in bokmål and English


# Lines of a graph file sorted in memory at a time (some 100 MB); a larger graph is sorted
# in runs of so many, kept on disk, and the runs merged.
SORT_RUN = 500_000


def sorted_lines(lines: Iterable[str], folder: Path, run: int = SORT_RUN) -> Iterator[str]:
    """The lines in order, repeats dropped, with at most `run` of them in memory: past that,
    sorted runs are written to files that have no name in `folder` (gone with the process,
    however it ends) and merged."""
    lines = iter(lines)
    chunk = list(islice(lines, run))
    if len(chunk) < run:
        yield from sorted(set(chunk))
        return
    with ExitStack() as files:
        runs = []
        while chunk:
            part = files.enter_context(tempfile.TemporaryFile(dir=folder))
            part.writelines(f"{line}\n".encode() for line in sorted(set(chunk)))
            part.seek(0)
            runs.append(line[:-1].decode() for line in part)
            chunk = list(islice(lines, run))
        last = None
        for line in heapq.merge(*runs):
            if line != last:
                yield line
                last = line


class Busy(Exception):
    """Another writer holds the data directory."""


class NotTheWriter(Busy):
    """This server follows the state a writer on another host published: it writes none."""

    def __init__(self):
        super().__init__("this server reads the catalogue a writer on another host publishes, and writes nothing: "
                         "publications and curation go to a server sharing the writer's data directory")


WRITE_WAIT = 5.0  # seconds a person's write (a publication, a curation) waits for a harvest's lock


# Graphs kept like a source's that are not harvested sources: the catalogue's own
# description and what curators publish.
INTERNAL_KINDS = ("configuration", "curation")


class SourceState(BaseModel):
    id: str
    name: str
    publisher: str
    kind: str
    url: str
    graph_file: str | None = None
    harvested: str | None = None  # when the stored graph was written
    attempted: str | None = None  # when a harvest was last tried
    error: str | None = None      # why the last attempt failed (or was held), if it did
    failures: int = 0             # attempts that failed in a row: scheduled retries back off
    triples: int = 0
    manifest: str | None = None   # the file naming its records' current versions (catalogue.storage.records)
    fingerprint: str | None = None  # of what the stored graph was made from (see harvest)
    shapes_key: str | None = None   # of the shapes its records were accepted by
    last_run: str | None = None
    seen: int = 0
    accepted: int = 0
    held_back: list[HeldBack] = Field(default_factory=list)
    # The record of its active publication by upload, in data/uploads/<source>/ (see
    # catalogue.pipeline.uploads). A state written before states named them lacks it: the
    # active one is then where that release kept it, if it has one.
    publication: str | None = "publication.json"

    @property
    def is_source(self) -> bool:
        return self.kind not in INTERNAL_KINDS


class State(BaseModel):
    """What is current: a writer's files become real when a state naming them is written."""

    generation: int = 0
    sources: dict[str, SourceState] = Field(default_factory=dict)
    # Runs committed whose history events and run log entry may not be applied yet (see
    # harvest.settle); each is dropped from here by the first commit after it is applied.
    runs: list[str] = Field(default_factory=list)
    # The graph store's checkpoint holding the graphs named here (see write_state); a state
    # written before there was a graph store has none until the next write.
    checkpoint: str | None = None

    def graph_files(self) -> dict[str, str]:
        return {s.id: s.graph_file for s in self.sources.values() if s.graph_file}


def derived_file(graph_file: Path, kind: str) -> Path:
    """Where a file derived from a graph file is kept (an index of it): beside it, named after
    it, and removed with it (see Store.prune)."""
    return graph_file.with_name(f"{graph_file.name}.{kind}")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store:
    def __init__(self, data_dir: Path, base_uri: str, store_url: str | None = None,
                 published: Published | None = None):
        """`store_url`: the graph store is on that SPARQL server, not in the data directory.
        `published`: where the writer publishes its state, which this store follows while its
        data directory holds no state of its own (see `follows`), and publishes each state it
        writes to."""
        self.data_dir = Path(data_dir)
        self.published = published
        self.base_uri = base_uri
        self.graphs_dir = self.data_dir / "graphs"
        self.state_file = self.data_dir / "state.json"
        self.graph_store = (RemoteGraphStore(store_url, base_uri) if store_url
                            else GraphStore(self.data_dir / "store"))
        self._seen: tuple | None = None
        self._generation = 0
        self._held: set[str] = set()  # the locks `lock()` holds for this object now

    @property
    def writes(self) -> bool:
        """Whether this object holds the writer's lock, and so may write what derives from
        the stored files beside them."""
        return ".lock" in self._held

    def follows(self) -> bool:
        """Whether this store reads the state a writer on another host published (an app
        server's data directory of its own, which holds no state): it has no graph files,
        record versions or run log, and writes nothing."""
        return self.published is not None and not self.state_file.exists()

    # -- writing (callers hold `lock()`) ------------------------------------
    @contextmanager
    def lock(self, wait: float | None = None, name: str = ".lock") -> Iterator[None]:
        """Serialises writers (harvests, publications, curation) on one data directory.
        With `wait`, gives up after that many seconds (Busy): a person's request should
        hear that a harvest is running rather than hang for minutes."""
        if self.follows():
            raise NotTheWriter()
        with self._flock(name, wait):
            self._held.add(name)
            try:
                yield
            finally:
                self._held.discard(name)

    def index_lock(self, wait: float | None = None) -> AbstractContextManager[None]:
        """Serialises the processes bringing a follower's own indexes up to date (see `follows`)."""
        return self._flock(".index.lock", wait)

    @contextmanager
    def _flock(self, name: str, wait: float | None) -> Iterator[None]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / name, "w") as handle:
            deadline = time.monotonic() + (wait or 0)
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | (fcntl.LOCK_NB if wait is not None else 0))
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise Busy("a harvest is running; try again in a minute") from None
                    time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def harvest_lock(self) -> AbstractContextManager[None]:
        """Serialises harvests among themselves; a harvest fetches holding only this one, and
        takes `lock()` just to store what it read, so people's writes go on meanwhile."""
        return self.lock(name=".harvest.lock")

    def state(self) -> State:
        if self.follows():
            return self.published.state()
        if not self.state_file.exists():
            return State()
        return State.model_validate_json(self.state_file.read_text(encoding="utf-8"))

    def write_state(self, state: State) -> None:
        """The commit point: the new generation of the state names every file it makes
        current, and the checkpoint of the graph store holding its graphs."""
        state.checkpoint = self._checkpoint(state)
        state.generation += 1
        atomic_write(self.state_file, state.model_dump_json(indent=2).encode())
        if self.published is not None:  # a server's write (curation) on the writer's data directory
            self.published.publish(state, self.committed(), self.data_dir)

    def _checkpoint(self, state: State) -> str | None:
        """The current state's checkpoint if it holds `state`'s graphs, or else a new one
        (none for no graphs)."""
        if not state.graph_files():
            return None
        current = self.state()
        if (current.checkpoint and current.graph_files() == state.graph_files()
                and self.graph_store.has(current.checkpoint)):
            return current.checkpoint
        return self.graph_store.checkpoint({self.graph_name(source_id): self.graphs_dir / name
                                            for source_id, name in state.graph_files().items()})

    def unchecked(self, state: State) -> bool:
        """Whether `state` names no checkpoint there is (written before there was a graph
        store, or its checkpoint lost): the next `write_state` makes one."""
        return bool(state.graph_files()) and not (state.checkpoint and self.graph_store.has(state.checkpoint))

    def committed(self) -> int:
        """When the current state was committed, in nanoseconds since the epoch (0 before the first)."""
        if self.follows():
            return self.published.committed()
        try:
            return self.state_file.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def generation(self) -> int:
        """The current state's generation (0 before the first), for readers deciding to reload."""
        if self.follows():
            return self.published.generation()
        try:
            stat = self.state_file.stat()
        except FileNotFoundError:
            return 0
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if key != self._seen:  # the file is replaced, never changed in place: read it only when new
            self._seen, self._generation = key, self.state().generation
        return self._generation

    def replace_graph(self, source_id: str, graph: Graph | Iterable[str]) -> str:
        """Write the source's new graph (or its N-Triples lines, in any order, repeats
        dropped) aside and return its file name; it becomes current when a state naming it
        is written."""
        self.graphs_dir.mkdir(parents=True, exist_ok=True)
        name = f"{source_id}.{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}.nt"
        lines = nt_lines(graph) if isinstance(graph, Graph) else sorted_lines(graph, self.graphs_dir)
        with writing(self.graphs_dir / name) as handle:
            handle.writelines(f"{line}\n".encode() for line in lines)
            if not handle.tell():
                handle.write(b"\n")  # an empty graph's file, as it always was
        return name

    def triples(self, graph_file: str) -> int:
        """How many triples a graph file holds (one a line)."""
        with open(self.graphs_dir / graph_file, "rb") as lines:
            return sum(line != b"\n" for line in lines)

    def prune(self, state: State, followed: Published | None = None) -> None:
        """Remove graph files `state` does not name: a killed writer's, and those it replaced,
        but for the one before each source's current file (a reader may be loading it);
        and so the graph store's checkpoints, but those that app servers following the state
        published to `followed` (or to this store's `published`) read; graph files a killed
        writer was still writing; and the files derived from graph files that are gone. The
        caller holds the lock."""
        followed = followed or self.published
        for path in unfinished(self.graphs_dir):
            path.unlink(missing_ok=True)
        self.graph_store.prune(state.checkpoint, followed.followed() if followed else set())
        by_source: dict[str, list[str]] = {}
        for path in self.graphs_dir.glob("*.nt"):
            by_source.setdefault(path.name.split(".", 1)[0], []).append(path.name)
        for source_id, names in by_source.items():
            current = state.sources[source_id].graph_file if source_id in state.sources else None
            older = sorted(n for n in names if current and n < current)
            for name in names:  # file names sort by the time they were written
                if name != current and name not in older[-1:]:
                    (self.graphs_dir / name).unlink()
        for path in self.graphs_dir.glob("*.nt.*"):  # what derives from a graph file goes with it
            if not path.name.startswith(".") and not path.with_suffix("").exists():
                path.unlink(missing_ok=True)

    # -- reading -------------------------------------------------------------
    def graph_triples(self, state: State) -> Iterator[tuple[SourceState, Iterator[ox.Triple]]]:
        """Each source's stored graph, streamed from its file (no store to load first); where
        this store follows a writer elsewhere, read from the state's checkpoint."""
        checkpoint = self.graph_store.open(state.checkpoint) if self.follows() and state.checkpoint else None
        for source in state.sources.values():
            if checkpoint is not None and source.graph_file:
                yield source, checkpoint.quads_for_pattern(graph_name=ox.NamedNode(self.graph_name(source.id)))
            elif source.graph_file:
                yield source, ox.parse(path=str(self.graphs_dir / source.graph_file),
                                       format=ox.RdfFormat.N_TRIPLES)

    def snapshot(self, private: Path | None = None) -> "Snapshot":
        """The current state's graphs; with `private` (a new folder), in a copy this process
        may add to."""
        try:
            return Snapshot(self, self.state(), private)
        except FileNotFoundError:  # writers pruned its checkpoint meanwhile: the state is newer now
            return Snapshot(self, self.state(), private)

    @property
    def catalogue_uri(self) -> str:
        return f"{self.base_uri}catalog"

    def graph_name(self, source_id: str) -> str:
        return f"{self.base_uri}graph/{source_id}"


class Snapshot:
    """The union of all source graphs as one SPARQL store, as of one state: its checkpoint
    of the graph store, read-only (or a private copy, see Store.snapshot; on a store server,
    its graphs there). A state whose checkpoint the graph store lacks (written before there
    was one, or with the other kind) is loaded into memory instead, until a writer makes its
    checkpoint."""

    def __init__(self, store: Store, state: State, private: Path | None = None):
        self.state = state
        self.graph_names = {s.id: store.graph_name(s.id) for s in state.sources.values()}
        self.base_uri, self.catalogue_uri = store.base_uri, store.catalogue_uri
        if state.checkpoint and store.graph_store.has(state.checkpoint):
            self.store = (store.graph_store.private_copy(state.checkpoint, private) if private
                          else store.graph_store.open(state.checkpoint))
            return
        self.store = ox.Store()
        for source in state.sources.values():
            if source.graph_file:
                path = store.graphs_dir / source.graph_file
                self.store.bulk_load(path=str(path), format=ox.RdfFormat.N_TRIPLES,
                                     to_graph=ox.NamedNode(store.graph_name(source.id)))

    def sources_by_graph(self) -> dict[str, SourceState]:
        return {self.graph_names[s.id]: s for s in self.state.sources.values()}

    def query(self, sparql: str):
        """SPARQL over the snapshot; outside GRAPH clauses it sees the union of all graphs."""
        return self.store.query(sparql, use_default_graph_as_union=True)

    def statements_of(self, nodes: Iterable[ox.NamedNode | ox.BlankNode]) -> dict[ox.NamedNode | ox.BlankNode, list[ox.Quad]]:
        """Each node's statements, as `quads_for_pattern(node)` gives them: on a store server a
        request per few hundred nodes (see RemoteStore), in the data directory a lookup each."""
        if isinstance(self.store, RemoteStore):
            return self.store.statements_of(nodes)
        return {node: list(self.store.quads_for_pattern(node, None, None, None)) for node in nodes}

    def subjects(self, graph: str, predicate: str, obj: str) -> Iterator[str]:
        """The subjects of the statements (?, `predicate`, `obj`) in `graph`, in one query: the
        store spells out the subjects alone (a pattern's lookup spells out all four terms)."""
        pattern = f"{ox.NamedNode(predicate)} {ox.NamedNode(obj)}"
        return (row[0].value for row in self.query(f"SELECT ?s WHERE {{ GRAPH {self._physical(graph)} {{ ?s {pattern} }} }}"))

    def objects(self, graph: str, predicate: str) -> list[str]:
        """The objects of the statements by `predicate` in `graph` whose subject is an IRI, each once."""
        return [row[0].value for row in self.query(
            f"SELECT DISTINCT ?o WHERE {{ GRAPH {self._physical(graph)} {{ ?s {ox.NamedNode(predicate)} ?o }} "
            "FILTER(isIRI(?s)) }")]

    def pairs(self, graph: str, predicate: str) -> Iterator[tuple[str, str]]:
        """(subject, object) of each statement by `predicate` in `graph` whose subject is an IRI.
        Its subjects are asked for first, then numbered in the query of the statements, so that
        the store spells out the objects alone: the subjects are few (datasets linking to their
        many variables)."""
        graph, predicate = self._physical(graph), ox.NamedNode(predicate)
        subjects = [row[0] for row in self.query(f"SELECT DISTINCT ?s WHERE {{ GRAPH {graph} {{ ?s {predicate} ?o }} }}")
                    if isinstance(row[0], ox.NamedNode)]
        for start in range(0, len(subjects), BATCH):
            part = subjects[start:start + BATCH]
            values = " ".join(f"({node} {i})" for i, node in enumerate(part))
            for obj, i in self.query(f"SELECT ?o ?i WHERE {{ VALUES (?s ?i) {{ {values} }} "
                                     f"GRAPH {graph} {{ ?s {predicate} ?o }} }}"):
                yield part[int(i.value)].value, obj.value

    def _physical(self, graph: str) -> ox.NamedNode:
        """A source graph as queries name it (on a store server, its file graph)."""
        return ox.NamedNode(self.store.physical.get(graph, graph) if isinstance(self.store, RemoteStore) else graph)

    def said_by(self, subjects: Iterable[ox.NamedNode], predicates: list[str]
                ) -> dict[ox.NamedNode, list[tuple[str, ox.NamedNode | ox.BlankNode | ox.Literal, int]]]:
        """What each of `subjects` says by any of `predicates` in the state's graphs: (predicate,
        object, the graph's place in the state) each, in no particular order. Asked in one SPARQL
        query per BATCH subjects, in which subjects, predicates and graphs are numbered:
        spelling out a term is most of what reading a statement costs, and so the store spells
        out only the objects (a lookup per subject, as `statements_of`, spells out all four). A
        blank node, which no query can name, says nothing here (graphs are stored skolemised)."""
        found: dict = {node: [] for node in subjects}
        nodes = [node for node in found if isinstance(node, ox.NamedNode)]
        if len(predicates) == 1:  # looked up by subject and predicate
            pattern = f"GRAPH ?g {{ ?s {ox.NamedNode(predicates[0])} ?o }} BIND(0 AS ?k)"
        else:
            pattern = f"GRAPH ?g {{ ?s ?p ?o }} BIND({_numbered('?p', predicates)} AS ?k) FILTER(BOUND(?k))"
        named = self.store.physical if isinstance(self.store, RemoteStore) else {}  # queries name its file graphs
        place = _numbered("?g", [named.get(graph, graph) for graph in self.graph_names.values()])
        for start in range(0, len(nodes), BATCH):
            part = nodes[start:start + BATCH]
            values = " ".join(f"({node} {i})" for i, node in enumerate(part))
            for i, k, obj, n in self.query(f"SELECT ?i ?k ?o ?n WHERE {{ VALUES (?s ?i) {{ {values} }} {pattern} "
                                           f"BIND({place} AS ?n) FILTER(BOUND(?n)) }}"):
                found[part[int(i.value)]].append((predicates[int(k.value)], obj, int(n.value)))
        return found

    def held_statements(self, roots: Iterable[ox.NamedNode], said: dict | None = None) -> dict:
        """The statements of `roots` and, recursively, of the blank or skolem nodes they hold
        (see catalogue.model.rdf.held), read a level of nodes at a time, each node's into
        `said` (those already there are not read again)."""
        said = {} if said is None else said
        level = list(dict.fromkeys(roots))
        seen = set(level)
        while level:
            said.update(self.statements_of(node for node in level if node not in said))
            level = list(dict.fromkeys(q.object for node in level for q in said[node]
                                       if _holds(q.object) and q.object not in seen))
            seen.update(level)
        return said

    def referrers(self, uris: Iterable[str], predicate: str | None = None) -> dict[str, set[str]]:
        """Who points to each of `uris` (by `predicate`, or by any), asked of the store a
        BATCH of them at a time: the subjects' IRIs, or blank node ids."""
        found: dict[str, set[str]] = {}
        uris = list(dict.fromkeys(uris))
        by = str(ox.NamedNode(predicate)) if predicate else "?p"
        for start in range(0, len(uris), BATCH):
            values = " ".join(str(ox.NamedNode(uri)) for uri in uris[start:start + BATCH])
            for row in self.query(f"SELECT DISTINCT ?s ?o WHERE {{ VALUES ?o {{ {values} }} ?s {by} ?o }}"):
                found.setdefault(row["o"].value, set()).add(row["s"].value)
        return found

    def describe(self, *uris: str, into: Graph | None = None) -> Graph:
        """The resources' own triples and those of the skolemised nodes they hold (added to
        `into` when given: describing many resources into one graph costs a graph each less)."""
        if into is None:
            into = Graph()
            bind_prefixes(into)
        roots = [ox.NamedNode(uri) for uri in uris]
        said = self.held_statements(roots)
        for root in roots:
            for triple in held(said.__getitem__, root):
                into.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)))
        return into

    def to_graph(self) -> Graph:
        graph = Graph()
        bind_prefixes(graph)
        for quad in self.store.quads_for_pattern(None, None, None, None):
            graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
        return graph


def _numbered(variable: str, iris: list[str]) -> str:
    """A SPARQL expression: the place in `iris` of the IRI `variable` is bound to (unbound if none)."""
    expression = "?unbound"
    for i, iri in reversed(list(enumerate(iris))):
        expression = f"IF({variable} = {ox.NamedNode(iri)}, {i}, {expression})"
    return expression


def _holds(term) -> bool:
    """Whether a statement's object is a node its subject holds (see catalogue.model.rdf.held)."""
    return isinstance(term, ox.BlankNode) or (isinstance(term, ox.NamedNode) and GENID in term.value)
