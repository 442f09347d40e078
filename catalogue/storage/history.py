"""What the catalogue observed: field-level changes between harvests.

Every harvest run compares each record it added, changed or removed with the version
stored before, and records one event per variable, dataset, code list or declared
variable version in it: when, which run, added / changed / removed, and for a change
the fields that differ with their old and new values. Events live in the catalogue's
database (`history.sqlite` in the data directory, or PostgreSQL: catalogue.storage.database);
they are derived from the run log and the record store (catalogue.storage.runs,
catalogue.storage.records), so `rebuild` can always make them again.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timezone
from itertools import islice
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SKOS

from catalogue.model.models import (CodeList, Concept, Dataset, Model, Text, Variable, VariableVersion,
                              code_list_of, value_type)
from catalogue.model.namespaces import DCAT, DISCO
from catalogue.profiles.dcat_ap_no_3 import read_values
from catalogue.storage.database import Database, database_at
from catalogue.storage.durable import boundary
from catalogue.storage.records import RecordStore, RecordVersion
from catalogue.storage.runs import RecordChange, Run, RunLog

Kind = Literal["variable", "dataset", "code list", "version"]
EventChange = Literal["added", "changed", "removed"]

# What a reader compares, per kind of resource. A dataset's list of variables is left
# out: each variable added or removed is an event of its own.
KINDS: dict[Kind, tuple[URIRef, type[Model], tuple[str, ...]]] = {
    "variable": (DISCO.Variable, Variable, ("identifier", "label", "description", "value_type",
                                            "code_list", "unit", "periods", "dataset", "themes")),
    "dataset": (DCAT.Dataset, Dataset, ("title", "description", "publisher", "periods",
                                        "access_rights", "themes", "keywords", "landing_page",
                                        "version", "version_notes", "previous", "versions")),
    "code list": (SKOS.ConceptScheme, CodeList, ("title", "description", "periods", "versions",
                                                 "version_label", "codes")),
    "version": (DCAT.Resource, VariableVersion, ("version", "label", "description", "valid",
                                                 "notes", "representation", "unit", "previous")),
}
OWNER = {"variable": "dataset", "version": "variable"}  # the field naming what a resource belongs to


class FieldChange(BaseModel):
    """For `codes`, old and new hold only the codes that differ: removed or relabelled
    ones on the old side, added or relabelled ones on the new."""

    field: str
    old: Any = None
    new: Any = None


class Event(BaseModel):
    seq: int = 0
    at: str  # ISO 8601 in UTC with microseconds, so events sort and compare as text
    run: str
    source: str
    record: str
    subject: str
    kind: Kind
    change: EventChange
    label: Text = Field(default_factory=dict)
    name: str | None = None     # a variable's short name (dct:identifier)
    owner: str | None = None    # a variable's dataset, a version's variable
    version: str | None = None  # the record version after the change (before it, for a removal)
    fields: list[FieldChange] = Field(default_factory=list)


class Resource(NamedTuple):
    kind: Kind
    fields: dict[str, Any]  # the compared ones
    owner: str | None


def describe(graph: Graph) -> dict[str, Resource]:
    """The resources of a record's graph that histories follow, with their compared fields."""
    found: dict[str, Resource] = {}
    for kind, (rdf_type, model, _) in KINDS.items():
        for subject in graph.subjects(RDF.type, rdf_type):
            if isinstance(subject, URIRef) and str(subject) not in found:
                if kind == "version" and (None, DCAT.hasVersion, subject) not in graph:
                    continue  # a dcat:Resource that is not a declared version of a variable
                values = read_values(model, graph, str(subject))
                found[str(subject)] = Resource(kind, _fields(kind, values, graph, str(subject)),
                                               values.get(OWNER[kind]) if kind in OWNER else None)
    return found


def _fields(kind: Kind, values: dict[str, Any], graph: Graph, uri: str) -> dict[str, Any]:
    if kind == "variable":
        values["value_type"] = value_type(values.get("representation"))
        values["code_list"] = code_list_of(values.get("representation"))
    if kind == "code list":
        concepts = (read_values(Concept, graph, str(c)) for c in graph.subjects(SKOS.inScheme, URIRef(uri)))
        values["codes"] = {str(c["notation"]): c.get("label", {}) for c in concepts if c.get("notation")}
    return {name: _plain(values.get(name)) for name in KINDS[kind][2]}


def _plain(value: Any) -> Any:
    """JSON-ready, and None for what is absent, so that absent and empty compare equal."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [_plain(v) for v in value] or None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()} or None
    return value


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    changes = []
    for name in new:
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if name == "codes":
            before, after = before or {}, after or {}
            before, after = ({k: v for k, v in before.items() if after.get(k) != v},
                             {k: v for k, v in after.items() if before.get(k) != v})
        changes.append(FieldChange(field=name, old=before, new=after))
    return changes


def observe(run: Run, at: str, changes: Iterable[RecordChange],
            graph_of: dict[str, Graph]) -> Iterator[Event]:
    """The events of one run, made as they are taken (a first harvest has one for every
    record): `graph_of` gives each old and new version's graph by hash."""
    for change in changes:
        if change.change == "kept":
            continue  # the catalogue still shows the last good version: nothing changed
        before = describe(graph_of[change.old]) if change.old else {}
        after = describe(graph_of[change.new]) if change.new else {}
        for subject in sorted(before.keys() | after.keys()):
            shown = after.get(subject) or before[subject]
            new = after[subject].fields if subject in after else None
            old = before[subject].fields if subject in before else None
            if new is None:
                what, fields = "removed", []
            elif old is None:
                what, fields = "added", []
            else:
                fields = diff(old, new)
                if not fields:
                    continue  # another resource in the record changed
                what = "changed"
            yield Event(
                at=at, run=run.id, source=run.source, record=change.key, subject=subject,
                kind=shown.kind, change=what, name=shown.fields.get("identifier"),
                label=shown.fields.get("label") or shown.fields.get("title") or {},
                owner=shown.owner, version=change.new if new is not None else change.old,
                fields=fields)


def moment(text: str, end_of_day: bool = True) -> str:
    """A date (as the end of that day, or its start) or a date and time, as event time."""
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
        when = (datetime.combine(day, time.max if end_of_day else time.min, timezone.utc) if day
                else datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or a date and time (ISO 8601)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return stamp(when)


def stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds")


# The schema as migrations (see catalogue.storage.database); 1 is release 0.1.0's.
_MIGRATIONS = ("""
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, run TEXT NOT NULL, source TEXT NOT NULL,
    record TEXT NOT NULL, subject TEXT NOT NULL, kind TEXT NOT NULL, change TEXT NOT NULL,
    label TEXT NOT NULL, name TEXT, owner TEXT, version TEXT, fields TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_subject ON events (subject, at);
CREATE INDEX IF NOT EXISTS events_owner ON events (owner, at);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE TABLE IF NOT EXISTS runs (run TEXT PRIMARY KEY);
""",)
_COLUMNS = ("at", "run", "source", "record", "subject", "kind", "change", "label", "name", "owner",
            "version", "fields")


# Resources whose timestamps one query asks for: within every database's limit of parameters.
TIMESTAMPS_BATCH = 500
# Events written at a time: a first harvest has one for every record, which are not all held at once.
EVENTS_BATCH = 5000


class History:
    def __init__(self, where: Database | Path):
        self.database = database_at(where)

    def _db(self):
        return self.database.transaction("history", _MIGRATIONS)

    def add(self, run_id: str, events: Iterable[Event]) -> None:
        """Record a run's events (taken as they come, EVENTS_BATCH at a time), in one transaction."""
        with self._db() as db:
            db.exclusive()  # every server settles the same committed runs: one records each
            if db.execute("SELECT 1 FROM runs WHERE run = ?", (run_id,)).fetchone():
                return  # already recorded: adding a run twice changes nothing
            db.execute("INSERT INTO runs VALUES (?)", (run_id,))
            rows = (_row(e) for e in events)
            while batch := list(islice(rows, EVENTS_BATCH)):
                db.executemany(f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                               batch)
        boundary("history")

    def recorded_runs(self) -> set[str]:
        with self._db() as db:
            return {row[0] for row in db.execute("SELECT run FROM runs")}

    def of(self, subjects: Iterable[str], owners: Iterable[str] = (), limit: int = 500) -> list[Event]:
        """Events about these resources, or belonging to these owners; newest first."""
        subjects, owners = list(subjects), list(owners)
        where = " OR ".join(filter(None, [
            f"subject IN ({', '.join('?' * len(subjects))})" if subjects else "",
            f"owner IN ({', '.join('?' * len(owners))})" if owners else ""]))
        if not where:
            return []
        return self._select(f"WHERE {where} ORDER BY at DESC, seq DESC LIMIT ?",
                            [*subjects, *owners, limit])

    def since(self, since: str, sources: Iterable[str] = (), subjects: Iterable[str] = (),
              limit: int = 500, offset: int = 0) -> list[Event]:
        """Events at or after `since` (event time), optionally only of these sources or
        about (or belonging to) these resources; newest first."""
        sources, subjects = list(sources), list(subjects)
        where, params = ["at >= ?"], [since]
        if sources:
            where.append(f"source IN ({', '.join('?' * len(sources))})")
            params += sources
        if subjects:
            marks = ", ".join("?" * len(subjects))
            where.append(f"(subject IN ({marks}) OR owner IN ({marks}))")
            params += subjects + subjects
        return self._select(f"WHERE {' AND '.join(where)} ORDER BY at DESC, seq DESC LIMIT ? OFFSET ?",
                            [*params, limit, offset])

    def as_of(self, subject: str, at: str) -> Event | None:
        """The last event about `subject` at or before `at`: its version was current then,
        unless it was a removal."""
        found = self._select("WHERE subject = ? AND at <= ? ORDER BY at DESC, seq DESC LIMIT 1",
                             [subject, at])
        return found[0] if found else None

    def first(self, subject: str) -> Event | None:
        found = self._select("WHERE subject = ? ORDER BY at, seq LIMIT 1", [subject])
        return found[0] if found else None

    def timestamps(self, subjects: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
        """Per resource (of `subjects`, or every one), when the catalogue first saw it and when
        it last saw it (or, for a dataset or variable, one of its variables or declared
        versions) change."""
        if subjects is None:
            return self._timestamps(None)
        times: dict[str, tuple[str, str]] = {}
        asked = list(dict.fromkeys(subjects))
        for start in range(0, len(asked), TIMESTAMPS_BATCH):
            times.update(self._timestamps(asked[start:start + TIMESTAMPS_BATCH]))
        return times

    def _timestamps(self, subjects: list[str] | None) -> dict[str, tuple[str, str]]:
        def among(column: str) -> str:
            return f" AND {column} IN ({', '.join('?' * len(subjects))})" if subjects is not None else ""
        params = subjects or []
        with self._db() as db:
            times = {s: (first, last) for s, first, last in db.execute(
                f"SELECT subject, MIN(at), MAX(at) FROM events WHERE subject IS NOT NULL{among('subject')} "
                "GROUP BY subject", params)}
            for owner, last in db.execute(f"SELECT owner, MAX(at) FROM events WHERE owner IS NOT NULL{among('owner')} "
                                          "GROUP BY owner", params):
                if owner in times:
                    times[owner] = (times[owner][0], max(times[owner][1], last))
        return times

    def latest(self) -> str | None:
        """When the catalogue last saw anything change (None before the first event)."""
        with self._db() as db:
            return db.execute("SELECT MAX(at) FROM events").fetchone()[0]

    def _select(self, clause: str, params: list) -> list[Event]:
        with self._db() as db:
            rows = db.execute(f"SELECT seq, {', '.join(_COLUMNS)} FROM events {clause}", params).fetchall()
        return [_event(row) for row in rows]

    def rebuild(self, records: RecordStore, log: RunLog) -> int:
        """Record the runs of the log that are not recorded yet, oldest first (a data
        directory harvested before histories were kept, or a run cut off before its
        events were written); returns how many runs were added."""
        done = self.recorded_runs()
        if all(run_id in done for run_id in log.ids()):
            return 0
        pack_of: dict[str, str] = {}  # version hash -> the run whose pack holds it
        added = 0
        for run in reversed(log.runs(limit=None)):
            if run.status != "ok":  # nothing changed: noted, so that it is not read again
                if run.id not in done:
                    self.add(run.id, [])
                continue
            changes = log.changes(run.id)
            for change in changes:
                if change.new:
                    pack_of[change.new] = run.id
            if run.id in done:
                continue
            hashes = {h for c in changes for h in (c.old, c.new) if h}
            lines = records.lines(RecordVersion(hash=h, run=pack_of[h]) for h in hashes if h in pack_of)
            graphs = {h: graph_of_lines(text) for h, text in lines.items()}
            self.add(run.id, observe(run, stamp(datetime.fromisoformat(run.ended or run.started)),
                                     [c for c in changes if all(h in graphs for h in (c.old, c.new) if h)],
                                     graphs))
            added += 1
        return added


def graph_of_lines(lines: list[str]) -> Graph:
    graph = Graph()
    graph.parse(data="\n".join(lines), format="nt")
    return graph


def _row(event: Event) -> tuple:
    data = event.model_dump(mode="json")
    data["label"] = json.dumps(data["label"], ensure_ascii=False)
    data["fields"] = json.dumps(data["fields"], ensure_ascii=False)
    return tuple(data[c] for c in _COLUMNS)


def _event(row: tuple) -> Event:
    data = dict(zip(("seq", *_COLUMNS), row))
    data["label"], data["fields"] = json.loads(data["label"]), json.loads(data["fields"])
    return Event.model_validate(data)
