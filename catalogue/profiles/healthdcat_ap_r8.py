"""HealthDCAT-AP release 8 (HealthData@EU, the European Health Data Space): what the catalogue
says in this profile on top of what it says in DCAT-AP 3, as triples added to the export.

HealthDCAT-AP describes each dataset at the level its dct:accessRights names (public,
restricted, non-public), each with its own official shapes. Only what we know goes in:

- dcatap:applicableLegislation: the EHDS Regulation (EU) 2025/327, on the catalogues, datasets
  and distributions. HealthDCAT-AP is the format of the catalogue EHDS Art. 77 asks of a health
  data access body, and asks that the EHDS be named among the applicable legislation. The
  legislation a source names is typed eli:LegalResource, the property's range.
- healthdcatap:hdab: the catalogue's configured publisher, unless the source names the
  dataset's access body itself (as FHI's Munin does). EHDS Art. 77 has the health data
  access body publish the national dataset catalogue (in the demo, Helsedirektoratet with its
  Helsedataservice): offer this profile only from a catalogue where that is so.
- cv:contactPoint of the HDAB and of the datasets' publishers (exactly one is mandatory): the
  publisher's configured `contact`, or for the catalogue's publisher the catalogue's contact.
- healthdcatap:healthCategory: the EHDS Art. 51 categories the configuration gives per source or
  dataset. A dataset's themes do not say it: a theme is a subject (pregnancy, infection
  control), a category the kind of data source (registry, survey, EHR).
- dct:provenance and dct:type (both mandatory for non-public datasets): likewise what the
  configuration states per source or dataset, as concepts of Norway's provenance vocabulary
  (DCAT-AP-NO's: an authoritative source, a third party, ...) and of the EU dataset-type table.
- cv:contactPoint of a publisher with no configured contact: the one contact point the sources
  give for all of its datasets, if they give exactly one (Munin names a registry's holder and
  the registry's address, and nothing else of the holder).
- dcat:distribution: where the dataset has a landing page, a distribution with the landing page
  as its dcat:accessURL (DCAT's rule for data reached only through a landing page).
- healthdcatap:hasStructuredData true and healthdcatap:hasVariables: the dataset's variables as
  the columns of one CSVW table, each variable being its own csvw:Column (name = dct:identifier,
  title = label, datatype = the XSD type, or "string" for codes and where the source gives no
  type, CSVW's default); a dataset with no variables listed gets neither.
- healthdcatap:hasCodingSystem: code lists that are a coding system of HealthDCAT-AP's vocabulary.
- skos:inScheme of every EU or HealthData@EU authority concept the export uses (an access right,
  a language, a theme, a health category, a coding system): the vocabulary shapes ask it of each
  value, and the concept's URI says it (the table's URI, a slash, the code).
- dct:subject for the themes that are not EU data themes (LOS): HealthDCAT-AP takes dcat:theme
  from the EU data-theme vocabulary only, and dcat:theme is a sub-property of dct:subject, so
  the LOS subject is kept in the weaker statement (see `Selection`).

One export per access level (`Selection.at(level)`): the catalogue with only that level's
datasets, their variables and the nodes they hold, as the HealthData@EU validator checks a
file against one level's shapes.

What a source states in this profile passes through (Munin: the access body, categories,
dpv:hasPurpose, populationCoverage). Never added, since no source gives them (and numbers are
never made up): numberOfRecords, numberOfUniqueIndividuals, min/maxTypicalAge, retentionPeriod,
dpv:hasLegalBasis/hasPersonalData, publisher types, dct:conformsTo.
"""
from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS, XSD

from catalogue.model.models import ContactPoint
from catalogue.model.namespaces import CSVW, CV, DCAT, DCATAP, DISCO, ELI, EU_ACCESS, EU_THEME, HEALTHDCATAP
from catalogue.model.rdf import closure, held as rdf_held, to_oxigraph, to_rdflib

if TYPE_CHECKING:
    from catalogue.sources import Config
    from catalogue.storage.store import Snapshot

# The profile's URI: the spec names itself by the page of each release
# (https://healthdataeu.pages.code.europa.eu/healthdcat-ap/releases/release-N/, as releases 5-7
# are cited); release 8 is the one whose shapes the tests check. Neither the shapes nor the
# examples declare a profile IRI, and the healthdcatap: namespace is a vocabulary ("to be
# changed when the HealthDCAT-AP namespace is created"), not the profile.
PROFILE = "https://healthdataeu.pages.code.europa.eu/healthdcat-ap/releases/release-8/"
EHDS = URIRef("http://data.europa.eu/eli/reg/2025/327/oj")
AUTHORITY = "https://hdeu-dcat.data.health.europa.eu/resource/authority/"
EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
# The access right each level's shapes require of its datasets.
LEVELS = {"public": EU_ACCESS.PUBLIC, "restricted": EU_ACCESS.RESTRICTED, "non-public": EU_ACCESS.NON_PUBLIC}

# HealthDCAT-AP's health categories: the categories of electronic health data of EHDS Art. 51(1).
HealthCategory = typing.Literal["EHRS", "DIOH", "NRPE", "RPDG", "HRAD", "HGPD", "HPML", "PGEH", "WELA",
                                "IDHP", "PHDR", "MRMR", "EHCT", "EMRD", "RMMD", "RQSH", "EINS"]
CATEGORY_LABELS: dict[str, str] = {
    "EHRS": "Electronic Health Data from EHRs",
    "DIOH": "Data on factors impacting on health, including socio-economic, environmental and behavioural "
            "determinants of health",
    "NRPE": "Aggregated data on healthcare needs, resources allocated to healthcare, the provision of and access "
            "to healthcare, healthcare expenditure and financing",
    "RPDG": "Data on pathogens that impact human health",
    "HRAD": "Healthcare-related administrative data, including on dispensations, reimbursement claims and "
            "reimbursements",
    "HGPD": "Human genetic, epigenomic and genomic data",
    "HPML": "Other human molecular data such as proteomic, transcriptomic, metabolomic, lipidomic and other omic data",
    "PGEH": "Personal electronic health data automatically generated through medical devices",
    "WELA": "Data from wellness applications",
    "IDHP": "Data on professional status, and on the specialisation and institution of health professionals "
            "involved in the treatment of a natural person",
    "PHDR": "Data from population-based health data registries such as public health registries",
    "MRMR": "Data from medical registries and mortality registries",
    "EHCT": "Data from clinical trials, clinical studies, clinical investigations and performance studies",
    "EMRD": "Other health data from medical devices",
    "RMMD": "Data from registries for medicinal products and medical devices",
    "RQSH": "Data from research cohorts, questionnaires and surveys related to health, after the first "
            "publication of the related results",
    "EINS": "Health data from biobanks and associated databases",
}
# Norway's provenance vocabulary (DCAT-AP-NO's range of dct:provenance), with its labels.
PROVENANCE = "http://data.brreg.no/datakatalog/provinens"
Provenance = typing.Literal["nasjonal", "tredjepart", "bruker", "vedtak"]
PROVENANCE_LABELS: dict[str, dict[str, str]] = {
    "nasjonal": {"nb": "Autoritativ kilde", "nn": "Autoritativ kilde", "en": "Authoritativ source"},
    "tredjepart": {"nb": "Tredjepart", "nn": "Tredjepart", "en": "Third party"},
    "bruker": {"nb": "Brukerinnsamlede data", "nn": "Brukerinnsamlede data", "en": "User collection"},
    "vedtak": {"nb": "Vedtak", "nn": "Vedtak", "en": "Governmental decisions"},
}
# The EU dataset types a catalogue of health data may state, with the table's labels.
DatasetType = typing.Literal["STATISTICAL", "SYNTHETIC_DATA", "TEST_DATA", "GEOSPATIAL", "CODE_LIST"]
DATASET_TYPE_LABELS: dict[str, dict[str, str]] = {
    "STATISTICAL": {"nb": "Statistisk data", "nn": "Statistisk data", "en": "Statistical data"},
    "SYNTHETIC_DATA": {"nb": "Kunstig data", "nn": "Kunstig data", "en": "Synthetic data"},
    "TEST_DATA": {"nb": "Testdata", "nn": "Testdata", "en": "Test data"},
    "GEOSPATIAL": {"nb": "Geodata", "nn": "Geodata", "en": "Geospatial data"},
    "CODE_LIST": {"nb": "Kodeliste", "nn": "Kodeliste", "en": "Code list"},
}
# Code lists that are a coding system of HealthDCAT-AP's vocabulary (release 8's
# coding-system.rdf), by the name their title starts with ("ICD-10 – ..."): the vocabulary's
# code. Its ICD-O stands for every edition, ICD-O-3 included; Norway's ICD-10 is WHO's, translated.
CODING_SYSTEMS = {"ICD-10": "ICD-10", "ICPC-2": "ICPC-2", "ATC": "ATC", "ICD-O-3": "ICD-O"}
# The titles of HealthData@EU's vocabularies the export uses (as their files have them).
SCHEME_TITLES = {"healthcategories": "Health categories", "coding-system": "Coding Systems"}
XSD_PREFIX = str(XSD)
_SCHEMES = {URIRef(f"{AUTHORITY}{name}"): title for name, title in SCHEME_TITLES.items()}


def additions(snapshot: Snapshot, datasets: dict[str, tuple[str, str]], config: Config) -> Graph:
    """HealthDCAT-AP's triples for the whole catalogue: `facts`, the `tables` of every dataset
    and the `schemes` of every authority concept used. Kept in an oxigraph store behind
    rdflib's API (five triples a variable: rdflib's own store would hold them at several
    times the memory)."""
    graph = Graph(store="Oxigraph")
    facts(snapshot, datasets, config, graph)
    for triple in tables(snapshot, None):
        graph.add(triple)
    stored = _rows(snapshot, f"DISTINCT ?o WHERE {{ [] ?p ?o FILTER(STRSTARTS(STR(?o), '{EU_AUTHORITY}')) }}")
    schemes({o for (o,) in stored} | set(graph.objects()), graph)
    return graph


def facts(snapshot: Snapshot, datasets: dict[str, tuple[str, str]], config: Config, graph: Graph) -> Graph:
    """HealthDCAT-AP's triples (into `graph`) for the catalogues, the datasets (id -> (URI,
    source id)) and agents in `snapshot`, with what only the configuration knows (the HDAB,
    contacts, health categories, provenance, dataset types): what grows with the datasets,
    not with their variables. Read with one query per kind of fact, not per resource."""
    catalogue = config.catalogue
    hdab = URIRef(config.agent(catalogue.publisher).uri)
    contacts = {URIRef(p.uri): p.contact for p in config.publishers.values() if p.contact}
    contacts.setdefault(hdab, catalogue.contact)
    graph.add((EHDS, RDF.type, ELI.LegalResource))
    # the legislation a source names (Munin: Norwegian laws) is, by DCAT-AP's range, a legal resource
    laws = _rows(snapshot, f"DISTINCT ?l WHERE {{ [] <{DCATAP.applicableLegislation}> ?l FILTER(isIRI(?l)) }}")
    for (law,) in laws:
        graph.add((law, RDF.type, ELI.LegalResource))
    for (node,) in _rows(snapshot, "?c WHERE { ?c a dcat:Catalog }"):
        graph.add((node, DCATAP.applicableLegislation, EHDS))
    publishers = _rows(snapshot, "DISTINCT ?a WHERE { ?d a dcat:Dataset ; dct:publisher ?a }")
    agents = {hdab} | {agent for (agent,) in publishers}
    for agent, contact in (_given_contacts(snapshot) | contacts).items():
        if agent in agents:
            _contact(graph, agent, contact)
    # a source that names a dataset's access body (Munin does) is taken at its word
    own_hdab = {d for (d,) in _rows(snapshot, f"DISTINCT ?d WHERE {{ ?d <{HEALTHDCATAP.hdab}> [] }}")}
    for dataset_id, (uri, source_id) in datasets.items():
        dataset = URIRef(uri)
        graph.add((dataset, DCATAP.applicableLegislation, EHDS))
        if dataset not in own_hdab:
            graph.add((dataset, HEALTHDCATAP.hdab, hdab))
        for code in catalogue.stated(catalogue.health_categories, dataset_id, source_id) or []:
            category = URIRef(f"{AUTHORITY}healthcategories/{code}")
            graph.add((dataset, HEALTHDCATAP.healthCategory, category))
            _concept(graph, category, {"en": CATEGORY_LABELS[code]})
        provenance = catalogue.stated(catalogue.provenance, dataset_id, source_id)
        if provenance:
            statement = URIRef(f"{PROVENANCE}/{provenance}")
            graph.add((dataset, DCTERMS.provenance, statement))
            graph.add((statement, RDF.type, DCTERMS.ProvenanceStatement))
            _concept(graph, statement, PROVENANCE_LABELS[provenance], URIRef(PROVENANCE))
        kind = catalogue.stated(catalogue.dataset_types, dataset_id, source_id)
        if kind:
            graph.add((dataset, DCTERMS.type, URIRef(f"{EU_AUTHORITY}dataset-type/{kind}")))
            _concept(graph, URIRef(f"{EU_AUTHORITY}dataset-type/{kind}"), DATASET_TYPE_LABELS[kind])
    for dataset, page in _rows(snapshot, "?d ?page WHERE { ?d a dcat:Dataset ; dcat:landingPage ?page }"):
        distribution = BNode()
        graph.add((dataset, DCAT.distribution, distribution))
        graph.add((distribution, RDF.type, DCAT.Distribution))
        graph.add((distribution, DCAT.accessURL, page))
        graph.add((distribution, DCATAP.applicableLegislation, EHDS))
    return graph


def schemes(used: Iterable, graph: Graph) -> Graph:
    """The table (the URI up to the code) of each authority concept of `used` (terms, of
    which those that are no such concept are passed over), and HealthData@EU's tables as
    the concept schemes its shapes ask them to be, into `graph`."""
    for concept in used:
        if table := _table(str(concept)):
            graph.add((URIRef(concept), SKOS.inScheme, table))
    for scheme in _SCHEMES:
        if (None, SKOS.inScheme, scheme) in graph:
            _scheme(graph, scheme)
    return graph


def reached(node: str) -> Graph | None:
    """What `schemes` says of one resource a page reaches (and so uses), if anything: the
    table of an authority concept, or the description of one of HealthData@EU's tables."""
    if not node.startswith((EU_AUTHORITY, AUTHORITY)):
        return None
    graph = Graph()
    if table := _table(node):
        graph.add((URIRef(node), SKOS.inScheme, table))
    if URIRef(node) in _SCHEMES:
        _scheme(graph, URIRef(node))
    return graph


def _table(concept: str) -> URIRef | None:
    if not concept.startswith((EU_AUTHORITY, AUTHORITY)):
        return None
    scheme, _, code = concept.rpartition("/")
    return URIRef(scheme) if code and scheme not in (EU_AUTHORITY.rstrip("/"), AUTHORITY.rstrip("/")) else None


def _scheme(graph: Graph, scheme: URIRef) -> None:
    graph.add((scheme, RDF.type, SKOS.ConceptScheme))
    graph.add((scheme, DCTERMS.title, Literal(_SCHEMES[scheme], lang="en")))


@dataclass(frozen=True)
class Selection:
    """Which of the catalogue's triples a HealthDCAT-AP export holds, and as what."""

    # the resources of other levels' datasets, by IRI or blank node id: left out with every
    # triple naming them
    outside: frozenset[str] = frozenset()

    @classmethod
    def at(cls, level: str, snapshot: Snapshot, additions: Graph) -> Selection:
        """The export of one access level (a key of LEVELS): without the datasets of the
        others (or of none), their variables and distributions, what these hold, and what
        only they name (a group of variables, an agent)."""
        roots = [root for (root,) in _rows(
            snapshot, f"DISTINCT ?x WHERE {{ ?d a dcat:Dataset FILTER NOT EXISTS {{ ?d dct:accessRights "
                      f"<{LEVELS[level]}> }} ?d (disco:variable|dcat:distribution)? ?x }}")]
        held: set[str] = set()
        named: set[URIRef] = set()  # what the resources left out name
        for some in _chunks(roots):
            for graph in (snapshot.describe(*map(str, some)), *(closure(additions, root) for root in some)):
                held.update(map(str, graph.subjects()))
                named.update(o for o in graph.objects() if isinstance(o, URIRef))
        held.update(map(str, roots))
        for some in _chunks(list(named)):
            stored = snapshot.referrers(map(str, some))
            said = snapshot.held_statements(ox.NamedNode(node) for node in some if str(node) not in held)
            for node in some:
                referrers = {str(s) for s in additions.subjects(None, node)} | stored.get(str(node), set())
                if str(node) not in held and referrers <= held:
                    held.update((t.subject.value for t in rdf_held(said.__getitem__, ox.NamedNode(node))), (str(node),))
                    held.update(map(str, closure(additions, node).subjects()))
        return cls(frozenset(held))

    def predicate(self, subject: str, predicate: str, obj: str | None) -> str | None:
        """The predicate (IRI) a triple is exported with, or None when it is left out. The
        subject and object are given as IRIs or blank node ids, a literal object as None."""
        if subject in self.outside or obj in self.outside:
            return None
        if predicate == THEME and obj is not None and not obj.startswith(EU_THEME):
            return SUBJECT
        return predicate

    def triple(self, triple: ox.Triple) -> ox.Triple | None:
        """`predicate` for oxigraph's triples: the triple as exported, or None."""
        obj = triple.object
        kept = self.predicate(triple.subject.value, triple.predicate.value,
                              None if isinstance(obj, ox.Literal) else obj.value)
        if kept is None:
            return None
        return triple if kept == triple.predicate.value else ox.Triple(triple.subject, ox.NamedNode(kept), obj)


THEME, SUBJECT = str(DCAT.theme), str(DCTERMS.subject)
# Resources Selection.at reads at once: a few requests each over a store server, and what is
# read of them in memory at a time
AT_ONCE = 1000


def _chunks(items: list) -> Iterator[list]:
    for start in range(0, len(items), AT_ONCE):
        yield items[start:start + AT_ONCE]


def tables(snapshot: Snapshot, datasets: Iterable[str] | None) -> Iterator[tuple]:
    """The variables of these datasets (by URI; of all, given None) as the columns of one
    CSVW table each, and the coding systems of their code lists. The variables' fields are
    read in one query: a store on disk answers it faster than one query a field."""
    # the datasets asked for, as a SPARQL VALUES clause
    among = "" if datasets is None else f"VALUES ?d {{ {' '.join(f'<{uri}>' for uri in datasets)} }} "
    typed = {d for (d,) in _rows(snapshot, f"DISTINCT ?d WHERE {{ {among}?d a dcat:Dataset ; disco:variable [] }}")}
    tables: dict[URIRef, tuple[BNode, BNode]] = {}  # dataset -> its table group and table
    kinds: dict[URIRef, set] = {}  # variable -> its representations
    coded: dict[URIRef, set] = {}  # dataset -> its variables' representations
    fields = {DCTERMS.identifier: CSVW.name, SKOS.prefLabel: CSVW.title}
    rows = _rows(snapshot, f"?d ?v ?p ?o WHERE {{ {among}?d disco:variable ?v OPTIONAL {{ ?v ?p ?o "
                           "FILTER(?p IN (dct:identifier, skos:prefLabel, disco:representation)) } }")
    for dataset, variable, predicate, value in rows:
        if dataset in typed:
            if dataset not in tables:
                group, table = tables[dataset] = BNode(), BNode()
                yield dataset, HEALTHDCATAP.hasStructuredData, Literal(True)
                yield dataset, HEALTHDCATAP.hasVariables, group
                yield group, RDF.type, CSVW.TableGroup
                yield group, CSVW.table, table
                yield table, RDF.type, CSVW.Table
            yield tables[dataset][1], CSVW.column, variable
            yield variable, RDF.type, CSVW.Column
        kinds.setdefault(variable, set())
        if predicate in fields:
            yield variable, fields[predicate], value
        elif predicate == DISCO.representation:
            kinds[variable].add(value)
            coded.setdefault(dataset, set()).add(value)
    # the group and the table are named by the dataset's titles
    titles = _rows(snapshot, f"DISTINCT ?d ?t WHERE {{ {among}?d a dcat:Dataset ; disco:variable [] ; dct:title ?t }}")
    for dataset, title in titles:
        for node in tables[dataset]:
            yield node, DCTERMS.title, title
    # an XSD datatype's name is the CSVW datatype; coded values are their codes' notations, and
    # a variable of no known type is CSVW's default, string
    for variable, found in kinds.items():
        for kind in found or [None]:
            xsd = kind is not None and str(kind).startswith(XSD_PREFIX)
            yield variable, CSVW.datatype, Literal(str(kind)[len(XSD_PREFIX):] if xsd else "string")
    named = ox.NamedNode(str(DCTERMS.title))
    for dataset, code_lists in coded.items():
        for code_list in code_lists:
            for quad in snapshot.store.quads_for_pattern(to_oxigraph(code_list), named, None, None):
                code = CODING_SYSTEMS.get(quad.object.value.split(" – ")[0])
                if code:
                    system = URIRef(f"{AUTHORITY}coding-system/{code}")
                    yield dataset, HEALTHDCATAP.hasCodingSystem, system
                    yield system, RDF.type, DCTERMS.Standard


def _rows(snapshot: Snapshot, select: str):
    """The rows of `SELECT <select>` over the snapshot, as rdflib terms."""
    query = ("PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dct: <http://purl.org/dc/terms/> "
             "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> PREFIX vcard: <http://www.w3.org/2006/vcard/ns#> "
             "PREFIX disco: <http://rdf-vocabulary.ddialliance.org/discovery#> SELECT " + select)
    for row in snapshot.query(query):
        yield tuple(None if term is None else to_rdflib(term) for term in row)  # None: unbound


def _concept(graph: Graph, concept: URIRef, labels: dict[str, str], scheme: URIRef | None = None) -> None:
    graph.add((concept, RDF.type, SKOS.Concept))
    for lang, label in labels.items():
        graph.add((concept, SKOS.prefLabel, Literal(label, lang=lang)))
    if scheme:
        graph.add((concept, SKOS.inScheme, scheme))


def _given_contacts(snapshot: Snapshot) -> dict[URIRef, ContactPoint]:
    """Each publisher's contact point where the sources give exactly one for all its datasets."""
    given: dict[URIRef, set[tuple]] = {}
    rows = _rows(snapshot, "DISTINCT ?a ?e ?u WHERE { ?d a dcat:Dataset ; dct:publisher ?a ; dcat:contactPoint ?c "
                           "OPTIONAL { ?c vcard:hasEmail ?e } OPTIONAL { ?c vcard:hasURL ?u } }")
    for agent, email, url in rows:
        given.setdefault(agent, set()).add((email, url))
    return {agent: ContactPoint(name={}, email=str(email) if email else None, url=str(url) if url else None)
            for agent, points in given.items() if len(points) == 1
            for email, url in points if email or url}


def _contact(graph: Graph, agent: URIRef, contact: ContactPoint) -> None:
    """The agent's contact point as the Core Public Vocabularies describe one."""
    point = BNode()
    graph.add((agent, CV.contactPoint, point))
    graph.add((point, RDF.type, CV.ContactPoint))
    if contact.email:
        graph.add((point, CV.email, Literal(contact.email.removeprefix("mailto:"))))
    if contact.url:
        graph.add((point, CV.contactPage, URIRef(contact.url)))
