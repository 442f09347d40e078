"""What the site reads: the store's current snapshot and the search index.

A harvest in another process writes a new state; the next request sees it and
loads the new snapshot, so a running server serves new data without a restart.
"""
from __future__ import annotations

import threading
from functools import cached_property

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import SKOS

from catalogue import ids, ontology
from catalogue.models import CodeList, Dataset, Variable
from catalogue.namespaces import DCAT, DISCO
from catalogue.profiles.dcat_ap_no_3 import from_graph, texts
from catalogue.rdf import closure
from catalogue.search import EmbeddedBackend
from catalogue.settings import Settings
from catalogue.store import Snapshot, Store


class Reader:
    def __init__(self, settings: Settings):
        self.store = Store(settings.data_dir, settings.base_uri)
        self.search = EmbeddedBackend(settings.data_dir / "index")
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._view: View | None = None

    @property
    def view(self) -> "View":
        try:
            stamp = self.store.state_file.stat().st_mtime_ns
        except FileNotFoundError:
            stamp = 0
        with self._lock:
            if self._view is None or stamp != self._stamp:
                self._view, self._stamp = View(self.store.snapshot()), stamp
            return self._view


class View:
    """One snapshot with the lookups pages need."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot

    @cached_property
    def datasets(self) -> dict[str, tuple[str, str]]:
        """dataset id -> (URI, source id)."""
        out = {}
        sources = self.snapshot.sources_by_graph()
        for row in self.snapshot.query(
                "PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dct: <http://purl.org/dc/terms/> "
                "SELECT ?g ?ds ?id WHERE { GRAPH ?g { ?ds a dcat:Dataset OPTIONAL { ?ds dct:identifier ?id } } }"):
            source = sources.get(row["g"].value)
            if source:
                ident = row["id"].value if row["id"] is not None else None
                out[ids.dataset_id(source.id, ident, row["ds"].value)] = (row["ds"].value, source.id)
        return out

    def variable_graph(self, uri: str) -> Graph:
        """The variable's description with the link from its dataset."""
        graph = self.snapshot.describe(uri)
        for link in self.snapshot.store.quads_for_pattern(None, _ox(str(DISCO.variable)), _ox(uri), None):
            graph.add((URIRef(link.subject.value), DISCO.variable, URIRef(uri)))
        return graph

    def variable(self, uri: str) -> Variable | None:
        return _model(Variable, self.variable_graph(uri), uri)

    def dataset(self, uri: str) -> Dataset | None:
        return _model(Dataset, self.snapshot.describe(uri), uri)

    def code_list(self, uri: str) -> CodeList | None:
        graph = self.code_list_graph(uri)
        return _model(CodeList, graph, uri)

    def code_list_graph(self, uri: str) -> Graph:
        graph = self.snapshot.describe(uri)
        for quad in self.snapshot.store.quads_for_pattern(None, _ox(str(SKOS.inScheme)), _ox(uri), None):
            graph += self.snapshot.describe(quad.subject.value)
        return graph

    def name_of(self, uri: str) -> dict[str, str]:
        graph = self.snapshot.describe(uri)
        for predicate in ("http://xmlns.com/foaf/0.1/name", "http://purl.org/dc/terms/title",
                          "http://www.w3.org/2004/02/skos/core#prefLabel"):
            found = texts(graph.objects(URIRef(uri), URIRef(predicate)))
            if found:
                return found
        return {}

    @cached_property
    def catalogue_graph(self) -> Graph:
        """Everything stored, with the catalogue listing every dataset and the theme
        and access-right concepts it uses described, as partners harvest it."""
        graph = self.snapshot.to_graph()
        catalogue = URIRef(self.snapshot.catalogue_uri)
        for uri, _ in self.datasets.values():
            graph.add((catalogue, DCAT.dataset, URIRef(uri)))
        vocabulary = ontology.load("themes.ttl")
        used = set(graph.objects())
        for concept in set(vocabulary.subjects()) & used:
            closure(vocabulary, concept, graph)
        return graph


def _model(cls, graph: Graph, uri: str):
    if (URIRef(uri), None, None) not in graph:
        return None
    return from_graph(cls, graph, uri)


def _ox(uri: str) -> ox.NamedNode:
    return ox.NamedNode(uri)
