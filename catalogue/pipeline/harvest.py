"""Harvesting: source -> records -> SHACL gate -> store -> search index.

Each source is harvested in isolation: its own HTTP session and limits, its own
graph, its own run in the harvest log. A source that fails keeps its last good
graph; a record the gate refuses keeps its last good version.
"""
from __future__ import annotations

import gc
import hashlib
import inspect
import json
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from importlib import import_module
from itertools import chain
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import rdflib
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.parsers.ntriples import W3CNTriplesParser

from catalogue.model import ontology

from catalogue.curation import quality
from catalogue.gate.groups import Survey, surveyed
from catalogue.gate.shacl import PROFILES, Profile, profile_shapes
from catalogue.harvesters import (Fetcher, FetchError, HarvestContext, Limits, Record, SourceError,
                                  for_kind)
from catalogue.harvesters.http import HttpCache, refused
from catalogue.model.models import Catalogue
from catalogue.model.rdf import stable_skolemize
from catalogue.model.xml_text import NOT_XML
from catalogue.pipeline.fileserver import FileServer
from catalogue.pipeline.uploads import prune_uploads, published_url
from catalogue.profiles.dcat_ap_no_3 import to_graph
from catalogue.search import Query, open_backend, open_concepts, read_catalogue
from catalogue.search.concepts import counted, spelt
from catalogue.search.documents import Documents, VariableDoc, read_changes, touched_between
from catalogue.settings import Settings
from catalogue.sources import DEMO_PLACEHOLDER, UPLOAD_URL, Config, SourceConfig
from catalogue.storage.database import open_database
from catalogue.storage.durable import atomic_write, boundary
from catalogue.storage.history import Event, History, graph_of_lines, observe, stamp
from catalogue.storage.published import Published
from catalogue.storage.records import RecordStore, RecordVersion, StoredLines, nt_lines, version_hash
from catalogue.storage.runs import FetchedDocument, RecordChange, Run, RunLog, new_run_id
from catalogue.storage.store import Busy, HeldBack, SourceState, State, Store, now

T = TypeVar("T")
DEMO_FILES = Path(__file__).parents[1] / "demo" / "files"
# Later editions of the demo hold only the files that changed since edition 1.
DEMO_EDITIONS = {1: (), 2: (Path(__file__).parents[1] / "demo" / "edition-2",)}
CATALOGUE_GRAPH = "catalogue"  # the catalogue's own description, kept like a source's graph
Progress = Callable[[str], None]
MAX_WARNINGS = 1000  # kept per run; warnings do not hold records back, so they can be many
RETRY_AFTER = 300  # seconds until a failed source is due again; doubles with each failure in a row
INDEXED = "indexed.json"  # in the data directory: the generation and graphs the search index was built from
# The share of the index's documents a change may touch for it to be patched rather than
# rebuilt; a rebuild also makes the compound dictionary anew.
PATCH_SHARE = 0.25


def harvest(settings: Settings, config: Config, only: list[str] | None = None,
            only_new: bool = False, due: bool = False, demo_edition: int = 1,
            accept_shrink: bool = False, progress: Progress = lambda _: None) -> list[Run]:
    """Harvest the chosen sources (all, `only` these, those never harvested, or those due)
    and return their runs; the search index is rebuilt when any stored graph changed.
    The bundled demo's sources are served as of `demo_edition`. `accept_shrink`: apply
    answers that would remove much of a source (see `shrinkage`), which are otherwise held.

    Sources are fetched holding only the harvest lock; the store's lock is taken to store
    each one, so publications and curation go on while a slow source is read."""
    store = Store(settings.data_dir, settings.base_uri, settings.store_url)
    if (to := published_to(settings)) is not None:
        to.refuse_new_record(store.state_file)
    runs = []
    with store.harvest_lock(), serve_demo(config, demo_edition) as demo_url:
        with store.lock():
            settle(settings, store, progress=progress)  # what a killed writer left behind
            state = store.state()
            # Runs from before histories were kept.
            History(open_database(settings)).rebuild(RecordStore(settings.data_dir), RunLog(settings.data_dir))
            if _store_catalogue(store, state, config):
                store.write_state(state)
        for source in chosen_sources(config, state, only, only_new, due):
            # A publisher's active publication is read instead of the source's URL.
            chosen_by = store.state()
            with published_url(settings, chosen_by, source.id) as published:
                if published is None and source.url == UPLOAD_URL:
                    progress(f"skipping {source.id}: it is published by upload, and nothing is published")
                    continue
                progress(f"harvesting {source.id} ({source.kind}) from "
                         + ("its publication" if published else source.url))
                url = published or source.url.replace(DEMO_PLACEHOLDER, demo_url or DEMO_PLACEHOLDER)
                run = harvest_source(settings, store, config, source, url, confined_to=published,
                                     accept_shrink=accept_shrink, chosen_by=chosen_by)
            runs.append(run)
            progress(f"  {run.status}: {run.accepted} of {run.seen} records accepted"
                     + (f" ({run.added} added, {run.changed} changed, {run.removed} removed;"
                        f" {run.seen - run.reused} made, {run.reused} taken as stored)"
                        if run.status == "ok" else "")
                     + (f", {run.held_back_records} held back" if run.held_back_records else "")
                     + (f" ({run.error})" if run.error else ""))
        with store.lock():
            settle(settings, store, progress=progress)
    return runs


def commit_state(settings: Settings, store: Store, state: State, run: Run) -> None:
    """The one commit point of a write (a harvest of a source, a publication, a withdrawal):
    `state` names the files written aside (graph, manifest) and `run`, whose files and
    history events are written aside too (see _finish); writing it makes them real at once.
    What derives from the run is applied right after, and again by `settle` if this
    process is killed first. The caller holds the store's lock."""
    log = RunLog(settings.data_dir)
    state.runs = [r for r in state.runs if log.is_pending(r)] + [run.id]
    store.write_state(state)
    _publish(settings, store)
    _apply_runs(settings, state)


def settle(settings: Settings, store: Store, index: bool = True, rebuild: bool = False,
           progress: Progress = lambda _: None) -> int | None:
    """Bring what derives from the committed state up to date, idempotently: the runs it
    names go into the run log and the history; with `index`, the search index is rebuilt
    if it was built from other graphs than the state names (or `rebuild`), and quality
    scores follow; files no state names (a killed writer's) are removed. Returns how many
    variables were indexed, if the index was rebuilt. The caller holds the store's lock."""
    state = store.state()
    if store.unchecked(state):  # a data directory of a release before the graph store
        store.write_state(state)
    _publish(settings, store)
    _apply_runs(settings, state)
    log = RunLog(settings.data_dir)
    log.discard(state.runs)
    indexed = None
    if index:
        graphs, built_from = _graphs(state), index_built_from(settings).get("graphs", {})
        if rebuild or (graphs and not open_backend(settings).has_index()) or (built_from != graphs and not (
                built_from and _patch_index(store, settings, state, progress))):
            progress("indexing")
            indexed = reindex(store, settings, state)
        quality.Scores(store, open_database(settings)).refresh()  # scores the sources whose graphs changed
    store.prune(state, published_to(settings))
    prune_uploads(settings.data_dir, state)
    RecordStore(settings.data_dir).prune({s.manifest or f"{s.id}.manifest.json" for s in state.sources.values()},
                                         {*log.ids(), *state.runs})
    return indexed


def catch_up(settings: Settings, index: bool = True) -> None:
    """A reader's part: settle (with or without the index) what a killed writer left,
    unless a writer holds the store, which settles when it is done. A reader that follows
    the state a writer on another host published (Store.follows) settles nothing: its
    indexes follow that state in the background (catalogue.pipeline.following)."""
    store = Store(settings.data_dir, settings.base_uri, settings.store_url, published_to(settings))
    try:
        if store.state_file.exists() and not store.follows():
            with store.lock(wait=0):
                settle(settings, store, index=index)
    except Busy:
        pass


def published_to(settings: Settings) -> Published | None:
    """Where the writer publishes what app servers on other hosts read (with a database and a
    store server to share; catalogue.storage.published)."""
    return Published(open_database(settings)) if settings.database_url and settings.store_url else None


def _publish(settings: Settings, store: Store) -> None:
    """Publish the committed state and the runs it names, before their history events are
    recorded: readers see those no sooner than the state."""
    if (to := published_to(settings)) is None or not store.state_file.exists():  # nothing committed here
        return
    to.publish(store.state(), store.committed(), settings.data_dir)
    boundary("state published")


def follow(settings: Settings, store: Store, state: State) -> bool:
    """Bring a follower's own indexes up to `state`, published by the writer, and note it as
    theirs (catalogue.pipeline.following serves it then); False if they were of it already.
    They are rebuilt from its graphs on the store server when they were built from others:
    the search index when it is embedded (a search cluster is the writer's to update), and
    the concepts' index, which is always the data directory's. The caller holds the index lock."""
    built = index_built_from(settings)
    if built.get("generation") == state.generation and "state" in built:
        return False
    missing = f"the store server lacks generation {state.generation}'s checkpoint {state.checkpoint}"
    if store.unchecked(state):
        raise FileNotFoundError(missing)
    if _graphs(state) != built.get("graphs", {}):
        if settings.search == "embedded":
            _build_index(store, settings, state)
        else:
            contents = read_catalogue(store, state)
            open_concepts(settings).rebuild(contents.concepts(), counted(contents.labels()), contents.registers(),
                                            _graphs(state))
        if store.unchecked(state):  # pruned while read: what was read may lack some of its graphs
            raise FileNotFoundError(missing + " any more: it was pruned while it was read")
    _note_index(settings, state)  # with the same graphs (an unchanged harvest), the indexes stand
    return True


def _apply_runs(settings: Settings, state: State) -> None:
    log, history = RunLog(settings.data_dir), History(open_database(settings))
    for run_id in state.runs:
        log.apply(run_id, lambda run, lines: history.add(run, (Event.model_validate_json(e) for e in lines)))


def _patch_index(store: Store, settings: Settings, state: State, progress: Progress) -> bool:
    """Bring the index up to `state` by rewriting the documents that changed and deleting
    those gone, if they are few (PATCH_SHARE); False if a rebuild is the better way. Only the
    documents that read what changed in the graphs are made and compared (see read_changes):
    one changed record costs its own document, or its register's where it changed the
    register's, not the catalogue's."""
    built = index_built_from(settings)
    touched = touched_between(store, built.get("graphs", {}), _graphs(state))
    if touched is None or "names" not in built:  # a graph no longer kept, or an index of an older version
        return False
    touched.sources = {s.id for s in state.sources.values() if built["names"].get(s.id, s.name) != s.name}
    changes = read_changes(store, state, touched)
    backend = open_backend(settings)
    indexed = {doc.id: doc.model_dump(mode="json")
               for doc in (backend.matching(Query(filters={"dataset": tuple(sorted(changes.units))}))
                           if changes.units else ())}
    changed, current, labels, made = [], set(), [], 0
    for docs in changes.docs.each_batch(lambda docs: docs):  # made as they are read: once
        # those made alone, not with their register (see read_changes), looked up at once
        indexed.update((doc.id, doc.model_dump(mode="json"))
                       for doc in backend.documents([d.id for d in docs if d.dataset not in changes.units]))
        for doc in docs:
            made += 1
            current.add(doc.id)
            labels.append(doc.label)
            if indexed.get(doc.id) != doc.model_dump(mode="json"):
                changed.append(doc)
    gone = indexed.keys() - current
    if len(changed) + len(gone) > PATCH_SHARE * changes.variables:
        return False
    # The concepts' index first: its words' counts are patched from the documents as the search
    # index has them still, and it names the graphs they are of, so that a patch killed after it
    # is not counted twice.
    concepts, graphs = open_concepts(settings), _graphs(state)
    if not concepts.patch(changes.concepts, changes.registers, (doc["label"] for doc in indexed.values()), labels,
                          built["graphs"], graphs):
        concepts.rebuild(changes.concepts, counted(changes.labels), changes.registers, graphs)
    if changed or gone:
        backend.patch(changed, gone)
    progress(f"index: {made} document{'' if made == 1 else 's'} made again, {len(changed)} written, {len(gone)} removed")
    _note_index(settings, state)
    return True


def _note_index(settings: Settings, state: State) -> None:
    """What the index was built from: the graphs, the sources' names (which documents carry),
    and the whole state (what a follower serves beside the index, see `follow`)."""
    atomic_write(settings.data_dir / INDEXED, json.dumps({
        "generation": state.generation, "graphs": _graphs(state),
        "names": {s.id: s.name for s in state.sources.values()}, "state": state.model_dump(mode="json")}).encode())


def _graphs(state: State) -> dict[str, str]:
    return {s.id: s.graph_file for s in state.sources.values() if s.graph_file}


def index_built_from(settings: Settings) -> dict:
    """What the search index was built from (nothing if it was never built here)."""
    path = settings.data_dir / INDEXED
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def chosen_sources(config: Config, state: State, only: list[str] | None, only_new: bool,
                   due: bool) -> list[SourceConfig]:
    sources = [config.get(s) for s in only] if only else config.source
    if only_new:
        sources = [s for s in sources if not (s.id in state.sources and state.sources[s.id].graph_file)]
    if due:
        sources = [s for s in sources if is_due(s, state.sources.get(s.id))]
    return sources


def is_due(source: SourceConfig, entry: SourceState | None, at: datetime | None = None) -> bool:
    """A source with an interval is due when it was never tried, or was last tried an
    interval ago; after failures in a row, sooner: RETRY_AFTER, doubling with each one
    (never later than the interval). A source without an interval only runs on demand."""
    if source.interval_seconds is None:
        return False
    if entry is None or entry.attempted is None:
        return True
    wait = source.interval_seconds
    if entry.failures:
        wait = min(wait, RETRY_AFTER * 2 ** min(entry.failures - 1, 32))
    last = datetime.fromisoformat(entry.attempted)
    return (at or datetime.now(timezone.utc)) >= last + timedelta(seconds=wait)


def harvest_source(settings: Settings, store: Store, config: Config, source: SourceConfig, url: str,
                   confined_to: str | None = None, accept_shrink: bool = False,
                   chosen_by: State | None = None) -> Run:
    """Read and gate the source without the store's lock, then store it under the lock. Any
    error while reading fails this source alone, and its last good graph stays.
    `confined_to`: the only URL prefix the harvester may fetch (a publication's file);
    `chosen_by`: the state `url` was chosen by (its active publication), if not the current."""
    run, started = start_run(source), time.perf_counter()
    previous = (chosen_by or store.state()).sources.get(source.id)
    http = fetcher(source, HttpCache.open(settings.data_dir / "http" / source.id), confined_to, origin=url)
    try:
        attempt = read_source(settings, config, source, url, http, previous)
    except Exception as exc:  # whatever a document makes a harvester, parser or client raise
        attempt = None
        run.status, run.document, run.fetched = "failed", http.last_url, _fetched(http, url)
        run.error = describe(exc, http.last_url)
    with store.lock():
        state = store.state()
        if state.sources.get(source.id) != previous:
            # Written meanwhile (a publication): what was read here is older, so it is not applied.
            if attempt is not None:
                run.status, run.error = "failed", SUPERSEDED
            run = _finish(settings, run, started)
        elif attempt is None:
            _note_attempt(state, source, run, failed=True)
            run = _finish(settings, run, started)
        else:
            run = commit(settings, store, state, source, run, started, attempt, accept_shrink)
        commit_state(settings, store, state, run)
    return run


SUPERSEDED = ("not applied: the source's records were written while it was being read (a "
              "publication?); the next harvest reads it again")


def describe(exc: Exception, document: str | None) -> str:
    """A failed source's reason: fetch and source errors name their URL and cause; anything
    else is named by its type, and by the document being read when it was raised."""
    if isinstance(exc, (SourceError, FetchError)):
        return str(exc)
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"{document}: {reason}" if document else reason


def _note_attempt(state: State, source: SourceConfig, run: Run, failed: bool) -> None:
    """An attempt that stored nothing: the source's last good entry stays, noting the run."""
    kept = state.sources.get(source.id) or _entry(source, run)
    state.sources[source.id] = kept.model_copy(update={
        "attempted": run.started, "error": run.error, "last_run": run.id,
        "failures": kept.failures + 1 if failed else 0})


def start_run(source: SourceConfig) -> Run:
    return Run(id=new_run_id(source.id), source=source.id, name=source.name, kind=source.kind,
               started=now())


def fetcher(source: SourceConfig, cache: HttpCache | None, confined_to: str | None = None,
            origin: str | None = None) -> Fetcher:
    """The source's HTTP session with its limits; with no cache (a dry run), nothing is kept;
    `confined_to`: the URL prefix it may fetch, if only one; `origin`: the URL the source
    is read from, whose host redirects may lead to."""
    return Fetcher(Limits(timeout=source.timeout, retries=source.retries,
                          max_response_bytes=source.max_response_bytes,
                          max_source_bytes=source.max_source_bytes,
                          request_deadline=source.request_deadline,
                          source_deadline=source.source_deadline, max_requests=source.max_requests,
                          max_redirects=source.max_redirects,
                          redirect_hosts=tuple(source.redirect_hosts)), cache, confined_to, origin)


@dataclass
class Attempt:
    """A source's records as read and gated, before anything is stored: the first half of a
    harvest, and all of a dry run."""

    records: list[Record]  # read by read_source, they hold no graph: their lines are in `versions`
    accepted: list[Record]
    held_back: list[HeldBack]  # violations, and what the harvester could not read
    warnings: list[HeldBack]
    versions: dict[int, tuple[Iterable[str], str]]  # by id() of each readable record: its lines and hash
    fetched: list[FetchedDocument]
    fingerprint: str | None = None
    shapes_key: str | None = None
    unchanged: bool = False  # the same documents as the stored graph's: records were not read
    parsed: bool = True  # False: the documents were asked for again and found the same (see _same_as_last_read)
    replayable: bool = False  # `fetched` is all the harvester read (see Run.replayable)
    # By key, the fingerprints of what records were made from, for their versions to note
    # (see Record.made_from), and how many records were taken as stored for theirs.
    made_from: dict[str, str] = field(default_factory=dict)
    reused: int = 0


def read_source(settings: Settings, config: Config, source: SourceConfig, url: str, http: Fetcher,
                previous: SourceState | None = None) -> Attempt:
    """Fetch the source with its harvester and gate its records; raises SourceError or
    FetchError. Writes nothing (but the HTTP cache `http` may keep). With `previous`, the
    source's stored state, what it already covers is not looked at again."""
    with http:
        harvester, shapes_key = for_kind(source.kind), _shapes_key(source)
        if _same_as_last_read(settings, source, url, http, previous, harvester, shapes_key):
            return Attempt([], [], [], [], {}, _fetched(http, url), previous.fingerprint, shapes_key,
                           unchanged=True, parsed=False, replayable=True)
        ctx = HarvestContext(source=source, url=url, publisher=config.agent(source.publisher),
                             base_uri=settings.base_uri, http=http)
        # A record accepted before in this very form, by the same shapes, needs no second look:
        # re-harvests validate only what changed, and make only the records whose input did.
        records = RecordStore(settings.data_dir)
        stored = (records.manifest(source.id, previous.manifest)
                  if previous and previous.shapes_key == shapes_key else {})
        reuse = _Reuse(_making_key(ctx), records, stored)
        read = _read(harvester.gather(ctx), settings, reuse, _gate_shapes(source.profile, tuple(source.shapes)))
    fetched, replayable = _fetched(http, url), not http.read_cache
    fingerprint = _fingerprint(source, harvester, http, shapes_key)
    if previous and previous.graph_file and previous.fingerprint == fingerprint:
        # Same documents, same mapping, same shapes: the stored graph is still right.
        return Attempt(read.records, [], [], [], {}, fetched, fingerprint, shapes_key, unchanged=True,
                       replayable=replayable)
    versions, known = read.versions, reuse.known
    verdict = gate([r for r in read.records if r.problems or versions[id(r)][1] not in known],
                   survey=read.survey, triples=lambda r: parsed(versions[id(r)][0]))
    accepted = [r for r in read.records if not r.problems and versions[id(r)][1] in known]
    return Attempt(read.records, accepted + verdict.accepted, verdict.held_back,
                   (read.stripped + verdict.warnings)[:MAX_WARNINGS], versions, fetched, fingerprint, shapes_key,
                   replayable=replayable, made_from=read.made_from, reused=read.reused)


# What a record read by read_source holds instead of its graph (never added to).
NO_GRAPH = Graph()


@dataclass
class _Read:
    records: list[Record]  # without their graphs
    versions: dict[int, tuple[Iterable[str], str]]  # by id() of each readable record: its lines (spilled or stored) and hash
    stripped: list[HeldBack]  # warnings of characters removed
    survey: Survey  # of the readable records not stored, for the gate
    made_from: dict[str, str]  # by key: the fingerprint of what each record was made from, where it may be reused
    reused: int = 0  # records taken as stored


@dataclass
class _Reuse:
    """The stored versions a harvest takes as they are for records made from the same input
    (see Record.made_from): the source's, as checked by the same shapes."""

    making: str  # the fingerprint of what every record is made with (see _making_key)
    records: RecordStore
    stored: dict[str, RecordVersion]  # by record key

    def __post_init__(self):
        self.known = {v.hash for v in self.stored.values()}

    def fingerprint(self, record: Record) -> str | None:
        if record.made_from is None:
            return None
        return hashlib.blake2b(f"{self.making}\n{record.made_from}".encode(), digest_size=16).hexdigest()

    def version(self, record: Record, fingerprint: str | None) -> StoredLines | None:
        """The stored version made from what `record` is made from, if any."""
        version = self.stored.get(record.key)
        if fingerprint is None or record.problems or version is None or version.made_from != fingerprint:
            return None
        return StoredLines(self.records, version)


def _read(records: Iterable[Record], settings: Settings, reuse: _Reuse, shapes: Graph) -> _Read:
    """The harvester's records one at a time, each made ready for the gate and the store
    while its graph is at hand: made (unless a stored version was made from the same input:
    that version is taken), blank nodes skolemised, forbidden characters stripped, its lines
    and hash kept (the lines on disk, in a Spill), its graph noted in the gate's survey
    unless stored; then the graph is let go, so a source's graphs are never all in memory
    at once."""
    spill, survey = Spill(settings.data_dir), Survey(shapes)
    read = _Read([], {}, [], survey, {})
    for record in records:
        fingerprint = reuse.fingerprint(record)
        if (stored := reuse.version(record, fingerprint)) is not None:
            read.versions[id(record)] = stored, stored.version.hash
            read.made_from[record.key], read.reused = fingerprint, read.reused + 1
        else:
            if record.graph is None:  # to be made, and made only now: its input is new
                record.graph = Graph()
            if record.make is not None and not record.problems:
                record.make(record.graph)
            # Stable IRIs for blank nodes: reports can name them, diffs stay small.
            record.graph = stable_skolemize(record.graph, settings.base_uri)
            stripped = strip_control_characters([record])
            read.stripped += stripped
            if not record.problems:
                lines, digest = _version(record.graph)
                read.versions[id(record)] = spill.add(lines), digest
                if digest not in reuse.known:
                    survey.add(record.graph)
                if fingerprint is not None and not stripped:  # a warning is given each time
                    read.made_from[record.key] = fingerprint
        record.graph, record.make, record.made_from = NO_GRAPH, None, None  # let go: what is kept is in `read`
        read.records.append(record)
    return read


class Spill:
    """Records' N-Triples lines on disk while their source is read and stored, in a file
    that has no name: it is gone with the process however that ends, so nothing is left
    to clean up after a kill."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.file = tempfile.TemporaryFile(dir=folder)
        self.ends = array("q", [0])  # where each record's lines end in the file

    def add(self, lines: list[str]) -> SpilledLines:
        self.file.seek(self.ends[-1])
        self.file.write("".join(line + "\n" for line in lines).encode())
        self.ends.append(self.file.tell())
        return SpilledLines(self, len(self.ends) - 2)

    def read(self, index: int) -> list[str]:
        self.file.seek(self.ends[index])
        return self.file.read(self.ends[index + 1] - self.ends[index]).decode().split("\n")[:-1]


@dataclass(frozen=True)
class SpilledLines:
    """One record's lines in a Spill, read again each time they are iterated."""

    spill: Spill
    index: int

    def __iter__(self) -> Iterator[str]:
        return iter(self.spill.read(self.index))

    def __reduce__(self):  # they cross to another process as the lines themselves
        return list, (self.spill.read(self.index),)


class _Triples:
    """An N-Triples parser's sink."""

    def __init__(self):
        self.triples: list[tuple] = []

    def triple(self, s, p, o) -> None:
        self.triples.append((s, p, o))


def parsed(lines: Iterable[str]) -> list[tuple]:
    """A record's triples from its lines, as rdflib reads them (graph_of_lines, without the graph)."""
    sink = _Triples()
    W3CNTriplesParser(sink).parsestring("".join(line + "\n" for line in lines))
    return sink.triples


def _same_as_last_read(settings: Settings, source: SourceConfig, url: str, http: Fetcher,
                       previous: SourceState | None, harvester, shapes_key: str) -> bool:
    """Whether the documents the source's stored graph was made from are still the same:
    each is asked for again as it was then (conditionally, so mostly answered 304), until
    one differs; then, with the same configuration, harvester and shapes, the fingerprint is
    the stored one and nothing needs parsing. Otherwise the session is left as if unused,
    for the harvester (a changed document is already in its cache)."""
    last = RunLog(settings.data_dir).get(previous.last_run) if (
        previous and previous.graph_file and previous.fingerprint and previous.last_run) else None
    if last is None or last.status not in ("ok", "unchanged") or not last.replayable or not last.fetched:
        return False
    try:
        same = all(_answer(http, urljoin(url, f.request), f) == f.sha256 for f in last.fetched)
    except FetchError:  # no answer: the harvest proper finds out and says so
        same = False
    if same and _fingerprint(source, harvester, http, shapes_key) == previous.fingerprint:
        return True
    http.forget()  # what was asked again, at most what the last harvest asked, does not count
    return False


def _answer(http: Fetcher, url: str, document: FetchedDocument) -> str:
    """The hash of what `url` answers now, asked for as `document` was (an error answer too)."""
    try:
        return http.get(url, accept=document.accept, language=document.language).sha256
    except FetchError as exc:
        if exc.status is None:
            raise
        return refused(exc.status)


@dataclass
class Plan:
    """What storing an attempt changes: the source's new manifest, the versions to keep, each
    record's change, the new graph, and the stored lines of versions replaced or kept."""

    manifest: dict[str, RecordVersion]
    new_versions: list[tuple[str, Iterable[str]]]
    changes: list[RecordChange]
    graph_lines: list[Iterable[str]]  # each record's (lines repeat where records share triples)
    previous_lines: dict[str, list[str]]
    unchanged: int
    previous: int  # how many records the source had


def plan(settings: Settings, state: State, source_id: str, run_id: str, attempt: Attempt) -> Plan:
    """Compare an attempt with the source's stored records as of `state`; reads, never writes."""
    records_store = RecordStore(settings.data_dir)
    current = state.sources.get(source_id)
    old = records_store.manifest(source_id, current.manifest if current else None)
    manifest: dict[str, RecordVersion] = {}
    new_versions: list[tuple[str, Iterable[str]]] = []
    changes: list[RecordChange] = []
    graph_lines: list[Iterable[str]] = []
    unchanged = 0
    as_stored: list[RecordVersion] = []  # lines read from their packs, all in one pass
    for record in attempt.accepted:
        lines, digest = attempt.versions[id(record)]
        before, made_from = old.get(record.key), attempt.made_from.get(record.key)
        if before and before.hash == digest:
            manifest[record.key] = (before if before.made_from == made_from
                                    else before.model_copy(update={"made_from": made_from}))
            unchanged += 1
        else:
            manifest[record.key] = RecordVersion(hash=digest, run=run_id, made_from=made_from)
            new_versions.append((digest, lines))
            changes.append(RecordChange(key=record.key, change="changed" if before else "added",
                                        old=before.hash if before else None, new=digest))
        if isinstance(lines, StoredLines):
            as_stored.append(lines.version)
        else:
            graph_lines.append(lines)
    graph_lines.append(records_store.each_line(as_stored))
    held_keys = {h.record for h in attempt.held_back}
    kept = {key: before for key, before in old.items() if key not in manifest and key in held_keys}
    # Versions replaced, removed or kept: kept ones go back into the graph, the others are
    # compared with what replaced them for the history.
    previous_lines = records_store.lines(v for k, v in old.items() if k not in manifest or manifest[k].hash != v.hash)
    for key, before in old.items():
        if key in kept:  # refused now, but its last good version stays
            manifest[key] = before
            graph_lines.append(previous_lines[before.hash])
            changes.append(RecordChange(key=key, change="kept", old=before.hash))
        elif key not in manifest:
            changes.append(RecordChange(key=key, change="removed", old=before.hash))
    return Plan(manifest, new_versions, changes, graph_lines, previous_lines, unchanged, len(old))


def commit(settings: Settings, store: Store, state: State, source: SourceConfig, run: Run,
           started: float, attempt: Attempt, accept_shrink: bool = True) -> Run:
    """Store an attempt as the source's new records and graph, and its run, all aside; the
    caller holds the store's lock and commits `state` (commit_state), which makes them
    current.
    Unless `accept_shrink`, an attempt that would remove much of the source is held: the
    run says why, and nothing but the attempt is noted in `state`."""
    run.fetched, run.replayable = attempt.fetched, attempt.replayable
    previous = state.sources.get(source.id)
    if attempt.unchanged:
        run.status, run.parsed = "unchanged", attempt.parsed
        run.seen, run.accepted, run.unchanged = previous.seen, previous.accepted, previous.accepted
        run.held_back, run.held_back_records = previous.held_back, len({h.record for h in previous.held_back})
        state.sources[source.id] = previous.model_copy(update={
            "attempted": run.started, "error": None, "last_run": run.id, "failures": 0})
        return _finish(settings, run, started)
    planned = plan(settings, state, source.id, run.id, attempt)
    run.seen, run.accepted = len(attempt.records), len(attempt.accepted)
    run.held_back, run.held_back_records = attempt.held_back, len({h.record for h in attempt.held_back})
    run.warnings = attempt.warnings
    if not accept_shrink and (shrunk := shrinkage(source, planned)):
        run.status, run.error = "held", f"held for confirmation: {shrunk}; nothing was applied"
        _note_attempt(state, source, run, failed=False)
        return _finish(settings, run, started)
    for change in planned.changes:
        setattr(run, change.change, getattr(run, change.change) + 1)
    run.unchanged, run.reused = planned.unchanged, attempt.reused
    entry = _entry(source, run)
    entry.publication = previous.publication if previous else None  # a harvest of what is published keeps it
    entry.graph_file = store.replace_graph(source.id, chain.from_iterable(planned.graph_lines))
    lines = dict(planned.new_versions)
    lines.update({c.old: planned.previous_lines[c.old] for c in planned.changes if c.old and c.change != "kept"})
    # The run ends when its changes are stored; its end is their time in the history.
    run.ended = stamp(datetime.now(timezone.utc))
    events = observe(run, run.ended, planned.changes, _Graphs(lines))
    entry.manifest = RecordStore(settings.data_dir).write(source.id, run.id, planned.manifest, planned.new_versions)
    entry.harvested, entry.triples, entry.fingerprint = run.started, store.triples(entry.graph_file), attempt.fingerprint
    entry.shapes_key = attempt.shapes_key
    entry.seen, entry.accepted, entry.held_back = run.seen, run.accepted, attempt.held_back
    state.sources[source.id] = entry
    return _finish(settings, run, started, planned.changes, events)


class _Graphs:
    """Versions' graphs by hash, each made from its lines when asked for, and let go after."""

    def __init__(self, lines: dict[str, Iterable[str]]):
        self.lines = lines

    def __getitem__(self, digest: str) -> Graph:
        return graph_of_lines(self.lines[digest])


def shrinkage(source: SourceConfig, planned: Plan) -> str | None:
    """What is suspicious about a plan that empties the source, or removes more than its
    `max_shrink` share of its records (an empty page, a redirect to unrelated data), if it is."""
    removed = sum(c.change == "removed" for c in planned.changes)
    if not removed:
        return None
    if not planned.manifest:
        return f"it has no records, where the source had {planned.previous}"
    if removed > source.max_shrink * planned.previous:
        return (f"it would remove {removed} of the source's {planned.previous} records, more than "
                f"its max_shrink of {source.max_shrink:.0%}")
    return None


def _entry(source: SourceConfig, run: Run) -> SourceState:
    return SourceState(id=source.id, name=source.name, publisher=source.publisher, kind=source.kind,
                       url=source.url, attempted=run.started, last_run=run.id, publication=None)


def _finish(settings: Settings, run: Run, started: float, changes: list[RecordChange] = (),
            events: Iterable[Event] = ()) -> Run:
    """End the run and write it aside with its changes and history events, which are made
    as they are written (every run has its events recorded, none or some, so none is looked
    for again)."""
    run.ended = run.ended or now()
    run.seconds = round(time.perf_counter() - started, 3)
    RunLog(settings.data_dir).write(run, changes, events)
    return run


def _fetched(http: Fetcher, url: str) -> list[FetchedDocument]:
    """What the session fetched, each with how to ask for it again relative to the source's `url`."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    return [FetchedDocument(url=f.url, sha256=f.sha256, bytes=len(f.content), not_modified=f.not_modified,
                            request=f.request.removeprefix(origin) if f.request.startswith(origin + "/") else f.request,
                            accept=f.accept, language=f.language) for f in http.log]


def _fingerprint(source: SourceConfig, harvester, http: Fetcher, shapes_key: str) -> str:
    """What the stored graph is a function of: the documents fetched, the source's
    configuration, the harvester's code and the shapes of the gate."""
    parts = {
        # By content alone: the configured URL is in `source`, and the bundled demo is
        # served from a new port on every run.
        "documents": sorted(f.sha256 for f in http.log),
        "source": source.model_dump(mode="json"),
        "harvester": _code_hash(inspect.getsourcefile(type(harvester))),
        "shapes": shapes_key,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _making_key(ctx: HarvestContext) -> str:
    """What every record of the source is made with besides its own input (see
    Record.made_from): the source's configuration, its publisher, the base URI, and the
    code a record passes through on its way to its stored lines."""
    parts = {"source": ctx.source.model_dump(mode="json"), "publisher": ctx.publisher.model_dump(mode="json"),
             "base_uri": ctx.base_uri, "code": _making_code()}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


# Where the code that makes records' graphs lives, beside this module and the record store.
MAKING_PACKAGES = ("catalogue.harvesters", "catalogue.model", "catalogue.profiles")


@cache
def _making_code() -> str:
    """The hash of the code that makes records' graphs and their lines (rdflib's version
    too, which writes them): a change to any of it makes every record again."""
    files = [*sorted(f for package in MAKING_PACKAGES
                     for f in Path(import_module(package).__file__).parent.glob("*.py")),
             Path(__file__), Path(inspect.getsourcefile(RecordStore))]
    return hashlib.sha256(" ".join([rdflib.__version__] + [_code_hash(str(f)) for f in files]).encode()).hexdigest()


def _shapes_key(source: SourceConfig) -> str:
    """Which shapes the source's records are checked against."""
    files = [ontology.file_hash(name) for name in PROFILES[source.profile]]
    return hashlib.sha256(" ".join(files + [_code_hash(str(p)) for p in source.shapes]).encode()).hexdigest()


def _version(graph: Graph) -> tuple[list[str], str]:
    lines = nt_lines(graph)
    return lines, version_hash(lines)


@cache
def _code_hash(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@cache
def _gate_shapes(profile: Profile, paths: tuple[Path, ...]) -> Graph:
    """The shapes of the source's profile plus its own extra shape files (read once per process)."""
    if not paths:
        return profile_shapes(profile)
    shapes = Graph()
    shapes += profile_shapes(profile)
    for path in paths:
        shapes.parse(path)
    return shapes


@dataclass
class Verdict:
    accepted: list[Record]
    held_back: list[HeldBack]  # violations, and what the harvester could not read
    warnings: list[HeldBack]   # findings of warning severity; their records pass


def strip_control_characters(records: list[Record]) -> list[HeldBack]:
    """Strip what XML 1.0 forbids from the readable records' literals, with a warning per
    record and field; a record with such a character in an IRI gets a problem (held back)."""
    names = profile_shapes().namespace_manager
    warnings = []
    for record in records:
        if record.problems:
            continue
        dirty = [(s, p, o) for s, p, o in record.graph
                 if NOT_XML.search(s) or NOT_XML.search(p) or NOT_XML.search(o)]
        fields: dict[tuple, set[str]] = {}
        for s, p, o in dirty:
            field = names.normalizeUri(p)
            iri = next((t for t in (s, p, o) if isinstance(t, URIRef) and NOT_XML.search(t)), None)
            if iri is not None:
                record.problems.append(f"{field}: the IRI {str(iri)!r} holds {_codes(iri)}, "
                                       "which XML 1.0 forbids")
                continue
            record.graph.remove((s, p, o))
            record.graph.add((s, p, Literal(NOT_XML.sub("", o), lang=o.language, datatype=o.datatype)))
            fields.setdefault((str(s), field), set()).update(NOT_XML.findall(o))
        for (focus, field), found in sorted(fields.items()):
            codes = _codes("".join(sorted(found)))
            messages = {"nb": f"{field}: fjernet {codes}, som XML 1.0 ikke tillater",
                        "en": f"{field}: removed {codes}, which XML 1.0 forbids"}
            warnings.append(HeldBack(record=record.key, focus=focus, path=field, message=messages["en"],
                                     severity="Warning", messages=messages))
    return warnings


def _codes(text: str) -> str:
    return ", ".join(sorted({f"U+{ord(c):04X}" for c in NOT_XML.findall(text)}))


def gate(records: list[Record], shapes: Graph | None = None, survey: Survey | None = None,
         triples: Callable[[Record], Iterable[tuple]] = lambda record: record.graph) -> Verdict:
    """Validate the records and return those that pass, why others did not, and warnings.

    A source's records are checked in groups no shape looks across, on the machine's cores
    (see catalogue.gate.groups), with the verdicts of one graph of them all; each result is
    charged to the record that holds its focus node. Records that no longer hold their
    graphs come with the `survey` of the readable ones' graphs (in order, with its shapes),
    and their `triples` again.
    """
    held = [HeldBack(record=r.key, message=p, messages=unreadable(p)) for r in records for p in r.problems]
    candidates = [r for r in records if not r.problems]
    survey = survey or surveyed((r.graph for r in candidates), shapes)
    warnings = []
    for index, result in survey.check(lambda i: triples(candidates[i])):
        finding = HeldBack(record="?" if index is None else candidates[index].key, focus=result.focus,
                           path=result.path, message=result.message, severity=result.severity,
                           messages=result.messages)
        (held if result.severity == "Violation" else warnings).append(finding)
    refused = {h.record for h in held}
    return Verdict([r for r in candidates if r.key not in refused], held, warnings)


def unreadable(problem: str) -> dict[str, str]:
    """A harvester's problem in bokmål and English: harvesters say where in English (row,
    column, field, value), so bokmål says that it could not be read, and quotes it."""
    return {"nb": f"Kunne ikke leses: {problem}", "en": problem}


def reindex(store: Store, settings: Settings, state: State | None = None) -> int:
    """Rebuild the search index from the graphs `state` (by default the current one) names,
    and note which they were; returns how many variables were indexed. The documents are
    made a few registers at a time as the backend takes them (see read_catalogue)."""
    state = state or store.state()
    indexed = _build_index(store, settings, state)
    _note_index(settings, state)
    return indexed


def _build_index(store: Store, settings: Settings, state: State) -> int:
    """The concepts' and search indexes of `state`'s graphs, each swapped in when whole; the
    search index last, so that a follower's pages follow its searches within a moment (`follow`)."""
    with _without_cycle_collection():
        contents = read_catalogue(store, state)
        concepts = open_concepts(settings)
        open_backend(settings).rebuild(_Tallied(contents.documents, lambda words, used: concepts.rebuild(
            contents.concepts(used), words, contents.registers(), _graphs(state))))
    return len(contents.documents)


class _Tallied:
    """Documents whose labels' words (for spelling) and code lists are gathered as they pass
    (where each batch is made, see Documents.each_batch), so that neither is read from the
    store again; once the last batch has passed, they are handed on. A backend reads every
    document before it swaps its new index in, so what is made of them then (the concepts'
    index) is swapped in first."""

    def __init__(self, docs: Documents, then: Callable[[Counter, set[str]], None]):
        self._docs, self._then = docs, then

    def __len__(self) -> int:
        return len(self._docs)

    def each_batch(self, work: Callable[[list[VariableDoc]], T]) -> Iterator[T]:
        words: Counter = Counter()
        used: set[str] = set()
        for done, (batch_words, batch_used) in self._docs.each_batch(lambda docs: (work(docs), _tally(docs))):
            words.update(batch_words)
            used |= batch_used
            yield done
        self._then(words, used)


def _tally(docs: list[VariableDoc]) -> tuple[Counter, set[str]]:
    """The words of the documents' labels, and the code lists they use."""
    words: Counter = Counter()
    for doc in docs:
        words.update(spelt(doc.label))
    return words, {doc.code_list for doc in docs if doc.code_list}


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Building the index makes millions of small objects and no reference cycles; the
    cycle collector would walk them all again and again (half the time at 100,000 variables)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _store_catalogue(store: Store, state: State, config: Config) -> bool:
    """The catalogue's own description (title, publisher, contact) from the configuration;
    False if the stored one is made from the same configuration already."""
    catalogue = Catalogue(uri=store.catalogue_uri, title=config.catalogue.title,
                          description=config.catalogue.description,
                          publisher=config.agent(config.catalogue.publisher).uri,
                          contact=config.catalogue.contact)
    fingerprint = hashlib.sha256(json.dumps([catalogue.model_dump(mode="json"), config.agent(
        config.catalogue.publisher).model_dump(mode="json"), str(config.path)], sort_keys=True).encode()).hexdigest()
    stored = state.sources.get(CATALOGUE_GRAPH)
    if stored and stored.graph_file and stored.fingerprint == fingerprint:
        return False
    graph = to_graph(catalogue)
    to_graph(config.agent(config.catalogue.publisher), graph)
    entry = SourceState(id=CATALOGUE_GRAPH, name="Katalogen", publisher=config.catalogue.publisher,
                        kind="configuration", url=str(config.path), attempted=now(),
                        harvested=now(), triples=len(graph), fingerprint=fingerprint)
    entry.graph_file = store.replace_graph(CATALOGUE_GRAPH, graph)
    state.sources[CATALOGUE_GRAPH] = entry
    return True


@contextmanager
def serve_demo(config: Config, edition: int) -> Iterator[str | None]:
    if not config.uses_demo_files:
        yield None
        return
    with FileServer(DEMO_FILES, DEMO_EDITIONS[edition]) as server:
        yield server.url
