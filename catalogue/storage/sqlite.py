"""Small SQLite files in the data directory (accounts, audit log, history, curation, variable
lists), each brought up to its owner's schema when it is opened.

An owner declares its schema as migrations, oldest first: migration n takes a file from
version n-1 to n, and the file records its version (`PRAGMA user_version`). Migration 1 is
the schema of the first release that had the file, written with `IF NOT EXISTS`, so a file
made before versions were recorded (version 0 with its tables) is recognised as version 1.
Opening a file applies the migrations it lacks in one transaction and refuses a file newer
than the code.
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

# A migration: SQL statements, or a function for what SQL alone cannot do (e.g. rewriting rows).
Migration = str | Callable[[sqlite3.Connection], None]


class SchemaTooNew(RuntimeError):
    """The file (or PostgreSQL schema) was written by a newer release, which may have changed
    what it means."""

    def __init__(self, where: Path | str, found: int, known: int):
        super().__init__(f"{where}: its schema is version {found}, but this release of the catalogue knows "
                         f"versions up to {known}; run the release that wrote it, or restore the "
                         "backup from before that upgrade")
        self.where, self.found, self.known = where, found, known


def _statements(script: str) -> Iterator[str]:
    """The statements of `script` one at a time (`executescript` would commit between them)."""
    pending = ""
    for piece in re.split(r"(?<=;)", script):
        pending += piece
        if sqlite3.complete_statement(pending):  # not a `;` inside a string or a trigger
            yield pending
            pending = ""
    if pending.strip():
        yield pending


def migrate(db: sqlite3.Connection, path: Path, migrations: Sequence[Migration]) -> None:
    """Bring the open file `path` to version len(migrations), or raise SchemaTooNew."""
    known = len(migrations)
    if db.execute("PRAGMA user_version").fetchone()[0] == known:
        return
    # Readers keep reading while a writer writes; persistent, and not to be set inside a transaction.
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("BEGIN IMMEDIATE")  # one migrating process at a time; the others wait, then see it done
    try:
        found = db.execute("PRAGMA user_version").fetchone()[0]
        if found > known:
            raise SchemaTooNew(path, found, known)
        for migration in migrations[found:]:
            if callable(migration):
                migration(db)
            else:
                for statement in _statements(migration):
                    db.execute(statement)
        db.execute(f"PRAGMA user_version = {known}")
    except BaseException:
        db.rollback()
        raise
    db.commit()


@contextmanager
def transaction(path: Path, migrations: Sequence[Migration]) -> Iterator[sqlite3.Connection]:
    """A connection to the file (made if new, migrated if older than `migrations`) in one
    transaction: what is written in it is stored whole or not at all. Readers wait up to
    30 s for a writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=30)) as db:
        migrate(db, path, migrations)
        with db:
            yield db
