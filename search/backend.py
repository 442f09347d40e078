"""What every search backend offers."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from catalogue.model.models import Period, Text

from catalogue.search.analysis import Segments
from catalogue.search.documents import VariableDoc, VariableSummary
from catalogue.search.query import Query, Via

# Facets every backend counts, in the order the explorer shows them (values: VariableDoc.facet_values).
FACETS = ("source", "publisher", "dataset", "theme", "value_type", "access_rights", "has_code_list",
          "decade")
# What a query may filter on: the facets, and the code list a variable uses (too many values to count).
FILTERS = (*FACETS, "code_list")


class FacetValue(BaseModel):
    value: str
    count: int
    label: Text = Field(default_factory=dict)  # empty where the site names the value itself
    group: str | None = None  # a source's holder: the publisher facet value it is listed under


def facet_labels(doc: VariableDoc) -> Iterator[tuple[str, str, Text]]:
    """The display names a document gives its facet values."""
    yield "source", doc.source, {"nb": doc.source_name}
    yield "publisher", doc.publisher, doc.publisher_name
    yield "dataset", doc.dataset, doc.dataset_title
    if doc.code_list:
        yield "code_list", doc.code_list, doc.code_list_title
    for theme in doc.themes:
        yield "theme", theme, doc.theme_labels.get(theme, {})




class Hit(VariableSummary):
    """A result: the variable, and its label and description (per language) with the
    words that matched the query marked; the description cut to a window around them. Read
    from a stored document, its codes are skipped: a variable coded with ICD-10 carried 2,000
    of them, 90 kB a hit, in every search for a diagnosis."""

    highlight: dict[str, dict[str, Segments]] = Field(default_factory=dict)
    via: list[Via] = Field(default_factory=list)  # the concepts of its code list the query matched


def hit(found: Hit, query: Query, **highlight: dict[str, Segments]) -> Hit:
    """`found` (as read from the index) as a hit of `query`: its marked words, and through
    which concept of its code list it was found."""
    found.highlight = highlight
    found.via = [v for v in query.via if v.code_list == found.code_list]
    return found


class Page(BaseModel):
    items: list[Hit]
    total: int
    facets: dict[str, list[FacetValue]]


class Suggestion(BaseModel):
    kind: Literal["variable", "dataset", "source", "code_list"]
    id: str
    text: str


class SearchBackend(Protocol):
    # What a backend can do beyond filtering and plain words, so the conformance suite can
    # skip what a backend does not claim: "compounds", "typos", "synonyms", "highlight", "suggest".
    capabilities: frozenset[str]

    def rebuild(self, docs: Iterable[VariableDoc]) -> None:
        """Replace the whole index; searches see the old one until the new one is complete."""

    def patch(self, docs: Iterable[VariableDoc] = (), gone: Iterable[str] = ()) -> None:
        """Add `docs`, replacing those of the same ids, and remove the documents of the ids
        `gone` (an id not in the index is no error); what is kept beside the index (coverage,
        display names) follows. Words new to the catalogue are not split into compound parts
        until the next rebuild."""

    def has_index(self) -> bool:
        """Whether a rebuild has completed, of the fields this release indexes."""

    def search(self, query: Query) -> Page: ...

    def matching(self, query: Query) -> list[VariableDoc]:
        """Every document the query matches, ignoring paging (for summaries such as coverage)."""

    def get(self, doc_id: str) -> VariableDoc | None: ...

    def documents(self, ids: list[str]) -> list[VariableDoc]:
        """The indexed documents of `ids`, those there are, in one lookup."""

    def suggest(self, text: str, limit: int = 10) -> list[Suggestion]:
        """Names of variables, datasets and sources with words starting as `text` is typed."""

    def named(self, text: str, limit: int) -> list[Suggestion]:
        """Datasets, sources and code lists (no variables) whose names start as `text` is typed."""

    def coverage(self, facet: str, value: str) -> list[Period]:
        """When a source's or dataset's variables have data (facet "source" or "dataset"):
        their periods merged, kept with the index so no page reads every variable."""
