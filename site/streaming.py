"""The whole catalogue, streamed: serialised by pyoxigraph straight from the store, a chunk
at a time, so that a catalogue of a hundred thousand variables is never one document in
memory (nor an rdflib graph of a million triples)."""
from __future__ import annotations

import io
import itertools
import queue
import threading
from collections.abc import AsyncIterator

import pyoxigraph as ox
from rdflib import Graph
from starlette.concurrency import run_in_threadpool

from catalogue.model.namespaces import PREFIXES
from catalogue.model.rdf import to_oxigraph
from catalogue.profiles.healthdcat_ap_r8 import Selection

SYNTAXES = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "jsonld": ox.RdfFormat.JSON_LD,
            "rdf": ox.RdfFormat.RDF_XML}
CHUNK = 256 * 1024      # bytes handed to the response at a time
QUEUED = 8               # chunks waiting at most: memory stays bounded when the client is slow
GIVE_UP = 300            # seconds a chunk may wait for a client that stopped reading


class _Chunks(io.RawIOBase):
    """Where the serialiser writes: whole chunks go to the queue."""

    def __init__(self, out: queue.Queue):
        self.out, self.buffer = out, bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.flush_chunk()
        return len(data)

    def flush_chunk(self) -> None:
        if self.buffer:
            self.out.put(bytes(self.buffer), timeout=GIVE_UP)
            self.buffer = bytearray()


def stream(store: ox.Store, additions: Graph, fmt: str,
           selection: Selection | None = None) -> AsyncIterator[bytes]:
    """The store's triples (all its graphs as one) and `additions`, in syntax `fmt`, as
    `selection` keeps them if given. The store's iterators must stay on one thread, so a
    thread of its own serialises them."""
    chunks: queue.Queue = queue.Queue(maxsize=QUEUED)

    def produce() -> None:
        try:
            out = _Chunks(chunks)
            triples = itertools.chain(
                (ox.Triple(*map(to_oxigraph, triple)) for triple in additions),
                (ox.Triple(quad.subject, quad.predicate, quad.object)
                 for quad in store.quads_for_pattern(None, None, None, None)))
            if selection is not None:
                triples = filter(None, map(selection.triple, triples))
            ox.serialize(triples, out, SYNTAXES[fmt], prefixes={k: str(v) for k, v in PREFIXES.items()})
            out.flush_chunk()
            chunks.put(None, timeout=GIVE_UP)
        except queue.Full:
            pass  # the client went away; nothing more to do
        except Exception as exc:  # said where the response is read, not lost in this thread
            chunks.put(exc)

    threading.Thread(target=produce, daemon=True, name="catalogue-stream").start()

    async def read() -> AsyncIterator[bytes]:
        while (chunk := await run_in_threadpool(chunks.get)) is not None:
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk
    return read()

