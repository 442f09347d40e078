"""What every harvester shares: the record it yields, its context, its failure."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rdflib import Graph

from catalogue.harvesters.http import Fetcher, FetchError
from catalogue.model.ids import slug
from catalogue.model.models import Agent, ContactPoint, Dataset, Period, Text, merge_periods
from catalogue.profiles.dcat_ap_no_3 import to_graph
from catalogue.sources import SourceConfig


class SourceError(Exception):
    """The whole source could not be read; its last good graph stays in place."""


# JSON nested deeper than this is refused before it is parsed: Python's parser recurses,
# and no API a harvester reads nests a tenth as deep.
MAX_JSON_DEPTH = 100
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def read_json(content: bytes, where: str) -> Any:
    """The JSON document `content`, or a SourceError naming `where` (its URL): not JSON, or
    nested deeper than MAX_JSON_DEPTH (measured on its brackets outside strings, unparsed)."""
    try:
        text = content.decode(json.detect_encoding(content))
    except UnicodeDecodeError as exc:
        raise SourceError(f"{where}: not JSON: {exc}") from None
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > MAX_JSON_DEPTH:
        raise SourceError(f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except ValueError as exc:  # names line and column
        raise SourceError(f"{where}: not JSON: {exc}") from None


NOT_THERE = {404, 410}  # statuses of a document a server does not have (any more)


def record_json(http: Fetcher, url: str, problems: list[str], where: str, language: str | None = None) -> Any:
    """A JSON document one record is built from. One the server does not have, or that is
    not JSON, is a problem of that record (added to `problems`, and None returned); any
    other failure (no answer, a server error, a limit) is raised, and fails the source."""
    try:
        return read_json(http.get(url, accept="application/json", language=language).content, url)
    except FetchError as exc:
        if exc.status not in NOT_THERE:
            raise
        problems.append(f"{where}: {exc}")
    except SourceError as exc:
        problems.append(f"{where}: {exc}")
    return None


@dataclass
class Record:
    """One harvested resource (a dataset, a variable, a code list ...) as its own graph.

    `problems` are what the harvester itself could not read (a bad date in row 17, say);
    a record with problems is held back without being validated.

    A harvester that can tell what a record is made from gives that as `made_from` (its
    rows' cells, say: everything its graph depends on besides the source's configuration,
    publisher and base URI) and, instead of the graph, `make`, which adds it to a graph. A
    harvest that meets the same input as a stored version's takes that version as it is,
    and makes only the records whose input changed.
    """

    key: str
    graph: Graph | None = None  # none given: an empty graph to add to, or, with `make`, none until it is made
    problems: list[str] = field(default_factory=list)
    made_from: str | None = None
    make: Callable[[Graph], object] | None = None

    def __post_init__(self):
        if self.graph is None and self.make is None:
            self.graph = Graph()


def input_text(*parts: Any) -> str:
    """What a record is made from (Record.made_from) as one text: the same input gives the
    same text in every process (keys sorted: a dict's order may come from a set's)."""
    return json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)


@dataclass
class HarvestContext:
    source: SourceConfig
    url: str  # the source's URL with any placeholder resolved
    publisher: Agent
    base_uri: str
    http: Fetcher

    def mint(self, kind: str, *parts: str) -> str:
        """A stable URI for a resource this catalogue names itself."""
        return f"{self.base_uri}id/{kind}/{self.source.id}/" + "/".join(slug(p) for p in parts)


class Harvester(Protocol):
    kind: ClassVar[str]

    def gather(self, ctx: HarvestContext) -> Iterator[Record]: ...

    def probe(self, ctx: HarvestContext) -> str:
        """For `catalogue sources check`: ask the source what a harvest would (one or a few
        requests) and say what was found; raise as `gather` would where the answer is not of
        the kind's shape."""


class ConfiguredDataset(BaseModel):
    """A dataset described in the source's configuration, for formats that list variables
    but carry no dataset metadata (spreadsheets, Vardef, JSON variable APIs)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    title: Text
    description: Text
    themes: list[str]
    contact: ContactPoint
    keywords: list[str] = Field(default_factory=list)
    access_rights: str | None = None
    landing_page: str | None = None
    sheets: list[str] = Field(default_factory=list)  # XLSX sheets of this dataset; none = all
    same_as: str | None = Field(default=None, pattern=r"^https?://\S+$")  # the URI of the same register from another source

    def uri(self, ctx: HarvestContext) -> str:
        return ctx.mint("dataset", self.id)

    def record(self, ctx: HarvestContext, covered: list[Period]) -> Record:
        """The dataset's record, its coverage the periods of its variables."""
        dataset = Dataset(uri=self.uri(ctx), identifier=self.id, title=self.title,
                          description=self.description, publisher=ctx.publisher.uri,
                          contact=self.contact, themes=self.themes, keywords=self.keywords,
                          periods=merge_periods(covered), access_rights=self.access_rights,
                          landing_page=self.landing_page, same_as=self.same_as)
        record = Record(key=f"dataset {self.id}")
        to_graph(dataset, record.graph)
        to_graph(ctx.publisher, record.graph)
        return record


OptionsT = TypeVar("OptionsT", bound=BaseModel)


def parse_options(model: type[OptionsT], ctx: HarvestContext) -> OptionsT:
    """The source's kind-specific options, or a SourceError naming the bad field."""
    try:
        return model.model_validate(ctx.source.options)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise SourceError(f"options of kind {ctx.source.kind!r}: {problems}") from None


def text_value(value: Any) -> str:
    """A spreadsheet or JSON cell as trimmed text ('' for empty)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()
