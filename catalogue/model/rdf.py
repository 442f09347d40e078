"""Small RDF helpers shared by harvesters, the store and the site."""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD


GENID = ".well-known/genid/"
Node = TypeVar("Node")
# A nested blank node's content is spelled out in its parent's up to this many characters,
# and named by its digest beyond: IRIs of ordinary nodes stay what they always were, and
# naming a long list or a deep web of blank nodes costs time linear in its size.
INLINE_CONTENT = 4096


def stable_skolemize(graph: Graph, base_uri: str) -> Graph:
    """Replace the graph's blank nodes by IRIs that depend only on where they hang and what
    they hold, so the same input gives the same IRIs on every harvest; returns the graph,
    changed in place (only the statements that name a blank node are replaced: a copy of the
    whole was most of what naming them cost).

    A node's content is its sorted predicate-object pairs, a blank object spelled out in
    brackets (or, past INLINE_CONTENT, its digest), a blank object on the way back round a
    cycle as `[]`. Each node's content is computed once, children first, without recursion."""
    pairs: dict[BNode, list] = defaultdict(list)
    anchors: dict[BNode, list[str]] = defaultdict(list)
    triples = list(graph)
    for s, p, o in triples:
        if isinstance(s, BNode):
            pairs[s].append((p, o))
        if isinstance(o, BNode):
            anchors[o].append(f"{'_' if isinstance(s, BNode) else s.n3()} {p.n3()}")
    content: dict[BNode, str] = {}  # filled children first: a node not in it yet is on a cycle
    nested: dict[BNode, str] = {}  # a node's content as its parents spell it

    def spelled(node) -> str:
        if not isinstance(node, BNode):
            return node.n3()
        if node not in content:  # still being read: a cycle
            return "[]"
        if node not in nested:
            text = content[node]
            nested[node] = (f"[{text}]" if len(text) <= INLINE_CONTENT
                            else f"[#{hashlib.sha256(text.encode()).hexdigest()}]")
        return nested[node]

    def blank_objects(node: BNode) -> list[BNode]:
        return [o for _, o in pairs.get(node, ()) if isinstance(o, BNode)]

    for node in children_first((*pairs, *anchors), blank_objects):
        content[node] = ";".join(sorted(f"{p.n3()} {spelled(o)}" for p, o in pairs.get(node, ())))
    names = {node: URIRef(f"{base_uri}{GENID}" + hashlib.sha256(
                 ("|".join(sorted(anchors.get(node, ()))) + "#" + text).encode()).hexdigest()[:24])
             for node, text in content.items()}
    for s, p, o in triples:
        if isinstance(s, BNode) or isinstance(o, BNode):
            graph.remove((s, p, o))
            graph.add((names.get(s, s), p, names.get(o, o)))
    return graph


def closure(graph: Graph, subject, into: Graph | None = None) -> Graph:
    """The subject's triples and, recursively, those of the blank or skolem nodes it points to."""
    into = Graph() if into is None else into
    for triple in _closure(subject, lambda node: ((node, p, o) for p, o in graph.predicate_objects(node))):
        into.add(triple)
    return into


def held(statements: Callable[[ox.NamedNode | ox.BlankNode], Iterable[ox.Quad]], node) -> Iterator[ox.Triple]:
    """`closure` in oxigraph's terms: the node's triples (`statements` gives a node's, from a
    store) and, recursively, those of the blank or skolem nodes it points to."""
    return _closure(node, lambda node: (ox.Triple(q.subject, q.predicate, q.object) for q in statements(node)))


def _closure(subject, triples_of: Callable[[Node], Iterable[tuple]]) -> Iterator[tuple]:
    """The subject's triples (each node's as `triples_of` gives them, in rdflib's or oxigraph's
    terms) and, recursively, those of the blank or skolem nodes it points to."""
    stack, seen = [subject], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for triple in triples_of(node):
            yield triple
            obj = triple[2]
            if isinstance(obj, (BNode, ox.BlankNode)) or (isinstance(obj, (URIRef, ox.NamedNode)) and GENID in str(obj)):
                stack.append(obj)


@dataclass(frozen=True)
class RdfLimits:
    """The most one RDF document may hold; each field is named after the source option."""

    max_triples: int = 1_000_000
    max_blank_nodes: int = 100_000
    max_list_length: int = 50_000
    max_depth: int = 64  # blank nodes nested in blank nodes; a list counts as one level


class TooLarge(ValueError):
    """A document past one of its RdfLimits."""


XSD_STRING = str(XSD.string)  # oxigraph types simple literals; rdflib leaves them untyped
OX_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "xml": ox.RdfFormat.RDF_XML, "json-ld": ox.RdfFormat.JSON_LD,
              "nt": ox.RdfFormat.N_TRIPLES, "trig": ox.RdfFormat.TRIG, "nquads": ox.RdfFormat.N_QUADS}


def to_rdflib(term):
    """An oxigraph term as rdflib's (blank nodes keep their labels)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == XSD_STRING:  # a simple literal, as RDF 1.1 has it and rdflib writes it
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"not an RDF term: {term!r}")


def to_oxigraph(term):
    """An rdflib term as oxigraph's."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype))) if term.datatype else ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def read_rdf(data: bytes, syntax: str, base: str, limits: RdfLimits = RdfLimits()) -> Graph:
    """The document's triples (named graphs merged) as an rdflib graph, read by oxigraph's
    streaming parser so that a document past `limits` is refused before it is held whole,
    and nesting never recurses. Raises SyntaxError or TooLarge. JSON-LD contexts are never
    loaded: a document must carry them inline."""
    graph = Graph()
    iris: dict[str, URIRef] = {}
    blanks: dict[str, BNode] = {}  # fresh nodes per document, as rdflib's own parsers make
    below: dict[BNode, list[tuple[bool, BNode]]] = defaultdict(list)  # blank objects of blank nodes

    def term(node):
        if isinstance(node, ox.NamedNode):
            iri = iris.get(node.value)
            if iri is None:
                iri = iris[node.value] = URIRef(node.value)
            return iri
        if isinstance(node, ox.BlankNode):
            blank = blanks.get(node.value)
            if blank is None:
                if len(blanks) == limits.max_blank_nodes:
                    raise TooLarge(f"more than max_blank_nodes={limits.max_blank_nodes} blank nodes")
                blank = blanks[node.value] = BNode()
            return blank
        if isinstance(node, ox.Literal):
            if node.language:
                return Literal(node.value, lang=node.language)
            datatype = node.datatype.value
            return Literal(node.value) if datatype == XSD_STRING else Literal(node.value, datatype=term(node.datatype))
        raise TooLarge("RDF 1.2 triple terms are not read")

    count = 0
    for quad in ox.parse(data, format=OX_FORMATS[syntax], base_iri=base):
        count += 1
        if count > limits.max_triples:
            raise TooLarge(f"more than max_triples={limits.max_triples} triples")
        s, p, o = term(quad.subject), term(quad.predicate), term(quad.object)
        graph.add((s, p, o))
        if isinstance(s, BNode) and isinstance(o, BNode):
            below[s].append((p == RDF.rest, o))
    _check_nesting(below, limits)
    return graph


def _check_nesting(below: dict[BNode, list[tuple[bool, BNode]]], limits: RdfLimits) -> None:
    """Refuse a list longer than max_list_length or blank nodes nested deeper than max_depth,
    measured children first without recursion (a cycle ends a path)."""
    depth: dict[BNode, int] = {}
    length: dict[BNode, int] = {}
    for node in children_first(below, lambda node: [o for _, o in below.get(node, ())]):
        edges = below.get(node, ())
        depth[node] = max((depth.get(o, 0) + (not rest) for rest, o in edges), default=1)
        length[node] = max((length.get(o, 0) for rest, o in edges if rest), default=0) + 1
        if length[node] > limits.max_list_length:
            raise TooLarge(f"an RDF list longer than max_list_length={limits.max_list_length}")
        if depth[node] > limits.max_depth:
            raise TooLarge(f"blank nodes nested deeper than max_depth={limits.max_depth}")


def children_first(roots: Iterable[Node], children: Callable[[Node], list[Node]]) -> Iterator[Node]:
    """Every node reachable from `roots`, once, after the nodes it points to, without
    recursion: a node met again on its own path (a cycle) ends that path, unvisited there."""
    done: set[Node] = set()
    for root in roots:
        if root in done:
            continue
        path, stack = {root}, [(root, iter(children(root)))]
        while stack:
            node, todo = stack[-1]
            child = next((c for c in todo if c not in done and c not in path), None)
            if child is not None:
                path.add(child)
                stack.append((child, iter(children(child))))
                continue
            stack.pop()
            path.discard(node)
            done.add(node)
            yield node
