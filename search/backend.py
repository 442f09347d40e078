"""What every search backend offers."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from pydantic import BaseModel, Field

from catalogue.models import Text

from catalogue.search.documents import VariableDoc
from catalogue.search.query import Query

# Facets every backend counts, in the order the explorer shows them.
FACETS = ("source", "publisher", "dataset", "theme", "value_type")


class FacetValue(BaseModel):
    value: str
    count: int
    label: Text = Field(default_factory=dict)  # empty where the site names the value itself


def facet_labels(doc: VariableDoc) -> Iterator[tuple[str, str, Text]]:
    """The display names a document gives its facet values."""
    yield "source", doc.source, {"nb": doc.source_name}
    yield "publisher", doc.publisher, doc.publisher_name
    yield "dataset", doc.dataset, doc.dataset_title
    for theme in doc.themes:
        yield "theme", theme, doc.theme_labels.get(theme, {})


class Page(BaseModel):
    items: list[VariableDoc]
    total: int
    facets: dict[str, list[FacetValue]]


class SearchBackend(Protocol):
    def rebuild(self, docs: Iterable[VariableDoc]) -> None:
        """Replace the whole index; searches see the old one until the new one is complete."""

    def search(self, query: Query) -> Page: ...

    def matching(self, query: Query) -> list[VariableDoc]:
        """Every document the query matches, ignoring paging (for summaries such as coverage)."""

    def get(self, doc_id: str) -> VariableDoc | None: ...
