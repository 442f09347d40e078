"""`json-api`: variable search APIs and metadata services that answer JSON pages
(helsedata.no's variable search, microdata.no's metadata service).

No code per API: the source's configuration says how to page, where the items
are in a page and where each field is in an item, as small paths:

    a.b.c       keys of nested objects
    a[].b       every element of the list `a`, then its key `b`
    a[k=v].b    the elements of the list `a` whose key `k` is `v`; microdata.no writes
                texts as [{languageCode, value}]: name[languageCode=no].value
    ""          the item (or the page) itself
    @file       the file name of the page's URL without extension (microdata.no's
                input metadata is named by its file)

A path gives every value it reaches; a list at its end counts as its elements.
Codes with validity dates make a versioned code list: one version per span of time
in which the set of valid codes stays the same (as KLASS versions are).
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache, partial
from pathlib import PurePosixPath
from typing import Annotated, Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlparse, urlunparse

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from catalogue.harvesters.base import (ConfiguredDataset, HarvestContext, Record, SourceError,
                                       input_text, parse_options, read_json, text_value)
from catalogue.harvesters.table import DEFAULT_VALUE_TYPES, parse_date
from catalogue.model.models import CodeList, Concept, Period, Text, Variable, merge_periods
from catalogue.profiles.dcat_ap_no_3 import to_graph

_STEP = re.compile(r"([^.\[\]]*)(\[(?:([^\]=]+)=([^\]]*))?\])?")
FILE_NAME = "@file"
ANY_DATASET = "*"  # the [[source.dataset]] that describes datasets the API names but the configuration does not


@lru_cache
def _steps(path: str) -> tuple[tuple[str, bool, str | None, str | None], ...]:
    """`path` as (key, over a list?, filter key, filter value) steps."""
    if path in ("", FILE_NAME):
        return ()
    steps = []
    for part in path.split("."):
        match = _STEP.fullmatch(part)
        if not part or not match:
            raise ValueError(f"path {path!r}: cannot read {part!r} (write a.b, a[].b or a[key=value].b)")
        steps.append((match[1], bool(match[2]), match[3], match[4]))
    return tuple(steps)


def _valid_path(path: str) -> str:
    _steps(path)
    return path


JsonPath = Annotated[str, AfterValidator(_valid_path)]


def walk(value: Any, path: str, url: str = "") -> list[Any]:
    """The values `path` reaches in `value` (lists at the end stay lists)."""
    if path == FILE_NAME:
        return [PurePosixPath(urlparse(url).path).stem]
    values = [value]
    for key, each, where_key, wanted in _steps(path):
        if key:
            values = [v[key] for v in values if isinstance(v, dict) and key in v]
        if each:
            values = [e for v in values if isinstance(v, list) for e in v if where_key is None
                      or (isinstance(e, dict) and text_value(e.get(where_key)) == wanted)]
    return values


def resolve(value: Any, path: str, url: str = "") -> list[Any]:
    return [e for v in walk(value, path, url) for e in (v if isinstance(v, list) else [v])]


class Paging(BaseModel):
    """How to get the next page; none of `next`, `page_param`, `offset_param`: one page.

    Paging stops at a page without items, without a next link, or (with `page_size`)
    with fewer items than a full page; a page that repeats an earlier one, or more
    than `max_pages` pages, fail the source rather than loop."""

    model_config = ConfigDict(extra="forbid")
    next: JsonPath | None = None       # path of the next page's link in the body
    page_param: str | None = None      # query parameter with the page number ...
    first_page: int = 0
    offset_param: str | None = None    # ... or with the offset of the page's first item
    size_param: str | None = None
    page_size: int | None = Field(default=None, gt=0)
    max_pages: int = Field(default=1000, gt=0)

    @model_validator(mode="after")
    def _one_way(self) -> "Paging":
        if sum(x is not None for x in (self.next, self.page_param, self.offset_param)) > 1:
            raise ValueError("give only one of next, page_param and offset_param")
        if (self.offset_param or self.size_param) and not self.page_size:
            raise ValueError("offset_param and size_param need page_size")
        return self


class Codes(BaseModel):
    """Where a variable's codes are (relative to the item) and each code's fields."""

    model_config = ConfigDict(extra="forbid")
    items: JsonPath
    code: JsonPath = "code"
    label: dict[str, JsonPath] = Field(default_factory=dict)  # language -> path
    valid_from: JsonPath | None = None
    valid_until: JsonPath | None = None  # the last day the code is valid
    value_types: list[str] = Field(default_factory=list)  # value types a coded variable may have


class Fields(BaseModel):
    """Where each field of a variable is, relative to its item."""

    model_config = ConfigDict(extra="forbid")
    name: JsonPath
    label: dict[str, JsonPath] = Field(min_length=1)  # language -> path
    description: dict[str, JsonPath] = Field(default_factory=dict)
    dataset: JsonPath | None = None        # the key of the item's [[source.dataset]]
    dataset_title: dict[str, JsonPath] = Field(default_factory=dict)  # for datasets made from "*"
    value_type: JsonPath | None = None
    unit: JsonPath | None = None
    start: JsonPath | None = None
    end: JsonPath | None = None            # empty: ongoing
    codes: Codes | None = None


class Checks(BaseModel):
    """What an item must look like; an item that fails is held back naming the field."""

    model_config = ConfigDict(extra="forbid")
    required: list[JsonPath] = Field(default_factory=list)
    allowed: dict[JsonPath, list[str]] = Field(default_factory=dict)   # path -> allowed values
    keys: dict[JsonPath, list[str]] = Field(default_factory=dict)      # path -> keys its objects may have


class JsonApiOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: JsonPath = ""
    paging: Paging = Field(default_factory=Paging)
    fields: Fields
    checks: Checks = Field(default_factory=Checks)
    dataset: list[ConfiguredDataset] = Field(min_length=1)
    value_types: dict[str, str | None] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _dataset_known(self) -> "JsonApiOptions":
        if self.fields.dataset is None and len(self.dataset) > 1:
            raise ValueError("fields.dataset is needed when more than one [[source.dataset]] is given")
        return self


class JsonApiHarvester:
    kind: ClassVar[str] = "json-api"

    def gather(self, ctx: HarvestContext) -> Iterator[Record]:
        options = parse_options(JsonApiOptions, ctx)
        run = _Run(ctx, options, datasets={spec.id: spec for spec in options.dataset}, value_types={
            **DEFAULT_VALUE_TYPES, **{k.lower(): v for k, v in options.value_types.items()}})
        for page, url, items in _pages(ctx, options):
            for number, item in enumerate(items, start=1):
                yield from _item_records(run, _Item(item, url, f"page {page}, item {number}"))
        for spec in run.datasets.values():
            if spec.id == ANY_DATASET:
                continue
            yield spec.record(ctx, run.covered.get(spec.id, []))

    def probe(self, ctx: HarvestContext) -> str:
        """For `catalogue sources check`: the first page has items, and its first item a name."""
        options = parse_options(JsonApiOptions, ctx)
        page = next(_pages(ctx, options), None)
        if page is None:
            return "no items on the first page"
        _, url, items = page
        if not any(text_value(v) for v in resolve(items[0], options.fields.name)):
            raise SourceError(f"{url}: the first item has nothing at fields.name {options.fields.name!r}")
        return f"{len(items)} items on the first page"


def _pages(ctx: HarvestContext, options: JsonApiOptions) -> Iterator[tuple[int, str, list[Any]]]:
    paging = options.paging
    url = ctx.url
    seen: dict[str, int] = {}  # a digest of a page's items -> its page number
    for page in range(1, paging.max_pages + 2):
        if page > paging.max_pages:
            raise SourceError(f"{ctx.url}: more than paging.max_pages = {paging.max_pages} pages")
        if paging.page_param or paging.offset_param:
            url = _with_query(ctx.url, paging, page)
        body = _json(ctx, url)
        found = walk(body, options.items)
        if page == 1 and not found:
            keys = sorted(body) if isinstance(body, dict) else type(body).__name__
            raise SourceError(f"{url}: no items at {options.items!r} (the page has {keys})")
        items = resolve(body, options.items)
        if not items:
            return
        digest = hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()
        if digest in seen:
            raise SourceError(f"{url}: page {page} repeats the items of page {seen[digest]} "
                              "(check the paging options)")
        seen[digest] = page
        yield page, url, items
        if paging.next:
            link = next((text_value(v) for v in resolve(body, paging.next) if text_value(v)), "")
            if not link:
                return
            url = urljoin(url, link)
        elif not (paging.page_param or paging.offset_param):
            return
        elif paging.page_size and len(items) < paging.page_size:
            return


def _with_query(url: str, paging: Paging, page: int) -> str:
    parts = urlparse(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if paging.page_param:
        query.append((paging.page_param, str(paging.first_page + page - 1)))
    else:
        query.append((paging.offset_param, str((page - 1) * paging.page_size)))
    if paging.size_param:
        query.append((paging.size_param, str(paging.page_size)))
    return urlunparse(parts._replace(query=urlencode(query)))


def _json(ctx: HarvestContext, url: str) -> Any:
    return read_json(ctx.http.get(url, accept="application/json").content, url)


class _Item:
    """One item of a page, read through the mapping; what cannot be read goes to `problems`."""

    def __init__(self, value: Any, url: str, where: str):
        self.value, self.url, self.where = value, url, where
        self.problems: list[str] = []

    def text(self, path: str | None, value: Any = None) -> str:
        if path is None:
            return ""
        for found in resolve(self.value if value is None else value, path, self.url):
            if isinstance(found, (dict, list)):
                self.problems.append(f"{self.where}, field {path!r}: expected text, found "
                                     f"{'an object' if isinstance(found, dict) else 'a list'}")
                return ""
            if text := text_value(found):
                return text
        return ""

    def texts(self, paths: dict[str, str], value: Any = None) -> Text:
        return {lang: text for lang, path in paths.items() if (text := self.text(path, value))}

    def day(self, path: str | None, end: bool, value: Any = None, place: str = "") -> date | None:
        try:
            return parse_date(self.text(path, value), end=end)
        except ValueError as exc:
            self.problems.append(f"{self.where}, field {place or path!r}: {exc}")
            return None

    def check(self, checks: Checks) -> None:
        for path in checks.required:
            if not any(v not in (None, "", [], {}) for v in resolve(self.value, path)):
                self.problems.append(f"{self.where}: field {path!r} is missing")
        for path, allowed in checks.allowed.items():
            for found in resolve(self.value, path):
                if text_value(found) not in allowed:
                    self.problems.append(f"{self.where}, field {path!r}: {text_value(found)!r} "
                                         f"is not one of {', '.join(allowed)}")
        for path, keys in checks.keys.items():
            for found in resolve(self.value, path):
                for key in sorted(set(found) - set(keys)) if isinstance(found, dict) else ():
                    self.problems.append(f"{self.where}, field {path or '(item)'!r}: unknown key "
                                         f"{key!r} (known: {', '.join(keys)})")


@dataclass
class _Run:
    """One harvest of a source: what its items add up to."""

    ctx: HarvestContext
    options: JsonApiOptions
    datasets: dict[str, ConfiguredDataset]
    value_types: dict[str, str | None]
    covered: dict[str, list[Period]] = field(default_factory=dict)  # dataset id -> variable periods
    seen: dict[str, str] = field(default_factory=dict)  # record key -> where it was first


def _item_records(run: _Run, item: _Item) -> Iterator[Record]:
    ctx, fields, where = run.ctx, run.options.fields, item.where
    item.check(run.options.checks)
    name = item.text(fields.name)
    if not name:
        item.problems.append(f"{where}: field {fields.name!r} (the variable's name) is missing")
    spec = _dataset(item, fields, run.datasets)
    dataset_id = spec.id if spec else "?"
    key = f"variable {name} (dataset {dataset_id})" if name else f"{where} (no name)"
    if key in run.seen:  # a key of its own, or the gate would hold back the first one too
        item.problems.append(f"{where}: variable {name} is listed again (first at {run.seen[key]})")
        key = f"{key} again at {where}"
    run.seen.setdefault(key, where)
    label = item.texts(fields.label)
    if name and not label:
        item.problems.append(f"{where}: variable {name}: no label at {list(fields.label.values())}")
    start, end = item.day(fields.start, end=False), item.day(fields.end, end=True)
    periods = []
    if start or end:
        try:
            periods.append(Period(start=start, end=end))
        except ValueError as exc:
            item.problems.append(f"{where}, field {fields.end!r}: {exc}")
    type_text = item.text(fields.value_type)
    representation = None
    if type_text:
        if type_text.lower() not in run.value_types:
            item.problems.append(f"{where}, field {fields.value_type!r}: unknown value type "
                                 f"{type_text!r} (known: {', '.join(sorted(run.value_types))})")
        representation = run.value_types.get(type_text.lower())
    code_lists = _code_lists(ctx, item, fields, dataset_id, name, label, type_text) if name else []
    if item.problems:
        yield Record(key=key, problems=item.problems)
        return
    run.covered.setdefault(dataset_id, []).extend(periods)
    variable = Variable(uri=ctx.mint("variable", dataset_id, name), identifier=name, label=label,
                        description=item.texts(fields.description),
                        dataset=ctx.mint("dataset", dataset_id),
                        representation=code_lists[0].uri if code_lists else representation,
                        unit=item.text(fields.unit) or None, periods=periods)
    # Made only if the item changed: its records read nothing else but the configuration, and
    # the file name of its page (a path may read it: @file), not where on which page it is.
    made_from = input_text(item.value, walk(None, FILE_NAME, item.url))
    yield Record(key=key, made_from=made_from, make=partial(to_graph, variable))
    for code_list in code_lists:
        version = f" version {code_list.version_label}" if code_list.version_label else ""
        yield Record(key=f"code list of {name} (dataset {dataset_id}){version}", made_from=made_from,
                     make=partial(to_graph, code_list))


def _dataset(item: _Item, fields: Fields, datasets: dict[str, ConfiguredDataset]) -> ConfiguredDataset | None:
    """The item's dataset; one the configuration does not name is described by "*"."""
    if fields.dataset is None:
        return next(iter(datasets.values()))
    key = item.text(fields.dataset)
    if not key:
        item.problems.append(f"{item.where}: field {fields.dataset!r} (the dataset) is missing")
        return None
    if key not in datasets and ANY_DATASET in datasets:
        template = datasets[ANY_DATASET]
        datasets[key] = template.model_copy(update={
            "id": key, "title": item.texts(fields.dataset_title) or {"nb": key}})
    if key not in datasets:
        item.problems.append(f"{item.where}, field {fields.dataset!r}: dataset {key!r} is not one "
                             f"of the configured [[source.dataset]] ids ({', '.join(datasets)})")
        return None
    return datasets[key]


def _code_lists(ctx, item: _Item, fields: Fields, dataset_id: str, name: str, label: Text,
                type_text: str) -> list[CodeList]:
    """The variable's code list, then its versions (none when no code has validity dates)."""
    spec = fields.codes
    if spec is None or not (found := walk(item.value, spec.items)):
        return []
    codes = [c for v in found for c in (v if isinstance(v, list) else [v])]
    if not codes:
        item.problems.append(f"{item.where}, field {spec.items!r}: the code list is empty")
        return []
    if spec.value_types and type_text not in spec.value_types:
        item.problems.append(f"{item.where}, field {fields.value_type!r}: a variable of type "
                             f"{type_text!r} cannot have a code list (allowed: {', '.join(spec.value_types)})")
    read = []  # (code, label, validity)
    for number, code_item in enumerate(codes, start=1):
        place = f"{spec.items}[{number}]"
        code = item.text(spec.code, code_item)
        if not code:
            item.problems.append(f"{item.where}, field {place}.{spec.code}: a code without its value")
            continue
        start = item.day(spec.valid_from, False, code_item, f"{place}.{spec.valid_from}")
        end = item.day(spec.valid_until, True, code_item, f"{place}.{spec.valid_until}")
        try:
            read.append((code, item.texts(spec.label, code_item), Period(start=start, end=end)))
        except ValueError as exc:
            item.problems.append(f"{item.where}, field {place}.{spec.valid_until}: {exc}")
    uri = ctx.mint("codelist", dataset_id, name)
    title = label or {"nb": name}
    versions = []
    for span in _spans([valid for _, _, valid in read]):
        since = span.start.isoformat() if span.start else "start"
        version_uri = f"{uri}/{since}"
        versions.append(CodeList(
            uri=version_uri, identifier=f"{name} {since}", title=title,
            publisher=ctx.publisher.uri, periods=[span], version_label=since,
            concepts=[Concept(uri=f"{version_uri}/{quote(code, safe='')}", notation=code,
                              label=text, scheme=version_uri)
                      for code, text, valid in read if _within(span, valid)]))
    whole = CodeList(uri=uri, identifier=f"{dataset_id}/{name}", title=title, publisher=ctx.publisher.uri,
                     periods=merge_periods([p for v in versions for p in v.periods]),
                     versions=[v.uri for v in versions],
                     concepts=[] if versions else [Concept(uri=f"{uri}/{quote(code, safe='')}",
                                                           notation=code, label=text, scheme=uri)
                                                   for code, text, _ in read])
    return [whole, *versions]


def _spans(validities: list[Period]) -> list[Period]:
    """Time cut wherever a code starts or stops being valid; spans in which no code is
    valid are gaps, not versions. None at all when no code has a date."""
    cuts = sorted({p.start for p in validities if p.start}
                  | {p.end + timedelta(days=1) for p in validities if p.end})
    if not cuts:
        return []
    day = timedelta(days=1)
    spans = [Period(end=cuts[0] - day), *(Period(start=a, end=b - day) for a, b in zip(cuts, cuts[1:])),
             Period(start=cuts[-1])]
    return [s for s in spans if any(_within(s, v) for v in validities)]


def _within(span: Period, valid: Period) -> bool:
    return ((valid.start is None or (span.start is not None and valid.start <= span.start))
            and (valid.end is None or (span.end is not None and span.end <= valid.end)))
