"""The graph store on a SPARQL 1.1 server (`CATALOGUE_STORE_URL`, such as `oxigraph serve`)
instead of in the data directory: the same checkpoints, made of named graphs on the server.

Each graph file is sent once, as a named graph of its own, `<base>store/<file name>`, in one
Graph Store `PUT`, which the server applies in one transaction. A checkpoint is a small graph,
`<base>store/checkpoint/<name>`, naming the file graphs it holds and the source graph each
stands for; it is written after them. So every graph of a new state is on the server before
the state naming its checkpoint is committed, and a reader of an older state goes on querying
the older graphs, which stay until `prune`. A reader asks for its checkpoint's graphs alone
and sees them under their source graphs' names: nothing a writer sends meanwhile reaches it.
What readers derive from a checkpoint (the catalogue's additions, for SPARQL) is sent beside
it, `<base>store/added/<name>`, and removed with it.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pyoxigraph as ox

from catalogue.storage.durable import boundary

NAME = "http://www.w3.org/ns/sparql-service-description#name"  # file graph -> the source graph it stands for
TIMEOUT = httpx.Timeout(30.0, read=600.0)  # sending a large graph takes its time
RESOURCES = 20_000  # the resources whose statements a reader keeps (see RemoteStore)
BATCH = 500  # resources whose statements one request reads (a query of some 50 kB at most)
TSV = "text/tab-separated-values"  # answers to read: compact, and every term as written


class StoreServerError(RuntimeError):
    """The store server refused a request (`status`, its HTTP status) or did not answer."""

    def __init__(self, message: str, status: int | None = None, said: str = ""):
        super().__init__(message)
        self.status, self.said = status, said  # said: the server's own words


class RemoteGraphStore:
    """The graph store's checkpoints as graphs on a SPARQL server (see the module)."""

    def __init__(self, url: str, base_uri: str):
        self.url = url.rstrip("/")
        self.prefix = f"{base_uri}store/"
        self.client = httpx.Client(timeout=TIMEOUT)

    def checkpoint(self, graphs: dict[str, Path]) -> str:
        """Send the graphs (graph name -> N-Triples file) the server lacks, then a checkpoint
        naming them all; return its name. The caller holds the data directory's lock."""
        name = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        held = self._held([self.prefix + path.name for path in graphs.values()])
        for path in graphs.values():
            if self.prefix + path.name not in held:
                self._send("PUT", "/store", params={"graph": self.prefix + path.name}, content=_chunks(path),
                           headers={"Content-Type": "application/n-triples"})
        boundary("graphs sent to the store server")
        listing = "".join(f"<{self.prefix}{path.name}> <{NAME}> <{graph}> .\n" for graph, path in graphs.items())
        self._send("PUT", "/store", params={"graph": self._checkpoint_graph(name)}, content=listing.encode(),
                   headers={"Content-Type": "application/n-triples"})
        boundary("checkpoint made")
        return name

    def has(self, checkpoint: str) -> bool:
        return bool(self._held([self._checkpoint_graph(checkpoint)]))

    def open(self, checkpoint: str) -> RemoteStore:
        """The checkpoint's graphs (FileNotFoundError if it was pruned)."""
        names = self._listing(self._checkpoint_graph(checkpoint))
        if not names:
            raise FileNotFoundError(f"{self.url}: no checkpoint {checkpoint}")
        return RemoteStore(self, names)

    def adding(self, store: RemoteStore, checkpoint: str, graph: str, content: bytes) -> RemoteStore:
        """`store`, the checkpoint's graphs, with one more its readers see as `graph`: the
        N-Triples `content`, sent as the checkpoint's added graph (replacing what another
        reader sent for it: what they derive from one checkpoint is the same)."""
        added = self._added(self._checkpoint_graph(checkpoint))
        self._send("PUT", "/store", params={"graph": added}, content=content,
                   headers={"Content-Type": "application/n-triples"})
        return RemoteStore(self, {**store.names, added: graph})

    def prune(self, current: str | None, keep: Iterable[str] = ()) -> None:
        """Drop the checkpoints but `current`, the one before it (a reader may still be on
        it) and those in `keep` (app servers read them), and every graph of this catalogue
        none of these names: those of pruned checkpoints and a killed writer's. The caller
        holds the lock."""
        ours = [row["g"].value for row in self._select(
            f'SELECT ?g WHERE {{ GRAPH ?g {{}} FILTER(STRSTARTS(STR(?g), "{self.prefix}")) }}')]
        checkpoints = sorted(g for g in ours if g.startswith(self._checkpoint_graph("")))
        older = [g for g in checkpoints if current and g < self._checkpoint_graph(current)]
        kept = {self._checkpoint_graph(current)} if current else set()
        kept.update(older[-1:])
        kept.update(self._checkpoint_graph(name) for name in keep)
        held = {physical for graph in kept for physical in self._listing(graph)}
        held.update(self._added(graph) for graph in kept)
        gone = [g for g in ours if g not in kept and g not in held]
        if gone:
            self._send("POST", "/update", data={"update": " ; ".join(f"DROP SILENT GRAPH <{g}>" for g in gone)})

    def _checkpoint_graph(self, name: str) -> str:
        return f"{self.prefix}checkpoint/{name}"

    def _added(self, checkpoint_graph: str) -> str:
        return f"{self.prefix}added/{checkpoint_graph.rpartition('/')[2]}"

    def _listing(self, checkpoint_graph: str) -> dict[str, str]:
        """file graph -> source graph, of a checkpoint ({} if there is none)."""
        return {row["f"].value: row["g"].value for row in self._select(
            f"SELECT ?f ?g WHERE {{ GRAPH <{checkpoint_graph}> {{ ?f <{NAME}> ?g }} }}")}

    def _held(self, graphs: list[str]) -> set[str]:
        """Those of `graphs` the server holds (with a triple: the empty ones are sent again)."""
        values = " ".join(f"<{graph}>" for graph in graphs)
        return {row["g"].value for row in self._select(
            f"SELECT ?g WHERE {{ VALUES ?g {{ {values} }} FILTER EXISTS {{ GRAPH ?g {{ ?s ?p ?o }} }} }}")}

    def _select(self, query: str) -> ox.QuerySolutions:
        answer = self._send("POST", "/query", data={"query": query}, headers={"Accept": TSV})
        return ox.parse_query_results(answer.content, ox.QueryResultsFormat.TSV)

    def _send(self, method: str, path: str, **request) -> httpx.Response:
        try:
            response = self.client.request(method, self.url + path, **request)
        except httpx.HTTPError as exc:
            raise StoreServerError(f"the store server {self.url} did not answer: {type(exc).__name__}: {exc}") from None
        if response.is_error:
            raise StoreServerError(f"the store server {self.url} answered {method} {path} with "
                                   f"{response.status_code}: {response.text[:500]}", response.status_code, response.text)
        return response


class RemoteStore:
    """A checkpoint on the server, read as a `pyoxigraph.Store` is by the catalogue:
    `quads_for_pattern` and `query` see its graphs alone, by their source graphs' names."""

    def __init__(self, server: RemoteGraphStore, names: dict[str, str]):
        self.server = server
        self.names = names  # file graph on the server -> the source graph it stands for
        self.physical = {graph: physical for physical, graph in names.items()}
        # A resource's statements, which a page asks for again and again (to follow its links,
        # then to describe it, a property at a time): the checkpoint never changes, so they
        # are read once, whole, and the most recently used kept.
        self._about: OrderedDict[ox.NamedNode, list[ox.Quad]] = OrderedDict()
        self._lock = threading.Lock()  # pages are read in several threads at once

    def quads_for_pattern(self, subject=None, predicate=None, object=None, graph_name=None) -> Iterator[ox.Quad]:
        if isinstance(subject, ox.NamedNode):
            return (q for q in self.statements_of([subject])[subject] if (predicate is None or q.predicate == predicate)
                    and (object is None or q.object == object) and (graph_name is None or q.graph_name == graph_name))
        return iter(self._quads(subject, predicate, object, graph_name))

    def statements_of(self, nodes: Iterable[ox.NamedNode | ox.BlankNode]) -> dict[ox.NamedNode | ox.BlankNode, list[ox.Quad]]:
        """Each node's statements, as `quads_for_pattern(node)` gives them: those not kept
        read in one request per BATCH nodes (a blank node has none here, see `_quads`)."""
        found: dict = {}
        missing = []
        with self._lock:
            for node in nodes:
                if node in self._about:
                    self._about.move_to_end(node)
                    found[node] = self._about[node]
                elif node not in found:
                    found[node] = []
                    if isinstance(node, ox.NamedNode):
                        missing.append(node)
        for start in range(0, len(missing), BATCH):
            part = missing[start:start + BATCH]
            query = (f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?s {{ {' '.join(map(str, part))} }} "
                     "GRAPH ?g { ?s ?p ?o } }")
            for row in self.query(query, named_graphs=list(self.physical)):
                found[row["s"]].append(ox.Quad(row["s"], row["p"], row["o"], row["g"]))
            with self._lock:
                for node in part:
                    self._about[node] = found[node]
                while len(self._about) > RESOURCES:
                    self._about.popitem(last=False)
        return found

    def _quads(self, subject=None, predicate=None, object=None, graph_name=None) -> list[ox.Quad]:
        if any(isinstance(term, ox.BlankNode) for term in (subject, predicate, object)):
            return []  # a blank node's label is its answer's own: no later request can name it
        if graph_name is not None and graph_name.value not in self.physical:
            return []
        terms = [term if term is not None else ox.Variable(var)
                 for term, var in ((subject, "s"), (predicate, "p"), (object, "o"), (graph_name, "g"))]
        graph = terms[3] if graph_name is None else ox.NamedNode(self.physical[graph_name.value])
        query = f"SELECT * WHERE {{ GRAPH {graph} {{ {terms[0]} {terms[1]} {terms[2]} }} }}"
        return [ox.Quad(*(row[term] if isinstance(term, ox.Variable) else term for term in terms))
                for row in self.query(query, named_graphs=list(self.physical))]

    def query(self, sparql: str, use_default_graph_as_union: bool = True, named_graphs: list[str] | None = None):
        """A SELECT or ASK query's results over the checkpoint's graphs, the default graph
        their union (`named_graphs`, by source graph name, to see some of them only)."""
        if not use_default_graph_as_union:
            raise ValueError("a store server's checkpoint is queried as the union of its graphs")
        body, _ = self.answer(sparql, TSV, named_graphs=named_graphs)
        return ox.parse_query_results(body, ox.QueryResultsFormat.TSV)

    def answer(self, sparql: str, accept: str, default_graphs: list[str] | None = None,
               named_graphs: list[str] | None = None, max_bytes: int | None = None) -> tuple[bytes, str]:
        """The server's answer to `sparql` and its media type. The dataset is the graphs named
        (by source graph name) in `default_graphs` and `named_graphs`, or all the checkpoint's,
        the default one their union, when neither is given; the answer names them as the
        source graphs (the query must name the file graphs). More than `max_bytes`:
        OverflowError."""
        if default_graphs is None and named_graphs is None:
            default_graphs = named_graphs = list(self.physical)
        dataset = {"default-graph-uri": [self.physical.get(g, g) for g in default_graphs or ()],
                   "named-graph-uri": [self.physical.get(g, g) for g in named_graphs or ()]}
        body = bytearray()
        try:
            with self.server.client.stream("POST", self.server.url + "/query", data={"query": sparql, **dataset},
                                           headers={"Accept": accept}) as response:
                for chunk in response.iter_bytes():
                    body += chunk
                    if max_bytes is not None and len(body) > max_bytes and not response.is_error:
                        raise OverflowError
        except httpx.HTTPError as exc:
            raise StoreServerError(f"the store server {self.server.url} did not answer: {type(exc).__name__}: {exc}") from None
        if response.is_error:
            said = body.decode(errors="replace")[:500]
            raise StoreServerError(f"the store server {self.server.url} answered {response.status_code}: {said}",
                                   response.status_code, said)
        return self.logical(bytes(body)), response.headers.get("content-type", "").partition(";")[0]

    def logical(self, body: bytes) -> bytes:
        """`body` with the file graphs' names put back to the source graphs'."""
        for physical, graph in self.names.items():
            body = body.replace(physical.encode(), graph.encode())
        return body


def _chunks(path: Path, size: int = 2**20) -> Iterator[bytes]:
    """The file's bytes, a megabyte at a time: a graph is sent without being read into memory."""
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk
