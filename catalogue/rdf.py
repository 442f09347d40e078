"""Small RDF helpers shared by harvesters, the store and the site."""
from __future__ import annotations

import hashlib

from rdflib import BNode, Graph, URIRef


GENID = ".well-known/genid/"


def stable_skolemize(graph: Graph, base_uri: str) -> Graph:
    """Replace blank nodes by IRIs that depend only on where they hang and what they hold,
    so the same input gives the same IRIs on every harvest."""
    names: dict[BNode, URIRef] = {}

    def content(node: BNode, seen: frozenset) -> str:
        parts = []
        for p, o in graph.predicate_objects(node):
            if isinstance(o, BNode):
                o_text = "[]" if o in seen else "[" + content(o, seen | {o}) + "]"
            else:
                o_text = o.n3()
            parts.append(f"{p.n3()} {o_text}")
        return ";".join(sorted(parts))

    def name(node: BNode) -> URIRef:
        if node not in names:
            anchors = sorted(f"{s.n3() if not isinstance(s, BNode) else '_'} {p.n3()}"
                             for s, p in graph.subject_predicates(node))
            digest = hashlib.sha256(
                ("|".join(anchors) + "#" + content(node, frozenset({node}))).encode()).hexdigest()
            names[node] = URIRef(f"{base_uri}{GENID}{digest[:24]}")
        return names[node]

    out = Graph()  # no prefixes bound: that costs more than the copy, and records need none
    for s, p, o in graph:
        out.add((name(s) if isinstance(s, BNode) else s, p, name(o) if isinstance(o, BNode) else o))
    return out


def closure(graph: Graph, subject, into: Graph | None = None) -> Graph:
    """The subject's triples and, recursively, those of the blank or skolem nodes it points to."""
    into = Graph() if into is None else into
    stack, seen = [subject], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for p, o in graph.predicate_objects(node):
            into.add((node, p, o))
            if isinstance(o, BNode) or (isinstance(o, URIRef) and GENID in o):
                stack.append(o)
    return into
