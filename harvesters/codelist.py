"""`codelist`: a code list published as files, one file per version (ICD-10 and ICPC-2 as
Helsedirektoratet publishes them each year, say), or one file for an unversioned list (ATC).

The source's `url` names the files: `{version}` in it stands for each entry of `versions`.
A version named by a year is valid from 1 January to 31 December of that year, and the
latest one open-ended; a version given as a table says its own validity. Each file is a
JSON array of objects or a CSV table with a header row, one code a row.

The code list and its versions are modelled as `klass` models a classification: the list
links its versions (dcat:hasVersion), each version is a concept scheme of its own with its
validity (dct:temporal) and its codes. One record per version, not per code: a version is
what the registry holder publishes and replaces as a whole. What changed between
consecutive versions (codes added, removed, relabelled) follows from the versions
themselves, as for any versioned list (see catalogue.site.routes.code_lists).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urljoin

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from catalogue.harvesters.base import HarvestContext, Record, SourceError, parse_options, read_json, text_value
from catalogue.model.models import CodeList, Concept, Period, Text, merge_periods
from catalogue.model.rdf import stable_skolemize
from catalogue.profiles.dcat_ap_no_3 import to_graph

PLACEHOLDER = "{version}"


class Version(BaseModel):
    """A version given as a table: its id (what `{version}` in the URL becomes), its
    validity, and optionally its own file (relative to the source's URL)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, pattern=r"^[^/?#]+$")
    valid_from: date
    valid_to: date | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Version":
        if self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"version {self.id!r} ends ({self.valid_to}) before it starts ({self.valid_from})")
        return self


class Fields(BaseModel):
    """Which JSON key or CSV column holds what; `label` by language."""

    model_config = ConfigDict(extra="forbid")
    code: str = "code"
    label: Text = Field(default_factory=lambda: {"nb": "text"}, min_length=1)
    parent: str | None = None  # the code of the broader code, for a hierarchical list


class CodeListOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Text = Field(min_length=1)
    description: Text = Field(default_factory=dict)
    identifier: str | None = None  # the list's own name (e.g. "ICD-10"); default: the source id
    uri: str | None = Field(default=None, pattern=r"^https?://")  # default: one the catalogue mints
    # A year ("2026") or a table {id, valid_from, valid_to, url}; none: one unversioned file.
    versions: list[Version | str] = Field(default_factory=list)
    format: Literal["json", "csv"] | None = None  # none: told by the file's first character
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    fields: Fields = Field(default_factory=Fields)

    @field_validator("versions")
    @classmethod
    def _years(cls, versions: list[Version | str]) -> list[Version | str]:
        for version in versions:
            if isinstance(version, str) and not (len(version) == 4 and version.isdigit()):
                raise ValueError(f"{version!r} is not a year: give a version that is not a year as "
                                 "a table with id and valid_from")
        ids = [v if isinstance(v, str) else v.id for v in versions]
        if len(set(ids)) < len(ids):
            raise ValueError("a version is listed twice")
        return versions


class CodeListHarvester:
    kind: ClassVar[str] = "codelist"

    def gather(self, ctx: HarvestContext) -> Iterator[Record]:
        options = parse_options(CodeListOptions, ctx)
        if options.versions and PLACEHOLDER not in ctx.url and not all(
                isinstance(v, Version) and v.url for v in options.versions):
            raise SourceError(f"source {ctx.source.id!r}, field 'url': with `versions`, the URL names "
                              f"each version's file with {PLACEHOLDER} (or each version its own url)")
        uri = options.uri or ctx.mint("codelist", ctx.source.id)
        identifier = options.identifier or ctx.source.id
        if not options.versions:
            record = Record(key=f"code list {identifier}")
            concepts = _concepts(ctx, options, ctx.url, uri, record.problems)
            to_graph(CodeList(uri=uri, identifier=identifier, title=options.title,
                              description=options.description, publisher=ctx.publisher.uri,
                              concepts=concepts), record.graph)
            yield record
            return
        versions = [_version_record(ctx, options, uri, identifier, spec)
                    for spec in _dated(options.versions)]
        whole = CodeList(uri=uri, identifier=identifier, title=options.title,
                         description=options.description, publisher=ctx.publisher.uri,
                         periods=merge_periods([p for v, _ in versions for p in v.periods]),
                         versions=[v.uri for v, _ in versions])
        record = Record(key=f"code list {identifier}")
        to_graph(whole, record.graph)
        yield record
        for _, record in versions:
            yield record

    def probe(self, ctx: HarvestContext) -> str:
        """For `catalogue sources check`: the newest version's file, read as a harvest reads it."""
        options = parse_options(CodeListOptions, ctx)
        url = _version_url(ctx, _dated(options.versions)[-1]) if options.versions else ctx.url
        problems: list[str] = []
        concepts = _concepts(ctx, options, url, "urn:probe", problems)
        if problems and not concepts:
            raise SourceError(problems[0])
        return f"{len(concepts)} codes in {url}" + (f" ({len(problems)} problems)" if problems else "")


def _dated(versions: list[Version | str]) -> list[Version]:
    """Every version with its validity, oldest first: a year's from 1 January to 31 December,
    but the latest version, if a year, open-ended: a code list stays in force until the next
    one replaces it."""
    dated = sorted((v if isinstance(v, Version) else Version(
        id=v, valid_from=date(int(v), 1, 1), valid_to=date(int(v), 12, 31)) for v in versions),
        key=lambda v: v.valid_from)
    if dated[-1].id in {v for v in versions if isinstance(v, str)}:
        dated[-1] = dated[-1].model_copy(update={"valid_to": None})
    return dated


def _version_url(ctx: HarvestContext, spec: Version) -> str:
    return urljoin(ctx.url, spec.url) if spec.url else ctx.url.replace(PLACEHOLDER, quote(spec.id, safe=""))


def _version_record(ctx: HarvestContext, options: CodeListOptions, list_uri: str, identifier: str,
                    spec: Version) -> tuple[CodeList, Record]:
    url = _version_url(ctx, spec)
    uri = f"{list_uri}/{quote(spec.id, safe='')}"
    record = Record(key=f"code list {identifier} version {spec.id}")
    version = CodeList(uri=uri, identifier=f"{identifier} {spec.id}",
                       title={lang: f"{text} {spec.id}" for lang, text in options.title.items()},
                       publisher=ctx.publisher.uri, version_label=spec.id,
                       periods=[Period(start=spec.valid_from, end=spec.valid_to)])
    concepts = _concepts(ctx, options, url, uri, record.problems)
    # The validity's blank node is named here, in the scheme's few triples, as the harvest
    # would name it: the harvest then need not go through the codes to find it.
    record.graph = stable_skolemize(to_graph(version), ctx.base_uri)
    for concept in concepts:
        to_graph(concept, record.graph)
    return version, record


def _concepts(ctx: HarvestContext, options: CodeListOptions, url: str, scheme: str,
              problems: list[str]) -> list[Concept]:
    """The codes of one file; what cannot be read is added to `problems`, naming the
    file, the row or item, and the field."""
    fetched = ctx.http.get(url)
    fields = options.fields
    rows = list(_rows(fetched.content, url, options))
    codes: dict[str, tuple[str, Text, str]] = {}  # code -> (where, label, parent)
    for where, row in rows:
        code = text_value(row.get(fields.code))
        if not code:
            problems.append(f"{url}: {where}, field {fields.code!r}: no code")
            continue
        if code in codes:
            problems.append(f"{url}: {where}, field {fields.code!r}: code {code!r} is listed twice "
                            f"(also at {codes[code][0]})")
            continue
        label = {lang: text for lang, key in fields.label.items() if (text := text_value(row.get(key)))}
        if not label:
            problems.append(f"{url}: {where}, field {next(iter(fields.label.values()))!r}: "
                            f"code {code!r} has no text")
        codes[code] = (where, label, text_value(row.get(fields.parent)) if fields.parent else "")
    concepts = []
    for code, (where, label, parent) in codes.items():
        if parent and parent not in codes:
            problems.append(f"{url}: {where}, field {fields.parent!r}: parent {parent!r} of code "
                            f"{code!r} is not a code of the list")
        concepts.append(Concept(uri=f"{scheme}/{quote(code, safe='')}", notation=code, label=label,
                                scheme=scheme,
                                broader=f"{scheme}/{quote(parent, safe='')}" if parent in codes else None))
    if not concepts and not problems:
        problems.append(f"{url}: the file lists no codes")
    return concepts


def _rows(content: bytes, url: str, options: CodeListOptions) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, row) for each code the file lists."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{url}: not UTF-8 text: {exc}") from None
    if (options.format or ("json" if text.lstrip()[:1] in ("[", "{") else "csv")) == "json":
        items = read_json(content, url)
        if not isinstance(items, list):
            raise SourceError(f"{url}: expected a JSON array of codes")
        for number, item in enumerate(items, start=1):
            yield f"item {number}", item if isinstance(item, dict) else {}
        return
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=options.delimiter)
    try:
        wanted = {options.fields.code, *options.fields.label.values(), options.fields.parent}
        missing = wanted - {None, *(reader.fieldnames or ())}
        if missing:
            raise SourceError(f"{url}: no column {', '.join(repr(m) for m in sorted(missing))} in the "
                              f"header ({', '.join(reader.fieldnames or ())})")
        for row in reader:
            yield f"row {reader.line_num}", row
    except csv.Error as exc:
        raise SourceError(f"{url}: not CSV: {exc}") from None
