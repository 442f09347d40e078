"""Mappings between variables, and the curation store that keeps them with the vocabularies.

A mapping says a registry's variable is the same as (`skos:exactMatch`) or close to
(`skos:closeMatch`) another registry's variable or a national standard variable. It is
proposed (by a curator, or by `system` from the ranked candidates), then approved or
rejected by a curator; only approved mappings are published. SKOS's matches are
symmetric, so a pair is mapped once, whichever way round.

The curation store (vocabularies and mappings) is `data/curation.sqlite`, or the `curation`
schema of the catalogue's PostgreSQL database (catalogue.storage.database). What it holds
is published as one more graph of the store (`curation`, of kind `curation`): the latest
version of every vocabulary and the approved mappings, so /catalog, /sparql and /id/
serve them like any source's triples. The graph is rewritten under the store's lock on
every curation write, in the same step as the write.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel
from rdflib import URIRef
from rdflib.namespace import DCTERMS, SKOS
from tantivy import Filter, TextAnalyzerBuilder, Tokenizer

from catalogue.curation import vocabularies
from catalogue.curation.vocabularies import SYSTEM, CurationError
from catalogue.model.models import Text, code_list_of
from catalogue.model.namespaces import DISCO
from catalogue.search import Query, SearchBackend, VariableDoc
from catalogue.search.analysis import NOT_PARTS, fold
from catalogue.storage.database import Connection, Database, database_at
from catalogue.storage.store import WRITE_WAIT, Busy, SourceState, Store, now

CURATION_GRAPH = CURATION_KIND = "curation"  # the published graph's id in the store, and its kind
RELATIONS = {"exactMatch": SKOS.exactMatch, "closeMatch": SKOS.closeMatch}
STATES = ("proposed", "approved", "rejected")
# Candidate ranking (see `score`): the parts' weights, what is proposed, and how many hits
# each search adds to the pool.
WEIGHTS = {"names": 0.5, "definitions": 0.3, "codes": 0.2}
PROPOSE_FROM = 0.6  # combined score a candidate needs to be proposed by `system`
EXACT_FROM = 0.85   # ... and to be proposed as exactMatch rather than closeMatch
PROPOSED_AT_MOST = 3
POOL = 50


def _release_0_1_0(db: Connection) -> None:
    """Release 0.1.0's schema. A pair is mapped once whichever way round: its index is on the
    lesser and greater side, which SQLite calls min and max and PostgreSQL LEAST and GREATEST."""
    least, greatest = ("min", "max") if db.dialect == "sqlite" else ("LEAST", "GREATEST")
    db.script(vocabularies.SCHEMA + f"""
CREATE TABLE IF NOT EXISTS mappings (
    id INTEGER PRIMARY KEY, subject TEXT NOT NULL, object TEXT NOT NULL, relation TEXT NOT NULL,
    state TEXT NOT NULL, score REAL, subject_source TEXT NOT NULL, object_source TEXT NOT NULL,
    proposed_by TEXT NOT NULL, proposed_at TEXT NOT NULL, reviewed_by TEXT, reviewed_at TEXT,
    note TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX IF NOT EXISTS mapping_pair ON mappings ({least}(subject, object), {greatest}(subject, object));
CREATE INDEX IF NOT EXISTS mapping_state ON mappings (state);
""")


# The curation store's schema as migrations (see catalogue.storage.database).
MIGRATIONS = (_release_0_1_0,)
_COLUMNS = ("id", "subject", "object", "relation", "state", "score", "subject_source", "object_source",
            "proposed_by", "proposed_at", "reviewed_by", "reviewed_at", "note")


class Mapping(BaseModel):
    id: int
    subject: str   # a variable's URI
    object: str    # another registry's variable, or a standard variable (a concept)
    relation: str  # a key of RELATIONS
    state: str     # one of STATES
    score: float | None = None  # the candidate's combined similarity, when `system` proposed it
    subject_source: str  # the source of the subject, and of the object (a vocabulary id for a concept)
    object_source: str
    proposed_by: str
    proposed_at: str
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    note: str = ""


# -- the curation store ----------------------------------------------------------------

class Curation:
    """The curation store in the catalogue's database, and the graph it publishes into `store`."""

    def __init__(self, where: Database | Path, store: Store):
        self.database = database_at(where)
        self.store = store

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.database.transaction("curation", MIGRATIONS) as db:
            vocabularies.seed(db)
            yield db

    @contextmanager
    def write(self, wait: float | None = None) -> Iterator[Connection]:
        """A transaction whose changes are published before it commits, under the store's
        lock (waiting WRITE_WAIT seconds for it unless told otherwise): if either fails,
        neither the curation store nor the catalogue changes."""
        with self.store.lock(WRITE_WAIT if wait is None else wait), self.read() as db:
            yield db
            self._publish(db)

    def publish_if_missing(self) -> None:
        """Publish the curated graph if the store has none yet (a new data directory, or
        the seed vocabularies before any curator wrote), unless a harvest is running."""
        if CURATION_GRAPH not in self.store.state().sources:
            try:
                with self.write(wait=0):
                    pass
            except Busy:
                pass  # the next write publishes it

    def _publish(self, db: Connection) -> None:
        graph = vocabularies.published(db)
        concepts = {v.id for v in vocabularies.vocabularies(db)}
        for mapping in _mappings(db, "state = 'approved'", ()):
            graph.add((URIRef(mapping.subject), RELATIONS[mapping.relation], URIRef(mapping.object)))
            if mapping.relation == "exactMatch" and mapping.object_source in concepts:
                # the variable measures the standard variable's concept (DDI-RDF Discovery)
                graph.add((URIRef(mapping.subject), DISCO.concept, URIRef(mapping.object)))
        state = self.store.state()
        entry = SourceState(id=CURATION_GRAPH, name="Kuratering", publisher="", kind=CURATION_KIND,
                            url=str(self.database), harvested=now(), attempted=now(), triples=len(graph))
        entry.graph_file = self.store.replace_graph(CURATION_GRAPH, graph)
        state.sources[CURATION_GRAPH] = entry
        self.store.write_state(state)
        self.store.prune(state)


# -- mappings ----------------------------------------------------------------------------

def _mappings(db: Connection, where: str, params: tuple, limit: int | None = None, offset: int = 0) -> list[Mapping]:
    page = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
    rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM mappings WHERE {where} ORDER BY id DESC{page}", params)
    return [Mapping(**dict(zip(_COLUMNS, row))) for row in rows]


def get(db: Connection, mapping_id: int) -> Mapping:
    found = _mappings(db, "id = ?", (mapping_id,))
    if not found:
        raise vocabularies.NotFound(f"no mapping {mapping_id}")
    return found[0]


def listing(db: Connection, state: str | None = None, source: str | None = None,
            limit: int = 100, offset: int = 0) -> tuple[int, list[Mapping]]:
    """Mappings newest first, of one state and/or with one side in one source."""
    # coalesce, not `? IS NULL`: PostgreSQL cannot tell the type of a parameter only tested for NULL
    where = "state = coalesce(?, state) AND coalesce(?, subject_source) IN (subject_source, object_source)"
    params = (state, source)
    total = db.execute(f"SELECT count(*) FROM mappings WHERE {where}", params).fetchone()[0]
    return total, _mappings(db, where, params, limit, offset)


def approved_for(db: Connection, uri: str) -> list[Mapping]:
    """The approved mappings of a variable, whichever side of them it is on."""
    return _mappings(db, "state = 'approved' AND (subject = ? OR object = ?)", (uri, uri))


def sources(db: Connection) -> list[str]:
    """The sources (and vocabularies) mappings have a side in."""
    return [r[0] for r in db.execute("SELECT subject_source FROM mappings UNION SELECT object_source FROM mappings "
                                     "ORDER BY 1")]


def counts(db: Connection) -> dict[str, int]:
    found = dict(db.execute("SELECT state, count(*) FROM mappings GROUP BY state").fetchall())
    return {state: found.get(state, 0) for state in STATES}


def propose(db: Connection, subject: str, object: str, relation: str, by: str,
            subject_source: str, object_source: str, score: float | None = None, note: str = "") -> Mapping:
    if relation not in RELATIONS:
        raise CurationError([{"field": "relation", "message": f"{relation!r}: one of {', '.join(RELATIONS)}"}])
    if subject == object:
        raise CurationError([{"field": "object", "message": "a variable is not mapped to itself"}])
    existing = _mappings(db, "(subject = ? AND object = ?) OR (subject = ? AND object = ?)",
                         (subject, object, object, subject))
    if existing:
        raise CurationError([{"field": "object", "message": f"these two are already mapped: mapping "
                                                            f"{existing[0].id} ({existing[0].state})"}])
    [made] = db.execute(
        "INSERT INTO mappings (subject, object, relation, state, score, subject_source, object_source, "
        "proposed_by, proposed_at, note) VALUES (?, ?, ?, 'proposed', ?, ?, ?, ?, ?, ?) RETURNING id",
        (subject, object, relation, score, subject_source, object_source, by, now(), note)).fetchone()
    return get(db, made)


def review(db: Connection, mapping_id: int, state: str, relation: str | None, by: str,
           note: str | None = None) -> tuple[Mapping, Mapping]:
    """Approve, reject (or send back to proposed) a mapping, perhaps with another relation:
    the mapping before and after."""
    before = get(db, mapping_id)
    if state not in STATES:
        raise CurationError([{"field": "state", "message": f"{state!r}: one of {', '.join(STATES)}"}])
    relation = relation or before.relation
    if relation not in RELATIONS:
        raise CurationError([{"field": "relation", "message": f"{relation!r}: one of {', '.join(RELATIONS)}"}])
    db.execute("UPDATE mappings SET state = ?, relation = ?, reviewed_by = ?, reviewed_at = ?, note = ? "
               "WHERE id = ?", (state, relation, by, now(), before.note if note is None else note, mapping_id))
    return before, get(db, mapping_id)


# -- candidates --------------------------------------------------------------------------

class Comparable(BaseModel):
    """What a variable or a standard variable is compared by."""

    uri: str
    id: str | None = None  # a variable's id in the catalogue
    kind: str  # "variable" or "standard_variable"
    label: Text
    source: str  # the source's id, or the vocabulary's
    source_name: str
    names: list[str]  # the short name (or notation) and the labels
    description: str
    code_list: str | None = None
    codes: set[str] = set()


class Candidate(BaseModel):
    uri: str
    id: str | None
    kind: str
    label: Text
    source: str
    source_name: str
    score: float
    parts: dict[str, float | None]  # per part of WEIGHTS; None where it cannot be compared
    matched: list[str]  # the two names that are most alike, this variable's first


def comparable(doc: VariableDoc) -> Comparable:
    return Comparable(uri=doc.uri, id=doc.id, kind="variable", label=doc.label, source=doc.source,
                      source_name=doc.source_name, names=[doc.name, *doc.label.values()],
                      description=" ".join(doc.description.values()), code_list=doc.code_list,
                      codes={c.split(" ", 1)[0] for c in doc.codes})


def standard_variables(db: Connection) -> list[Comparable]:
    """The concepts of the latest versions of the standard-variable vocabularies."""
    found = []
    for vocabulary in vocabularies.vocabularies(db, "standard_variable"):
        graph = vocabularies.latest_graph(db, vocabulary.id)
        titles = {o.language: str(o) for o in graph.objects(URIRef(vocabulary.scheme), DCTERMS.title)}
        for concept in vocabularies.concepts(graph):
            found.append(Comparable(
                uri=concept["uri"], kind="standard_variable", label=concept["label"], source=vocabulary.id,
                source_name=titles.get("nb", vocabulary.id), names=[concept["notation"], *concept["label"].values()],
                description=" ".join(concept["definition"].values()),
                code_list=code_list_of(concept["representation"])))
    return found


def candidates(db: Connection, search: SearchBackend, doc: VariableDoc, limit: int = 10) -> list[Candidate]:
    """The variables of other sources, and the standard variables, most like `doc`, best
    first. The search backend finds the pool cheaply (by the variable's labels and short
    name: the same words, stems, compounds and synonyms); each is then scored (`score`)."""
    texts = dict.fromkeys(filter(None, (doc.label.get("nb"), doc.label.get("en"), doc.name)))
    found = dict.fromkeys(hit.id for text in texts for hit in search.search(Query(text=text[:500], size=POOL)).items
                          if hit.source != doc.source)
    # their documents, with the codes that hits leave out
    pool: dict[str, Comparable] = {other.uri: comparable(other) for other in search.documents(list(found))}
    for concept in standard_variables(db):
        pool.setdefault(concept.uri, concept)
    subject = comparable(doc)
    ranked = sorted((score(subject, other) for other in pool.values()), key=lambda c: (-c.score, c.uri))
    return ranked[:limit]


def propose_candidates(db: Connection, search: SearchBackend, doc: VariableDoc,
                       by: str = SYSTEM) -> tuple[list[Candidate], list[Mapping]]:
    """Rank the candidates and keep the best (the first PROPOSED_AT_MOST, those scoring
    PROPOSE_FROM or more) as proposed mappings, leaving out pairs already mapped in any
    state (a rejected pair is not proposed again). The ranking, and the mappings made."""
    ranked = candidates(db, search, doc)
    made: list[Mapping] = []
    for candidate in ranked[:PROPOSED_AT_MOST]:
        if candidate.score < PROPOSE_FROM:
            break
        if _mappings(db, "(subject = ? AND object = ?) OR (subject = ? AND object = ?)",
                     (doc.uri, candidate.uri, candidate.uri, doc.uri)):
            continue
        relation = "exactMatch" if candidate.score >= EXACT_FROM else "closeMatch"
        made.append(propose(db, doc.uri, candidate.uri, relation, by, doc.source, candidate.source,
                            score=candidate.score, note=explain(candidate)))
    return ranked, made


def explain(candidate: Candidate) -> str:
    parts = ", ".join(f"{name} {value:.2f}" for name, value in candidate.parts.items() if value is not None)
    return f"similarity {candidate.score:.2f} ({parts}); names: {' ~ '.join(candidate.matched)}"


def score(subject: Comparable, other: Comparable) -> Candidate:
    """How alike two variables are, 0-1, and why: the weighted mean (WEIGHTS) of
    - names: the best pair of their short names and labels, compared as character trigrams
      (Dice) of their words normalised (case; æøå folded, and their oe/aa spellings;
      Norwegian stems), so "KJOENN", "kjonn" and "Kjønn" are one name;
    - definitions: the cosine of their descriptions' normalised words (function words out);
    - codes: 1 for the same code list, else the overlap (Jaccard) of their codes' notations,
      0 if only one has a code list;
    leaving out a part that cannot be compared (no description, no code list on either side)."""
    names, matched = max(((_dice(_normal(a), _normal(b)), [a, b]) for a in subject.names for b in other.names),
                         key=lambda found: found[0])
    words = Counter(_tokens(subject.description)), Counter(_tokens(other.description))
    parts = {"names": names, "definitions": _cosine(*words) if all(words) else None,
             "codes": _codes(subject, other)}
    known = {name: value for name, value in parts.items() if value is not None}
    combined = sum(WEIGHTS[name] * value for name, value in known.items()) / sum(WEIGHTS[name] for name in known)
    return Candidate(uri=other.uri, id=other.id, kind=other.kind, label=other.label, source=other.source,
                     source_name=other.source_name, score=round(combined, 4),
                     parts={name: None if value is None else round(value, 4) for name, value in parts.items()},
                     matched=matched)


def _codes(a: Comparable, b: Comparable) -> float | None:
    if not a.code_list and not b.code_list:
        return None
    if a.code_list == b.code_list:
        return 1.0
    if a.codes and b.codes:
        return len(a.codes & b.codes) / len(a.codes | b.codes)
    return 0.0


# The Snowball stemmer the embedded search backend uses for bokmål (tantivy's).
_STEM = TextAnalyzerBuilder(Tokenizer.simple()).filter(Filter.stemmer("norwegian")).build()
_SPELLED = (("oe", "o"), ("aa", "a"))  # ø and å as ASCII spells them ("KJOENN", "FOEDSELSAAR")


def _tokens(text: str) -> list[str]:
    """Words as compared: camelCase and snake_case split, folded, respelled, stemmed."""
    text = fold(re.sub(r"(?<=[a-z])(?=[A-Z])|_", " ", text))
    for spelled, letter in _SPELLED:
        text = text.replace(spelled, letter)
    return [t for t in _STEM.analyze(text) if t not in NOT_PARTS]


def _normal(name: str) -> str:
    return " ".join(_tokens(name))


def _dice(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    x, y = _trigrams(a), _trigrams(b)
    return 2 * sum((x & y).values()) / (sum(x.values()) + sum(y.values()))


def _trigrams(text: str) -> Counter:
    padded = f"  {text} "  # so the first letters count as much as the middle ones
    return Counter(padded[i:i + 3] for i in range(len(padded) - 2))


def _cosine(a: Counter, b: Counter) -> float:
    dot = sum(a[w] * b[w] for w in a.keys() & b.keys())
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))
