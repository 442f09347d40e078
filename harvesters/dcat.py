"""`dcat`: DCAT catalogues (DCAT-AP-NO 1.1-3, DCAT-AP 2-3, HealthDCAT-AP) in any RDF syntax.

The syntax is chosen by content type (the URL's extension when the server says
nothing useful). Hydra paging (`hydra:next`) is followed to the end. The source
graph is then cut into records: each catalogue, dataset, dataset series, data
service, distribution and catalogue record, with what hangs off it (agents,
contact points, periods, licences); each variable (with the link from its dataset); each
code list (with its concepts). One bad variable holds back only itself.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, ClassVar
from urllib.parse import urljoin, urlparse

from pydantic import BaseModel, ConfigDict, Field
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from catalogue.harvesters.base import HarvestContext, Record, SourceError, parse_options, read_json
from catalogue.harvesters.http import Fetched
from catalogue.harvesters.xml import parse_xml
from catalogue.model.models import ContactPoint
from catalogue.model.namespaces import DCAT, DCT, DISCO, HYDRA
from catalogue.model.rdf import RdfLimits, TooLarge, closure, read_rdf, stable_skolemize
from catalogue.profiles.dcat_ap_no_3 import contact_node

FORMATS = {
    "text/turtle": "turtle", "application/x-turtle": "turtle",
    "application/rdf+xml": "xml", "application/xml": "xml", "text/xml": "xml",
    "application/ld+json": "json-ld", "application/json": "json-ld",
    "application/n-triples": "nt", "text/plain": "nt",
    "application/trig": "trig", "application/n-quads": "nquads",
}
EXTENSIONS = {".ttl": "turtle", ".rdf": "xml", ".xml": "xml", ".owl": "xml", ".jsonld": "json-ld",
              ".json": "json-ld", ".nt": "nt", ".trig": "trig", ".nq": "nquads"}
ACCEPT = ("text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8, "
          "application/n-triples;q=0.7, application/trig;q=0.7")
# Resources that become records of their own; anything else typed in the graph
# (a distribution, an agent, a contact point ...) travels with the record that uses it.
RECORD_TYPES = {
    DCAT.Catalog: "catalogue", DCAT.Dataset: "dataset", DCAT.DatasetSeries: "dataset series",
    DCAT.DataService: "data service", DCAT.Distribution: "distribution",
    DCAT.CatalogRecord: "catalogue record",
}

NEEDS_PUBLISHER = {DCAT.Catalog, DCAT.Dataset, DCAT.DatasetSeries, DCAT.DataService}
MAX_CONTEXTS = 20  # JSON-LD context documents read for one document, imports included


class DcatOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_pages: int = Field(default=1000, ge=1)
    # JSON-LD contexts are never fetched from where a document says: a remote context
    # must be named here (context URL -> URL to fetch it from, e.g. a local mirror).
    contexts: dict[str, str] = Field(default_factory=dict)
    # DCAT-AP-NO 1.1 and 2 made contact points optional; version 3 (and so this catalogue's
    # export) requires one. A source's own contact, stated here, fills that gap.
    default_contact: ContactPoint | None = None
    # A dataset or service without a publisher gets its catalogue's (as DCAT-AP reads it),
    # or else the source's; off, such a record is held back.
    fill_publisher: bool = True
    # The most one document may hold (see catalogue.model.rdf.RdfLimits): refused, not half read.
    max_triples: int = Field(default=RdfLimits.max_triples, ge=1)
    max_blank_nodes: int = Field(default=RdfLimits.max_blank_nodes, ge=0)
    max_list_length: int = Field(default=RdfLimits.max_list_length, ge=1)
    max_depth: int = Field(default=RdfLimits.max_depth, ge=1)

    def limits(self) -> RdfLimits:
        return RdfLimits(self.max_triples, self.max_blank_nodes, self.max_list_length, self.max_depth)


class DcatHarvester:
    kind: ClassVar[str] = "dcat"

    def gather(self, ctx: HarvestContext) -> Iterator[Record]:
        options = parse_options(DcatOptions, ctx)
        graph = Graph()
        url: str | None = ctx.url
        visited: set[str] = set()
        while url:
            if url in visited:
                raise SourceError(f"{url}: Hydra paging loops back to a page already read")
            if len(visited) == options.max_pages:
                raise SourceError(f"{ctx.url}: more than max_pages={options.max_pages} Hydra pages")
            visited.add(url)
            page = parse_rdf(ctx, ctx.http.get(url, accept=ACCEPT), options)
            url = next_page(page, url)
            graph += page
        # Blank nodes named before cutting: a dataset that is a blank node keeps one key.
        yield from records(stable_skolemize(graph, ctx.base_uri),
                           URIRef(ctx.publisher.uri) if options.fill_publisher else None,
                           options.default_contact)

    def probe(self, ctx: HarvestContext) -> str:
        """For `catalogue sources check`: the first page must be RDF naming a catalogue or datasets."""
        options = parse_options(DcatOptions, ctx)
        page = parse_rdf(ctx, ctx.http.get(ctx.url, accept=ACCEPT), options)
        catalogues, datasets = (len(set(page.subjects(RDF.type, t))) for t in (DCAT.Catalog, DCAT.Dataset))
        if not (catalogues or datasets):
            raise SourceError(f"{ctx.url}: RDF ({len(page)} triples) without a dcat:Catalog or dcat:Dataset")
        return f"RDF: {catalogues} catalogue(s), {datasets} dataset(s) on the first page"


def parse_rdf(ctx: HarvestContext, fetched: Fetched, options: DcatOptions) -> Graph:
    syntax = rdf_syntax(fetched.content_type, fetched.url)
    data = fetched.content
    if syntax == "xml":
        parse_xml(fetched.content, fetched.url)  # refuses entity bombs before the RDF parser sees it
    elif syntax == "json-ld":
        data = _local_contexts(ctx, fetched, options)
    try:
        return read_rdf(data, syntax, fetched.url, options.limits())
    except TooLarge as exc:
        raise SourceError(f"{fetched.url}: refused, {exc}") from None
    except (SyntaxError, ValueError) as exc:
        raise SourceError(f"{fetched.url}: cannot parse as {syntax}: {exc}") from None


def rdf_syntax(content_type: str, url: str) -> str:
    if content_type in FORMATS and content_type not in ("text/plain", "application/xml",
                                                        "application/json"):
        return FORMATS[content_type]
    suffix = PurePosixPath(urlparse(url).path).suffix.lower()
    return EXTENSIONS.get(suffix) or FORMATS.get(content_type) or "turtle"


def next_page(page: Graph, url: str) -> str | None:
    """The page after this one (hydra:next, or the older hydra:nextPage), if any."""
    for predicate in (HYDRA.next, HYDRA.nextPage):
        for target in page.objects(None, predicate):
            if isinstance(target, URIRef):
                return urljoin(url, str(target))
    return None


def _local_contexts(ctx: HarvestContext, fetched: Fetched, options: DcatOptions) -> bytes:
    """The JSON-LD document with every context inline: top-level, embedded, scoped (in a term
    definition), imported (`@import`) and those the fetched contexts name in turn, each read
    from its mirror in `contexts` (at most MAX_CONTEXTS per document). The parser then has
    nothing left to load, and loads nothing."""
    document = read_json(fetched.content, fetched.url)
    cache: dict[str, Any] = {}
    reading: list[str] = []

    def remote(reference: str, base: str) -> Any:
        url = urljoin(base, reference)
        if url in reading:
            raise SourceError(f"{fetched.url}: JSON-LD context {url} includes itself")
        if url not in cache:
            mirror = options.contexts.get(reference) or options.contexts.get(url)
            if mirror is None:
                raise SourceError(f"{fetched.url}: JSON-LD context {reference} is remote; name it "
                                  "in the source's `contexts` option to allow it")
            if len(cache) == MAX_CONTEXTS:
                raise SourceError(f"{fetched.url}: refused, more than {MAX_CONTEXTS} JSON-LD contexts")
            body = read_json(ctx.http.get(mirror, accept="application/ld+json, application/json").content,
                             mirror)
            if not isinstance(body, dict) or "@context" not in body:
                raise SourceError(f"{mirror}: not a JSON-LD context document")
            reading.append(url)
            cache[url] = resolve(body["@context"], url)
            reading.pop()
        return cache[url]

    def resolve(context: Any, base: str) -> Any:
        if isinstance(context, list):
            return [resolve(c, base) for c in context]
        if isinstance(context, str):
            return remote(context, base)
        if not isinstance(context, dict):
            return context
        inline = {term: ({**definition, "@context": resolve(definition["@context"], base)}
                         if isinstance(definition, dict) and "@context" in definition else definition)
                  for term, definition in context.items() if term != "@import"}
        if "@import" in context:
            imported = resolve(context["@import"], base)
            if not isinstance(imported, dict):
                raise SourceError(f"{fetched.url}: JSON-LD @import {context['@import']} is no context object")
            inline = {**imported, **inline}  # the importing context's terms win
        return inline

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: resolve(v, fetched.url) if k == "@context" else walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(n) for n in node]
        return node

    return json.dumps(walk(document)).encode()


def records(graph: Graph, publisher: URIRef | None = None,
            default_contact: ContactPoint | None = None) -> Iterator[Record]:
    """`publisher` is the source's: DCAT-AP leaves a dataset's publisher optional (its
    catalogue's applies), the explorer needs one, so a dataset without one gets its
    catalogue's publisher, or else the source's. None: no publisher is filled in."""
    own = {s for t in (*RECORD_TYPES, DISCO.Variable, SKOS.ConceptScheme) for s in graph.subjects(RDF.type, t)}
    done: set = set()
    for rdf_type, label in RECORD_TYPES.items():
        for subject in sorted(graph.subjects(RDF.type, rdf_type)):
            if subject in done:  # a dataset series is also typed dcat:Dataset, say
                continue
            done.add(subject)
            record = closure(graph, subject)
            for link in list(record.triples((subject, DISCO.variable, None))):
                record.remove(link)  # travels with the variable, so it vanishes with it
                record.add((subject, RDF.type, DISCO.LogicalDataSet))  # DDI-RDF Discovery's dataset with variables
            _describe_objects(graph, record, own)
            if publisher and rdf_type in NEEDS_PUBLISHER and (subject, DCT.publisher, None) not in record:
                catalogue = graph.value(None, DCAT.dataset, subject) or graph.value(None, DCAT.service, subject)
                record.add((subject, DCT.publisher, graph.value(catalogue, DCT.publisher) or publisher))
            if default_contact and rdf_type in NEEDS_PUBLISHER and \
                    (subject, DCAT.contactPoint, None) not in record:
                record.add((subject, DCAT.contactPoint, contact_node(record, default_contact)))
            yield Record(key=f"{label} <{subject}>", graph=record)
    for variable in sorted(graph.subjects(RDF.type, DISCO.Variable)):
        record = closure(graph, variable)
        for version in graph.objects(variable, DCAT.hasVersion):  # declared versions travel with it
            if (version, RDF.type, None) in graph:
                closure(graph, version, record)
        _describe_objects(graph, record, own)
        for dataset in graph.subjects(DISCO.variable, variable):
            record.add((dataset, DISCO.variable, variable))
        # DDI-RDF Discovery names a variable by skos:notation, DCAT by dct:identifier: both, from either
        name = graph.value(variable, DCT.identifier) or graph.value(variable, SKOS.notation)
        if name is not None:
            for path in (DCT.identifier, SKOS.notation):
                if (variable, path, None) not in record:
                    record.add((variable, path, Literal(str(name))))
        yield Record(key=f"variable {name} <{variable}>" if name else f"variable <{variable}>", graph=record)
    for scheme in sorted(graph.subjects(RDF.type, SKOS.ConceptScheme)):
        record = closure(graph, scheme)
        for concept in graph.subjects(SKOS.inScheme, scheme):
            closure(graph, concept, record)
        yield Record(key=f"code list <{scheme}>", graph=record)


def _describe_objects(graph: Graph, record: Graph, own: set) -> None:
    """Add what the source says of the things a record points to that are no record of
    their own (a theme concept, an agent), so the record carries their names."""
    for node in set(record.objects()):
        if isinstance(node, URIRef) and node not in own and (node, RDF.type, None) in graph:
            closure(graph, node, record)
