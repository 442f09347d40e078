"""Small SQLite files in the data directory (the history, the variable lists)."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path


@contextmanager
def transaction(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """A connection to the file (made, with `schema`, if new) in one transaction: what is
    written in it is stored whole or not at all. Readers wait up to 30 s for a writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=30)) as db:
        db.executescript(schema)
        with db:
            yield db
