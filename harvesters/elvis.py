"""`elvis`: Kreftregisteret's variable catalogue ELVIS (metadata.kreftregisteret.no).

The source URL is the REST base of the variables (`https://metadata.kreftregisteret.no/rest/v1/variables`).
It is read as Kreftregisteret's public web clients read it: `<base>/:filtered` answers
`{"backendSearchTime": ..., "variableList": [...]}` with every variable, `<base>/{id}` one
variable's details, and `<base>/:filtered?latestSearchTime=<time>` the variables changed since
a time. No answer of the API has been published: this is written against the shape its
clients show, not against a captured answer.

Incremental harvests are done here, with the HTTP cache alone: the harvest machinery hands a
harvester neither the time of the last good harvest nor a way to say "keep these records as
they are". So every harvest reads the full list and yields every variable, and a variable's
details come from the cache (no request) when the cache holds the list of the previous
harvest (its `backendSearchTime`), the details read then, and neither the list's
`version`/`updatedOn` of the variable nor `:filtered?latestSearchTime=` says it changed.
A server that sends no ETag or Last-Modified leaves nothing in the cache, and then every
detail is read again.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from rdflib import Graph

from catalogue.harvesters.base import (ConfiguredDataset, HarvestContext, Record, SourceError,
                                       input_text, parse_options, read_json, record_json, text_value)
from catalogue.harvesters.http import FetchError
from catalogue.harvesters.table import DEFAULT_VALUE_TYPES, XSD
from catalogue.model.models import CodeList, Concept, Period, Text, Variable, VariableVersion
from catalogue.profiles.dcat_ap_no_3 import to_graph

# ELVIS's data type names (`dataType.name`, else `.nameEn`, lower case) besides the table kind's.
VALUE_TYPES = {**DEFAULT_VALUE_TYPES, "text": f"{XSD}string", "tekst": f"{XSD}string",
               "number": f"{XSD}decimal", "numeric": f"{XSD}decimal", "numerisk": f"{XSD}decimal",
               "datetime": f"{XSD}dateTime", "dato og tid": f"{XSD}dateTime",
               "kodeverk": None, "codelist": None, "code list": None}


class ElvisOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: ConfiguredDataset  # the dataset all variables belong to
    data_types: dict[str, str] = Field(default_factory=dict)  # ELVIS data type name -> XSD type URI


class ElvisHarvester:
    kind: ClassVar[str] = "elvis"

    def gather(self, ctx: HarvestContext) -> Iterator[Record]:
        options = parse_options(ElvisOptions, ctx)
        base = ctx.url.rstrip("/")
        list_url = f"{base}/:filtered"
        earlier = ctx.http.cached(list_url)  # the previous harvest's list, if the cache kept it
        listing = _listing(read_json(ctx.http.get(list_url, accept="application/json").content, list_url),
                           list_url)
        changed = _changed(ctx, base, list_url, earlier)
        types = {**VALUE_TYPES, **{k.lower(): v for k, v in options.data_types.items()}}
        dataset_uri = options.dataset.uri(ctx)
        categories: dict[str, Concept] = {}
        covered: list[Period] = []
        names: dict[str, str] = {}  # techName -> where it was listed first
        for number, item in enumerate(listing, start=1):
            place = f"{list_url}, item {number}"
            elvis_id, name = text_value(_get(item, "id")), text_value(_get(item, "techName"))
            record = Record(key=f"variable {name}" if name else f"variable at {place}")
            if not (elvis_id and name):
                record.problems.append(f"{place}: field 'id' or 'techName' is missing")
                yield record
                continue
            if not elvis_id.isdigit():  # ELVIS numbers its variables; anything else makes no path
                record.problems.append(f"{place}: field 'id' is {elvis_id!r}, not a number")
                yield record
                continue
            if name in names:
                yield Record(key=f"variable {name} again at {place}", problems=[
                    f"{place}: variable {name} is listed again (first at {names[name]})"])
                continue
            names[name] = place
            detail = _detail(ctx, base, elvis_id, item, changed, record.problems, f"variable {name}")
            if detail is None:
                yield record
                continue
            variable = _Variable(ctx, types, dataset_uri, name, detail, record.problems)
            variable.fill(record, categories)
            if not record.problems:
                covered.extend(variable.periods)
            yield record
        if categories:
            yield _categories(ctx, categories)
        yield options.dataset.record(ctx, covered)

    def probe(self, ctx: HarvestContext) -> str:
        """For `catalogue sources check`: the list of variables, each with its `techName`."""
        parse_options(ElvisOptions, ctx)
        list_url = f"{ctx.url.rstrip('/')}/:filtered"
        listing = _listing(read_json(ctx.http.get(list_url, accept="application/json").content, list_url),
                           list_url)
        if not all(isinstance(item, dict) and text_value(_get(item, "techName")) for item in listing):
            raise SourceError(f"{list_url}: expected every item of 'variableList' to have a 'techName'")
        return f"{len(listing)} variables"


def _listing(body: Any, url: str) -> list:
    variables = body.get("variableList") if isinstance(body, dict) else None
    if not isinstance(variables, list):
        raise SourceError(f"{url}: expected a JSON object with a list 'variableList'")
    return variables


def _changed(ctx: HarvestContext, base: str, list_url: str, earlier: bytes | None) -> set[str] | None:
    """The ids of the variables changed since the previous harvest's list was answered, or
    None when that is not known: no earlier list kept, one without `backendSearchTime`, or a
    server that refuses the question (an HTTP error other than a transient one)."""
    try:
        since = text_value(_get(read_json(earlier, list_url), "backendSearchTime")) if earlier else ""
    except SourceError:  # a damaged cached body only costs reading every detail again
        since = ""
    if not since:
        return None
    url = f"{base}/:filtered?latestSearchTime={quote(since, safe='')}"
    try:
        answer = ctx.http.get(url, accept="application/json")
    except FetchError as exc:
        if exc.status is None:  # no answer, or a server error after retries: the source fails
            raise
        return None
    return {text_value(_get(v, "id")) for v in _listing(read_json(answer.content, url), url)}


def _detail(ctx: HarvestContext, base: str, elvis_id: str, item: Any, changed: set[str] | None,
            problems: list[str], where: str) -> dict | None:
    """The variable's details: kept from the previous harvest when nothing says they changed,
    else read. One the API does not have, or that is not a JSON object, is a problem of the
    variable's record; any other failure (no answer, a server error) fails the source."""
    url = f"{base}/{quote(elvis_id, safe='')}"
    if changed is not None and elvis_id not in changed and (kept := ctx.http.cached(url)) is not None:
        try:
            detail = read_json(kept, url)
        except SourceError:
            detail = None
        if isinstance(detail, dict) and all(text_value(detail.get(k)) == text_value(_get(item, k))
                                            for k in ("id", "version", "updatedOn")):
            return detail
    detail = record_json(ctx.http, url, problems, where)
    if detail is None:
        return None
    if not isinstance(detail, dict):
        problems.append(f"{where}: {url}: expected a JSON object")
        return None
    if text_value(detail.get("id")) != elvis_id:
        problems.append(f"{where}: {url} describes variable {detail.get('id')!r}, not {elvis_id}")
        return None
    return detail


class _Variable:
    """One variable's details as a variable, its current version (with its status) and its
    code list, noting what cannot be read in `problems`."""

    def __init__(self, ctx: HarvestContext, types: dict[str, str | None], dataset_uri: str,
                 name: str, detail: dict, problems: list[str]):
        self.ctx, self.name, self.detail, self.problems = ctx, name, detail, problems
        self.where = f"variable {name} ({ctx.url.rstrip('/')}/{detail.get('id')})"
        self.uri = ctx.mint("variable", name)
        self.dataset_uri = dataset_uri
        start, end = self._day("validFrom"), self._day("validTo")
        self.periods: list[Period] = []
        if start and end and end < start:
            problems.append(f"{self.where}, field 'validTo': {end} is before 'validFrom' ({start})")
        elif start or end:
            self.periods = [Period(start=start, end=end)]
        self.code_list = self._code_list()
        self.representation = self.code_list.uri if self.code_list else self._data_type(types)

    def fill(self, record: Record, categories: dict[str, Concept]) -> None:
        """The variable, its code list and its current version, in one record (a variable held
        back later keeps all three as they were), made (`_add`) only where its details are new."""
        label = self._texts("name", "nameEn")
        if not label:
            self.problems.append(f"{self.where}: fields 'name' and 'nameEn' are both empty")
        category = self._category(categories)
        if self.problems:
            return
        # Made only if the details changed: the record reads nothing else but the configuration.
        record.made_from = input_text(self.name, self.detail)
        record.make = partial(self._add, label, category)

    def _add(self, label: Text, category: str | None, graph: Graph) -> None:
        description = self._texts("description", "descriptionEn")
        to_graph(Variable(uri=self.uri, identifier=self.name, label=label, description=description,
                          dataset=self.dataset_uri, representation=self.representation,
                          themes=[category] if category else [], periods=self.periods), graph)
        if self.code_list:
            to_graph(self.code_list, graph)
        # ELVIS gives a variable's current version only, with its status ("Active", ...): the
        # history shows the step from one version and status to the next.
        version = text_value(self.detail.get("version")) or "current"
        status = self._texts(("status", "name"), ("status", "nameEn"))
        status_label = status.get("en") or status.get("nb")
        to_graph(VariableVersion(
            uri=f"{self.uri}/version/{quote(version, safe='')}", variable=self.uri,
            version=f"{version} ({status_label})" if status_label else version, label=label,
            description=description, valid=self.periods, representation=self.representation),
            graph)

    def _texts(self, nb: str | tuple[str, str], en: str | tuple[str, str]) -> Text:
        texts = {}
        for language, path in (("nb", nb), ("en", en)):
            value = self.detail
            for key in (path,) if isinstance(path, str) else path:
                value = _get(value, key)
            if text := text_value(value):
                texts[language] = text
        return texts

    def _day(self, field: str, values: Any = None, where: str | None = None) -> date | None:
        text = text_value(_get(self.detail if values is None else values, field))
        try:  # "2010-01-01", or a timestamp "2010-01-01T00:00:00" / "2010-01-01 00:00:00.000"
            return date.fromisoformat(text[:10]) if text else None
        except ValueError:
            self.problems.append(f"{where or self.where}, field {field!r}: cannot read {text!r} "
                                 "as a date (YYYY-MM-DD)")
            return None

    def _data_type(self, types: dict[str, str | None]) -> str | None:
        names = [n for key in ("name", "nameEn") if (n := text_value(_get(self.detail.get("dataType"), key)))]
        for name in names:
            if name.lower() in types:
                return types[name.lower()]
        if names:
            self.problems.append(f"{self.where}, field 'dataType': unknown data type "
                                 f"{' / '.join(map(repr, names))}; name it in the source's data_types")
        return None

    def _code_list(self) -> CodeList | None:
        """The variable's values (`values[]`: `code`, `name`, `nameEn`, `validFrom`, `validTo`)
        as its own code list, each code with its validity."""
        values = self.detail.get("values")
        if not values:
            return None
        if not isinstance(values, list):
            self.problems.append(f"{self.where}, field 'values': not a list")
            return None
        uri = self.ctx.mint("codelist", self.name)
        concepts = []
        for number, value in enumerate(values, start=1):
            where = f"{self.where}, value {number}"
            code = text_value(_get(value, "code"))
            if not code:
                self.problems.append(f"{where}: field 'code' is missing")
                continue
            start = self._day("validFrom", value, where)
            end = self._day("validTo", value, where)
            if start and end and end < start:
                self.problems.append(f"{where}, field 'validTo': {end} is before 'validFrom' ({start})")
                continue
            concepts.append(Concept(
                uri=f"{uri}/{quote(code, safe='')}", notation=code, scheme=uri,
                label={lang: t for lang, key in (("nb", "name"), ("en", "nameEn"))
                       if (t := text_value(value.get(key)))},
                valid=[Period(start=start, end=end)] if start or end else []))
        title = {lang: f"{text} ({self.name})" for lang, text in self._texts("name", "nameEn").items()}
        return CodeList(uri=uri, identifier=self.name, title=title or {"nb": self.name},
                        publisher=self.ctx.publisher.uri, concepts=concepts)

    def _category(self, categories: dict[str, Concept]) -> str | None:
        """The variable's category as a concept of the source's category scheme (and its
        parent category, where ELVIS names one)."""
        category = self.detail.get("category")
        if not isinstance(category, dict):
            return None
        parent = category.get("parent")
        broader = _concept(self.ctx, parent, categories) if isinstance(parent, dict) else None
        return _concept(self.ctx, category, categories, broader)


def _concept(ctx: HarvestContext, category: dict, categories: dict[str, Concept],
             broader: str | None = None) -> str | None:
    category_id = text_value(category.get("id"))
    if not category_id:
        return None
    scheme = ctx.mint("structure", "categories")
    uri = f"{scheme}/{quote(category_id, safe='')}"
    label = {lang: t for lang, key in (("nb", "name"), ("en", "nameEn"))
             if (t := text_value(category.get(key)))}
    categories.setdefault(uri, Concept(uri=uri, notation=category_id, scheme=scheme,
                                       label=label or {"nb": category_id}, broader=broader))
    return uri


def _categories(ctx: HarvestContext, categories: dict[str, Concept]) -> Record:
    record = Record(key="categories")
    to_graph(CodeList(uri=ctx.mint("structure", "categories"), identifier="categories",
                      title={"nb": "Kategorier i ELVIS", "en": "Categories in ELVIS"},
                      publisher=ctx.publisher.uri, concepts=list(categories.values())), record.graph)
    return record




def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None
