"""Applicants' variable lists ("Mine variabler"): kept on the server under a random id the
browser holds in a cookie (no account), shared as a short code anyone can open for 90
days, and checked against the years each variable has data for (the site exports them shaped
for a data-access application: site/list_export.py).

Only what the user typed is stored (variable ids, notes, years wanted); nothing else
about them.
"""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pydantic import BaseModel, Field

from catalogue.storage.database import Database, database_at

MAX_ITEMS = 500
MAX_NOTE = 2000
SHARE_DAYS = 90
# Short codes people can read out and type: no 0/O, 1/I/L.
CODE_LETTERS = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8

# The schema as migrations (see catalogue.storage.database); 1 is release 0.1.0's.
_MIGRATIONS = ("""
CREATE TABLE IF NOT EXISTS items (
    list TEXT NOT NULL, position INTEGER NOT NULL, variable TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '', wanted_from INTEGER, wanted_to INTEGER,
    PRIMARY KEY (list, variable));
CREATE TABLE IF NOT EXISTS shares (code TEXT PRIMARY KEY, created TEXT NOT NULL,
    expires TEXT NOT NULL, items TEXT NOT NULL);
""",)


class ListItem(BaseModel):
    variable: str = Field(max_length=500)
    note: str = Field(default="", max_length=MAX_NOTE)
    wanted_from: int | None = Field(default=None, ge=1000, le=3000)
    wanted_to: int | None = Field(default=None, ge=1000, le=3000)


class Shared(BaseModel):
    code: str
    created: str
    expires: str
    items: list[ListItem]


class ListFull(ValueError):
    pass


def new_list_id() -> str:
    return secrets.token_urlsafe(24)


class Lists:
    def __init__(self, where: Database | Path):
        self.database = database_at(where)

    def _db(self):
        return self.database.transaction("lists", _MIGRATIONS)

    def items(self, list_id: str) -> list[ListItem]:
        with self._db() as db:
            rows = db.execute("SELECT variable, note, wanted_from, wanted_to FROM items WHERE list = ? "
                              "ORDER BY position", (list_id,)).fetchall()
        return [ListItem(variable=v, note=n, wanted_from=f, wanted_to=t) for v, n, f, t in rows]

    def add(self, list_id: str, variable: str, wanted_from: int | None = None, wanted_to: int | None = None) -> int:
        """Add a variable at the end (once), with the years wanted if the search had them;
        returns how many the list holds."""
        with self._db() as db:
            count, last = db.execute("SELECT COUNT(*), COALESCE(MAX(position), 0) FROM items WHERE list = ?",
                                     (list_id,)).fetchone()
            if db.execute("SELECT 1 FROM items WHERE list = ? AND variable = ?", (list_id, variable)).fetchone():
                return count
            if count >= MAX_ITEMS:
                raise ListFull(f"a list holds at most {MAX_ITEMS} variables")
            db.execute("INSERT INTO items (list, position, variable, wanted_from, wanted_to) VALUES (?, ?, ?, ?, ?)",
                       (list_id, last + 1, variable, wanted_from, wanted_to))
            return count + 1

    def update(self, list_id: str, item: ListItem) -> None:
        with self._db() as db:
            db.execute("UPDATE items SET note = ?, wanted_from = ?, wanted_to = ? WHERE list = ? AND variable = ?",
                       (item.note, item.wanted_from, item.wanted_to, list_id, item.variable))

    def remove(self, list_id: str, variable: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM items WHERE list = ? AND variable = ?", (list_id, variable))

    def move(self, list_id: str, variable: str, step: int) -> None:
        """Swap the variable with its neighbour before (step -1) or after (+1) it."""
        with self._db() as db:
            order = [v for (v,) in db.execute("SELECT variable FROM items WHERE list = ? ORDER BY position",
                                              (list_id,))]
            if variable not in order:
                return
            at = order.index(variable)
            other = at + step
            if 0 <= other < len(order):
                order[at], order[other] = order[other], order[at]
                db.executemany("UPDATE items SET position = ? WHERE list = ? AND variable = ?",
                               [(n, list_id, v) for n, v in enumerate(order, 1)])

    def share(self, list_id: str, now: datetime | None = None) -> Shared:
        """A copy of the list as it is now, under a new short code, for SHARE_DAYS days."""
        now = now or datetime.now(timezone.utc)
        items = self.items(list_id)
        with self._db() as db:
            db.execute("DELETE FROM shares WHERE expires < ?", (now.isoformat(),))  # forget what expired
            while True:
                code = "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))
                if not db.execute("SELECT 1 FROM shares WHERE code = ?", (code,)).fetchone():
                    break
            shared = Shared(code=code, created=now.isoformat(timespec="seconds"),
                            expires=(now + timedelta(days=SHARE_DAYS)).isoformat(timespec="seconds"), items=items)
            db.execute("INSERT INTO shares VALUES (?, ?, ?, ?)",
                       (code, shared.created, shared.expires, json.dumps([i.model_dump() for i in items])))
        return shared

    def shared(self, code: str, now: datetime | None = None) -> Shared | None:
        now = now or datetime.now(timezone.utc)
        with self._db() as db:
            row = db.execute("SELECT code, created, expires, items FROM shares WHERE code = ?",
                             (code.strip().upper(),)).fetchone()
        if row is None or row[2] < now.isoformat(timespec="seconds"):
            return None
        return Shared(code=row[0], created=row[1], expires=row[2],
                      items=[ListItem(**i) for i in json.loads(row[3])])

    def copy(self, shared: Shared, list_id: str) -> None:
        """The shared variables (with their notes) into this list, after what it holds."""
        for item in shared.items:
            self.add(list_id, item.variable)
            self.update(list_id, item)


def year_warnings(item: ListItem, years_with_data: list[int]) -> list[dict[str, str]]:
    """What is wrong with the years wanted, given the years the variable has data for: a
    reversed range, years outside its periods, or a gap inside them (in bokmål and English)."""
    first, last = item.wanted_from, item.wanted_to
    if first is None and last is None:
        return []
    if first is not None and last is not None and first > last:
        return [{"nb": f"Fra-året {first} er etter til-året {last}.",
                 "en": f"The year from, {first}, is after the year to, {last}."}]
    if not years_with_data:
        return [{"nb": "Variabelen oppgir ingen perioder med data.", "en": "The variable states no periods with data."}]
    wanted = range(first if first is not None else years_with_data[0], (last if last is not None else years_with_data[-1]) + 1)
    have = set(years_with_data)
    missing = [y for y in wanted if y not in have]
    if not missing:
        return []
    spans = year_spans(missing)
    if len(missing) == len(wanted):
        return [{"nb": f"Variabelen har ingen data i de ønskede årene ({spans}).",
                 "en": f"The variable has no data in the years wanted ({spans})."}]
    if years_with_data[0] < missing[0] and missing[-1] < years_with_data[-1]:
        return [{"nb": f"De ønskede årene krysser et opphold uten data: {spans}.",
                 "en": f"The years wanted span a gap without data: {spans}."}]
    return [{"nb": f"Variabelen har ikke data for {spans}.", "en": f"The variable has no data for {spans}."}]


def year_spans(years: list[int]) -> str:
    """Sorted years as runs: 2001, 2003, 2004, 2005 -> '2001, 2003–2005'."""
    runs: list[list[int]] = []
    for year in years:
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)
