"""DCAT-AP-NO 3 (with HealthDCAT-AP's use of DCAT-AP 3) for catalogues and datasets,
DDI-RDF Discovery for variables and SKOS for code lists: models <-> RDF.

Each model is described once, as a list of properties; `to_graph` and
`from_graph` both read that list, so the two directions cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal as KindName

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import FOAF, OWL, RDF, SKOS, XSD
from rdflib.term import Node

from catalogue.model.models import (Agent, Catalogue, CodeList, Concept, ContactPoint, Dataset,
                              Model, Period, Variable, VariableVersion)
from catalogue.model.namespaces import ADMS, DCAT, DCT, DISCO, SCHEMA, VCARD

Kind = KindName["text", "literal", "keywords", "uri", "uris", "periods", "contact", "inverse_uri"]


@dataclass(frozen=True)
class Prop:
    field: str
    path: URIRef
    kind: Kind


# model -> (its RDF type, or types; its properties). A field may be written under two
# properties (DDI-RDF Discovery names a variable by skos:notation, DCAT by dct:identifier):
# both are written, and either is read.
PROFILE: dict[type[Model], tuple[URIRef | tuple[URIRef, ...], list[Prop]]] = {
    Agent: (FOAF.Agent, [
        Prop("name", FOAF.name, "text"),
        Prop("identifier", DCT.identifier, "literal"),
    ]),
    Catalogue: (DCAT.Catalog, [
        Prop("identifier", DCT.identifier, "literal"),
        Prop("title", DCT.title, "text"),
        Prop("description", DCT.description, "text"),
        Prop("publisher", DCT.publisher, "uri"),
        Prop("contact", DCAT.contactPoint, "contact"),
        Prop("datasets", DCAT.dataset, "uris"),
    ]),
    Dataset: ((DCAT.Dataset, DISCO.LogicalDataSet), [
        Prop("identifier", DCT.identifier, "literal"),
        Prop("title", DCT.title, "text"),
        Prop("description", DCT.description, "text"),
        Prop("publisher", DCT.publisher, "uri"),
        Prop("contact", DCAT.contactPoint, "contact"),
        Prop("themes", DCAT.theme, "uris"),
        Prop("keywords", DCAT.keyword, "keywords"),
        Prop("periods", DCT.temporal, "periods"),
        Prop("access_rights", DCT.accessRights, "uri"),
        Prop("landing_page", DCAT.landingPage, "uri"),
        Prop("language", DCT.language, "uri"),
        Prop("variables", DISCO.variable, "uris"),
        Prop("version", DCAT.version, "literal"),
        Prop("version_notes", ADMS.versionNotes, "text"),
        Prop("previous", DCAT.previousVersion, "uri"),
        Prop("versions", DCAT.hasVersion, "uris"),
        Prop("same_as", OWL.sameAs, "uri"),
    ]),
    Variable: (DISCO.Variable, [
        Prop("identifier", DCT.identifier, "literal"),
        Prop("identifier", SKOS.notation, "literal"),
        Prop("label", SKOS.prefLabel, "text"),
        Prop("description", DCT.description, "text"),
        Prop("dataset", DISCO.variable, "inverse_uri"),
        Prop("representation", DISCO.representation, "uri"),
        Prop("unit", SCHEMA.unitText, "literal"),
        Prop("themes", DCAT.theme, "uris"),
        Prop("periods", DCT.temporal, "periods"),
    ]),
    # A declared version is a dcat:Resource rather than a second disco:Variable, so that
    # search and the gate see one variable with its versions, not one per version.
    VariableVersion: (DCAT.Resource, [
        Prop("variable", DCAT.hasVersion, "inverse_uri"),
        Prop("version", DCAT.version, "literal"),
        Prop("label", SKOS.prefLabel, "text"),
        Prop("description", DCT.description, "text"),
        Prop("valid", DCT.temporal, "periods"),
        Prop("notes", ADMS.versionNotes, "text"),
        Prop("previous", DCAT.previousVersion, "uri"),
        Prop("representation", DISCO.representation, "uri"),
        Prop("unit", SCHEMA.unitText, "literal"),
    ]),
    CodeList: (SKOS.ConceptScheme, [
        Prop("identifier", DCT.identifier, "literal"),
        Prop("title", DCT.title, "text"),
        Prop("description", DCT.description, "text"),
        Prop("publisher", DCT.publisher, "uri"),
        Prop("periods", DCT.temporal, "periods"),
        Prop("versions", DCAT.hasVersion, "uris"),
        Prop("version_label", DCAT.version, "literal"),
    ]),
    Concept: (SKOS.Concept, [
        Prop("notation", SKOS.notation, "literal"),
        Prop("label", SKOS.prefLabel, "text"),
        Prop("scheme", SKOS.inScheme, "uri"),
        Prop("notes", SKOS.scopeNote, "text"),
        Prop("broader", SKOS.broader, "uri"),
        Prop("valid", DCT.temporal, "periods"),
        Prop("replaces", DCT.replaces, "uris"),
        Prop("replaced_by", DCT.isReplacedBy, "uris"),
    ]),
}

# Keywords carry no language in the model; the demo and the profile write them in bokmål.
KEYWORD_LANGUAGE = "nb"


def to_graph(model: Model, graph: Graph | None = None) -> Graph:
    """Add `model` (and for a code list its concepts) to `graph`."""
    graph = Graph() if graph is None else graph
    types, props = PROFILE[type(model)]
    subject = URIRef(model.uri)
    for rdf_type in types if isinstance(types, tuple) else (types,):
        graph.add((subject, RDF.type, rdf_type))
    for prop in props:
        _write(graph, subject, prop, getattr(model, prop.field))
    if isinstance(model, CodeList):
        for concept in model.concepts:
            to_graph(concept, graph)
    return graph


def from_graph(cls: type[Model], graph: Graph, uri: str) -> Model:
    """Read a model of type `cls` about `uri` from `graph` (raises ValueError if invalid)."""
    values = read_values(cls, graph, uri)
    if cls is CodeList:
        values["concepts"] = sorted(
            (from_graph(Concept, graph, str(c)) for c in graph.subjects(SKOS.inScheme, URIRef(uri))
             if isinstance(c, URIRef)),
            key=lambda c: (c.notation, c.uri))
    return cls.model_validate(values)


def read_values(cls: type[Model], graph: Graph, uri: str) -> dict[str, object]:
    """The fields of `cls` that `graph` gives for `uri`, unchecked: a record's graph may
    lack what the model requires (a variable's dataset lives in another record)."""
    subject = URIRef(uri)
    values: dict[str, object] = {"uri": uri}
    for prop in PROFILE[cls][1]:
        value = _read(graph, subject, prop)
        if value not in (None, [], {}):
            values[prop.field] = value
    return values


def _write(graph: Graph, subject: URIRef, prop: Prop, value) -> None:
    if value in (None, [], {}):
        return
    path = prop.path
    if prop.kind == "text":
        for lang, text in value.items():
            graph.add((subject, path, Literal(text, lang=lang)))
    elif prop.kind == "literal":
        graph.add((subject, path, Literal(value)))
    elif prop.kind == "keywords":
        for word in value:
            graph.add((subject, path, Literal(word, lang=KEYWORD_LANGUAGE)))
    elif prop.kind == "uri":
        graph.add((subject, path, URIRef(value)))
    elif prop.kind == "uris":
        for uri in value:
            graph.add((subject, path, URIRef(uri)))
    elif prop.kind == "inverse_uri":
        graph.add((URIRef(value), path, subject))
    elif prop.kind == "periods":
        for period in value:
            graph.add((subject, path, period_node(graph, period)))
    elif prop.kind == "contact":
        graph.add((subject, path, contact_node(graph, value)))


def contact_node(graph: Graph, contact: ContactPoint) -> URIRef | BNode:
    node = URIRef(contact.uri) if contact.uri else BNode()
    graph.add((node, RDF.type, VCARD.Organization))
    for lang, text in contact.name.items():
        graph.add((node, VCARD.fn, Literal(text, lang=lang)))
    if contact.email:
        graph.add((node, VCARD.hasEmail, URIRef(f"mailto:{contact.email}")))
    if contact.url:
        graph.add((node, VCARD.hasURL, URIRef(contact.url)))
    return node


def period_node(graph: Graph, period: Period) -> BNode:
    node = BNode()
    graph.add((node, RDF.type, DCT.PeriodOfTime))
    if period.start:
        graph.add((node, DCAT.startDate, Literal(period.start, datatype=XSD.date)))
    if period.end:
        graph.add((node, DCAT.endDate, Literal(period.end, datatype=XSD.date)))
    return node


def _read(graph: Graph, subject: URIRef, prop: Prop):
    path = prop.path
    if prop.kind == "text":
        return texts(graph.objects(subject, path))
    if prop.kind == "literal":
        value = graph.value(subject, path)
        return None if value is None else str(value)
    if prop.kind == "keywords":
        return sorted(str(o) for o in graph.objects(subject, path))
    if prop.kind == "uri":
        value = graph.value(subject, path)
        return None if value is None else str(value)
    if prop.kind == "uris":
        return sorted(str(o) for o in graph.objects(subject, path) if isinstance(o, URIRef))
    if prop.kind == "inverse_uri":
        value = graph.value(None, path, subject)
        return None if value is None else str(value)
    if prop.kind == "periods":
        return sorted((read_period(graph, node) for node in graph.objects(subject, path)),
                      key=lambda p: (p.start or date.min, p.end or date.max))
    if prop.kind == "contact":
        node = graph.value(subject, path)
        if node is None:
            return None
        email = graph.value(node, VCARD.hasEmail)
        url = graph.value(node, VCARD.hasURL)
        return ContactPoint(
            uri=str(node) if isinstance(node, URIRef) else None,
            name=texts(graph.objects(node, VCARD.fn)),
            email=str(email).removeprefix("mailto:") if email is not None else None,
            url=str(url) if url is not None else None,
        )
    raise AssertionError(prop.kind)


def read_period(graph: Graph, node: Node) -> Period:
    return Period(start=rdf_date(graph.value(node, DCAT.startDate), end=False),
                  end=rdf_date(graph.value(node, DCAT.endDate), end=True))


def rdf_date(value, end: bool) -> date | None:
    """An xsd:date, xsd:dateTime or xsd:gYear value as a date; a bare year means its
    first day as a start and its last day as an end."""
    if value is None:
        return None
    text = str(value).strip()
    if len(text) == 4 and text.isdigit():
        return date(int(text), 12, 31) if end else date(int(text), 1, 1)
    if type(value) is str:  # the lexical form, as the search documents read it from files
        return date.fromisoformat(text[:10])
    python = value.toPython() if isinstance(value, Literal) else None
    if isinstance(python, datetime):
        return python.date()
    if isinstance(python, date):
        return python
    return date.fromisoformat(text[:10])


def texts(literals) -> dict[str, str]:
    """Language-tagged literals as a map; an untagged one counts as bokmål."""
    out: dict[str, str] = {}
    for lit in sorted(literals, key=str):
        if isinstance(lit, Literal):
            out.setdefault(lit.language or "nb", str(lit))
    return out
