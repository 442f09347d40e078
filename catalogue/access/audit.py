"""The audit log: every write to the catalogue by a person or machine — who, what, when,
and the state before and after — kept in `data/audit.sqlite` (or PostgreSQL, see
catalogue.storage.database), never changed or deleted by the catalogue itself."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from catalogue.storage.database import Database, database_at

MAX_STATE = 100_000  # characters of a before/after state kept; a publication's records stay in the record store

# The schema as migrations (see catalogue.storage.database); 1 is release 0.1.0's.
_MIGRATIONS = ("""
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
    organisation TEXT, action TEXT NOT NULL, target TEXT NOT NULL,
    before TEXT, after TEXT);
CREATE INDEX IF NOT EXISTS entries_at ON entries (at);
""",
    # 2: the log only grows, and the audit page filters it by who acted: without this index
    # each such page read every entry.
    "CREATE INDEX entries_actor ON entries (actor, id);")


class AuditEntry(BaseModel):
    id: int
    at: str
    actor: str
    role: str
    organisation: str | None
    action: str
    target: str
    before: Any = None
    after: Any = None


class Audit:
    def __init__(self, where: Database | Path):
        self.database = database_at(where)

    def _db(self):
        return self.database.transaction("audit", _MIGRATIONS)

    def record(self, actor: str, role: str, action: str, target: str, before: Any = None,
               after: Any = None, organisation: str | None = None) -> None:
        at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        with self._db() as db:
            db.execute("INSERT INTO entries (at, actor, role, organisation, action, target, before, after) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (at, actor, role, organisation, action, target, _state(before), _state(after)))

    def entries(self, since: str | None = None, actor: str | None = None, action: str | None = None,
                limit: int = 100, offset: int = 0) -> tuple[int, list[AuditEntry]]:
        """Entries newest first, with how many match in all."""
        where, args = [], []
        for clause, value in (("at >= ?", since), ("actor = ?", actor), ("action = ?", action)):
            if value:
                where.append(clause)
                args.append(value)
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        with self._db() as db:
            total = db.execute(f"SELECT COUNT(*) FROM entries {condition}", args).fetchone()[0]
            rows = db.execute(f"SELECT id, at, actor, role, organisation, action, target, before, after "
                              f"FROM entries {condition} ORDER BY id DESC LIMIT ? OFFSET ?",
                              [*args, limit, offset]).fetchall()
        return total, [AuditEntry(id=r[0], at=r[1], actor=r[2], role=r[3], organisation=r[4], action=r[5],
                                  target=r[6], before=_load(r[7]), after=_load(r[8])) for r in rows]


def _state(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) > MAX_STATE:
        return json.dumps({"truncated": True, "start": text[:MAX_STATE]}, ensure_ascii=False)
    return text


def _load(text: str | None) -> Any:
    return json.loads(text) if text is not None else None
