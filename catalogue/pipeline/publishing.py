"""Registry holders publish their own metadata: a file uploaded for one of their sources is
checked (a dry run) or published, and a publication can be withdrawn.

An upload flows as a harvest does: served on loopback by a FileServer, read by the source's
own harvester, gated by the same shapes, stored by the same commit (catalogue.pipeline.harvest).
While a publication is active, harvests of its source read the publication instead of the
source's `url`, so a scheduled harvest never overwrites it; a source whose `url` is
"upload:" has no other place to be read from, and harvests skip it until something is
published. Uploaded files and the active publication are kept in `data/uploads/<source>/`.

An upload is read and gated in a process of its own (catalogue.pipeline.sandbox), bounded in memory
and time: a file built to exhaust either fails its check, and the server answers on.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path, PurePath
from tempfile import TemporaryDirectory

from pydantic import BaseModel, Field

from catalogue.harvesters import Record
from catalogue.pipeline import sandbox
from catalogue.pipeline.fileserver import FileServer
from catalogue.pipeline.harvest import (NO_GRAPH, Attempt, commit, commit_state, describe, fetcher, plan,
                                        read_source, settle, shrinkage, start_run)
from catalogue.pipeline.uploads import Publication, Uploads, sha256
from catalogue.settings import Settings
from catalogue.sources import UPLOAD_KINDS, Config, ConfigError, SourceConfig
from catalogue.storage.runs import FetchedDocument, RecordChange, Run, RunLog
from catalogue.storage.store import WRITE_WAIT, HeldBack, Store, now

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What each kind's harvester reads, by media type, and the extension a file of that type is
# kept (and served) under, which tells the harvester its syntax.
FORMATS: dict[str, dict[str, str]] = {
    "dcat": {"text/turtle": ".ttl", "application/x-turtle": ".ttl", "application/ld+json": ".jsonld",
             "application/json": ".jsonld", "application/rdf+xml": ".rdf", "application/xml": ".rdf",
             "text/xml": ".rdf", "application/n-triples": ".nt"},
    "table": {"text/csv": ".csv", XLSX: ".xlsx"},
}
assert set(FORMATS) == set(UPLOAD_KINDS), "the kinds a configuration may give url = 'upload:'"
EXTENSIONS = {media: ext for formats in FORMATS.values() for media, ext in formats.items()}
# For a media type no harvester reads (application/octet-stream, text/plain, the
# application/vnd.ms-excel browsers send for CSV), the file name's extension decides.
BY_EXTENSION = {ext: media for media, ext in reversed(EXTENSIONS.items())}  # the first type named
NAMES = {".ttl": "Turtle", ".jsonld": "JSON-LD", ".rdf": "RDF/XML", ".nt": "N-Triples",
         ".csv": "CSV", ".xlsx": "XLSX"}


class PublishError(Exception):
    """Why an upload cannot be checked or published; the message names the source."""


class NotPublishable(PublishError):
    """No such source, or its kind takes no uploads."""


class TooLarge(PublishError):
    pass


class Unsupported(PublishError):
    """A file type the source's harvester does not read."""


class Unreadable(PublishError):
    """The source's harvester could not read the file; its message names the record and field."""


class TooDemanding(PublishError):
    """Checking the file needed more memory or time than an upload's check may have."""


class NothingPublished(PublishError):
    pass


class NeedsConfirmation(PublishError):
    """The file would remove much of what the source publishes (see harvest.shrinkage)."""


class RecordReport(BaseModel):
    key: str
    held_back: bool
    findings: list[HeldBack]


class Report(BaseModel):
    """What a dry run found, or a publication did: the gate's findings per record (each
    with path, focus node, severity and message in bokmål and English), and which records
    are (or would be) added, changed, removed, held back or kept (held back, with their
    last good version staying)."""

    source: str
    filename: str
    media_type: str
    sha256: str
    bytes: int
    dry_run: bool
    seen: int
    accepted: int
    unchanged: int
    added: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    held_back: list[str] = Field(default_factory=list)
    kept: list[str] = Field(default_factory=list)
    records: list[RecordReport] = Field(default_factory=list)  # those with findings
    needs_confirmation: str | None = None  # of a dry run: why publishing it needs confirm_shrink
    run: str | None = None
    run_url: str | None = None
    publication: Publication | None = None  # the one made, and
    replaced: Publication | None = None     # the one it replaced


def publishable(config: Config, source_id: str) -> SourceConfig:
    try:
        source = config.get(source_id)
    except ConfigError:
        raise NotPublishable(f"no source {source_id!r}") from None
    if source.kind not in FORMATS:
        raise NotPublishable(f"source {source_id!r} is harvested ({source.kind}) and takes no uploads; "
                             f"sources of kind {' or '.join(FORMATS)} do")
    return source


def media_type(source: SourceConfig, filename: str, declared: str | None) -> str:
    """The upload's media type, if the source's harvester reads it (else Unsupported)."""
    declared = (declared or "").split(";")[0].strip().lower()
    known = declared if declared in EXTENSIONS else BY_EXTENSION.get(PurePath(filename).suffix.lower())
    if known not in FORMATS[source.kind]:
        accepted = sorted({NAMES[ext] for ext in FORMATS[source.kind].values()})
        found = NAMES[EXTENSIONS[known]] if known else declared or "a file of no known type"
        raise Unsupported(f"source {source.id!r} ({source.kind}) takes {', '.join(accepted)}; "
                          f"{filename!r} is {found}")
    return known


def dry_run(settings: Settings, config: Config, source_id: str, filename: str, content: bytes,
            declared: str | None = None) -> Report:
    """Check a file as its publication would be checked, and say what it would change;
    nothing is written (no graph, record, run, history, index, HTTP cache or state)."""
    source, media = _accepted(settings, config, source_id, filename, content, declared)
    attempt = _read(settings, config, source, filename, content, media)
    planned = plan(settings, Store(settings.data_dir, settings.base_uri, settings.store_url).state(), source.id, "dry-run", attempt)
    report = _report(source, filename, media, content, attempt, planned.changes, planned.unchanged)
    return report.model_copy(update={"needs_confirmation": shrinkage(source, planned)})


def publish(settings: Settings, config: Config, source_id: str, filename: str, content: bytes,
            declared: str | None, by: str, organisation: str | None = None,
            confirm_shrink: bool = False) -> tuple[Run, Report]:
    """Publish a file for its source as the account `by`: valid records go live, invalid
    ones are held back (a last good version of theirs stays). A file the harvester cannot
    read changes nothing; nor does one that would remove more than the source's
    `max_shrink` of its records, or all of them, unless `confirm_shrink` (NeedsConfirmation:
    its run is logged as held)."""
    source, media = _accepted(settings, config, source_id, filename, content, declared)
    store = Store(settings.data_dir, settings.base_uri, settings.store_url)
    uploads = Uploads(settings.data_dir, source.id)
    started, run = time.perf_counter(), start_run(source)
    # Read and gated outside the lock, as in a dry run: every record (no shortcut for what
    # was seen before), so the report is whole; a file that cannot be read stops here.
    attempt = _read(settings, config, source, filename, content, media)
    with store.lock(WRITE_WAIT):  # Busy while a harvest runs
        state = store.state()
        before = uploads.active(state)
        publication = Publication(source=source.id, file=uploads.keep(content, FORMATS[source.kind][media]),
                                  filename=filename, media_type=media, sha256=sha256(content),
                                  bytes=len(content), published_by=by, organisation=organisation,
                                  published=now(), run=run.id)
        try:
            run = commit(settings, store, state, source, run, started, attempt, accept_shrink=confirm_shrink)
            if run.status != "held":  # active with the graph made from it, in one commit
                state.sources[source.id].publication = uploads.record(publication)
            commit_state(settings, store, state, run)
        finally:
            uploads.prune(store.state())  # a replaced, held or failed publication's files go
        if run.status == "held":
            raise NeedsConfirmation(f"source {source.id!r}: {filename!r}: {run.error}; publish it "
                                    "with confirmation (confirm_shrink) to apply it")
        settle(settings, store)
    changes = RunLog(settings.data_dir).changes(run.id)
    report = _report(source, filename, media, content, attempt, changes, run.unchanged, run)
    return run, report.model_copy(update={"publication": publication, "replaced": before})


def withdraw(settings: Settings, config: Config, source_id: str) -> tuple[Run, Publication]:
    """Take a source's publication out of the catalogue: its records are removed (kept in the
    record store, and in the history as removals). Returns the run and the publication."""
    source = publishable(config, source_id)
    store = Store(settings.data_dir, settings.base_uri, settings.store_url)
    uploads = Uploads(settings.data_dir, source.id)
    with store.lock(WRITE_WAIT):  # Busy while a harvest runs
        state = store.state()
        publication = uploads.active(state)
        if publication is None:
            raise NothingPublished(f"source {source.id!r} has no active publication")
        nothing = Attempt(records=[], accepted=[], held_back=[], warnings=[], versions={}, fetched=[])
        run = commit(settings, store, state, source, start_run(source), time.perf_counter(), nothing)
        state.sources[source.id].publication = None
        commit_state(settings, store, state, run)
        settle(settings, store)
    return run, publication


def _accepted(settings: Settings, config: Config, source_id: str, filename: str, content: bytes,
              declared: str | None) -> tuple[SourceConfig, str]:
    source = publishable(config, source_id)
    if len(content) > settings.max_upload_bytes:
        raise TooLarge(f"source {source.id!r}: {filename!r} is larger than the limit of "
                       f"{settings.max_upload_bytes} bytes (CATALOGUE_MAX_UPLOAD_BYTES)")
    return source, media_type(source, filename, declared)


def _read(settings: Settings, config: Config, source: SourceConfig, filename: str, content: bytes,
          media: str) -> Attempt:
    """Read the file with the source's harvester and gate its records, in a process bounded
    by CATALOGUE_UPLOAD_MEMORY and CATALOGUE_UPLOAD_TIMEOUT."""
    name = f"upload{FORMATS[source.kind][media]}"
    with TemporaryDirectory(prefix="upload-") as folder:
        (Path(folder) / name).write_bytes(content)
        try:
            checked = sandbox.run(_check, settings, config, source, Path(folder), name, filename,
                                  memory=settings.upload_memory, seconds=settings.upload_timeout)
        except sandbox.Exceeded as exc:
            setting = {"memory": "CATALOGUE_UPLOAD_MEMORY", "time": "CATALOGUE_UPLOAD_TIMEOUT"}[exc.limit]
            raise TooDemanding(f"source {source.id!r}: checking {filename!r} {exc} ({setting})") from None
        except PublishError:
            raise
        except Exception as exc:  # the checking process failed on its own (a library's panic)
            raise Unreadable(f"source {source.id!r}: checking {filename!r} failed: {exc}") from None
    return checked.attempt()


@dataclass
class _Checked:
    """An attempt as it crosses from the checking process: each record as its key, its
    problems, and its N-Triples lines and their hash (none when it has problems), which
    pickle at a fraction of the graphs' cost."""

    records: list[tuple[str, list[str], list[str] | None, str | None]]
    accepted: list[int]  # positions in `records`
    held_back: list[HeldBack]
    warnings: list[HeldBack]
    fetched: list[FetchedDocument]
    fingerprint: str | None
    shapes_key: str | None

    @classmethod
    def of(cls, attempt: Attempt) -> _Checked:
        position = {id(r): i for i, r in enumerate(attempt.records)}
        return cls([(r.key, r.problems, *attempt.versions.get(id(r), (None, None))) for r in attempt.records],
                   [position[id(r)] for r in attempt.accepted], attempt.held_back, attempt.warnings,
                   attempt.fetched, attempt.fingerprint, attempt.shapes_key)

    def attempt(self) -> Attempt:
        """The attempt again, with records of this process (versions are keyed by their id)."""
        records = [Record(key, NO_GRAPH, problems) for key, problems, _, _ in self.records]
        versions = {id(record): (lines, digest) for record, (_, _, lines, digest) in zip(records, self.records)
                    if lines is not None}
        return Attempt(records, [records[i] for i in self.accepted], self.held_back, self.warnings,
                       versions, self.fetched, self.fingerprint, self.shapes_key)


def _check(settings: Settings, config: Config, source: SourceConfig, folder: Path, name: str,
           filename: str) -> _Checked:
    """In the checking process: serve the file on loopback from its own folder, and let the
    source's harvester read it (with no HTTP cache) and the gate check its records."""
    with FileServer(folder) as server:
        url = f"{server.url}/{name}"
        try:
            attempt = read_source(settings, config, source, url, fetcher(source, None, confined_to=url))
        except MemoryError:
            raise  # the sandbox's to report, as its memory limit
        except Exception as exc:  # whatever the file made the harvester or a parser raise
            # Told as a failing source is, but named by the file, not the loopback URL.
            raise Unreadable(f"source {source.id!r}: " + describe(exc, url).replace(url, filename)) from None
    # The run lists the file by its name: the loopback URL is gone once it is read.
    attempt.fetched = [f.model_copy(update={"url": f.url.replace(url, filename)}) for f in attempt.fetched]
    return _Checked.of(attempt)


def _report(source: SourceConfig, filename: str, media: str, content: bytes, attempt: Attempt,
            changes: list[RecordChange], unchanged: int, run: Run | None = None) -> Report:
    findings: dict[str, list[HeldBack]] = {}
    for finding in attempt.held_back + attempt.warnings:
        findings.setdefault(finding.record, []).append(finding)
    held = {h.record for h in attempt.held_back}
    by_change = {c: [x.key for x in changes if x.change == c] for c in ("added", "changed", "removed", "kept")}
    return Report(source=source.id, filename=filename, media_type=media, sha256=sha256(content),
                  bytes=len(content), dry_run=run is None, seen=len(attempt.records),
                  accepted=len(attempt.accepted), unchanged=unchanged, **by_change,
                  held_back=sorted(held),
                  records=[RecordReport(key=key, held_back=key in held, findings=found)
                           for key, found in sorted(findings.items())],
                  run=run.id if run else None, run_url=f"/harvests/{run.id}" if run else None)

