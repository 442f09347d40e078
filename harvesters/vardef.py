"""`vardef`: SSB's Vardef API of variable definitions into variables with declared versions.

The source URL is the list endpoint (`https://metadata.ssb.no/public/variable-definitions`).
Each definition's validity periods (`<list>/<id>/validity-periods`) become its versions,
each pointing at the one before: the variable is valid over their union and carries
the texts of the latest. The public API renders every period at its latest patch and
lists no patches, so a version is one validity period (its `patch_id` in the label).

Texts are read both as Vardef renders them (a plain string in one language, bokmål
unless asked otherwise) and as Vardef stores them (a map {"nb": ..., "nn": ..., "en": ...}).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from functools import partial
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from catalogue.harvesters.base import (ConfiguredDataset, HarvestContext, Record, SourceError,
                                       input_text, parse_options, read_json, text_value)
from catalogue.harvesters.http import FetchError
from catalogue.model.models import Period, Text, Variable, VariableVersion, merge_periods
from catalogue.model.namespaces import KLASS
from catalogue.model.namespaces import EU_HEALTH
from catalogue.profiles.dcat_ap_no_3 import to_graph

# classification_uri as the public API gives it: https://www.ssb.no/en/klass/klassifikasjoner/91
KLASS_PAGE = re.compile(r"^https?://(?:www\.)?ssb\.no/(?:en/)?klass/klassifikasjoner/(\d+)/?$")
Status = Literal["DRAFT", "PUBLISHED_INTERNAL", "PUBLISHED_EXTERNAL"]


class VardefOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: ConfiguredDataset  # the one dataset all harvested definitions belong to
    status: list[Status] = Field(default_factory=lambda: ["PUBLISHED_EXTERNAL"], min_length=1)
    # The API renders texts in the language asked for (Accept-Language); each validity
    # period is read once per language and the texts merged. The first is required.
    languages: list[str] = Field(default_factory=lambda: ["nb"], min_length=1)
    # Subject field code (KLASS 618), or its area ("he" for "he04"), -> theme URI.
    themes: dict[str, str] = Field(default_factory=lambda: {"he": EU_HEALTH})
    # Code lists named as the klass harvester names them, so variables link to them.
    klass_uri: str = str(KLASS)


class VardefHarvester:
    kind: ClassVar[str] = "vardef"

    def gather(self, ctx: HarvestContext) -> Iterator[Record]:
        options = parse_options(VardefOptions, ctx)
        list_url = ctx.url.rstrip("/")
        definitions = _json_list(ctx, list_url, options.languages[0])
        spec = options.dataset
        dataset_uri = spec.uri(ctx)
        covered: list[Period] = []
        for number, item in enumerate(definitions, start=1):
            if not isinstance(item, dict):
                yield Record(key=f"variable definition number {number}",
                             problems=[f"{list_url}: item {number} is not a JSON object"])
                continue
            status = text_value(item.get("variable_status"))
            if status and status not in options.status:
                continue
            records, periods = _definition(ctx, options, list_url, number, item, dataset_uri)
            covered.extend(periods)
            yield from records
        yield spec.record(ctx, covered)

    def probe(self, ctx: HarvestContext) -> str:
        """For `catalogue sources check`: the list of variable definitions."""
        options = parse_options(VardefOptions, ctx)
        definitions = _json_list(ctx, ctx.url.rstrip("/"), options.languages[0])
        named = sum(1 for d in definitions if isinstance(d, dict) and d.get("id") and d.get("short_name"))
        if definitions and not named:
            raise SourceError(f"{ctx.url}: none of its {len(definitions)} items is a variable definition "
                              "(an object with 'id' and 'short_name')")
        # As a harvest holds back only the items it cannot read, so they do not fail the check.
        return f"{named} variable definitions" + (f", {len(definitions) - named} items without 'id' "
                                                  "or 'short_name'" if named < len(definitions) else "")


def _definition(ctx: HarvestContext, options: VardefOptions, list_url: str, number: int,
                item: dict, dataset_uri: str) -> tuple[list[Record], list[Period]]:
    """The variable record and its version records, and the periods it is valid in.
    A definition that cannot be read is one record with its problems."""
    vardef_id = text_value(item.get("id"))
    short_name = text_value(item.get("short_name"))
    where = f"variable definition {short_name or vardef_id or f'number {number}'}"
    record = Record(key=f"variable {short_name}" if short_name else where)
    required = {"id": vardef_id, "short_name": short_name,
                "variable_status": item.get("variable_status")}
    for field, value in required.items():
        if not value:
            record.problems.append(f"{where}: field '{field}' is missing")
    if record.problems:
        return [record], []
    url = f"{list_url}/{quote(vardef_id, safe='')}/validity-periods"
    first, *others = options.languages
    try:
        renderings = _json_list(ctx, url, first)
    except (FetchError, SourceError) as exc:
        record.problems.append(f"{where}: validity periods: {exc}")
        return [record], []
    translations, answers = {}, {first: renderings}
    for language in others:
        try:  # a translation that cannot be had leaves the texts it would have added out
            answer = answers[language] = _json_list(ctx, url, language)
        except (FetchError, SourceError):
            continue
        if answer != renderings:  # the same answer again is the default language, not a translation
            translations[language] = {r.get("valid_from"): r for r in answer if isinstance(r, dict)}
    variable_uri = ctx.mint("variable", vardef_id)
    versions = []
    for index, rendering in enumerate(renderings):
        field_where = f"{where}, validity period {index + 1} ({url})"
        if not isinstance(rendering, dict):
            record.problems.append(f"{field_where}: not a JSON object")
            continue
        renderings_by_language = {first: rendering, **{
            language: by_start[rendering.get("valid_from")] for language, by_start in translations.items()
            if rendering.get("valid_from") in by_start}}
        version = _version(options, variable_uri, renderings_by_language, field_where, record.problems)
        if version is not None:
            versions.append(version)
    if not renderings:
        record.problems.append(f"{where}: {url} lists no validity periods")
    if record.problems:
        return [record], []
    versions.sort(key=lambda v: v[0].valid[0].start)
    # Made only if the definition or its validity periods (in any language) changed.
    made_from = input_text(item, answers)
    records = []
    previous: str | None = None
    for version, _ in versions:
        version = version.model_copy(update={"previous": previous})
        previous = version.uri
        # Keyed by start date, not label: a new patch changes the version, not the record.
        records.append(Record(key=f"variable {short_name} version {version.valid[0].start}",
                              made_from=made_from, make=partial(to_graph, version)))
    latest, themes = versions[-1]
    periods = merge_periods([v.valid[0] for v, _ in versions])
    variable = Variable(uri=variable_uri, identifier=short_name, label=latest.label,
                        description=latest.description, dataset=dataset_uri,
                        representation=latest.representation, unit=latest.unit,
                        themes=themes, periods=periods)
    return [Record(key=record.key, made_from=made_from, make=partial(to_graph, variable)), *records], periods


def _version(options: VardefOptions, variable_uri: str, renderings: dict[str, dict], where: str,
             problems: list[str]) -> tuple[VariableVersion, list[str]] | None:
    """One validity period, rendered in one or more languages (the first is the one asked
    for first), as a version (not yet linked to its predecessor), with the themes of its
    subject fields; None after noting a problem."""
    rendering = next(iter(renderings.values()))

    def texts(field: str) -> Text:
        merged: Text = {}
        for language, answer in reversed(renderings.items()):  # the first language wins
            merged.update(_texts(answer.get(field), language))
        return merged

    try:
        start, end = _day(rendering, "valid_from"), _day(rendering, "valid_until")
        if start is None:
            raise ValueError("field 'valid_from' is missing")
        if end and end < start:
            raise ValueError(f"field 'valid_until' ({end}) is before 'valid_from' ({start})")
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
        return None
    period = Period(start=start, end=end)
    label = texts("name")
    if not label:
        problems.append(f"{where}: field 'name' has no text")
        return None
    patch = text_value(rendering.get("patch_id"))
    measurement = rendering.get("measurement_type")
    themes = sorted({options.themes[code] for field in rendering.get("subject_fields") or []
                     for code in _codes(field) if code in options.themes})
    version = VariableVersion(
        uri=f"{variable_uri}/version/{start.isoformat()}", variable=variable_uri,
        version=start.isoformat() + (f" (patch {patch})" if patch else ""),
        label=label, description=texts("definition"), valid=[period], notes=texts("comment"),
        representation=_classification(options, rendering),
        # Rendered references carry a title ("Antall"); a bare code says nothing to a reader.
        unit=(text_value(measurement.get("title")) or None)
        if isinstance(measurement, dict) else None)
    return version, themes


def _classification(options: VardefOptions, rendering: dict) -> str | None:
    """The KLASS code list URI, from Vardef's stored id ("91") or the public page URI."""
    reference = text_value(rendering.get("classification_reference"))
    uri = text_value(rendering.get("classification_uri"))
    if not reference and (match := KLASS_PAGE.match(uri)):
        reference = match[1]
    if reference:
        return f"{options.klass_uri}classifications/{quote(reference, safe='')}"
    return uri or None


def _codes(field: Any) -> list[str]:
    """A subject field's code and its area: 'he04' (or {"code": "he04"}) gives he04, he."""
    code = text_value(field.get("code") if isinstance(field, dict) else field)
    return [code, code[:2]] if len(code) > 2 else [code] if code else []


def _texts(value: Any, language: str) -> Text:
    if isinstance(value, dict):
        return {lang: text for lang, v in value.items() if (text := text_value(v))}
    text = text_value(value)
    return {language: text} if text else {}


def _day(rendering: dict, field: str) -> date | None:
    text = text_value(rendering.get(field))
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        raise ValueError(f"field {field!r}: cannot read {text!r} as a date (YYYY-MM-DD)") from None


def _json_list(ctx: HarvestContext, url: str, language: str | None = None) -> list:
    body = read_json(ctx.http.get(url, accept="application/json", language=language).content, url)
    if not isinstance(body, list):
        kind = "object" if isinstance(body, dict) else type(body).__name__
        raise SourceError(f"{url}: expected a JSON array of variable definitions, "
                          f"not a JSON {kind}")
    return body
