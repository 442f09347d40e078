"""An app server following the state a writer on another host published (Store.follows):
it serves the last generation its own indexes were built from, whole (its pages and its
searches agree), while it brings them up to a newer one in the background, and then serves
that one.

One catch-up at a time: a thread per process, and the data directory's index lock across the
processes serving it (the others wait for it, then find the indexes built and serve them). A
catch-up that fails is logged, and a later request starts another (at once when a newer
generation is published, else RETRY_AFTER seconds later); meanwhile the follower serves what
it has.

The writer keeps only the newest two of the store server's checkpoints, and a harvest commits
a generation per source, so a follower notes in the database which checkpoints it reads, the
one it serves and the one it catches up with (Published.follow, at most every HEARTBEAT
seconds while it is asked anything), and the writer keeps those too. A follower whose
checkpoint went anyway (not heard from for FOLLOWED_FOR) never serves it half gone: it
waits for its indexes of the published state, as at its first start.

Test hook: CATALOGUE_HOLD_CATCH_UP=path makes every catch-up wait, holding the index lock,
while that file exists.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from catalogue.pipeline.harvest import INDEXED, follow, index_built_from
from catalogue.settings import HOLD_CATCH_UP, Settings
from catalogue.storage.store import State, Store

log = logging.getLogger(__name__)
HEARTBEAT = 30  # seconds between a follower's notes of the checkpoints it reads (and checks they are there)
RETRY_AFTER = 10  # seconds before a generation whose catch-up failed is tried again


class Follower:
    """The state a follower serves, and its catching up (see the module)."""

    def __init__(self, settings: Settings, store: Store):
        self.settings, self.store = settings, store
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # this process, in the database
        self.outcomes: Counter[str] = Counter()  # this process's catch-ups: "done", "failed"
        self.failure: str | None = None  # why the last catch-up failed, until one succeeds
        self._target: State | None = None  # the published state being caught up with
        self._thread: threading.Thread | None = None
        self._failed: tuple[int | None, float] = (None, 0.0)  # the generation last failed, when
        self._lock = threading.Lock()
        self._built: tuple[tuple, State | None] = ((), None)  # indexed.json's stat, the state it names
        self._heard: tuple[frozenset[str], float, bool] = (frozenset(), 0.0, False)  # noted, when, served is there

    def state(self) -> State:
        """The state to serve: the one this data directory's indexes were built from, while a
        catch-up with a newer published one runs in the background. With none (a first start,
        or its checkpoint pruned), the published one once its indexes are built, waited for; if
        that fails too, the published one as it is (/readyz says what is down)."""
        served = self.served()
        if served is None:
            self.catch_up()
            served = self.served()
            if served is None:
                return self.store.state()
        if served.generation != (published := self.store.generation()):
            self.start(published)
        return served

    def served(self) -> State | None:
        """The state this data directory's indexes were built from, if the store server still
        holds its checkpoint (None before the first catch-up)."""
        path = self.settings.data_dir / INDEXED
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if key != self._built[0]:  # replaced, never changed in place: read only when new
            built = index_built_from(self.settings)
            self._built = key, State.model_validate(built["state"]) if "state" in built else None
        served = self._built[1]
        return served if served is not None and self._note(served) else None

    def status(self) -> dict[str, int | str | None]:
        """The generation served, the published one being caught up with (None when it is the
        one served) and why the last catch-up failed; a catch-up due is started (so a load
        balancer's probes keep a follower no one asks current)."""
        served, published = self.served(), self.store.generation()
        behind = served is None or served.generation != published
        if behind:
            self.start(published)
        return {"serving": served.generation if served else None, "catching_up_to": published if behind else None,
                "last_failure": self.failure}

    def start(self, published: int) -> None:
        """Catch up with the `published` generation in a thread of its own, unless one runs or
        that generation's failed less than RETRY_AFTER seconds ago."""
        failed, when = self._failed
        if failed == published and time.monotonic() - when < RETRY_AFTER:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self.catch_up, daemon=True, name="catch-up")
                self._thread.start()

    def catch_up(self) -> None:
        """Bring this data directory's indexes up to the published state, holding its index
        lock (after another process's catch-up, which may leave nothing to do)."""
        started = time.monotonic()
        try:
            with self.store.index_lock():
                self._target = state = self.store.state()
                self._note(self._built[1], force=True)
                while HOLD_CATCH_UP and Path(HOLD_CATCH_UP).exists():
                    time.sleep(0.05)
                log.info("catching up with generation %s", state.generation, extra={"generation": state.generation})
                if follow(self.settings, self.store, state):
                    log.info("caught up with generation %s in %.1f s", state.generation, time.monotonic() - started,
                             extra={"generation": state.generation})
            self.failure = None
            self.outcomes["done"] += 1
        except Exception as exc:  # whatever failed, the follower serves what it has; the next request tries again
            self.failure = f"{type(exc).__name__}: {exc}"
            self._failed = getattr(self._target, "generation", None), time.monotonic()
            self.outcomes["failed"] += 1
            log.exception("catching up with generation %s failed; serving generation %s meanwhile",
                          getattr(self._target, "generation", "?"), getattr(self._built[1], "generation", None))
        finally:
            self._target = None

    def _note(self, served: State | None, force: bool = False) -> bool:
        """Note the checkpoints this process reads in the database, when they changed or
        every HEARTBEAT seconds, and check that the store server holds `served`'s; whether it does."""
        reading = frozenset(s.checkpoint for s in (served, self._target) if s is not None and s.checkpoint)
        noted, when, there = self._heard
        if force or reading != noted or time.monotonic() - when > HEARTBEAT:
            self.store.published.follow(self.name, reading)
            there = served is not None and not self.store.unchecked(served)
            self._heard = reading, time.monotonic(), there
        return there
