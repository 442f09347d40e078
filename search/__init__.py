"""Search: documents built from the store, a query, and backends that answer it."""
from catalogue.search.backend import FACETS, FILTERS, FacetValue, Hit, Page, SearchBackend, Suggestion
from catalogue.search.documents import VariableDoc, build_documents
from catalogue.search.embedded import EmbeddedBackend
from catalogue.search.query import Query



def open_backend(settings) -> SearchBackend:
    """The search backend the settings choose (CATALOGUE_SEARCH)."""
    if settings.search == "elasticsearch":
        from catalogue.search.elastic import ElasticBackend  # the client is only needed then
        return ElasticBackend(settings.es_url, settings.es_index)
    return EmbeddedBackend(settings.data_dir / "index")


__all__ = ["FACETS", "FILTERS", "EmbeddedBackend", "FacetValue", "Hit", "Page", "Query", "SearchBackend",
           "Suggestion", "VariableDoc", "build_documents", "open_backend"]
