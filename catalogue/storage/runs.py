"""The harvest log: one entry per run of a source, kept as files in the data directory.

A run's summary (`{id}.json`) holds its status, counts, held-back records and error;
what it added, changed, kept or removed is in `{id}.changes.jsonl`, since a first
harvest of a large registry lists every record.
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from catalogue.storage.durable import atomic_write, boundary, sync_folder, writing
from catalogue.storage.store import HeldBack

# held: the answer would have removed too much of the source (see harvest.shrinkage); nothing
# was applied until it is confirmed.
Status = Literal["ok", "unchanged", "failed", "held"]
Change = Literal["added", "changed", "removed", "kept"]


CHANGES, EVENTS = ".changes.jsonl", ".events.jsonl"
SUFFIXES = (CHANGES, EVENTS, ".json")  # of a run's files


class RecordChange(BaseModel):
    """`kept`: the gate refused the record's new version, so its last good one stays."""

    key: str
    change: Change
    old: str | None = None  # version hashes (see catalogue.storage.records)
    new: str | None = None


class FetchedDocument(BaseModel):
    url: str
    sha256: str  # or "HTTP 404" (say), where the server answered with an error
    bytes: int
    not_modified: bool = False
    # How it was asked for, so the next harvest can ask again before parsing anything: the
    # URL asked (relative to the source URL's origin when on it; the demo and publications
    # are served on a new port each time), its Accept and Accept-Language.
    request: str | None = None
    accept: str | None = None
    language: str | None = None


class Run(BaseModel):
    id: str
    source: str
    kind: str
    name: str
    started: str
    ended: str | None = None
    seconds: float = 0.0
    status: Status = "ok"
    seen: int = 0
    accepted: int = 0
    held_back_records: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    reused: int = 0  # of the unchanged, taken as stored: made from the same input as their versions
    removed: int = 0
    kept: int = 0
    held_back: list[HeldBack] = Field(default_factory=list)
    warnings: list[HeldBack] = Field(default_factory=list)  # their records were accepted
    error: str | None = None
    document: str | None = None  # of a failed run: the URL being read when it failed, if known
    fetched: list[FetchedDocument] = Field(default_factory=list)
    # False when the documents the last good harvest read were all asked again and found the
    # same: the run is `unchanged` without the source having been parsed or gated.
    parsed: bool = True
    # Whether `fetched` is all the harvester read (it took no body from the HTTP cache without
    # asking), so that asking for the same again tells whether anything changed.
    replayable: bool = False


def new_run_id(source_id: str) -> str:
    """Sortable by time across sources: '20261123T150102123456-mfr'."""
    return f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}-{source_id}"


class RunLog:
    """Runs are written aside (`pending/`) and listed once a state that names them is
    written: `apply` moves them into the log, after their history events are recorded."""

    def __init__(self, data_dir: Path):
        self.folder = Path(data_dir) / "runs"
        self.pending = self.folder / "pending"

    def write(self, run: Run, changes: Iterable[RecordChange] = (), events: Iterable[BaseModel] = ()) -> None:
        """Write the run, its changes and its history events aside, for a state to name; each
        item as it comes (a first harvest has one for every record)."""
        self.pending.mkdir(parents=True, exist_ok=True)
        for suffix, items in ((CHANGES, changes), (EVENTS, events)):
            with writing(self.pending / f"{run.id}{suffix}") as handle:
                handle.writelines(item.model_dump_json(exclude_none=True).encode() + b"\n" for item in items)
        atomic_write(self.pending / f"{run.id}.json", run.model_dump_json(indent=1).encode())

    def apply(self, run_id: str, record: Callable[[str, Iterable[str]], None]) -> None:
        """List a committed run (a state names it): `record(run_id, event lines)` first (read
        as they are taken), which must be idempotent, then its files move into the log, the
        summary last. Applying a run twice, or one already applied, changes nothing."""
        if not self.is_pending(run_id):
            return
        events = self.pending / f"{run_id}{EVENTS}"
        with open(events, encoding="utf-8") if events.exists() else nullcontext(()) as lines:
            record(run_id, lines)
        for suffix in SUFFIXES:  # the summary last: it lists the run
            if (self.pending / f"{run_id}{suffix}").exists():
                os.replace(self.pending / f"{run_id}{suffix}", self.folder / f"{run_id}{suffix}")
        sync_folder(self.folder)
        boundary(f"run {run_id} applied")

    def is_pending(self, run_id: str) -> bool:
        """Written aside and not yet applied."""
        return (self.pending / f"{run_id}.json").exists()

    def discard(self, keep: Iterable[str]) -> None:
        """Remove runs written aside that no state names (their writer was killed)."""
        keep = set(keep)
        for path in self.pending.glob("*") if self.pending.exists() else ():
            run_id = next((path.name[:-len(s)] for s in SUFFIXES if path.name.endswith(s)), None)
            if run_id not in keep:
                path.unlink()

    def runs(self, source_id: str | None = None, limit: int | None = 100) -> list[Run]:
        """Newest first (all of them with no limit)."""
        paths = sorted(self.folder.glob("*.json"), reverse=True) if self.folder.exists() else []
        if source_id:  # ids are '<time>-<source>' and the time part has no '-'
            paths = [p for p in paths if p.stem.split("-", 1)[1] == source_id]
        return [Run.model_validate_json(p.read_text(encoding="utf-8")) for p in paths[:limit]]

    def counts(self) -> dict[str, int]:
        """How many runs each source has in the log, from the files' names alone."""
        return dict(Counter(p.stem.split("-", 1)[1] for p in self.folder.glob("*.json"))) if self.folder.exists() else {}

    def ids(self) -> list[str]:
        """Every run's id, oldest first."""
        return sorted(p.stem for p in self.folder.glob("*.json")) if self.folder.exists() else []

    def entry(self, run_id: str) -> tuple[Run, list[RecordChange]]:
        """A run a state names and its changes, whether applied or still written aside."""
        folder = self.folder if (self.folder / f"{run_id}.json").exists() else self.pending
        return _run(folder, run_id), _changes(folder, run_id)

    def get(self, run_id: str) -> Run | None:
        return _run(self.folder, run_id)

    def changes(self, run_id: str, limit: int | None = None) -> list[RecordChange]:
        return _changes(self.folder, run_id, limit)


def _run(folder: Path, run_id: str) -> Run | None:
    path = folder / f"{run_id}.json"
    if "/" in run_id or not path.is_file():
        return None
    return Run.model_validate_json(path.read_text(encoding="utf-8"))


def _changes(folder: Path, run_id: str, limit: int | None = None) -> list[RecordChange]:
    path = folder / f"{run_id}{CHANGES}"
    if "/" in run_id or not path.is_file():
        return []
    with open(path, encoding="utf-8") as lines:
        return [RecordChange.model_validate_json(line) for line in islice(lines, limit)]
