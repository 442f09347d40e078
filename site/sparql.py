"""SPARQL 1.1 over the catalogue, read-only, with a time limit and a result-size limit.

Queries run in a worker process that holds the current snapshot of the store: a query
that runs past the time limit cannot be stopped inside pyoxigraph, but its process can
be, and a new worker takes its place. Updates are refused before anything runs.
"""
from __future__ import annotations

import io
import multiprocessing
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

# What SELECT and ASK answers can be serialised as, and CONSTRUCT and DESCRIBE graphs.
RESULT_FORMATS = {"json": (ox.QueryResultsFormat.JSON, "application/sparql-results+json"),
                  "xml": (ox.QueryResultsFormat.XML, "application/sparql-results+xml"),
                  "csv": (ox.QueryResultsFormat.CSV, "text/csv"),
                  "tsv": (ox.QueryResultsFormat.TSV, "text/tab-separated-values")}
LOAD_TIMEOUT = 600  # seconds a new worker may take to load the store
# SERVICE would have the server fetch other addresses for whoever asks: not here.
FEDERATED = re.compile(r"\bSERVICE\s+(SILENT\s+)?[<?$]", re.IGNORECASE)
GRAPH_FORMATS = {"ttl": (ox.RdfFormat.TURTLE, "text/turtle"), "nt": (ox.RdfFormat.N_TRIPLES, "application/n-triples"),
                 "rdf": (ox.RdfFormat.RDF_XML, "application/rdf+xml")}


class SparqlError(Exception):
    """`status` is the HTTP status that says what went wrong."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Answer:
    body: bytes
    media_type: str


def check(query: str) -> None:
    """Refuse a federated query, an update, and a query that does not parse (with the
    parser's message)."""
    if FEDERATED.search(query):
        raise SparqlError(403, "federated queries (SERVICE) are not accepted")
    try:
        ox.Store().query(query)  # an empty store: parsing is all this does that costs
    except SyntaxError as query_error:
        try:
            ox.Store().update(query)  # an empty, throwaway store: nothing it does is kept
        except SyntaxError:
            raise SparqlError(400, f"not a SPARQL query: {query_error}") from None
        raise SparqlError(403, "this endpoint is read-only: SPARQL updates are refused") from None


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


def run(snapshot_store: ox.Store, query: str, fmt: str, max_bytes: int) -> Answer:
    """Answer the query from the store; the union of all source graphs is the default graph."""
    results = snapshot_store.query(query, use_default_graph_as_union=True)
    out = _Limited(max_bytes)
    try:
        if isinstance(results, ox.QueryTriples):
            syntax, media = GRAPH_FORMATS.get(fmt, GRAPH_FORMATS["ttl"])
            results.serialize(out, syntax)
        else:
            syntax, media = RESULT_FORMATS.get(fmt, RESULT_FORMATS["json"])
            results.serialize(out, syntax)
    except OverflowError:
        raise SparqlError(413, f"the answer is larger than {max_bytes:,} bytes: "
                               "ask for less (LIMIT, fewer variables)") from None
    return Answer(bytes(out.buffer), media)


def _stamp(state_file: Path) -> int:
    return state_file.stat().st_mtime_ns if state_file.exists() else 0


def _worker(connection, data_dir: str, base_uri: str) -> None:
    """The worker process: loads the store as it is now, says so, and answers queries
    until it is stopped. Replies are tuples: ("ok", body, media type) or ("error", status,
    message)."""
    from catalogue.store import Store
    snapshot = Store(Path(data_dir), base_uri).snapshot()
    connection.send("ready")
    while True:
        query, fmt, max_bytes = connection.recv()
        try:
            answer = run(snapshot.store, query, fmt, max_bytes)
            connection.send(("ok", answer.body, answer.media_type))
        except SparqlError as exc:
            connection.send(("error", exc.status, exc.message))
        except Exception as exc:  # an evaluation error: said to the client, the worker lives on
            connection.send(("error", 400, f"the query failed: {exc}"))


class Sparql:
    """The endpoint's side: one worker at a time, replaced when a query outlives its time."""

    def __init__(self, data_dir: Path, base_uri: str, timeout: float, max_bytes: int):
        self.data_dir, self.base_uri = data_dir, base_uri
        self.timeout, self.max_bytes = timeout, max_bytes
        self._lock = threading.Lock()  # one query at a time per server process
        self._process = self._connection = None
        self._loaded = None  # the state the worker loaded (its file's time)

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self._connection, child = context.Pipe()
        state_file = Path(self.data_dir) / "state.json"
        self._loaded = _stamp(state_file)
        self._process = context.Process(target=_worker, args=(child, str(self.data_dir), self.base_uri),
                                        daemon=True, name="sparql")
        self._process.start()
        if not self._connection.poll(LOAD_TIMEOUT) or self._connection.recv() != "ready":
            self._stop()
            raise SparqlError(503, "the SPARQL worker could not load the catalogue")

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
        self._process = self._connection = None

    def answer(self, query: str, fmt: str) -> Answer:
        check(query)
        with self._lock:
            if self._process is not None and self._loaded != _stamp(Path(self.data_dir) / "state.json"):
                self._stop()  # a harvest changed the store: a new worker loads it
            if self._process is None or not self._process.is_alive():
                self._start()
            self._connection.send((query, fmt, self.max_bytes))
            if not self._connection.poll(self.timeout):
                self._stop()  # the query is still running: stop it with its process
                raise SparqlError(503, f"the query ran longer than the limit of {self.timeout:g} s and was stopped")
            kind, first, second = self._connection.recv()
        if kind == "error":
            raise SparqlError(first, second)
        return Answer(first, second)

    def close(self) -> None:
        with self._lock:
            self._stop()
