"""SPARQL 1.1 over the catalogue, read-only, with a time limit and a result-size limit.

Whether a query may run is decided by reading it, never by running it: pyoxigraph would
fetch a `LOAD` or `SERVICE` address while evaluating, whatever store it runs on. Accepted
queries run in a small pool of worker processes, each holding the current snapshot of the
store: a query that runs past the time limit cannot be stopped inside pyoxigraph, but its
process can be, and a new worker takes its place. One slow client holds one worker. With
the graph store on a server (CATALOGUE_STORE_URL), an accepted query is sent there instead,
over the current state's graphs, as many at once as there are workers.
"""
from __future__ import annotations

import io
import multiprocessing
import queue
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF

from catalogue.model.rdf import to_oxigraph
from catalogue.storage.history import History
from catalogue.storage.remote_store import RemoteGraphStore, RemoteStore, StoreServerError
from catalogue.storage.store import Store
from catalogue.view import ADDITIONS, View

# What answers can be serialised as: SELECT and ASK results, CONSTRUCT and DESCRIBE graphs.
# Each format by its media type and the names clients put in `format=` / `output=`
# (SPARQLWrapper sends "json", "xml", "turtle", "n3", and for some both a name and a media type).
RESULT_FORMATS = {"application/sparql-results+json": (ox.QueryResultsFormat.JSON, ("json", "application/json")),
                  "application/sparql-results+xml": (ox.QueryResultsFormat.XML, ("xml", "application/xml")),
                  "text/csv": (ox.QueryResultsFormat.CSV, ("csv",)),
                  "text/tab-separated-values": (ox.QueryResultsFormat.TSV, ("tsv",))}
GRAPH_FORMATS = {"text/turtle": (ox.RdfFormat.TURTLE, ("ttl", "turtle", "n3", "text/n3", "application/turtle")),
                 "application/n-triples": (ox.RdfFormat.N_TRIPLES, ("nt", "ntriples", "n-triples")),
                 "application/rdf+xml": (ox.RdfFormat.RDF_XML, ("rdf", "xml", "rdf+xml", "application/xml")),
                 "application/ld+json": (ox.RdfFormat.JSON_LD, ("jsonld", "json-ld", "json", "application/json",
                                                                "application/x-json+ld"))}
LOAD_TIMEOUT = 600  # seconds a new worker may take to load the store

# The parts of a query whose text is not syntax: strings (long ones first, as the grammar
# reads them), IRIs and comments. What is left is keywords, names, variables and punctuation.
_OPAQUE = re.compile(r"'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^\"\\]|\\.|\"(?!\"\"))*\"\"\""
                     r"|'(?:[^'\\\n\r]|\\.)*'|\"(?:[^\"\\\n\r]|\\.)*\""
                     r"|<[^<>\"{}|^`\\\x00-\x20]*>|#[^\n\r]*", re.DOTALL)
# Variables and the local part of prefixed names may contain a keyword's letters
# (`?service`, `dcat:DataService`). Kept to ASCII, so they never reach further than the
# grammar's own names do: a keyword outside them is read as one.
_NAMES = re.compile(r"(?<![A-Za-z0-9_.:?$-])(?:[?$][A-Za-z0-9_]+"
                    r"|(?:[A-Za-z](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?)?:(?P<local>[A-Za-z0-9_:](?:[A-Za-z0-9_.:-]*[A-Za-z0-9_:-])?))")
# The grammar needs no space around a keyword (`1SERVICE<...>`, `SERVICEx:y` both parse),
# so a keyword is found wherever its letters stand outside a name.
_FEDERATION = re.compile(r"SERVICE", re.IGNORECASE)
_UPDATES = re.compile(r"INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH|USING", re.IGNORECASE)
_DATASET = re.compile(r"FROM", re.IGNORECASE)  # FROM and FROM NAMED: the query names its dataset


SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
# The W3C format IRIs of what the endpoint answers in (for its service description).
FORMAT_IRIS = {"application/sparql-results+json": FORMATS.SPARQL_Results_JSON,
               "application/sparql-results+xml": FORMATS.SPARQL_Results_XML, "text/csv": FORMATS.SPARQL_Results_CSV,
               "text/tab-separated-values": FORMATS.SPARQL_Results_TSV, "text/turtle": FORMATS.Turtle,
               "application/n-triples": FORMATS["N-Triples"], "application/rdf+xml": FORMATS.RDF_XML,
               "application/ld+json": FORMATS["JSON-LD"]}


class SparqlError(Exception):
    """`status` is the HTTP status that says what went wrong."""

    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


@dataclass
class Answer:
    body: bytes
    media_type: str


def check(query: str) -> None:
    """Refuse, by reading the query, a federated query (SERVICE in any spelling) and an
    update (LOAD, INSERT, ...); anything else is for the query parser to judge."""
    if _keyword(query, _FEDERATION):
        raise SparqlError(403, "federated queries (SERVICE) are not accepted: this endpoint "
                               "answers from the catalogue alone")
    keyword = _keyword(query, _UPDATES)
    if keyword:
        raise SparqlError(403, f"this endpoint is read-only: SPARQL updates ({keyword}) are refused")


def _keyword(query: str, pattern: re.Pattern) -> str | None:
    """The first of the pattern's keywords that stands in the query's syntax, outside strings,
    IRIs, comments, variables and prefixed names."""
    syntax = _OPAQUE.sub(" ", query)
    names = [m.span("local") if m.group("local") else m.span() for m in _NAMES.finditer(syntax)]
    for found in pattern.finditer(syntax):
        if not any(start <= found.start() and found.end() <= end for start, end in names):
            return found.group().upper()
    return None


def media_of(wanted: list[str], formats: dict) -> str | None:
    """The first of the formats asked for (media types or names, most wanted first) among `formats`."""
    for asked in wanted:
        for media, (_, names) in formats.items():
            if asked == media or asked in names:
                return media
    return None


def dataset_of(default_graphs: list[str], named_graphs: list[str]) -> dict:
    """The query's dataset as pyoxigraph takes it: the protocol's default-graph-uri and
    named-graph-uri when given (they win over the query's own); else the query's FROM and
    FROM NAMED, read by the engine; else the union of every source's graph."""
    try:
        default = [ox.NamedNode(uri) for uri in default_graphs]
        named = [ox.NamedNode(uri) for uri in named_graphs]
    except ValueError as exc:
        raise SparqlError(400, f"default-graph-uri and named-graph-uri must be IRIs: {exc}") from None
    return {k: v for k, v in (("default_graph", default), ("named_graphs", named)) if v}


class _Limited(io.RawIOBase):
    """An output that stops the serialiser once it has written more than `limit` bytes."""

    def __init__(self, limit: int):
        self.buffer, self.limit = bytearray(), limit

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buffer += data
        if len(self.buffer) > self.limit:
            raise OverflowError
        return len(data)


def run(snapshot_store: ox.Store, query: str, wanted: list[str], max_bytes: int,
        default_graphs: list[str] = (), named_graphs: list[str] = ()) -> Answer:
    """Answer the query from the store, in the first format of `wanted` that fits its kind
    (JSON results or Turtle by default). The union of all source graphs is the default graph,
    unless the request or the query names the dataset."""
    check(query)  # also here, where it runs: nothing unchecked is ever evaluated
    dataset = dataset_of(list(default_graphs), list(named_graphs))
    union = not dataset and _keyword(query, _DATASET) is None
    try:
        results = snapshot_store.query(query, use_default_graph_as_union=union, **dataset)
    except SyntaxError as exc:
        raise SparqlError(400, f"not a SPARQL query: {exc}") from None
    out = _Limited(max_bytes)
    formats = GRAPH_FORMATS if isinstance(results, ox.QueryTriples) else RESULT_FORMATS
    media = media_of(wanted, formats) or next(iter(formats))
    try:
        results.serialize(out, formats[media][0])
    except OverflowError:
        raise SparqlError(413, f"the answer is larger than {max_bytes:,} bytes: "
                               "ask for less (LIMIT, fewer variables)") from None
    return Answer(bytes(out.buffer), media)


def forward(remote: RemoteStore, query: str, wanted: list[str], max_bytes: int,
            default_graphs: list[str] = (), named_graphs: list[str] = ()) -> Answer:
    """Answer the query on the store server, over the graphs of the state `remote` holds, as
    `run` does: in the first format of `wanted` that fits its kind, the union of the sources'
    graphs the default graph unless the request or the query names the dataset."""
    check(query)
    dataset_of(list(default_graphs), list(named_graphs))
    accept = (f"{media_of(wanted, RESULT_FORMATS) or next(iter(RESULT_FORMATS))}, "
              f"{media_of(wanted, GRAPH_FORMATS) or next(iter(GRAPH_FORMATS))};q=0.9")
    own = default_graphs or named_graphs or _keyword(query, _DATASET)  # the request or query names the dataset
    renamed = _OPAQUE.sub(lambda m: f"<{remote.physical[m.group()[1:-1]]}>"
                          if m.group()[1:-1] in remote.physical else m.group(), query)
    try:
        body, media = remote.answer(renamed, accept, list(default_graphs) if own else None,
                                    list(named_graphs) if own else None, max_bytes)
    except OverflowError:
        raise SparqlError(413, f"the answer is larger than {max_bytes:,} bytes: "
                               "ask for less (LIMIT, fewer variables)") from None
    except StoreServerError as exc:
        if exc.status is not None and 400 <= exc.status < 500:
            raise SparqlError(400, f"the query failed: {exc.said}") from None
        raise _unanswered() from None
    return Answer(body, media)


def _unanswered() -> SparqlError:
    return SparqlError(503, "the graph store server did not answer: try again shortly", retry_after=60)


def service_description(endpoint: str, view) -> Graph:
    """What a client may ask of the endpoint (SPARQL 1.1 Service Description): the language,
    the formats, and the dataset: the union of the sources' graphs, each also by its name."""
    graph = Graph()
    graph.bind("sd", SD)
    service, dataset, default = URIRef(endpoint), BNode(), BNode()
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, service))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    for iri in FORMAT_IRIS.values():
        graph.add((service, SD.resultFormat, iri))
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    for name in sorted([*view.snapshot.sources_by_graph(), view.snapshot.base_uri + ADDITIONS]):
        named = BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(name)))
    graph.add((service, URIRef("http://purl.org/dc/terms/description"),
               Literal("Read-only SPARQL 1.1 over the catalogue; no SERVICE, no updates.", lang="en")))
    return graph


def _serve(connection, data_dir: str, base_uri: str, private: str, history: History) -> None:
    """A worker process: opens the store as it is now (a copy of its checkpoint in
    `private`, which the additions go into), says so, and answers queries until it is
    stopped. Replies are tuples: ("ok", body, media type) or ("error", status, message)."""
    snapshot = Store(Path(data_dir), base_uri).snapshot(private=Path(private))
    graph = ox.NamedNode(base_uri + ADDITIONS)
    snapshot.store.bulk_extend(ox.Quad(*triple, graph) for triple in additions(snapshot, history))
    connection.send("ready")
    while True:
        try:
            query, wanted, max_bytes, default_graphs, named_graphs = connection.recv()
        except EOFError:  # the server let go of this worker (it is ending): end too, quietly
            return
        try:
            answer = run(snapshot.store, query, wanted, max_bytes, default_graphs, named_graphs)
            connection.send(("ok", answer.body, answer.media_type))
        except SparqlError as exc:
            connection.send(("error", exc.status, exc.message))
        except Exception as exc:  # an evaluation error: said to the client, the worker lives on
            connection.send(("error", 400, f"the query failed: {exc}"))


def additions(snapshot, history: History) -> Iterator[ox.Triple]:
    """What /catalog and /id say beyond the stored graphs (the observed dates, ...), which
    SPARQL answers as a graph of its own, `graph/additions`."""
    return (ox.Triple(*map(to_oxigraph, triple)) for triple in View(snapshot, history, config=None).catalogue_additions)


class _Worker:
    """One worker process and the state of the store it loaded."""

    def __init__(self, name: str):
        self.name = name
        self.process = self.connection = self.private = None
        self.loaded = None  # the state's generation when the process loaded the store

    def ready_for(self, store: Store, history: History) -> None:
        """Make sure a live process holds the store as it is now (a harvest may have changed it)."""
        generation = store.generation()
        if self.process is not None and (self.loaded != generation or not self.process.is_alive()):
            self.stop()
        if self.process is not None:
            return
        context = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self.connection, child = context.Pipe()
        self.loaded = generation
        self.private = store.graph_store.copies / uuid.uuid4().hex
        self.process = context.Process(target=_serve, args=(child, str(store.data_dir), store.base_uri,
                                                            str(self.private), history),
                                       daemon=True, name=self.name)
        self.process.start()
        child.close()
        if not self.connection.poll(LOAD_TIMEOUT) or self.connection.recv() != "ready":
            self.stop()
            raise SparqlError(503, "the SPARQL worker could not load the catalogue", retry_after=60)

    def ask(self, request: tuple, timeout: float) -> tuple:
        self.connection.send(request)
        if not self.connection.poll(timeout):
            self.stop()  # the query is still running: stop it with its process
            raise SparqlError(503, f"the query ran longer than the limit of {timeout:g} s and was stopped")
        return self.connection.recv()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.join()
            shutil.rmtree(self.private, ignore_errors=True)
        self.process = self.connection = self.private = None


class Sparql:
    """The endpoint's side: a pool of `workers` processes, each answering one query at a
    time; a query waits at most `timeout` seconds for a free one."""

    def __init__(self, store: Store, history: History, timeout: float, max_bytes: int, workers: int = 2):
        self.store, self.history = store, history
        self.timeout, self.max_bytes = timeout, max_bytes
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()  # the warmest worker first
        for number in range(workers):
            self._idle.put(_Worker(f"sparql-{number}"))
        self._remote: tuple[int, RemoteStore | ox.Store] | None = None  # on a store server: the state's graphs there
        self._remote_lock = threading.Lock()  # one request makes a generation's additions, the others wait

    def answer(self, query: str, wanted: list[str], default_graphs: list[str] = (),
               named_graphs: list[str] = ()) -> Answer:
        """The answer in the first format of `wanted` (media types or names) that fits it."""
        check(query)
        dataset_of(list(default_graphs), list(named_graphs))  # bad IRIs are refused here, not in a worker
        # a new generation's graphs on a store server are made ready first, outside the time
        # limit, as a worker loads the embedded store's
        remote = self._remote_store() if isinstance(self.store.graph_store, RemoteGraphStore) else None
        try:
            worker = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise SparqlError(503, "every SPARQL worker is busy: try again shortly",
                              retry_after=max(1, round(self.timeout))) from None
        if remote is not None:
            return self._forward(worker, remote, query, wanted, default_graphs, named_graphs)
        try:
            worker.ready_for(self.store, self.history)
            kind, first, second = worker.ask((query, wanted, self.max_bytes, list(default_graphs),
                                              list(named_graphs)), self.timeout)
        finally:
            self._idle.put(worker)
        if kind == "error":
            raise SparqlError(first, second)
        return Answer(first, second)

    def _forward(self, worker: _Worker, remote: RemoteStore, query: str, wanted: list[str],
                 default_graphs, named_graphs) -> Answer:
        """The store server's answer, in a thread that holds the worker's place until the
        server has answered: a query given up on at the time limit runs on in the server,
        which no request can stop, so it still counts among those answered at once."""
        answered: list = []

        def ask() -> None:
            try:
                answered.append(forward(remote, query, wanted, self.max_bytes, default_graphs, named_graphs))
            except Exception as exc:  # raised where the request waits
                answered.append(exc)
            finally:
                self._idle.put(worker)
        thread = threading.Thread(target=ask, daemon=True, name="sparql-forward")
        thread.start()
        thread.join(self.timeout)
        if not answered:
            raise SparqlError(503, f"the query ran longer than the limit of {self.timeout:g} s: no longer "
                                   "waited for (the graph store server finishes it meanwhile)")
        if isinstance(answered[0], Exception):
            raise answered[0]
        return answered[0]

    def _remote_store(self) -> RemoteStore:
        """The current state's graphs on the store server, with its additions (see `additions`),
        sent there once a generation by each app server."""
        with self._remote_lock:
            generation = self.store.generation()
            if self._remote is None or self._remote[0] != generation:
                snapshot = self.store.snapshot()
                remote = snapshot.store
                if isinstance(remote, RemoteStore):
                    content = ox.serialize(additions(snapshot, self.history), format=ox.RdfFormat.N_TRIPLES)
                    try:
                        remote = remote.server.adding(remote, snapshot.state.checkpoint,
                                                      self.store.base_uri + ADDITIONS, content)
                    except StoreServerError:
                        raise _unanswered() from None
                self._remote = generation, remote
        if not isinstance(self._remote[1], RemoteStore):
            raise SparqlError(503, "the graph store server does not hold the current graphs yet "
                                   "(the next harvest or server start sends them)", retry_after=60)
        return self._remote[1]

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                return
