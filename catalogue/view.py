"""One generation of the catalogue as pages and exports read it: the store's snapshot with
the lookups they need (datasets by id, variables, code lists, names) and what the catalogue
adds to the stored graphs when it publishes them (see catalogue.services.Services.view)."""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from functools import cached_property

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS, XSD

from catalogue.model import ids, ontology
from catalogue.model.models import CodeList, Dataset, Variable, VariableVersion
from catalogue.model.namespaces import DCAT, DISCO, bind_prefixes
from catalogue.model.rdf import GENID, closure, held, to_oxigraph, to_rdflib
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
        self._fact_stores: dict[bool, ox.Store] = {}  # by whether HealthDCAT-AP

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
        versions = {q.object.value for q in self.snapshot.store.quads_for_pattern(
            _ox(uri), _ox(str(DCAT.hasVersion)), None, None)}
        described = self.snapshot.describe(*versions)  # read at once, then cut in one graph each
        for version in versions:
            graph = closure(described, URIRef(version))
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
        concepts = (q.subject.value for q in self.snapshot.store.quads_for_pattern(None, _ox(str(SKOS.inScheme)), _ox(uri), None))
        return self.snapshot.describe(*concepts, into=graph)

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
        """What the catalogue says beyond the stored graphs, whole (for the whole export and
        SPARQL): its facts (see `_facts`) and the observed dates of every resource (see
        _observed_dates), kept in an oxigraph store behind rdflib's API (two dates a
        resource: a tenth of the memory of rdflib's own store at 100,000 variables)."""
        graph = Graph(store="Oxigraph")
        for triple in itertools.chain(self._facts(), self._observed_dates()):
            graph.add(tuple(map(to_rdflib, triple)))
        return graph

    @cached_property
    def healthdcat_additions(self) -> Graph:
        """The catalogue's additions, whole, and what HealthDCAT-AP adds to them, from the store
        and the configuration (see catalogue.profiles.healthdcat_ap_r8)."""
        graph = healthdcat_ap_r8.additions(self.snapshot, self.datasets, self.config())
        graph += self.catalogue_additions
        return graph

    def additions(self, profile: str | None = None) -> Graph:
        """What the catalogue adds to the stored graphs in `profile` (a URI), whole:
        HealthDCAT-AP's own, or else (DCAT-AP-NO, DCAT-AP) catalogue_additions."""
        return self.healthdcat_additions if profile == healthdcat_ap_r8.PROFILE else self.catalogue_additions

    def _facts(self) -> Iterator[ox.Triple]:
        """The additions that grow with the catalogue's datasets and catalogues, not with its
        variables: the catalogue listing every dataset, and the catalogues a source publishes
        as its parts (one catalogue for a partner, with the source's own inside it), when it
        last changed, the theme concepts used, described, and DCAT-AP 3's range types."""
        store, catalogue = self.snapshot.store, ox.NamedNode(self.snapshot.catalogue_uri)
        for uri, _ in self.datasets.values():
            yield ox.Triple(catalogue, _ox(str(DCAT.dataset)), _ox(uri))
        for quad in store.quads_for_pattern(None, _ox(str(RDF.type)), _ox(str(DCAT.Catalog)), None):
            if isinstance(quad.subject, ox.NamedNode) and quad.subject != catalogue:
                yield ox.Triple(catalogue, _ox(str(DCTERMS.hasPart)), quad.subject)
                if next(store.quads_for_pattern(quad.subject, _ox(str(DCTERMS.identifier)), None, None), None) is None:
                    # DCAT-AP-NO asks each catalogue for one; its URI is the one it has
                    yield ox.Triple(quad.subject, _ox(str(DCTERMS.identifier)), ox.Literal(quad.subject.value))
        latest = self.history.latest()
        if latest and next(store.quads_for_pattern(catalogue, _ox(str(DCTERMS.modified)), None, None), None) is None:
            yield ox.Triple(catalogue, _ox(str(DCTERMS.modified)), ox.Literal(latest, datatype=_ox(str(XSD.dateTime))))
        vocabulary = ontology.load("themes.ttl")
        concepts = set(vocabulary.subjects(RDF.type, SKOS.Concept))
        used = self.snapshot.referrers(map(str, concepts))
        for concept in concepts:
            if str(concept) in used:
                for triple in closure(vocabulary, concept):
                    yield ox.Triple(*map(to_oxigraph, triple))
        for triple in dcat_ap_3.range_types(store):
            yield ox.Triple(*map(to_oxigraph, triple))

    def _facts_store(self, profile: str | None) -> ox.Store:
        """`_facts` (with HealthDCAT-AP's facts in that profile) in a store of their own, to
        look up a page's resources in."""
        health = profile == healthdcat_ap_r8.PROFILE
        if health not in self._fact_stores:
            store = ox.Store()
            store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in self._facts())
            if health:
                own = healthdcat_ap_r8.facts(self.snapshot, self.datasets, self.config(), Graph())
                store.bulk_extend(map(_quad, own))
            self._fact_stores[health] = store
        return self._fact_stores[health]

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
                                 level: str | None = None) -> list[str]:
        """The catalogue and the resources modified at or after `since` (an event time,
        see catalogue.storage.history.moment) that it describes in `profile` (at an access
        `level` of HealthDCAT-AP), by URI: what a partner harvesting changes needs. Only
        those are sorted, never every resource of the catalogue."""
        catalogue, read = self.snapshot.catalogue_uri, self._read(profile)
        outside = self.selection(profile, level).outside if level else frozenset()
        candidates = [_ox(uri) for uri, when in self._modified().items() if moment(when) >= since
                      and uri != catalogue and GENID not in uri and uri not in outside]
        read.load(candidates)
        return [catalogue, *sorted(uri.value for uri in candidates if read.statements(uri))]

    def dataset_order(self, profile: str | None = None, level: str | None = None) -> list[str]:
        """The datasets of the export (`profile`, at `level`) in pages' order: by URI."""
        outside = self.selection(profile, level).outside if level else frozenset()
        return sorted(uri for uri, _ in self.datasets.values() if uri not in outside)

    @cached_property
    def _stops(self) -> frozenset[str]:
        return frozenset({self.snapshot.catalogue_uri, *(uri for uri, _ in self.datasets.values())})

    def reach(self, dataset: str, profile: str | None = None, read: _Read | None = None) -> list[str]:
        """The named resources a dataset's page holds: the dataset and what it points to, and
        what those point to (its variables and their versions, its distributions, publisher,
        contact points, themes, the code lists its variables are coded with), but not other
        datasets, nor the concepts of a code list: a list of 80,000 codes is named by its URI
        (where it answers) and given whole in the catalogue without pages. Walked in the store
        when asked (through `read`, which keeps what it read for the page), never kept: what
        a page costs is the page's."""
        read = read or self._read(profile)
        self._walk([dataset], read)
        stop = self._stops - {dataset}
        found, seen, todo = [dataset], {dataset}, [dataset]
        while todo:  # depth first, in the order pages have always had
            for target in sorted(_targets(read, todo.pop()) - stop - seen):
                seen.add(target)
                if GENID in target or read.statements(_ox(target)):
                    found.append(target)
                    todo.append(target)
        return [uri for uri in found if GENID not in uri]

    def _walk(self, datasets: list[str], read: _Read) -> None:
        """Read what `reach` walks from these datasets, breadth first: a level's resources
        at once (over a store server, a request per few hundred, not one each)."""
        seen = set(datasets)
        level = list(datasets)
        read.load(map(_ox, level))
        while level:
            targets = sorted({t for node in level for t in _targets(read, node)} - self._stops - seen)
            seen.update(targets)
            read.load(map(_ox, targets))
            level = [t for t in targets if GENID in t or read.statements(_ox(t))]

    def _read(self, profile: str | None, datasets: Iterable[str] = ()) -> _Read:
        """A reader for one answer in `profile`; in HealthDCAT-AP's, with the tables of
        variables of `datasets` (those of the answer) and the schemes of what it reaches."""
        if profile != healthdcat_ap_r8.PROFILE:
            return _Read(self.snapshot, [self._facts_store(profile)])
        tables = ox.Store()
        tables.bulk_extend(map(_quad, healthdcat_ap_r8.tables(self.snapshot, list(datasets))))
        return _Read(self.snapshot, [self._facts_store(profile), tables], _reached)

    def dataset_page(self, datasets: list[str], profile: str | None = None, level: str | None = None) -> list[ox.Triple]:
        """One page of the catalogue: the catalogue, listing these datasets, and each of them
        with everything it points to (see `reach`), so a harvester reading one page, or
        cutting one dataset out of it, has the dataset whole."""
        catalogue, read = self.snapshot.catalogue_uri, self._read(profile, datasets)
        self._walk(datasets, read)  # all the page's datasets at once
        # in order, each once (a dict: a list's membership test made pages of large datasets quadratic)
        subjects = list(dict.fromkeys([catalogue, *(uri for dataset in datasets
                                                    for uri in self.reach(dataset, profile, read))]))
        shown = set(map(_ox, datasets))
        listing, parts = _ox(str(DCAT.dataset)), _ox(str(DCTERMS.hasPart))
        # only the page's datasets listed; the catalogues of sources are in the whole one
        return [t for t in self.part(subjects, profile, level, read) if t.subject.value != catalogue
                or not (t.predicate == parts or (t.predicate == listing and t.object not in shown))]

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

    def part(self, subjects: list[str], profile: str | None = None, level: str | None = None,
             read: _Read | None = None) -> list[ox.Triple]:
        """These resources' whole descriptions (with the skolem nodes they hold), as the
        whole catalogue gives them in `profile` (at `level`), read from the store for them
        alone (the resources, then the nodes they hold, each level at once), with what the
        catalogue adds about them looked up for them alone."""
        read = read or self._read(profile, self._datasets_of(subjects) if profile == healthdcat_ap_r8.PROFILE else ())
        read.load_held(map(_ox, subjects))
        described = dict.fromkeys(t for subject in subjects for t in held(read.stored, _ox(subject)))
        nodes = list(dict.fromkeys([*(t.subject for t in described), *map(_ox, subjects)]))
        # and what the catalogue adds about them and the nodes they hold (a contact's class),
        # with the blank nodes that adds (a distribution, a table of variables)
        described.update(dict.fromkeys(t for node in nodes for t in held(read.added, node)))
        described.update(dict.fromkeys(self._observed_dates(nodes, read.stored)))
        selection = self.selection(profile, level)
        return [*filter(None, map(selection.triple, described))] if selection else list(described)

    def _datasets_of(self, subjects: list[str]) -> set[str]:
        """The datasets among `subjects` and those holding a variable among them."""
        held = self.snapshot.referrers(subjects, str(DISCO.variable))
        return {s for s in subjects if s in self.dataset_ids}.union(*held.values())

    def catalogue_part(self, subjects: list[str], profile: str | None = None, level: str | None = None) -> Graph:
        """`part` as an rdflib graph."""
        graph = Graph()
        bind_prefixes(graph)
        for triple in self.part(subjects, profile, level):
            graph.add(tuple(map(to_rdflib, triple)))
        return graph

    def _observed_dates(self, nodes: list | None = None,
                        statements: Callable[[ox.NamedNode], list[ox.Quad]] | None = None) -> Iterator[ox.Triple]:
        """dct:issued and dct:modified from the catalogue's history, where the source gives
        none: when a dataset, variable or code list was first harvested, and last changed;
        of `nodes` (whose `statements` in the store are given), or of every one."""
        store, dated = self.snapshot.store, (_ox(str(DCTERMS.issued)), _ox(str(DCTERMS.modified)))
        if nodes is None:
            times = self.history.timestamps()
            resources = [q.subject for kind in _OBSERVED for q in store.quads_for_pattern(None, _TYPE, kind, None)
                         if isinstance(q.subject, ox.NamedNode) and q.subject.value in times]
            # who says them, read once: a lookup a resource costs more than these scans in the store on disk
            given = {p: {q.subject for q in store.quads_for_pattern(None, p, None, None)} for p in dated}
        else:
            said = {n: statements(n) for n in nodes if isinstance(n, ox.NamedNode)}
            resources = [n for n, quads in said.items()
                         if any(q.predicate == _TYPE and q.object in _OBSERVED for q in quads)]
            times = self.history.timestamps(n.value for n in resources)
            given = {p: {n for n in resources if any(q.predicate == p for q in said[n])} for p in dated}
        for subject in dict.fromkeys(resources):
            for predicate, value in zip(dated, times.get(subject.value, ())):
                if subject not in given[predicate]:
                    yield ox.Triple(subject, predicate, ox.Literal(value, datatype=_ox(str(XSD.dateTime))))


class _Read:
    """The store and the catalogue's facts (see View._facts_store, and the answer's own, with
    what `about` says of a resource), read for one answer: each resource's statements are
    read once (a page's walk and its description read the same ones, and a statement read
    from the store on disk costs more than keeping it for the page)."""

    def __init__(self, snapshot: Snapshot, facts: list[ox.Store],
                 about: Callable[[ox.NamedNode | ox.BlankNode], list[ox.Quad]] | None = None):
        self.snapshot, self.facts, self.about = snapshot, facts, about
        self._stored: dict = {}
        self._added: dict = {}

    def load(self, nodes: Iterable) -> None:
        """Read the statements of those of `nodes` not read yet, at once."""
        self._stored.update(self.snapshot.statements_of(n for n in dict.fromkeys(nodes) if n not in self._stored))

    def load_held(self, nodes: Iterable) -> None:
        """`load` the nodes and, recursively, the blank or skolem nodes they hold."""
        self.snapshot.held_statements(nodes, self._stored)

    def stored(self, node) -> list[ox.Quad]:
        if node not in self._stored:
            self.load([node])
        return self._stored[node]

    def added(self, node) -> list[ox.Quad]:
        if node not in self._added:
            self._added[node] = [quad for facts in self.facts for quad in facts.quads_for_pattern(node, None, None, None)]
            if self.about:
                self._added[node] += self.about(node)
        return self._added[node]

    def statements(self, node) -> list[ox.Quad]:
        """What the store and the facts say about the node."""
        return self.stored(node) + self.added(node)


def _targets(read: _Read, node: str) -> set[str]:
    """The named resources the node points to, as `View.reach` follows them."""
    said = read.statements(_ox(node))
    # a concept or scheme is followed only to the scheme it is in, not to its neighbours
    vocabulary = any(q.predicate == _TYPE and q.object in _VOCABULARY for q in said)
    return {q.object.value for q in said if isinstance(q.object, ox.NamedNode)
            and (not vocabulary or q.predicate == _IN_SCHEME)}


def _reached(node) -> list[ox.Quad]:
    found = healthdcat_ap_r8.reached(node.value) if isinstance(node, ox.NamedNode) else None
    return list(map(_quad, found)) if found else []


def _quad(triple: tuple) -> ox.Quad:
    return ox.Quad(*map(to_oxigraph, triple))


def _model(cls, graph: Graph, uri: str):
    if (URIRef(uri), None, None) not in graph:
        return None
    return from_graph(cls, graph, uri)


def _ox(uri: str) -> ox.NamedNode:
    return ox.NamedNode(uri)


_TYPE, _IN_SCHEME = _ox(str(RDF.type)), _ox(str(SKOS.inScheme))
_VOCABULARY = {_ox(str(SKOS.Concept)), _ox(str(SKOS.ConceptScheme))}
# the resources whose dates the catalogue observes
_OBSERVED = [_ox(str(DCAT.Dataset)), _ox(str(DISCO.Variable)), _ox(str(SKOS.ConceptScheme))]
