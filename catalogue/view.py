"""One generation of the catalogue as pages and exports read it: the store's snapshot with
the lookups they need (datasets by id, variables, code lists, names) and what the catalogue
adds to the stored graphs when it publishes them (see catalogue.services.Services.view)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cached_property

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS, XSD

from catalogue.model import ids, ontology
from catalogue.model.models import CodeList, Dataset, Variable, VariableVersion
from catalogue.model.namespaces import DCAT, DISCO, bind_prefixes
from catalogue.model.rdf import GENID, closure
from catalogue.profiles import dcat_ap_3, healthdcat_ap_r8
from catalogue.profiles.dcat_ap_no_3 import from_graph, texts
from catalogue.sources import Config
from catalogue.storage.history import History, moment
from catalogue.storage.store import Snapshot


# Under the base URI: the named graph SPARQL finds the catalogue's additions in.
ADDITIONS = "graph/additions"


class View:
    """One snapshot with the lookups pages need."""

    def __init__(self, snapshot: Snapshot, history: History, config: Callable[[], Config]):
        self.snapshot = snapshot
        self.history = history
        self.config = config  # the sources configuration, read when a profile needs it
        self._selections: dict[str | None, healthdcat_ap_r8.Selection] = {}  # by access level
        self._reach: dict[tuple[str, bool], list[str]] = {}  # by dataset and whether HealthDCAT-AP

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

    @cached_property
    def dataset_ids(self) -> dict[str, str]:
        """dataset URI -> dataset id."""
        return {uri: dataset_id for dataset_id, (uri, _) in self.datasets.items()}

    @cached_property
    def same_as(self) -> dict[str, str]:
        """dataset URI -> the dataset URI it declares itself owl:sameAs."""
        return {row["ds"].value: row["same"].value for row in self.snapshot.query(
            "PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX owl: <http://www.w3.org/2002/07/owl#> "
            "SELECT ?ds ?same WHERE { GRAPH ?g { ?ds a dcat:Dataset ; owl:sameAs ?same } }")}

    def register_id(self, dataset_id: str) -> str:
        """The id of the dataset a dataset is shown as (itself, or the register it is the same as)."""
        uri = self.datasets[dataset_id][0]
        return self.dataset_ids[ids.register(uri, self.same_as.get, self.dataset_ids)]

    def variable_id(self, variable: Variable) -> str | None:
        dataset_id = self.dataset_ids.get(variable.dataset)
        return ids.variable_id(dataset_id, variable.identifier, variable.uri) if dataset_id else None

    def variable_versions(self, uri: str) -> list[VariableVersion]:
        """The versions the source declares (dcat:hasVersion), oldest first."""
        found = []
        for version in {q.object.value for q in self.snapshot.store.quads_for_pattern(
                _ox(uri), _ox(str(DCAT.hasVersion)), None, None)}:
            graph = self.snapshot.describe(version)
            graph.add((URIRef(uri), DCAT.hasVersion, URIRef(version)))
            found.append(_model(VariableVersion, graph, version))
        return sorted((v for v in found if v is not None),
                      key=lambda v: min((p.start or date.min for p in v.valid), default=date.min))

    def variable_graph(self, uri: str) -> Graph:
        """The variable's description with the link from its dataset."""
        return self.with_dataset_link(self.snapshot.describe(uri), uri)

    def with_dataset_link(self, graph: Graph, uri: str) -> Graph:
        """`graph` with the link from the dataset of the variable `uri` (if it is one)."""
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
            self.snapshot.describe(quad.subject.value, into=graph)
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
    def catalogue_additions(self) -> Graph:
        """What the catalogue says beyond the stored graphs: the catalogue listing every
        dataset, and the catalogues a source publishes as its parts (one catalogue for a
        partner, with the source's own inside it), the theme concepts used, described, and
        the observed dates (see _observed_dates). Made from lookups in the store, not from a copy, and kept in an
        oxigraph store behind rdflib's API (two dates a resource: a tenth of the memory of
        rdflib's own store at 100,000 variables)."""
        graph = Graph(store="Oxigraph")
        catalogue = URIRef(self.snapshot.catalogue_uri)
        for uri, _ in self.datasets.values():
            graph.add((catalogue, DCAT.dataset, URIRef(uri)))
        for quad in self.snapshot.store.quads_for_pattern(None, _ox(str(RDF.type)), _ox(str(DCAT.Catalog)), None):
            if isinstance(quad.subject, ox.NamedNode) and quad.subject.value != str(catalogue):
                graph.add((catalogue, DCTERMS.hasPart, URIRef(quad.subject.value)))
                if next(self.snapshot.store.quads_for_pattern(quad.subject, _ox(str(DCTERMS.identifier)), None,
                                                              None), None) is None:
                    # DCAT-AP-NO asks each catalogue for one; its URI is the one it has
                    graph.add((URIRef(quad.subject.value), DCTERMS.identifier, Literal(quad.subject.value)))
        vocabulary = ontology.load("themes.ttl")
        for concept in set(vocabulary.subjects(RDF.type, SKOS.Concept)):
            if next(self.snapshot.store.quads_for_pattern(None, None, _ox(str(concept)), None), None) is not None:
                closure(vocabulary, concept, graph)
        self._observed_dates(graph, catalogue)
        for triple in dcat_ap_3.range_types(self.snapshot.store):
            graph.add(triple)
        return graph

    @cached_property
    def healthdcat_additions(self) -> Graph:
        """The catalogue's additions and what HealthDCAT-AP adds to them, from the store and
        the configuration (see catalogue.profiles.healthdcat_ap_r8)."""
        graph = healthdcat_ap_r8.additions(self.snapshot, self.datasets, self.config())
        graph += self.catalogue_additions
        return graph

    def additions(self, profile: str | None = None) -> Graph:
        """What the catalogue adds to the stored graphs in `profile` (a URI): HealthDCAT-AP's
        own, or else (DCAT-AP-NO, DCAT-AP) catalogue_additions."""
        return self.healthdcat_additions if profile == healthdcat_ap_r8.PROFILE else self.catalogue_additions

    def selection(self, profile: str | None, level: str | None = None) -> healthdcat_ap_r8.Selection | None:
        """What a HealthDCAT-AP export holds: of one access level (a key of its LEVELS) or of
        all; None in the other profiles, whose exports hold the whole catalogue as it is."""
        if profile != healthdcat_ap_r8.PROFILE:
            return None
        if level not in self._selections:
            self._selections[level] = (healthdcat_ap_r8.Selection.at(level, self.snapshot, self.healthdcat_additions)
                                       if level else healthdcat_ap_r8.Selection())
        return self._selections[level]

    def catalogue_subjects_since(self, since: str, profile: str | None = None,
                                 level: str | None = None) -> list[URIRef]:
        """The catalogue and the resources modified at or after `since` (an event time,
        see catalogue.storage.history.moment) that it describes in `profile` (at an access
        `level` of HealthDCAT-AP), by URI: what a partner harvesting changes needs. Only
        those are sorted, never every resource of the catalogue."""
        catalogue, additions = self.snapshot.catalogue_uri, self.additions(profile)
        outside = self.selection(profile, level).outside if level else frozenset()
        changed = sorted(uri for uri, when in self._modified().items()
                         if moment(when) >= since and uri != catalogue and GENID not in uri
                         and uri not in outside and self._described(uri, additions))
        return [URIRef(catalogue), *map(URIRef, changed)]

    def dataset_order(self, profile: str | None = None, level: str | None = None) -> list[str]:
        """The datasets of the export (`profile`, at `level`) in pages' order: by URI."""
        outside = self.selection(profile, level).outside if level else frozenset()
        return sorted(uri for uri, _ in self.datasets.values() if uri not in outside)

    def reach(self, dataset: str, profile: str | None = None) -> list[str]:
        """The named resources a dataset's page holds: the dataset and what it points to, and
        what those point to (its variables and their versions, its distributions, publisher,
        contact points, themes, the code lists its variables are coded with), but not other
        datasets, nor the concepts of a code list: a list of 80,000 codes is named by its URI
        (where it answers) and given whole in the catalogue without pages."""
        key = (dataset, profile == healthdcat_ap_r8.PROFILE)
        if key not in self._reach:
            additions, store = self.additions(profile), self.snapshot.store
            stop = {self.snapshot.catalogue_uri, *(uri for uri, _ in self.datasets.values())} - {dataset}
            found, seen, todo = [dataset], {dataset}, [dataset]
            while todo:
                node = todo.pop()
                # a concept or scheme is followed only to the scheme it is in, not to its neighbours
                via = SKOS.inScheme if self._is_vocabulary(node, additions) else None
                targets = {q.object.value for q in store.quads_for_pattern(_ox(node), via and _ox(str(via)), None, None)
                           if isinstance(q.object, ox.NamedNode)}
                targets |= {str(o) for o in additions.objects(URIRef(node), via) if isinstance(o, URIRef)}
                for target in sorted(targets - stop - seen):
                    seen.add(target)
                    if GENID in target or self._described(target, additions):
                        found.append(target)
                        todo.append(target)
            self._reach[key] = [uri for uri in found if GENID not in uri]
        return self._reach[key]

    def _is_vocabulary(self, uri: str, additions: Graph) -> bool:
        types = {q.object.value for q in self.snapshot.store.quads_for_pattern(_ox(uri), _ox(str(RDF.type)), None, None)}
        types |= {str(o) for o in additions.objects(URIRef(uri), RDF.type)}
        return bool(types & {str(SKOS.Concept), str(SKOS.ConceptScheme)})

    def _described(self, uri: str, additions: Graph) -> bool:
        return (next(self.snapshot.store.quads_for_pattern(_ox(uri), None, None, None), None) is not None
                or (URIRef(uri), None, None) in additions)

    def dataset_page(self, datasets: list[str], profile: str | None = None, level: str | None = None) -> Graph:
        """One page of the catalogue: the catalogue, listing these datasets, and each of them
        with everything it points to (see `reach`), so a harvester reading one page, or
        cutting one dataset out of it, has the dataset whole."""
        # in order, each once (a dict: a list's membership test made pages of large datasets quadratic)
        subjects = list(dict.fromkeys([URIRef(self.snapshot.catalogue_uri),
                                       *(URIRef(uri) for dataset in datasets for uri in self.reach(dataset, profile))]))
        graph = self.catalogue_part(subjects, profile, level)
        shown = set(map(URIRef, datasets))
        for listed in list(graph.objects(subjects[0], DCAT.dataset)):
            if listed not in shown:
                graph.remove((subjects[0], DCAT.dataset, listed))
        graph.remove((subjects[0], DCTERMS.hasPart, None))  # the catalogues of sources: in the whole one
        return graph

    def datasets_changed_since(self, since: str, profile: str | None = None, level: str | None = None) -> list[str]:
        """The datasets one of whose resources (see `reach`) was modified at or after `since`."""
        modified = self._modified()
        return [d for d in self.dataset_order(profile, level)
                if any(uri in modified and moment(modified[uri]) >= since for uri in self.reach(d, profile))]

    def _modified(self) -> dict[str, str]:
        modified = {q.subject.value: q.object.value for q in self.snapshot.store.quads_for_pattern(
            None, _ox(str(DCTERMS.modified)), None, None) if isinstance(q.subject, ox.NamedNode)}
        modified.update({str(s): str(o) for s, o in self.catalogue_additions.subject_objects(DCTERMS.modified)
                         if isinstance(s, URIRef)})
        return modified

    def catalogue_part(self, subjects: list[URIRef], profile: str | None = None,
                       level: str | None = None) -> Graph:
        """These resources' whole descriptions (with the skolem nodes they hold), as the
        whole catalogue gives them in `profile` (at `level`), read from the store one resource
        at a time."""
        graph = Graph()
        bind_prefixes(graph)
        for subject in subjects:
            self.snapshot.describe(str(subject), into=graph)
        # and what the catalogue adds about them and the nodes they hold (a contact's class),
        # with the blank nodes that adds (a distribution, a table of variables)
        additions = self.additions(profile)
        for node in set(graph.subjects()) | set(subjects):
            for s, p, o in closure(additions, node):
                # oxigraph hands plain literals back typed xsd:string: written as RDF 1.1 simple
                # literals, as the whole catalogue's stream writes them
                graph.add((s, p, Literal(str(o)) if isinstance(o, Literal) and o.datatype == XSD.string else o))
        selection = self.selection(profile, level)
        for s, p, o in list(graph) if selection else ():
            kept = selection.predicate(str(s), str(p), None if isinstance(o, Literal) else str(o))
            if kept != str(p):
                graph.remove((s, p, o))
                if kept:
                    graph.add((s, URIRef(kept), o))
        return graph

    def _observed_dates(self, graph: Graph, catalogue: URIRef) -> None:
        """dct:issued and dct:modified from the catalogue's history, where the source gives
        none: when a dataset, variable or code list was first harvested, and last changed."""
        times = self.history.timestamps()
        store = self.snapshot.store
        # who says them, read once: a lookup a resource costs more than these scans in the store on disk
        said = {p: {q.subject.value for q in store.quads_for_pattern(None, _ox(str(p)), None, None)}
                for p in (DCTERMS.issued, DCTERMS.modified)}
        for kind in (DCAT.Dataset, DISCO.Variable, SKOS.ConceptScheme):
            for quad in store.quads_for_pattern(None, _ox(str(RDF.type)), _ox(str(kind)), None):
                subject = quad.subject
                if isinstance(subject, ox.NamedNode) and subject.value in times:
                    for predicate, value in zip((DCTERMS.issued, DCTERMS.modified), times[subject.value]):
                        if subject.value not in said[predicate]:
                            graph.add((URIRef(subject.value), predicate, Literal(value, datatype=XSD.dateTime)))
        if times and str(catalogue) not in said[DCTERMS.modified]:
            graph.add((catalogue, DCTERMS.modified,
                       Literal(max(last for _, last in times.values()), datatype=XSD.dateTime)))


def _model(cls, graph: Graph, uri: str):
    if (URIRef(uri), None, None) not in graph:
        return None
    return from_graph(cls, graph, uri)


def _ox(uri: str) -> ox.NamedNode:
    return ox.NamedNode(uri)
