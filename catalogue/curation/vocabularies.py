"""Curated SKOS vocabularies: themes, code lists and national standard variables, each kept
with every version in the curation store (catalogue.curation.mappings.Curation).

Saving never overwrites: each save is a new version (its Turtle, author, time and note),
so what a mapping pointed at, and what the catalogue published, can always be read again.
A version is checked before it is kept (see `check`): curators type Turtle, and the
catalogue publishes the latest version of every vocabulary (catalogue.curation.mappings.Curation).
"""
from __future__ import annotations

import re
from importlib import resources

from pydantic import BaseModel
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, SKOS, XSD

from catalogue.model import ontology
from catalogue.model.namespaces import DCAT, DISCO, bind_prefixes
from catalogue.model.rdf import TooLarge, read_rdf
from catalogue.storage.database import Connection
from catalogue.storage.store import now

KINDS = ("theme", "code_list", "standard_variable")
VOCABULARY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_TURTLE = 2_000_000  # bytes of one version: a national code list is far smaller
MAX_PROBLEMS = 100  # reported of one version
SYSTEM = "system"  # the author of what the catalogue itself does
# Shipped vocabularies, loaded as version 1 the first time the curation store is opened.
SEEDS = {"standard-variables": ("standard_variable", "standard-variables.ttl")}
# Relative IRIs resolve against this, so they show up as what they are: not http(s).
_NO_BASE = "relative:/"

SCHEMA = """
CREATE TABLE IF NOT EXISTS vocabularies (id TEXT PRIMARY KEY, kind TEXT NOT NULL, scheme TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS vocabulary_versions (
    vocabulary TEXT NOT NULL REFERENCES vocabularies(id), number INTEGER NOT NULL, turtle TEXT NOT NULL,
    author TEXT NOT NULL, at TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', PRIMARY KEY (vocabulary, number));
"""


class CurationError(ValueError):
    """What a curator sent cannot be kept; each problem names its field (and, for a
    vocabulary, the vocabulary and concept) and says why."""

    def __init__(self, problems: list[dict]):
        super().__init__("; ".join(f"{p['field']}: {p['message']}" for p in problems))
        self.problems = problems


class NotFound(LookupError):
    """No such vocabulary, version or mapping."""


class Version(BaseModel):
    vocabulary: str
    number: int
    author: str
    at: str
    note: str


class Vocabulary(BaseModel):
    id: str
    kind: str
    scheme: str
    version: int  # the latest
    modified: str
    author: str


def seed(db: Connection) -> None:
    """Load the shipped vocabularies that the store does not have yet (once: afterwards
    they are the curators')."""
    def missing(vocabulary: str) -> bool:
        return db.execute("SELECT 1 FROM vocabularies WHERE id = ?", (vocabulary,)).fetchone() is None

    if any(map(missing, SEEDS)):
        db.exclusive()  # servers opening a new database at once: one seeds it, the others then see it seeded
    for vocabulary, (kind, name) in SEEDS.items():
        if missing(vocabulary):
            ontology.load(name)  # refuses a file that differs from its manifest hash
            text = resources.files(ontology.PACKAGE).joinpath(name).read_text(encoding="utf-8")
            add_version(db, vocabulary, text, SYSTEM, f"ontologies/{name}", kind=kind)


def check(vocabulary: str, turtle: str, scheme: str | None = None) -> Graph:
    """The version as a graph, or a CurationError listing every problem: it must parse,
    hold exactly one skos:ConceptScheme (the vocabulary's earlier one, if it has versions)
    with a dct:title in bokmål, and concepts that are in it with a skos:prefLabel in
    bokmål (what DCAT-AP's shapes for skos:Concept and skos:ConceptScheme need); every IRI
    is http(s), since the catalogue links to them."""
    problems: list[dict] = []

    def problem(field: str, message: str, concept=None) -> None:
        where = f"{vocabulary}: concept <{concept}>" if concept is not None else vocabulary
        found = {"vocabulary": vocabulary, "concept": None if concept is None else str(concept),
                 "field": field, "message": f"{where}: {message}"}
        if found not in problems and len(problems) < MAX_PROBLEMS:  # a bad IRI may recur in every triple
            problems.append(found)

    if len(turtle.encode("utf-8")) > MAX_TURTLE:
        problem("turtle", f"larger than {MAX_TURTLE:,} bytes")
        raise CurationError(problems)
    try:
        graph = read_rdf(turtle.encode("utf-8"), "turtle", _NO_BASE)  # bounded, never recursive
    except (SyntaxError, TooLarge) as exc:
        problem("turtle", f"does not parse as Turtle: {str(exc).strip()[:500]}")
        raise CurationError(problems) from None
    for s, p, o in graph:
        for node in (s, p, o):
            if isinstance(node, URIRef) and not str(node).startswith(("http://", "https://")):
                problem(graph.namespace_manager.normalizeUri(p), f"<{node}> is not an http(s) IRI "
                        "(write every IRI in full, with http:// or https://)", s if isinstance(s, URIRef) else None)
    schemes = set(graph.subjects(RDF.type, SKOS.ConceptScheme))
    if len(schemes) != 1:
        problem("skos:ConceptScheme", f"a vocabulary has exactly one skos:ConceptScheme, this has {len(schemes)}")
        raise CurationError(problems)
    found = schemes.pop()
    if scheme is not None and str(found) != scheme:
        problem("skos:ConceptScheme", f"the scheme is <{found}>; the vocabulary's earlier versions are <{scheme}>")
    if isinstance(found, BNode):
        problem("skos:ConceptScheme", "the scheme needs an IRI")
    if not _has_nb(graph, found, DCTERMS.title):
        problem("dct:title", "the scheme needs a dct:title in bokmål (@nb)")
    concepts = set(graph.subjects(RDF.type, SKOS.Concept)) | set(graph.subjects(SKOS.inScheme, found))
    for concept in sorted(concepts, key=str):
        if isinstance(concept, BNode):
            problem("skos:Concept", "every concept needs an IRI; one is a blank node")
            continue
        if (concept, RDF.type, SKOS.Concept) not in graph:
            problem("rdf:type", "is in the scheme but not typed skos:Concept", concept)
        if (concept, SKOS.inScheme, found) not in graph:
            problem("skos:inScheme", f"is not skos:inScheme <{found}>", concept)
        if not _has_nb(graph, concept, SKOS.prefLabel):
            problem("skos:prefLabel", "needs a skos:prefLabel in bokmål (@nb)", concept)
    if problems:
        raise CurationError(problems)
    return graph


def _has_nb(graph: Graph, subject, predicate) -> bool:
    return any(isinstance(o, Literal) and o.language == "nb" and str(o).strip()
               for o in graph.objects(subject, predicate))


def add_version(db: Connection, vocabulary: str, turtle: str, author: str, note: str = "",
                kind: str | None = None) -> Version:
    """Check and keep a new version (a new vocabulary needs its `kind`)."""
    row = db.execute("SELECT scheme FROM vocabularies WHERE id = ?", (vocabulary,)).fetchone()
    if row is None:
        if not VOCABULARY_ID.match(vocabulary):
            raise CurationError([{"field": "vocabulary", "message": f"{vocabulary!r}: an id is 1-64 of a-z, 0-9 and -"}])
        if kind not in KINDS:
            raise CurationError([{"field": "kind", "message": f"a new vocabulary ({vocabulary}) needs a kind: "
                                                              f"{', '.join(KINDS)}"}])
    graph = check(vocabulary, turtle, row[0] if row else None)
    if row is None:
        scheme = str(next(graph.subjects(RDF.type, SKOS.ConceptScheme)))
        taken = db.execute("SELECT id FROM vocabularies WHERE scheme = ?", (scheme,)).fetchone()
        if taken:
            raise CurationError([{"field": "skos:ConceptScheme",
                                  "message": f"{vocabulary}: <{scheme}> is already the scheme of {taken[0]}"}])
        db.execute("INSERT INTO vocabularies (id, kind, scheme) VALUES (?, ?, ?)", (vocabulary, kind, scheme))
    number = db.execute("SELECT coalesce(max(number), 0) + 1 FROM vocabulary_versions WHERE vocabulary = ?",
                        (vocabulary,)).fetchone()[0]
    version = Version(vocabulary=vocabulary, number=number, author=author, at=now(), note=note)
    db.execute("INSERT INTO vocabulary_versions (vocabulary, number, turtle, author, at, note) "
               "VALUES (?, ?, ?, ?, ?, ?)", (vocabulary, number, turtle, author, version.at, note))
    return version


def vocabularies(db: Connection, kind: str | None = None) -> list[Vocabulary]:
    rows = db.execute(
        "SELECT v.id, v.kind, v.scheme, x.number, x.at, x.author FROM vocabularies v JOIN vocabulary_versions x "
        "ON x.vocabulary = v.id AND x.number = (SELECT max(number) FROM vocabulary_versions WHERE vocabulary = v.id) "
        "WHERE v.kind = coalesce(?, v.kind) ORDER BY v.id", (kind,))
    return [Vocabulary(id=r[0], kind=r[1], scheme=r[2], version=r[3], modified=r[4], author=r[5]) for r in rows]


def find(db: Connection, vocabulary: str) -> Vocabulary | None:
    return next((v for v in vocabularies(db) if v.id == vocabulary), None)


def get(db: Connection, vocabulary: str) -> Vocabulary:
    found = find(db, vocabulary)
    if found is None:
        raise NotFound(f"no vocabulary {vocabulary!r}")
    return found


def versions(db: Connection, vocabulary: str) -> list[Version]:
    """Newest first."""
    return [Version(vocabulary=vocabulary, number=r[0], author=r[1], at=r[2], note=r[3]) for r in db.execute(
        "SELECT number, author, at, note FROM vocabulary_versions WHERE vocabulary = ? ORDER BY number DESC",
        (vocabulary,))]


def turtle(db: Connection, vocabulary: str, number: int | None = None) -> str:
    """The Turtle of one version (the latest without `number`), as the curator sent it."""
    which, params = ("ORDER BY number DESC LIMIT 1", (vocabulary,)) if number is None else \
        ("AND number = ?", (vocabulary, number))
    row = db.execute(f"SELECT turtle FROM vocabulary_versions WHERE vocabulary = ? {which}", params).fetchone()
    if row is None:
        raise NotFound(f"no version {number} of vocabulary {vocabulary!r}" if number else f"no vocabulary {vocabulary!r}")
    return row[0]


def latest_graph(db: Connection, vocabulary: str) -> Graph:
    graph = Graph().parse(data=turtle(db, vocabulary), format="turtle", publicID=_NO_BASE)
    bind_prefixes(graph)
    return graph


def concepts(graph: Graph) -> list[dict]:
    """A version's concepts with what pages and the candidate ranking need, by notation."""
    found = []
    for concept in set(graph.subjects(RDF.type, SKOS.Concept)):
        found.append({"uri": str(concept), "notation": str(graph.value(concept, SKOS.notation) or ""),
                      "label": _texts(graph, concept, SKOS.prefLabel),
                      "definition": _texts(graph, concept, SKOS.definition),
                      "representation": str(graph.value(concept, DISCO.representation) or "") or None})
    return sorted(found, key=lambda c: (c["notation"], c["uri"]))


def _texts(graph: Graph, subject, predicate) -> dict[str, str]:
    return {o.language or "nb": str(o) for o in graph.objects(subject, predicate)}


def with_concept(vocabulary: Vocabulary, graph: Graph, concept: str, label: dict[str, str],
                 definition: dict[str, str], notation: str) -> str:
    """The Turtle of a new version: `graph` with one concept added or changed (the labels,
    definitions and notation given replace the concept's, in those languages). `concept` is
    an IRI, or a name made into one under the scheme's IRI."""
    uri = URIRef(concept if ":" in concept else vocabulary.scheme.rstrip("/#") + "/" + concept)
    scheme = URIRef(vocabulary.scheme)
    graph.add((uri, RDF.type, SKOS.Concept))
    graph.add((uri, SKOS.inScheme, scheme))
    for predicate, texts in ((SKOS.prefLabel, label), (SKOS.definition, definition)):
        for lang, text in texts.items():
            for old in [o for o in graph.objects(uri, predicate) if getattr(o, "language", None) == lang]:
                graph.remove((uri, predicate, old))
            if text:
                graph.add((uri, predicate, Literal(text, lang=lang)))
    if notation:
        graph.set((uri, SKOS.notation, Literal(notation)))
    return graph.serialize(format="turtle")


def published(db: Connection) -> Graph:
    """The latest version of every vocabulary, each scheme saying which version it is and when
    it was made (owl:versionInfo and dcat:version, dct:modified)."""
    graph = Graph()
    for vocabulary in vocabularies(db):
        graph += latest_graph(db, vocabulary.id)
        scheme = URIRef(vocabulary.scheme)
        for predicate in (OWL.versionInfo, DCAT.version, DCTERMS.modified):
            graph.remove((scheme, predicate, None))  # the catalogue's numbering, not the Turtle's own
        graph.add((scheme, OWL.versionInfo, Literal(str(vocabulary.version))))
        graph.add((scheme, DCAT.version, Literal(str(vocabulary.version))))
        graph.add((scheme, DCTERMS.modified, Literal(vocabulary.modified, datatype=XSD.dateTime)))
    return graph
