"""`dcat`: DCAT catalogues (DCAT-AP-NO, DCAT-AP, HealthDCAT-AP) in any RDF syntax.

The source graph is cut into records: each catalogue, each dataset (with its
publisher and contact), each variable (with the link from its dataset) and each
code list (with its concepts), so one bad variable holds back only itself.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import ClassVar
from urllib.parse import urlparse

from rdflib import Dataset, Graph
from rdflib.namespace import RDF, SKOS

from catalogue.harvesters.base import HarvestContext, Record, SourceError
from catalogue.namespaces import DCAT, DCT, DISCO
from catalogue.rdf import closure, stable_skolemize

FORMATS = {
    "text/turtle": "turtle", "application/x-turtle": "turtle",
    "application/rdf+xml": "xml", "application/xml": "xml", "text/xml": "xml",
    "application/ld+json": "json-ld", "application/json": "json-ld",
    "application/n-triples": "nt", "text/plain": "nt",
    "application/trig": "trig", "application/n-quads": "nquads",
}
EXTENSIONS = {".ttl": "turtle", ".rdf": "xml", ".xml": "xml", ".jsonld": "json-ld",
              ".nt": "nt", ".trig": "trig", ".nq": "nquads"}
ACCEPT = ("text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8, "
          "application/n-triples;q=0.7, application/trig;q=0.7")


class DcatHarvester:
    kind: ClassVar[str] = "dcat"

    def gather(self, ctx: HarvestContext) -> Iterator[Record]:
        fetched = ctx.http.get(ctx.url, accept=ACCEPT)
        syntax = rdf_syntax(fetched.content_type, fetched.url)
        parsed = Graph()
        try:
            if syntax in ("trig", "nquads"):
                dataset = Dataset()
                dataset.parse(data=fetched.content, format=syntax, publicID=fetched.url)
                for triple in dataset.triples((None, None, None)):
                    parsed.add(triple)
            else:
                parsed.parse(data=fetched.content, format=syntax, publicID=fetched.url)
        except Exception as exc:  # rdflib raises many parser-specific types
            raise SourceError(f"{fetched.url}: cannot parse as {syntax}: {exc}") from None
        yield from records(stable_skolemize(parsed, ctx.base_uri))


def rdf_syntax(content_type: str, url: str) -> str:
    if content_type in FORMATS and content_type not in ("text/plain", "application/xml"):
        return FORMATS[content_type]
    suffix = PurePosixPath(urlparse(url).path).suffix.lower()
    return EXTENSIONS.get(suffix) or FORMATS.get(content_type) or "turtle"


def records(graph: Graph) -> Iterator[Record]:
    variable_links = set(graph.triples((None, DISCO.variable, None)))
    for catalog in sorted(graph.subjects(RDF.type, DCAT.Catalog)):
        yield Record(key=f"catalogue <{catalog}>", graph=closure(graph, catalog))
    for dataset in sorted(graph.subjects(RDF.type, DCAT.Dataset)):
        record = closure(graph, dataset)
        for link in list(record.triples((dataset, DISCO.variable, None))):
            record.remove(link)
        for agent in graph.objects(dataset, DCT.publisher):
            closure(graph, agent, record)
        yield Record(key=f"dataset <{dataset}>", graph=record)
    for variable in sorted(graph.subjects(RDF.type, DISCO.Variable)):
        record = closure(graph, variable)
        for link in variable_links:
            if link[2] == variable:
                record.add(link)
        label = graph.value(variable, DCT.identifier) or variable
        yield Record(key=f"variable {label} <{variable}>", graph=record)
    for scheme in sorted(graph.subjects(RDF.type, SKOS.ConceptScheme)):
        record = closure(graph, scheme)
        for concept in graph.subjects(SKOS.inScheme, scheme):
            closure(graph, concept, record)
        yield Record(key=f"code list <{scheme}>", graph=record)
