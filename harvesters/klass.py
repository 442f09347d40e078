"""`klass`: SSB's KLASS classification API into SKOS/XKOS code lists.

Each classification becomes a code list whose versions (one per validity period)
are code lists of their own, holding that version's codes. Per classification it reads
- `classifications/{id}` and each `versions/{id}` once per language, since KLASS answers
  in one language per request, and merges the texts;
- `classifications/{id}/codes?from=&to=` once per version, because a version's items carry
  no validity of their own while this answer does (a code added or ended within a version);
- `classifications/{id}/changes?from=&to=` once, for which code replaced which.

KLASS ranges are [from, to): a `validTo` is the first day something is no longer valid,
so a period ends the day before.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode, urljoin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalogue.harvesters.base import (HarvestContext, Record, SourceError, parse_options, read_json,
                                       text_value)
from catalogue.harvesters.http import FetchError
from catalogue.model.models import CodeList, Concept, Period, Text
from catalogue.model.namespaces import KLASS
from catalogue.profiles.dcat_ap_no_3 import to_graph

Language = Literal["nb", "nn", "en"]  # what KLASS's `language` parameter accepts


class KlassOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    classifications: list[str] = Field(min_length=1)
    # The first language is the one every version is read in; the others add their texts
    # where KLASS has published them.
    languages: list[Language] = Field(default=["nb", "nn", "en"], min_length=1)
    # Code lists are named by SSB's own URIs, whichever mirror they are fetched from.
    uri_base: str = str(KLASS)


class KlassHarvester:
    kind: ClassVar[str] = "klass"

    def gather(self, ctx: HarvestContext) -> Iterator[Record]:
        options = parse_options(KlassOptions, ctx)
        api = _Api(ctx, ctx.url.rstrip("/") + "/", options)
        for class_id in options.classifications:
            yield from _classification(api, class_id)

    def probe(self, ctx: HarvestContext) -> str:
        """For `catalogue sources check`: each configured classification, with its versions."""
        options = parse_options(KlassOptions, ctx)
        api = _Api(ctx, ctx.url.rstrip("/") + "/", options)
        found = []
        for class_id in options.classifications:
            url = urljoin(api.base, f"classifications/{class_id}")
            body = api.get(url, language=options.languages[0])
            if not isinstance(body.get("versions"), list) or not body.get("name"):
                raise SourceError(f"{url}: not a KLASS classification (no 'name' and 'versions')")
            found.append(f"{class_id} {text_value(body['name'])!r} ({len(body['versions'])} versions)")
        return "classifications " + ", ".join(found)


@dataclass
class _Api:
    ctx: HarvestContext
    base: str
    options: KlassOptions

    def get(self, path: str, **query: str) -> dict[str, Any]:
        """The JSON object at `path` (relative to the API or absolute) with `query` added."""
        url = urljoin(self.base, path.split("{")[0])  # a HAL href may be a URI template
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query)
        body = read_json(self.ctx.http.get(url, accept="application/json").content, url)
        if not isinstance(body, dict):
            raise SourceError(f"{url}: expected a JSON object")
        return body

    def in_languages(self, path: str, published: Any,
                     known: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
        """The resource in each wanted language KLASS says it has (`published`, when it
        says), adding to the answers already `known`; the first answer is the main one.
        Only that one must come: a translation that cannot be fetched (KLASS answers 404
        for a language it lacks) is left out rather than failing the source."""
        wanted = [lang for lang in self.options.languages
                  if not isinstance(published, list) or lang in published]
        bodies = dict(known or {})
        for lang in wanted or self.options.languages[:1]:
            if lang in bodies:
                continue
            if not bodies:
                bodies[lang] = self.get(path, language=lang)
                continue
            try:
                bodies[lang] = self.get(path, language=lang)
            except FetchError:
                continue
        return bodies


def _classification(api: _Api, class_id: str) -> Iterator[Record]:
    path = f"classifications/{class_id}"
    url = urljoin(api.base, path)
    first = api.get(url, language=api.options.languages[0])
    summaries = first.get("versions") or []
    # A classification is translated into the languages any of its versions is published in.
    published = (None if any(not isinstance(s.get("published"), list) for s in summaries)
                 else sorted({lang for s in summaries for lang in s["published"]}))
    bodies = api.in_languages(url, published, known={api.options.languages[0]: first})
    versions = []
    for summary in summaries:
        href = ((summary.get("_links") or {}).get("self") or {}).get("href")
        if not href:
            raise SourceError(f"{url}: classification {class_id}, version "
                              f"{summary.get('id')}: no _links.self.href")
        versions.append(_version(api, class_id, urljoin(url, href), summary.get("published")))
    versions = _link_changes(api, class_id, versions)

    classification = CodeList(
        uri=f"{api.options.uri_base}classifications/{class_id}", identifier=str(class_id),
        title=_texts(bodies, "name") or {api.options.languages[0]: f"KLASS {class_id}"},
        description=_texts(bodies, "description"), publisher=api.ctx.publisher.uri,
        periods=[p for v, _ in versions for p in v.periods], versions=[v.uri for v, _ in versions])
    # Each record is made from its code list alone, read from every answer it takes: one
    # whose list is the same as its stored version's is taken as stored.
    yield Record(key=f"classification {class_id}", made_from=classification.model_dump_json(),
                 make=partial(to_graph, classification))
    for version, problems in versions:
        yield Record(key=f"classification {class_id} version {version.identifier}", problems=problems,
                     made_from=version.model_dump_json(), make=partial(to_graph, version))


def _version(api: _Api, class_id: str, url: str, published: Any) -> tuple[CodeList, list[str]]:
    bodies = api.in_languages(url, published)
    body = next(iter(bodies.values()))
    version_id = text_value(body.get("id"))
    if not version_id:
        raise SourceError(f"{url}: classification {class_id} version has no id")
    where = f"classification {class_id} version {version_id}"
    problems: list[str] = []
    period = _period(body, f"{where}, field validFrom/validTo", problems)
    uri = f"{api.options.uri_base}versions/{version_id}"

    translated = {lang: {text_value(i.get("code")): i for i in b.get("classificationItems") or []}
                  for lang, b in bodies.items()}
    items = {}
    for n, item in enumerate(body.get("classificationItems") or [], start=1):
        code = text_value(item.get("code"))
        if not code:
            problems.append(f"{where}: classificationItems item {n} has no 'code'")
            continue
        items[code] = {lang: t[code] for lang, t in translated.items() if code in t}
    valid: dict[str, list[Period]] = defaultdict(list)
    if period and period.start:
        # Codes KLASS lists only here still belong to the version (one language is enough).
        for code, item, code_period in _codes(api, class_id, period, where, problems):
            items.setdefault(code, {next(iter(bodies)): item})
            valid[code].append(code_period)

    concepts = []
    for code, by_lang in items.items():
        parent = text_value(next(iter(by_lang.values())).get("parentCode"))
        concepts.append(Concept(
            uri=f"{uri}/codes/{code}", notation=code, scheme=uri,
            label=_texts(by_lang, "name"), notes=_texts(by_lang, "notes"),
            broader=f"{uri}/codes/{parent}" if parent in items else None,
            valid=sorted(valid[code], key=_start) if valid[code] != [period] else []))
    return CodeList(uri=uri, identifier=version_id, title=_texts(bodies, "name") or {
                        next(iter(bodies)): version_id},
                    description=_texts(bodies, "introduction"), publisher=api.ctx.publisher.uri,
                    periods=[period] if period else [],
                    version_label=text_value(body.get("name")) or None,
                    concepts=concepts), problems


def _codes(api: _Api, class_id: str, version: Period, where: str,
           problems: list[str]) -> Iterator[tuple[str, dict[str, Any], Period]]:
    """Each code KLASS lists for the version's range, with its validity within the version."""
    answer = api.get(f"classifications/{class_id}/codes", **_range(version),
                     language=api.options.languages[0])
    for entry in answer.get("codes") or []:
        code = text_value(entry.get("code"))
        own = _period(entry, f"{where}, code {code!r}, field validFrom/validTo", problems)
        if code and own:
            start = max(filter(None, (own.start, version.start)))
            ends = [d for d in (own.end, version.end) if d]
            if not ends or start <= min(ends):
                yield code, entry, Period(start=start, end=min(ends) if ends else None)


def _link_changes(api: _Api, class_id: str,
                  versions: list[tuple[CodeList, list[str]]]) -> list[tuple[CodeList, list[str]]]:
    """Versions whose codes say which code of the version before replaced them and which of
    the version after replaces them, as KLASS's `changes` lists.

    dct:replaces / dct:isReplacedBy rather than an XKOS correspondence table: KLASS gives
    plain old-code/new-code pairs between consecutive versions of one classification, and
    these two properties say that on the concepts themselves, where a reader of either
    version finds them, without a table resource to name and validate.
    """
    dated = [v for v, _ in versions if v.periods and v.periods[0].start]
    if len(dated) < 2:
        return versions
    answer = api.get(f"classifications/{class_id}/changes", **_range(Period(
        start=min(v.periods[0].start for v in dated),
        end=None if any(v.periods[0].end is None for v in dated)
        else max(v.periods[0].end for v in dated))))

    def concept(code: Any, day: date) -> str | None:
        for version in dated:
            period = version.periods[0]
            if period.start <= day and (period.end is None or day <= period.end):
                return next((c.uri for c in version.concepts if c.notation == text_value(code)), None)
        return None

    replaces, replaced_by = defaultdict(list), defaultdict(list)
    for change in answer.get("codeChanges") or []:
        try:
            day = _day(change.get("changeOccurred"))
        except ValueError:
            day = None
        if day is None:
            continue  # a change without a readable date cannot be placed between versions
        # A change with only an old or only a new code is a code ending or starting,
        # which the codes' own validity already says.
        old = concept(change.get("oldCode"), day - timedelta(days=1))
        new = concept(change.get("newCode"), day)
        if old and new:
            replaced_by[old].append(new)
            replaces[new].append(old)
    return [(version.model_copy(update={"concepts": [
                c.model_copy(update={"replaces": sorted(set(replaces[c.uri])),
                                     "replaced_by": sorted(set(replaced_by[c.uri]))})
                for c in version.concepts]}), problems)
            for version, problems in versions]


def _range(period: Period) -> dict[str, str]:
    """KLASS's `from`/`to` query for a period (`to` is the first day after it)."""
    query = {"from": period.start.isoformat()}
    if period.end:
        query["to"] = (period.end + timedelta(days=1)).isoformat()
    return query


def _period(body: dict[str, Any], where: str, problems: list[str]) -> Period | None:
    try:
        end = _day(body.get("validTo"))
        return Period(start=_day(body.get("validFrom")), end=end - timedelta(days=1) if end else None)
    except ValidationError as exc:
        problems.append(f"{where}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}")
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
    return None


def _texts(bodies: dict[str, dict[str, Any]], field: str) -> Text:
    """One field's text per language, from that language's answer."""
    return {lang: text for lang, body in bodies.items() if (text := text_value(body.get(field)))}


def _day(value: Any) -> date | None:
    text = text_value(value)
    return date.fromisoformat(text[:10]) if text else None


def _start(period: Period) -> date:
    return period.start or date.min
