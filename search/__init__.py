"""Search: documents built from the store, a query, and backends that answer it."""
from catalogue.search.backend import FACETS, FacetValue, Hit, Page, SearchBackend, Suggestion
from catalogue.search.documents import VariableDoc, build_documents
from catalogue.search.embedded import EmbeddedBackend
from catalogue.search.query import Query

__all__ = ["FACETS", "EmbeddedBackend", "FacetValue", "Hit", "Page", "Query", "SearchBackend",
           "Suggestion", "VariableDoc", "build_documents"]
