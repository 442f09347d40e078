"""Metadata quality: how complete and correct a source's records are, and what to fix first.

Each dataset, variable and code list of a source is scored against the checks that apply to
it (CHECKS): the properties DCAT-AP-NO 3 and this catalogue's variable profile make mandatory
(weight 3) or recommend (2, 1), the controlled vocabularies, periods and code lists. A record
the gate held back scores 0. The source's stored graph is read in one streaming pass (a
source may hold 100,000 variables: no query per record), and the result is kept in the
catalogue's database (`Scores`) keyed by the graph file, which changes whenever the graph
does, so a source is scored once per harvest.

The gate's warnings in the run log are not read: a re-harvest validates only changed records
and the log keeps at most 1000 warnings, so they say nothing of the rest. What they warn of
(a variable without periods, a code without its value) is checked here from the graph.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from statistics import fmean
from sys import intern

import pyoxigraph as ox
from rdflib import URIRef
from rdflib.namespace import RDF, SKOS

from catalogue.model import ids, ontology
from catalogue.model.models import XSD
from catalogue.model.namespaces import DCAT, DCT, DISCO, EU_ACCESS, EU_THEME, SCHEMA
from catalogue.model.rdf import GENID
from catalogue.storage.database import Connection, Database, database_at
from catalogue.storage.store import SourceState, State, Store

Facts = dict[str, list[str]]  # what one subject's triples say, by short predicate name (READ)
Graph = dict[str, Facts]  # the source's graph as the facts of each subject

# The predicates the checks read. Values are kept as an IRI, a literal's language ("@en")
# or an untagged literal's text: the checks ask what is there, not what it says.
READ = {str(p): name for p, name in (
    (RDF.type, "type"), (DCT.identifier, "identifier"), (DCT.title, "title"), (SKOS.prefLabel, "label"),
    (DCT.description, "description"), (DCT.publisher, "publisher"), (DCAT.contactPoint, "contact"),
    (DCAT.theme, "theme"), (DCT.accessRights, "access"), (DCT.temporal, "temporal"),
    (DCAT.landingPage, "landing_page"), (DCAT.keyword, "keyword"), (DCAT.distribution, "distribution"),
    (DCT.license, "licence"), (DISCO.representation, "representation"), (SCHEMA.unitText, "unit"),
    (DCAT.startDate, "start"), (SKOS.notation, "notation"), (DCAT.hasVersion, "version"))}
# Links kept on their object: a variable learns its dataset, a code list its codes.
INVERSE = {str(DISCO.variable): "dataset", str(SKOS.inScheme): "codes"}
KINDS = {str(DCAT.Dataset): "dataset", str(DISCO.Variable): "variable", str(SKOS.ConceptScheme): "code_list"}
NAMES = ("label", "title")  # kept as text too, to name records on the page

THEME_VOCABULARIES = (str(EU_THEME), "https://psi.norge.no/los/")  # the EU data themes and LOS
NUMERIC = {"integer", "decimal", "double", "float", "int", "long", "short", "nonNegativeInteger",
           "positiveInteger"}
EXAMPLES = 5  # records named per check in the fix list


@cache
def _access_rights() -> frozenset[str]:
    """The EU access-right authority table's values the catalogue knows (ontologies/themes.ttl)."""
    table = URIRef(str(EU_ACCESS).rstrip("/"))
    return frozenset(str(c) for c in ontology.load("themes.ttl").subjects(SKOS.inScheme, table))


Test = Callable[[Facts, Graph], "bool | None"]  # passes, fails, or None: does not apply


@dataclass(frozen=True)
class Check:
    id: str
    kind: str  # the kind of record it applies to: dataset, variable, code_list or held_back
    weight: int
    nb: str
    en: str
    test: Test


def _has(name: str) -> Test:
    return lambda f, g: bool(f.get(name))


def _english(name: str) -> Test:
    return lambda f, g: "@en" in f.get(name, ())


def _each(name: str, ok: Callable[[str, Graph], bool]) -> Test:
    """Every value of `name` is ok; does not apply when there is none (a check of its own)."""
    return lambda f, g: all(ok(v, g) for v in f[name]) if f.get(name) else None


def _iri(value: str) -> bool:
    return value.startswith(("http://", "https://")) and GENID not in value  # a skolemised node is no name


def _licences(f: Facts, g: Graph) -> bool | None:
    """Licences, on the dataset or its distributions, are IRIs (a licence text is not)."""
    given = [*f.get("licence", ()), *(v for d in f.get("distribution", ()) for v in g.get(d, {}).get("licence", ()))]
    return all(map(_iri, given)) if given else None


def _first(f: Facts, name: str) -> str | None:
    return next(iter(f.get(name, ())), None)


def _kind(f: Facts) -> str | None:
    return next(filter(None, map(KINDS.get, f.get("type", ()))), None)


def _representation(f: Facts) -> str:
    return _first(f, "representation") or ""


def _unit(f: Facts, g: Graph) -> bool | None:
    numeric = _representation(f).startswith(XSD) and _representation(f)[len(XSD):] in NUMERIC
    return bool(f.get("unit")) if numeric else None


def _codes(f: Facts, g: Graph) -> list[str]:
    """A code list's codes, and for a classification those of its versions."""
    return [*f.get("codes", ()), *(c for v in f.get("version", ()) for c in g.get(v, {}).get("codes", ()))]


def _coded(f: Facts, g: Graph) -> bool | None:
    """A coded variable's code list has codes. A code list this source does not describe
    (SSB's KLASS, ICD-10) is another publisher's to complete, so it is not judged here."""
    scheme = g.get(_representation(f))
    if scheme is None or _kind(scheme) != "code_list":
        return None
    return bool(_codes(scheme, g))


def _all_codes(name: str) -> Test:
    return lambda f, g: all(g.get(c, {}).get(name) for c in codes) if (codes := _codes(f, g)) else None


CHECKS = (
    Check("dataset_title", "dataset", 3, "Legg til tittel", "Add a title", _has("title")),
    Check("dataset_description", "dataset", 3, "Legg til beskrivelse", "Add a description", _has("description")),
    Check("dataset_publisher", "dataset", 3, "Oppgi utgiver", "Name the publisher", _has("publisher")),
    Check("dataset_contact", "dataset", 3, "Oppgi kontaktpunkt", "Give a contact point", _has("contact")),
    Check("dataset_theme", "dataset", 3, "Oppgi tema", "Give a theme", _has("theme")),
    Check("dataset_theme_vocabulary", "dataset", 2, "Bruk temaer fra EUs temaliste eller LOS",
          "Use themes from the EU data themes or LOS", _each("theme", lambda v, g: v.startswith(THEME_VOCABULARIES))),
    Check("dataset_access_rights", "dataset", 2, "Oppgi tilgangsnivå", "Give the access rights", _has("access")),
    Check("dataset_access_vocabulary", "dataset", 2, "Bruk EUs tabell over tilgangsnivåer",
          "Use the EU access-right table", _each("access", lambda v, g: v in _access_rights())),
    Check("dataset_temporal", "dataset", 2, "Oppgi tidsrom", "Give the temporal coverage", _has("temporal")),
    Check("dataset_landing_page", "dataset", 1, "Legg til nettside", "Add a landing page", _has("landing_page")),
    Check("dataset_keywords", "dataset", 1, "Legg til emneord", "Add keywords", _has("keyword")),
    Check("dataset_title_en", "dataset", 1, "Legg til engelsk tittel", "Add an English title", _english("title")),
    Check("dataset_licence", "dataset", 1, "Oppgi lisensen som IRI", "Give the licence as an IRI", _licences),
    Check("variable_label", "variable", 3, "Legg til navn", "Add a label", _has("label")),
    Check("variable_description", "variable", 3, "Legg til beskrivelse", "Add a description", _has("description")),
    Check("variable_periods", "variable", 3, "Oppgi perioder med data", "Give the periods with data", _has("temporal")),
    Check("variable_value_type", "variable", 2, "Oppgi verditype (datatype eller kodeliste)",
          "Give the value type (a datatype or a code list)", _has("representation")),
    Check("variable_label_en", "variable", 2, "Legg til engelsk navn", "Add an English label", _english("label")),
    Check("variable_code_list", "variable", 2, "Beskriv kodene i kodelisten", "Describe the codes of its code list",
          _coded),
    Check("variable_period_start", "variable", 1, "Gi hver periode en startdato", "Give every period a start date",
          _each("temporal", lambda p, g: bool(g.get(p, {}).get("start")))),
    Check("variable_unit", "variable", 1, "Oppgi enhet for tallverdier", "Give the unit of a number", _unit),
    Check("code_list_title", "code_list", 3, "Legg til tittel", "Add a title", _has("title")),
    Check("code_list_codes", "code_list", 3, "Legg til kodene", "Add the codes", lambda f, g: bool(_codes(f, g))),
    Check("code_list_code_labels", "code_list", 2, "Gi hver kode en betydning", "Give every code a label",
          _all_codes("label")),
    Check("code_list_code_values", "code_list", 1, "Gi hver kode en kodeverdi", "Give every code its value",
          _all_codes("notation")),
    Check("code_list_title_en", "code_list", 1, "Legg til engelsk tittel", "Add an English title", _english("title")),
    # Outweighs any other failure: a held-back record is not in the catalogue at all (where its
    # last good version is kept instead, that version is scored too: it is what users see).
    Check("held_back", "held_back", 5, "Rett det som holder posten tilbake", "Fix what holds the record back",
          lambda f, g: False),
)
BY_KIND = {kind: [c for c in CHECKS if c.kind == kind] for kind in dict.fromkeys(c.kind for c in CHECKS)}
# Part of the cache key: changing a check, or what a cached record holds (CACHE_FORMAT),
# scores every source again.
CACHE_FORMAT = 2  # 2: a held-back record's problems in bokmål and English
CHECKS_KEY = hashlib.sha256(repr([CACHE_FORMAT, *((c.id, c.kind, c.weight) for c in CHECKS)]).encode()).hexdigest()[:12]


def score_source(store: Store, source: SourceState) -> tuple[dict, list[dict]]:
    """The source's summary and its records, worst first, read from its graph in one pass."""
    # Strings interned: a period's IRI is then one string as a key and in its variable's
    # facts, and a datatype or class one string for all 100,000 variables.
    graph: Graph = defaultdict(dict)
    names: dict[str, dict[str, str]] = defaultdict(dict)
    for _, triples in store.graph_triples(State(sources={source.id: source})):
        for triple in triples:
            predicate = triple.predicate.value
            if (name := READ.get(predicate)) is not None:
                subject, obj = intern(triple.subject.value), triple.object
                if type(obj) is ox.Literal and (lang := obj.language):
                    value = intern("@" + lang)
                    if name in NAMES:
                        names[subject].setdefault(intern(lang), obj.value)
                else:
                    value = intern(obj.value)
            elif (name := INVERSE.get(predicate)) is not None:
                subject, value = intern(triple.object.value), intern(triple.subject.value)
            else:
                continue
            facts = graph[subject]
            if name in facts:  # (not setdefault: that makes a list for every triple)
                facts[name].append(value)
            else:
                facts[name] = [value]

    kinds = {uri: kind for uri, facts in graph.items() if (kind := _kind(facts))}
    dataset_ids = {uri: ids.dataset_id(source.id, _first(graph[uri], "identifier"), uri)
                   for uri, kind in kinds.items() if kind == "dataset"}
    records = [_scored(kind, graph[uri], graph, uri=uri, name=_first(graph[uri], "identifier") or ids.key(None, uri),
                       label=names.get(uri, {}), id=_page_id(kind, uri, graph[uri], dataset_ids))
               for uri, kind in kinds.items()]
    held: dict[str, list[dict[str, str]]] = defaultdict(list)
    for h in source.held_back:  # the gate's message in bokmål and English (older runs: one language)
        held[h.record].append({lang: f"{h.path}: {text}" if h.path else text
                               for lang, text in (h.messages or {"en": h.message}).items()})
    records += [_scored("held_back", {}, graph, uri=None, name=key, label={}, id=source.last_run, problems=problems)
                for key, problems in held.items()]
    records.sort(key=lambda r: (r["score"], r["kind"], r["name"]))
    return _summary(source, records), records


def _scored(kind: str, facts: Facts, graph: Graph, **record) -> dict:
    """The record with its score: the weighted share of the checks that apply which it passes."""
    results = [(c, passed) for c in BY_KIND[kind] if (passed := c.test(facts, graph)) is not None]
    weight = sum(c.weight for c, _ in results)
    score = 100 * sum(c.weight for c, passed in results if passed) / weight
    return {"kind": kind, **record, "score": round(score, 1), "failed": [c.id for c, passed in results if not passed]}


def _page_id(kind: str, uri: str, facts: Facts, dataset_ids: dict[str, str]) -> str | None:
    """The id of the record's page, as the site mints them (catalogue.model.ids): a dataset's, or a
    variable's whose dataset is in the graph (one held back leaves the variable without a page).
    A code list has none (its page is the search for its variables, by its URI)."""
    if kind == "dataset":
        return dataset_ids[uri]
    dataset_id = dataset_ids.get(_first(facts, "dataset")) if kind == "variable" else None
    return ids.variable_id(dataset_id, _first(facts, "identifier"), uri) if dataset_id else None


def _summary(source: SourceState, records: list[dict]) -> dict:
    by_kind: dict[str, list[dict]] = defaultdict(list)
    failing: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_kind[record["kind"]].append(record)
        for check in record["failed"]:
            failing[check].append(record)  # worst records first, as `records` is sorted
    fix_first = sorted(({"check": c.id, "kind": c.kind, "weight": c.weight, "text": {"nb": c.nb, "en": c.en},
                         "records": len(failing[c.id]), "impact": c.weight * len(failing[c.id]),
                         "examples": [{k: r[k] for k in ("kind", "uri", "id", "name", "label")}
                                      for r in failing[c.id][:EXAMPLES]]}
                        for c in CHECKS if failing[c.id]), key=lambda f: (-f["impact"], f["check"]))
    return {
        "key": _cache_key(source), "source": source.id,
        # The mean over records, not over checks: it is what a user can expect of a record
        # they open, and a few rich datasets cannot hide thousands of bare variables.
        "score": round(fmean(r["score"] for r in records), 1) if records else None,
        "records": len(records),
        "kinds": {kind: {"records": len(by_kind[kind]), "score": round(fmean(r["score"] for r in by_kind[kind]), 1)}
                  for kind in BY_KIND if by_kind[kind]},
        "fix_first": fix_first,
    }


def _cache_key(source: SourceState) -> str:
    return f"{source.graph_file}:{CHECKS_KEY}"


# The scores' schema as migrations (see catalogue.storage.database): each source's summary and
# its records worst first, kept until its graph changes.
_MIGRATIONS = ("""
CREATE TABLE summaries (source TEXT PRIMARY KEY, key TEXT NOT NULL, summary TEXT NOT NULL);
CREATE TABLE records (source TEXT NOT NULL, position INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (source, position));
""",)


class Scores:
    """The sources' scores, kept in the catalogue's database (`quality.sqlite` in the data
    directory, or PostgreSQL) under the graph file they were scored from, so that a source is
    scored once per harvest whichever server asks first."""

    def __init__(self, store: Store, where: Database | Path):
        self.store, self.database = store, database_at(where)

    def _db(self):
        return self.database.transaction("quality", _MIGRATIONS)

    def score(self, source: SourceState) -> float | None:
        """The source's score if it is kept (for lists of sources, which must not score them)."""
        with self._db() as db:
            return (_kept_summary(db, source) or {}).get("score")

    def refresh(self) -> None:
        """Score every source whose graph changed since it was last scored, so that lists of
        sources show scores without anyone having opened a quality page first."""
        shutil.rmtree(self.store.data_dir / "quality", ignore_errors=True)  # where earlier releases kept them
        for source in self.store.state().sources.values():
            if source.is_source and source.graph_file:
                self.report(source, limit=0)

    def report(self, source: SourceState, offset: int = 0, limit: int = 100) -> tuple[dict, list[dict]]:
        """The source's summary and records[offset:offset + limit] (worst first), scored now if
        its graph changed since it was last scored."""
        with self._db() as db:
            summary = _kept_summary(db, source)
            if summary is not None:
                return summary, [json.loads(r) for (r,) in db.execute(
                    "SELECT record FROM records WHERE source = ? ORDER BY position LIMIT ? OFFSET ?",
                    (source.id, limit, offset))]
        summary, records = score_source(self.store, source)
        with self._db() as db:
            db.exclusive()  # two servers scoring one source: each writes the source's rows whole
            db.execute("DELETE FROM summaries WHERE source = ?", (source.id,))
            db.execute("DELETE FROM records WHERE source = ?", (source.id,))
            db.execute("INSERT INTO summaries VALUES (?, ?, ?)",
                       (source.id, summary["key"], json.dumps(summary, ensure_ascii=False)))
            db.executemany("INSERT INTO records VALUES (?, ?, ?)",
                           ((source.id, n, json.dumps(r, ensure_ascii=False)) for n, r in enumerate(records)))
        return summary, records[offset:offset + limit]


def _kept_summary(db: Connection, source: SourceState) -> dict | None:
    """The source's summary if it has been scored since its last harvest."""
    row = db.execute("SELECT summary FROM summaries WHERE source = ? AND key = ?",
                     (source.id, _cache_key(source))).fetchone()
    return json.loads(row[0]) if row else None
