"""A source's records checked in groups that no shape looks across, on the machine's cores.

pySHACL's time per record grows with the graph it checks, and its memory with it. So the
records are cut into groups (a dataset with its variables, a code list, ...) such that every
shape sees of a node all it would see in one graph of all records; a few groups at a time are
validated as one batch, batches run on a pool of processes, and a result is kept only from
the batch holding the record that owns its focus node. The verdicts are those of one graph.
"""
from __future__ import annotations

import multiprocessing
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import date
from itertools import islice

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

from catalogue.gate.shacl import DEFAULT_PROFILE, PROFILES, Profile, Result, profile_shapes, validate
from catalogue.model.namespaces import DCAT
from catalogue.model.rdf import GENID

# Triples validated in one graph: past some tens of thousands pySHACL slows down per triple,
# below a few thousand its set-up per run shows. A group larger than this is never cut.
BATCH_TRIPLES = 10_000
# Fewer batches than this are validated in the harvesting process: starting the fork server
# and its processes costs about what a batch or two does.
POOL_BATCHES = 3
# Batches given to the pool ahead of those it works on: enough to keep every process busy,
# few enough that the graphs waiting for a process stay a small part of the source.
AHEAD = 2

HASH = 2**64 - 1  # the bits of a hash the survey keeps
PERIOD_DATES = {DCAT.startDate: False, DCAT.endDate: True}  # the date, and whether it ends a period
YEAR = re.compile(r"\d{4}(Z|[+-]\d\d:\d\d)?")


def check(graphs: Sequence[Graph], shapes: Graph | None = None, processes: int | None = None,
          batch_triples: int = BATCH_TRIPLES) -> list[tuple[int | None, Result]]:
    """Validate the records' graphs as one source's: each result with the index of the record
    that owns its focus node (None if none holds it), ordered by focus, path and message.

    With the shapes of a profile, batches run on `processes` processes (the machine's cores
    this process may run on by default); a source's own shapes are checked in this process,
    batch by batch."""
    return surveyed(graphs, shapes).check(graphs.__getitem__, processes, batch_triples)


def surveyed(graphs: Iterable[Graph], shapes: Graph | None = None) -> Survey:
    survey = Survey(shapes)
    for graph in graphs:
        survey.add(graph)
    return survey


class Survey:
    """What the gate must know of all of a source's records before it checks any (who owns
    each node, which records go together, how large each is), noted one record at a time.
    It keeps no graph: a harvest reads a source's records one by one, and `check` asks for
    their triples again batch by batch."""

    def __init__(self, shapes: Graph | None = None):
        self.shapes = profile_shapes(DEFAULT_PROFILE) if shapes is None else shapes
        self.reach = reach(self.shapes)
        self.sizes: list[int] = []  # triples per record, by index
        # node -> each record describing it, as one number (see `add`): most nodes have one,
        # and the survey of a large source holds some millions of them
        self.descriptions: dict[Node, int | list[int]] = {}
        self.needed: dict[Node, int | set[int]] = {}  # node -> the record or records that need its description
        self.subclasses = False  # a graph declares classes: they may be inferred across records

    def add(self, graph: Graph) -> None:
        """Note the next record (its index is the number noted before it)."""
        index = len(self.sizes)
        self.sizes.append(len(graph))
        about: dict[Node, set] = defaultdict(set)
        for s, p, o in graph:
            about[s].add((p, o))
            if self.reach and (p in self.reach.described or p in self.reach.inverse) and not isinstance(o, Literal):
                needing = self.needed.setdefault(o, index)
                if isinstance(needing, set):
                    needing.add(index)
                elif needing != index:
                    self.needed[o] = {needing, index}
            self.subclasses = self.subclasses or p == RDFS.subClassOf
        for node, pairs in about.items():
            # the record, whether it types the node, and the hash of its triples there
            entry = index << 65 | any(p == RDF.type for p, _ in pairs) << 64 | hash(frozenset(pairs)) & HASH
            known = self.descriptions.setdefault(node, entry)
            if isinstance(known, list):
                known.append(entry)
            elif known != entry:
                self.descriptions[node] = [known, entry]

    def describing(self, node: Node) -> list[int]:
        """The records describing the node, as `add` notes them."""
        described = self.descriptions.get(node, [])
        return described if isinstance(described, list) else [described]

    def owner(self, node: Node) -> int | None:
        """A node belongs to the record that types it; an untyped node to the first that describes it."""
        described = self.describing(node)
        return next((e >> 65 for e in described if e >> 64 & 1), described[0] >> 65) if described else None

    def groups(self) -> list[list[int]]:
        """The records' indexes in groups that validate independently: records that describe
        a node differently are together (a dataset and the variables that name it); so are a
        record and those describing a node it needs described (the value of an sh:class or
        sh:node), or a node that it points to along an inverse path. A node described alike by
        several records (the publisher of each dataset) joins nothing."""
        if self.reach is None or self.subclasses:
            return [list(range(len(self.sizes)))]
        parent = list(range(len(self.sizes)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        def join(indexes: Iterable[int]) -> None:
            roots = {root(i) for i in indexes}
            first = min(roots, default=None)
            for r in roots:
                parent[r] = first

        for described in self.descriptions.values():
            if isinstance(described, list) and len({e & HASH for e in described}) > 1:
                join(e >> 65 for e in described)
        for node, needing in self.needed.items():
            if node in self.descriptions:
                join({*(needing if isinstance(needing, set) else (needing,)), *(e >> 65 for e in self.describing(node))})
        members: dict[int, list[int]] = defaultdict(list)
        for index in range(len(self.sizes)):
            members[root(index)].append(index)
        return list(members.values())

    def check(self, triples: Callable[[int], Iterable[tuple]], processes: int | None = None,
              batch_triples: int = BATCH_TRIPLES) -> list[tuple[int | None, Result]]:
        """Validate the records noted, as `check` (this module's) does; `triples(index)`
        gives a record's triples again, when its batch is made."""
        batches = list(_batches(self.sizes, self.groups(), batch_triples))
        profile = next((p for p in PROFILES if profile_shapes(p) is self.shapes), None)
        processes = processes or len(os.sched_getaffinity(0))
        if profile is None or processes == 1 or len(batches) < POOL_BATCHES:
            checked = ((batch, checked_results(_triples(triples, batch), self.shapes)) for batch in batches)
        else:
            checked = _on_pool(profile, triples, batches, min(processes, len(batches)))
        found: list[tuple[int | None, Result]] = []
        unowned: set[Result] = set()  # a focus no record holds may be seen by several batches
        for batch, results in checked:
            members = set(batch)
            for result in results:
                index = self.owner(result.node)
                if index is None and result not in unowned:
                    unowned.add(result)
                    found.append((index, result))
                elif index in members:
                    found.append((index, result))
        return sorted(found, key=lambda f: (f[1].focus, f[1].path or "", f[1].message, f[1].severity,
                                            f[1].value or ""))


@dataclass(frozen=True)
class Reach:
    """What the shapes read beyond a focus node's own triples."""

    described: frozenset[URIRef]  # predicates whose values' own triples a constraint reads (sh:class, sh:node, ...)
    inverse: frozenset[URIRef]    # predicates a path follows backwards (sh:inversePath)


def reach(shapes: Graph) -> Reach | None:
    """What the shapes read across nodes; None if they may read anywhere (SPARQL, targets
    by node or object, paths longer than one step), so that only one graph of all will do."""
    if any((None, p, None) in shapes for p in (SH.sparql, SH.target, SH.targetNode, SH.targetObjectsOf)):
        return None
    described, inverse = set(), set()
    for shape, path in shapes.subject_objects(SH.path):
        backwards = shapes.value(path, SH.inversePath) if isinstance(path, BNode) else None
        if isinstance(path, URIRef):
            if _reads_values(shapes, shape):
                described.add(path)
        elif isinstance(backwards, URIRef) and len(set(shapes.predicate_objects(path))) == 1 \
                and not _reads_values(shapes, shape):
            inverse.add(backwards)
        else:
            return None
    return Reach(frozenset(described), frozenset(inverse))


NESTED = (SH.node, SH["not"], SH.qualifiedValueShape)
LISTS = (SH["and"], SH["or"], SH.xone)


def _nested(shapes: Graph, shape: Node) -> Iterator[Node]:
    for p in NESTED:
        yield from shapes.objects(shape, p)
    for p in LISTS:
        for members in shapes.objects(shape, p):
            yield from shapes.items(members)


def _reads_values(shapes: Graph, shape: Node) -> bool:
    """Whether the property shape's constraints read its value nodes' own triples."""
    if (shape, SH["class"], None) in shapes or (shape, SH.property, None) in shapes:
        return True
    return any(_reads_node(shapes, nested, set()) for nested in _nested(shapes, shape))


def _reads_node(shapes: Graph, shape: Node, seen: set) -> bool:
    """Whether checking a node against `shape` reads the node's triples (not the node alone)."""
    if shape in seen:  # a recursive shape: assume it reads
        return True
    seen.add(shape)
    if any((shape, p, None) in shapes for p in (SH.path, SH.property, SH["class"], SH.closed)):
        return True
    return any(_reads_node(shapes, nested, seen) for nested in _nested(shapes, shape))


def groups(graphs: Sequence[Graph], shapes: Graph) -> list[list[int]]:
    """The records' indexes in groups that validate independently (see Survey.groups)."""
    return surveyed(graphs, shapes).groups()


def _batches(sizes: Sequence[int], groups: list[list[int]], size: int) -> Iterator[list[int]]:
    """Groups together until they hold `size` triples (`sizes`: each record's)."""
    batch: list[int] = []
    triples = 0
    for group in groups:
        batch += group
        triples += sum(sizes[index] for index in group)
        if triples >= size:
            yield batch
            batch, triples = [], 0
    if batch:
        yield batch


def _triples(triples: Callable[[int], Iterable[tuple]], batch: list[int]) -> list[tuple]:
    return [triple for index in batch for triple in triples(index)]


def _on_pool(profile: Profile, triples: Callable[[int], Iterable[tuple]], batches: list[list[int]],
             processes: int) -> Iterator[tuple[list[int], list[Result]]]:
    """Each batch's results, validated on `processes` processes forked from multiprocessing's
    fork server, not from this process (which may hold threads and their locks); the server
    has the gate's modules imported once, so a process starts at once. A batch's triples are
    made only shortly before a process is free for it."""
    waiting = iter(batches)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        def submit(batch: list[int]):
            return pool.submit(_check_batch, profile, _triples(triples, batch))

        running = {submit(batch): batch for batch in islice(waiting, processes + AHEAD)}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                batch = running.pop(future)
                running.update({submit(b): b for b in islice(waiting, 1)})
                yield batch, future.result()


def _check_batch(profile: Profile, triples: list[tuple]) -> list[Result]:
    return checked_results(triples, profile_shapes(profile))


def checked_results(triples: Iterable[tuple], shapes: Graph) -> list[Result]:
    """Validate the triples as the gate sees them: skolem IRIs were blank nodes at the
    source and are blank again (so "an IRI, not a blank node" still holds), period dates
    are dates (`checked_date`). Results name the skolem IRI, not the blank node."""
    blank: dict[URIRef, BNode] = {}

    def seen(node):
        if isinstance(node, URIRef) and GENID in node:
            return blank.setdefault(node, BNode())
        return node

    data = Graph()
    data.addN((seen(s), p, checked_date(seen(o), PERIOD_DATES[p]) if p in PERIOD_DATES else seen(o), data)
              for s, p, o in triples)
    skolem = {b: node for node, b in blank.items()}
    named = {str(b): str(node) for b, node in skolem.items()}
    return [replace(r, focus=str(skolem.get(r.node, r.focus)), node=skolem.get(r.node, r.node),
                    value=named.get(r.value, r.value)) for r in validate(data, shapes).results]


def checked_date(value: Node, end: bool) -> Node:
    """A period's date as the catalogue reads it, so that one datatype check (xsd:date)
    serves the three forms a source may give: a well-formed xsd:gYear is its first day as a
    start and its last as an end, an xsd:dateTime its day. Anything else is left as it is
    and refused unless it is a well-formed xsd:date."""
    if not isinstance(value, Literal):
        return value
    if value.datatype == XSD.gYear and YEAR.fullmatch(value):
        year = int(value[:4])
        return Literal(date(year, 12, 31) if end else date(year, 1, 1))
    if value.datatype == XSD.dateTime and value.ill_typed is False:
        return Literal(value.toPython().date())
    return value
