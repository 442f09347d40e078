"""Harvesting: source -> records -> SHACL gate -> store -> search index."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import RDF

from catalogue.fileserver import FileServer
from catalogue.harvesters import Fetcher, FetchError, HarvestContext, Record, SourceError, for_kind
from catalogue.models import Catalogue
from catalogue.profiles.dcat_ap_no_3 import to_graph
from catalogue.rdf import stable_skolemize
from catalogue.search import EmbeddedBackend, build_documents
from catalogue.settings import Settings
from catalogue.shacl import validate
from catalogue.sources import DEMO_PLACEHOLDER, Config, SourceConfig
from catalogue.store import HeldBack, SourceState, State, Store, now

DEMO_FILES = Path(__file__).parent / "demo" / "files"
CATALOGUE_GRAPH = "catalogue"  # the catalogue's own description, kept like a source's graph
Progress = Callable[[str], None]


@dataclass
class Summary:
    source: str
    name: str
    status: str  # "ok", "failed" or "skipped"
    seen: int = 0
    accepted: int = 0
    held_back: list[HeldBack] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None


def harvest(settings: Settings, config: Config, only: list[str] | None = None,
            only_new: bool = False, progress: Progress = lambda _: None,
            fetcher: Fetcher | None = None) -> list[Summary]:
    store = Store(settings.data_dir, settings.base_uri)
    chosen = [config.get(s) for s in only] if only else config.source
    summaries = []
    with store.lock(), _demo_url(config) as demo_url, (nullcontext(fetcher) if fetcher else Fetcher()) as http:
        state = store.state()
        _store_catalogue(store, state, config)
        for source in chosen:
            if only_new and source.id in state.sources and state.sources[source.id].graph_file:
                summaries.append(Summary(source.id, source.name, "skipped"))
                continue
            progress(f"harvesting {source.id} ({source.kind}) from {source.url}")
            summary = harvest_source(store, state, config, source, demo_url, http, settings.base_uri)
            summaries.append(summary)
            store.write_state(state)
            progress(f"  {summary.status}: {summary.accepted} of {summary.seen} records accepted"
                     + (f", {len(summary.held_back)} problems" if summary.held_back else "")
                     + (f" ({summary.error})" if summary.error else ""))
        store.write_state(state)  # also when every source was skipped: the catalogue's own graph
        if any(s.status != "skipped" for s in summaries) or not (settings.data_dir / "index").exists():
            progress("indexing")
            reindex(store, settings.data_dir)
        store.prune(store.state())
    return summaries


def harvest_source(store: Store, state: State, config: Config, source: SourceConfig,
                   demo_url: str | None, http: Fetcher, base_uri: str) -> Summary:
    started = time.perf_counter()
    summary = Summary(source.id, source.name, "ok")
    previous = state.sources.get(source.id)
    entry = SourceState(id=source.id, name=source.name, publisher=source.publisher,
                        kind=source.kind, url=source.url, attempted=now())
    url = source.url.replace(DEMO_PLACEHOLDER, demo_url or DEMO_PLACEHOLDER)
    try:
        ctx = HarvestContext(source=source, url=url, publisher=config.agent(source.publisher),
                             base_uri=base_uri, http=http)
        records = list(for_kind(source.kind).gather(ctx))
        for record in records:  # stable IRIs for blank nodes: reports can name them, diffs stay small
            record.graph = stable_skolemize(record.graph, base_uri)
        accepted, held_back = gate(records)
    except (SourceError, FetchError) as exc:
        summary.status, summary.error = "failed", str(exc)
        summary.seconds = time.perf_counter() - started
        # The last good graph stays: keep the previous entry, noting the failed attempt.
        kept = previous or entry
        state.sources[source.id] = kept.model_copy(update={"attempted": entry.attempted,
                                                           "error": str(exc)})
        return summary
    summary.seen, summary.held_back = len(records), held_back
    summary.accepted = len(records) - len({h.record for h in held_back})
    entry.graph_file = store.replace_graph(source.id, accepted)
    entry.harvested, entry.triples = entry.attempted, len(accepted)
    entry.seen, entry.accepted, entry.held_back = summary.seen, summary.accepted, held_back
    state.sources[source.id] = entry
    summary.seconds = time.perf_counter() - started
    return summary


def gate(records: list[Record]) -> tuple[Graph, list[HeldBack]]:
    """Validate the records and return the union of those that pass, and why others did not.

    All of a source's records are checked in one SHACL run (one run per record costs
    a pySHACL set-up each); each result is charged to the record that holds its focus node.
    """
    held: list[HeldBack] = [HeldBack(record=r.key, message=p) for r in records for p in r.problems]
    candidates = [r for r in records if not r.problems]
    combined = Graph()
    owner: dict = {}
    # A node belongs to the record that types it; untyped nodes to the first that mentions them.
    for record in candidates:
        for s in set(record.graph.subjects(RDF.type)):
            owner.setdefault(s, record.key)
        combined += record.graph
    for record in candidates:
        for s in set(record.graph.subjects()):
            owner.setdefault(s, record.key)
    report = validate(combined)
    for result in report.violations:
        held.append(HeldBack(record=owner.get(result.node, "?"), focus=result.focus,
                             path=result.path, message=result.message))
    refused = {h.record for h in held}
    accepted = Graph()
    for record in candidates:
        if record.key not in refused:
            accepted += record.graph
    return accepted, held


def reindex(store: Store, data_dir: Path) -> int:
    docs = build_documents(store.snapshot())
    EmbeddedBackend(data_dir / "index").rebuild(docs)
    return len(docs)


def _store_catalogue(store: Store, state: State, config: Config) -> None:
    """The catalogue's own description (title, publisher, contact) from the configuration."""
    catalogue = Catalogue(uri=store.catalogue_uri, title=config.catalogue.title,
                          description=config.catalogue.description,
                          publisher=config.agent(config.catalogue.publisher).uri,
                          contact=config.catalogue.contact)
    graph = to_graph(catalogue)
    to_graph(config.agent(config.catalogue.publisher), graph)
    entry = SourceState(id=CATALOGUE_GRAPH, name="Katalogen", publisher=config.catalogue.publisher,
                        kind="configuration", url=str(config.path), attempted=now(),
                        harvested=now(), triples=len(graph))
    entry.graph_file = store.replace_graph(CATALOGUE_GRAPH, graph)
    state.sources[CATALOGUE_GRAPH] = entry


@contextmanager
def _demo_url(config: Config) -> Iterator[str | None]:
    if not config.uses_demo_files:
        yield None
        return
    with FileServer(DEMO_FILES) as server:
        yield server.url
