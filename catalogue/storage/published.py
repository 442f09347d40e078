"""What app servers on other hosts read of the writer's data directory, published to the
catalogue's PostgreSQL database: the committed state (its generation, sources and the graph
store's checkpoint), the harvest log (each run and its changes) and the record versions (each
run's pack), so that an app server needs no shared data directory of its own.

The writer's data directory stays the durable record, and there is one: the published state
is always its last committed one (restored from a backup, an older one). After each commit,
with the graphs of the new state on the store server already, the writer publishes the runs
the database lacks and the state, in one transaction, holding its data directory's lock; then
their history events are recorded. A writer killed before publishing leaves the app servers on
the last published state, which is whole, and its next settle publishes again
(catalogue.pipeline.harvest.settle).

App servers note here which of the store server's checkpoints they read (`follow`), and the
writer keeps those when it prunes the others (catalogue.pipeline.following).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from catalogue.storage.database import Connection, Database
from catalogue.storage.records import RecordStore, RecordVersion, versions_lines
from catalogue.storage.runs import RecordChange, Run, RunLog
from catalogue.storage.store import State


T = TypeVar("T")


class SecondRecord(RuntimeError):
    """A writer on a data directory with no state, where another writer's state is published."""


def _tables(db: Connection) -> None:
    binary = "BYTEA" if db.dialect == "postgresql" else "BLOB"
    db.script("CREATE TABLE state (name TEXT PRIMARY KEY, generation BIGINT NOT NULL, committed BIGINT NOT NULL, "
              "body TEXT NOT NULL); "
              "CREATE TABLE runs (id TEXT PRIMARY KEY, source TEXT NOT NULL, body TEXT NOT NULL); "
              "CREATE TABLE changes (run TEXT NOT NULL, position INTEGER NOT NULL, body TEXT NOT NULL, "
              "PRIMARY KEY (run, position)); "
              f"CREATE TABLE packs (run TEXT PRIMARY KEY, pack {binary} NOT NULL);")


MIGRATIONS = (_tables, "CREATE TABLE followers (id TEXT PRIMARY KEY, checkpoints TEXT NOT NULL, "
                      "seen BIGINT NOT NULL)")
CURRENT = "current"  # the state table's one row
# Seconds a follower's checkpoints are kept after it last noted them: long enough for a quiet
# server (its probes note them too), short enough that a stopped one's go before long.
FOLLOWED_FOR = 3600


class Published:
    """The writer's side (`publish`) and the readers': the state as `Store` reads it, the run
    log as `RunLog` does, and record versions as `RecordStore` does."""

    def __init__(self, database: Database):
        self.database = database
        self._state: tuple[tuple[int, int], State] | None = None  # (generation, committed), state

    def transaction(self):
        return self.database.transaction("published", MIGRATIONS)

    # -- the writer's side ---------------------------------------------------
    def publish(self, state: State, committed: int, data_dir: Path) -> None:
        """Publish `state` (committed at `committed`, in ns) and every run of `data_dir`'s log
        or `state` not yet published, with its changes and record pack, idempotently. The
        caller holds the data directory's lock. In a thread of its own (see `_apart`)."""
        _apart(self._publish, state, committed, RunLog(data_dir), RecordStore(data_dir))

    def _publish(self, state: State, committed: int, log: RunLog, records: RecordStore) -> None:
        with self.transaction() as db:
            db.exclusive()  # one publisher at a time: two would both find the same runs missing
            published = {row[0] for row in db.execute("SELECT id FROM runs")}
            for run_id in dict.fromkeys([*log.ids(), *state.runs]):
                if run_id not in published:
                    self._publish_run(db, *log.entry(run_id), records.pack(run_id))
            db.execute("INSERT INTO state (name, generation, committed, body) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (name) DO UPDATE SET generation = excluded.generation, "
                       "committed = excluded.committed, body = excluded.body",
                       (CURRENT, state.generation, committed, state.model_dump_json()))

    def refuse_new_record(self, state_file: Path) -> None:
        """Refuse to start a catalogue's second record: a writer on a data directory with no
        state (`state_file` missing: a new or wrong one) where a writer's state is published
        would replace what every app server reads, and remove the other's graphs from the
        store server."""
        if not state_file.exists() and self.generation():
            raise SecondRecord(f"{state_file.parent} holds no catalogue, and {self.database} has one published "
                               "by another data directory: harvest with the writer's data directory "
                               "(CATALOGUE_DATA_DIR), or drop the database's schema `published` to start anew")

    @staticmethod
    def _publish_run(db: Connection, run: Run, changes: list[RecordChange], pack: Path | None) -> None:
        db.execute("INSERT INTO runs (id, source, body) VALUES (?, ?, ?)", (run.id, run.source, run.model_dump_json()))
        db.executemany("INSERT INTO changes (run, position, body) VALUES (?, ?, ?)",
                       ((run.id, n, c.model_dump_json(exclude_none=True)) for n, c in enumerate(changes)))
        if pack is not None:
            db.execute("INSERT INTO packs (run, pack) VALUES (?, ?)", (run.id, pack.read_bytes()))

    # -- the checkpoints followers read ----------------------------------------
    def follow(self, follower: str, checkpoints: Iterable[str]) -> None:
        """Note that `follower` (an app server's process) reads `checkpoints` now, and forget
        followers not heard from for FOLLOWED_FOR seconds."""
        seen = time.time_ns()
        with self.transaction() as db:
            db.execute("DELETE FROM followers WHERE seen < ?", (seen - FOLLOWED_FOR * 10**9,))
            db.execute("INSERT INTO followers (id, checkpoints, seen) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE "
                       "SET checkpoints = excluded.checkpoints, seen = excluded.seen",
                       (follower, json.dumps(sorted(checkpoints)), seen))

    def followed(self) -> set[str]:
        """The checkpoints followers heard from within FOLLOWED_FOR seconds read: the writer
        keeps them. In a thread of its own, as `publish`."""
        return _apart(self._followed)

    def _followed(self) -> set[str]:
        with self.transaction() as db:
            rows = db.execute("SELECT checkpoints FROM followers WHERE seen >= ?",
                              (time.time_ns() - FOLLOWED_FOR * 10**9,)).fetchall()
        return {checkpoint for body, in rows for checkpoint in json.loads(body)}

    # -- the state, as Store reads it ----------------------------------------
    def committed(self) -> int:
        """When the published state was committed, in ns since the epoch (0 before the first)."""
        return self._head()[1]

    def generation(self) -> int:
        return self._head()[0]

    def state(self) -> State:
        """The published state (read again only when a newer one is published)."""
        head, cached = self._head(), self._state
        if cached is not None and cached[0] == head:
            return cached[1]
        with self.transaction() as db:
            row = db.execute("SELECT generation, committed, body FROM state WHERE name = ?", (CURRENT,)).fetchone()
        state = State.model_validate_json(row[2]) if row else State()
        self._state = ((row[0], row[1]) if row else (0, 0)), state
        return state

    def _head(self) -> tuple[int, int]:
        with self.transaction() as db:
            row = db.execute("SELECT generation, committed FROM state WHERE name = ?", (CURRENT,)).fetchone()
        return (row[0], row[1]) if row else (0, 0)

    # -- the run log, as RunLog reads it ---------------------------------------
    def runs(self, source_id: str | None = None, limit: int | None = 100) -> list[Run]:
        """Newest first (all of them with no limit)."""
        page = "" if limit is None else f" LIMIT {int(limit)}"
        with self.transaction() as db:
            rows = db.execute(f"SELECT body FROM runs WHERE source = coalesce(?, source) ORDER BY id DESC{page}",
                              (source_id,)).fetchall()
        return [Run.model_validate_json(body) for body, in rows]

    def counts(self) -> dict[str, int]:
        with self.transaction() as db:
            return dict(db.execute("SELECT source, count(*) FROM runs GROUP BY source").fetchall())

    def get(self, run_id: str) -> Run | None:
        with self.transaction() as db:
            row = db.execute("SELECT body FROM runs WHERE id = ?", (run_id,)).fetchone()
        return Run.model_validate_json(row[0]) if row else None

    def changes(self, run_id: str, limit: int | None = None) -> list[RecordChange]:
        page = "" if limit is None else f" LIMIT {int(limit)}"
        with self.transaction() as db:
            rows = db.execute(f"SELECT body FROM changes WHERE run = ? ORDER BY position{page}", (run_id,)).fetchall()
        return [RecordChange.model_validate_json(body) for body, in rows]

    # -- record versions, as RecordStore reads them ------------------------------
    def lines(self, versions: Iterable[RecordVersion]) -> dict[str, list[str]]:
        """The N-Triples lines of published versions, by hash."""
        return versions_lines(versions, self._pack)

    def _pack(self, run_id: str) -> bytes | None:
        with self.transaction() as db:
            row = db.execute("SELECT pack FROM packs WHERE run = ?", (run_id,)).fetchone()
        return bytes(row[0]) if row else None


def _apart(call: Callable[..., T], *args) -> T:
    """`call(*args)` in a thread of its own: its transaction is apart from any the caller has
    open (a curator's, whose write commits a state)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(call, *args).result()
