"""Search: documents built from the store, a query, and backends that answer it."""
from catalogue.search.backend import FACETS, FILTERS, FacetValue, Hit, Page, SearchBackend, Suggestion
from catalogue.search.concepts import ConceptIndex
from catalogue.search.documents import VariableDoc, build_documents, read_catalogue
from catalogue.search.embedded import EmbeddedBackend
from catalogue.search.query import Query, Via



def open_backend(settings) -> SearchBackend:
    """The search backend the settings choose (CATALOGUE_SEARCH)."""
    if settings.search in ("opensearch", "elasticsearch"):
        from catalogue.search.elastic import ElasticBackend  # its client is only needed then
        return ElasticBackend(settings.es_url, settings.es_index, product=settings.search)
    return EmbeddedBackend(settings.data_dir / "index")


def open_concepts(settings) -> ConceptIndex:
    """The index of the code lists' concepts, in the data directory whichever the backend."""
    return ConceptIndex(settings.data_dir / "concepts")


__all__ = ["FACETS", "FILTERS", "ConceptIndex", "EmbeddedBackend", "FacetValue", "Hit", "Page", "Query",
           "SearchBackend", "Suggestion", "VariableDoc", "Via", "build_documents", "open_backend", "open_concepts",
           "read_catalogue"]
