"""Everything a running catalogue reads and writes, opened once at start-up.

The site receives one `Services` and never a path: the graph store, the search and concept
indexes, the history, run log and record versions, the variable lists, accounts and audit
log, the curation store, the quality scores, the SPARQL workers, the sources configuration,
and the current view of the graph.

A harvest in another process commits a new generation of the state; the next request sees
it and gets a new view, so a running server serves new data without a restart. A server with
a data directory of its own (no state in it), a database and a store server follows the state
the writer published there instead (catalogue.storage.published), with its run log and record
versions, and keeps only its own indexes in its data directory: it serves the generation they
were built from until they are built from a newer one (catalogue.pipeline.following).
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from catalogue.access.accounts import Accounts
from catalogue.access.audit import Audit
from catalogue.curation.mappings import Curation
from catalogue.curation.quality import Scores
from catalogue.forked import cores
from catalogue.lists import Lists
from catalogue.pipeline.following import Follower
from catalogue.pipeline.harvest import catch_up, published_to
from catalogue.pipeline.uploads import Uploads
from catalogue.search import open_backend, open_concepts
from catalogue.settings import SEARCHES_PER_CORE, Settings
from catalogue.sources import Config, load_config
from catalogue.sparql import Sparql
from catalogue.storage.database import open_database
from catalogue.storage.history import History
from catalogue.storage.published import Published
from catalogue.storage.records import RecordStore
from catalogue.storage.runs import RunLog
from catalogue.storage.store import Snapshot, Store
from catalogue.view import View

log = logging.getLogger(__name__)


T = TypeVar("T")


class Searches:
    """Where the explorer's searches run: at most `at_once` at a time, each on a thread of
    its own so that the event loop answers meanwhile, the others waiting their turn in order.
    A search is a core's work, and `catalogue serve` starts a worker process per core: many
    searches at once in a process only take turns at the interpreter, which cost a tenth of
    the throughput (8 clients, 2 cores, 2 workers; bench/search.py's queries). Two per core,
    not one: a worker given most of the connections then still keeps a second core busy
    while a search is in the engine, which lets go of the interpreter. With one, some rounds
    of 8 clients at a million variables got half the answers a second of the others."""

    def __init__(self, at_once: int):
        self._threads = ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="search")

    async def run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work)


class Services:
    def __init__(self, settings: Settings):
        self.settings = settings
        data = settings.data_dir
        self._published = published_to(settings)
        self.store = Store(data, settings.base_uri, settings.store_url, self._published)
        self.search = open_backend(settings)
        self.searches = Searches(settings.searches_at_once or SEARCHES_PER_CORE * cores())
        self.concepts = open_concepts(settings)
        database = open_database(settings)  # shared by every server of the catalogue
        self.history = History(database)
        self._records, self._runs = RecordStore(data), RunLog(data)
        self.lists = Lists(database)
        self.accounts = Accounts(database)
        self.audit = Audit(database)
        self.curation = Curation(database, self.store)
        self.quality = Scores(self.store, database)
        # worker processes, started at the first query
        self.sparql = Sparql(self.store, self.history, settings.sparql_timeout, settings.sparql_max_bytes,
                             settings.sparql_workers)
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._view: View | None = None
        self._follower = Follower(settings, self.store) if self._published is not None else None
        try:
            if self.follower is not None:
                self.follower.state()  # its indexes, built now if it has none
            else:
                catch_up(settings)  # a writer killed before this server started left the index behind?
        except Exception as exc:  # a store not answering yet: start anyway, /readyz names it
            log.warning("could not settle the data directory at start: %s: %s", type(exc).__name__, exc)

    def readiness(self) -> dict[str, str | None]:
        """Each store a request may need, and why it is down (None when it answers)."""
        def search() -> None:
            if not self.search.has_index() and any(s.graph_file for s in self.store.state().sources.values()):
                raise RuntimeError("no search index of the stored graphs yet (a harvest builds it)")
        def store() -> None:
            if self.store.unchecked(self.store.state()):  # asks a store server, if there is one
                raise RuntimeError("the graph store lacks the current state's graphs (a harvest or a restart sends them)")
        checks = {"store": store, "search": search, "database": lambda: self.accounts.get("")}
        down: dict[str, str | None] = {}
        for name, check in checks.items():
            try:
                check()
                down[name] = None
            except Exception as exc:  # whatever a store raises is why it is down
                down[name] = f"{type(exc).__name__}: {exc}"
        return down

    @property
    def follower(self) -> Follower | None:
        """What brings this server's indexes up to the published state, while it follows one
        (until a writer commits a state to its data directory, see Store.follows)."""
        return self._follower if self.store.follows() else None

    @property
    def records(self) -> RecordStore | Published:
        """The record versions, where the state read is (see Store.follows)."""
        return self._published if self.store.follows() else self._records

    @property
    def runs(self) -> RunLog | Published:
        """The harvest log, where the state read is."""
        return self._published if self.store.follows() else self._runs

    def config(self) -> Config:
        """The sources configuration, read when asked (an operator may edit it while serving)."""
        return load_config(self.settings.sources_file)

    def uploads(self, source_id: str) -> Uploads:
        return Uploads(self.settings.data_dir, source_id)

    @property
    def view(self) -> View:
        """The current generation's view; a new generation (a harvest or publication in
        another process) is caught up with (see harvest.catch_up) and loaded on first use.
        A follower's is of the generation its indexes were built from (see Follower.state)."""
        if (follower := self.follower) is not None:
            state = follower.state()
            generation = state.generation
        else:
            generation = self.store.generation()
            if generation != self._generation:
                catch_up(self.settings, index=False)  # its runs listed and in the history
        with self._lock:
            if self._view is None or generation != self._generation:
                snapshot = Snapshot(self.store, state) if follower is not None else self.store.snapshot()
                self._view, self._generation = View(snapshot, self.history, self.config), generation
            return self._view
