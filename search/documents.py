"""Flat search documents, one per variable, built from the store in a few SPARQL queries."""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from pydantic import BaseModel, Field
from rdflib.namespace import SKOS

from catalogue import ids, ontology
from catalogue.models import Period, Text, code_list_of, value_type
from catalogue.profiles.dcat_ap_no_3 import rdf_date, texts
from catalogue.store import Snapshot

MAX_CODES = 2000  # codes indexed per variable: a whole ICD-10 would crowd out its own variable

PREFIXES = """
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX disco: <http://rdf-vocabulary.ddialliance.org/discovery#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <https://schema.org/>
"""


class VariableDoc(BaseModel):
    id: str
    uri: str
    name: str
    label: Text
    description: Text = Field(default_factory=dict)
    source: str
    source_name: str
    publisher: str = ""
    publisher_name: Text = Field(default_factory=dict)
    dataset: str
    dataset_uri: str
    dataset_title: Text = Field(default_factory=dict)
    themes: list[str] = Field(default_factory=list)
    theme_labels: dict[str, Text] = Field(default_factory=dict)
    value_type: str = "unknown"  # an XSD local name, "code_list" or "unknown"
    code_list: str | None = None
    code_list_title: Text = Field(default_factory=dict)
    # "notation label" of the code list's codes (its versions' for a classification), so a
    # search for a diagnosis or a place finds the variables coded with it
    codes: list[str] = Field(default_factory=list)
    access_rights: str | None = None  # the dataset's
    unit: str | None = None
    periods: list[Period] = Field(default_factory=list)

    def years(self, this_year: int | None = None) -> list[int]:
        this_year = this_year or date.today().year
        return sorted({y for p in self.periods for y in p.years(this_year)})

    def facet_values(self, this_year: int | None = None) -> dict[str, list[str]]:
        """The values this document counts under in each facet (see backend.FACETS)."""
        return {
            "source": [self.source], "publisher": [self.publisher] if self.publisher else [],
            "dataset": [self.dataset], "theme": self.themes, "value_type": [self.value_type],
            "access_rights": [self.access_rights] if self.access_rights else [],
            "has_code_list": ["yes" if self.code_list else "no"],
            "decade": sorted({str(y // 10 * 10) for y in self.years(this_year)}),
        }


def build_documents(snapshot: Snapshot) -> list[VariableDoc]:
    q = lambda body: list(snapshot.query(PREFIXES + body))  # noqa: E731
    props: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    graph_of: dict[str, str] = {}
    for row in q("SELECT ?g ?v ?p ?o WHERE { GRAPH ?g { ?v a disco:Variable ; ?p ?o } }"):
        v = row["v"].value
        graph_of[v] = row["g"].value
        props[v][row["p"].value].append(row["o"])
    periods: dict[str, list[Period]] = defaultdict(list)
    for row in q("SELECT ?v ?s ?e WHERE { ?v a disco:Variable ; dct:temporal ?t . "
                 "OPTIONAL { ?t dcat:startDate ?s } OPTIONAL { ?t dcat:endDate ?e } }"):
        periods[row["v"].value].append(Period(start=_day(row["s"], end=False),
                                              end=_day(row["e"], end=True)))
    dataset_of = {row["v"].value: row["ds"].value
                  for row in q("SELECT ?ds ?v WHERE { ?ds disco:variable ?v }")}
    datasets: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for row in q("SELECT ?ds ?p ?o WHERE { ?ds a dcat:Dataset ; ?p ?o "
                 "FILTER(?p IN (dct:title, dct:identifier, dct:publisher, dcat:theme, dct:accessRights)) }"):
        datasets[row["ds"].value][row["p"].value].append(row["o"])
    names = _texts(q("SELECT ?s ?o WHERE { ?s foaf:name ?o }"))
    titles = _texts(q("SELECT ?s ?o WHERE { ?s a skos:ConceptScheme ; dct:title ?o }"))
    labels = _texts(q("SELECT ?s ?o WHERE { ?s a skos:Concept ; skos:prefLabel ?o }"))
    codes = _codes(q, labels)
    labels.update(_theme_labels())
    sources = snapshot.sources_by_graph()

    docs = []
    for v, p in props.items():
        source = sources.get(graph_of[v])
        ds_uri = dataset_of.get(v)
        if source is None or ds_uri is None or ds_uri not in datasets:
            continue  # a variable whose dataset was held back is not searchable
        ds = datasets[ds_uri]
        ds_id = ids.dataset_id(source.id, _first(ds, "http://purl.org/dc/terms/identifier"), ds_uri)
        name = _first(p, "http://purl.org/dc/terms/identifier") or v
        themes = sorted({o.value for o in ds.get("http://www.w3.org/ns/dcat#theme", [])
                         + p.get("http://www.w3.org/ns/dcat#theme", [])})
        representation = _first(p, "http://rdf-vocabulary.ddialliance.org/discovery#representation")
        publisher = _first(ds, "http://purl.org/dc/terms/publisher") or ""
        docs.append(VariableDoc(
            id=ids.variable_id(ds_id, name, v), uri=v, name=name,
            label=_lang(p.get("http://www.w3.org/2004/02/skos/core#prefLabel", [])),
            description=_lang(p.get("http://purl.org/dc/terms/description", [])),
            source=source.id, source_name=source.name,
            publisher=publisher, publisher_name=names.get(publisher, {}),
            dataset=ds_id, dataset_uri=ds_uri,
            dataset_title=_lang(ds.get("http://purl.org/dc/terms/title", [])),
            themes=themes, theme_labels={t: labels[t] for t in themes if t in labels},
            value_type=value_type(representation), code_list=code_list_of(representation),
            code_list_title=titles.get(representation or "", {}),
            codes=codes.get(representation or "", []),
            access_rights=_first(ds, "http://purl.org/dc/terms/accessRights"),
            unit=_first(p, "https://schema.org/unitText"),
            periods=sorted(periods.get(v, []), key=lambda x: (x.start or date.min)),
        ))
    return sorted(docs, key=lambda d: d.id)


def _codes(q, labels: dict[str, Text]) -> dict[str, list[str]]:
    """Per code list, "notation label" of its codes, and of its versions' for a classification."""
    by_scheme: dict[str, set[str]] = defaultdict(set)
    for row in q("SELECT ?s ?c ?n WHERE { ?c skos:inScheme ?s ; skos:notation ?n }"):
        label = labels.get(row["c"].value, {})
        by_scheme[row["s"].value].add(f"{row['n'].value} {label.get('nb') or next(iter(label.values()), '')}".strip())
    for row in q("SELECT ?s ?v WHERE { ?s a skos:ConceptScheme ; dcat:hasVersion ?v }"):
        by_scheme[row["s"].value] |= by_scheme.get(row["v"].value, set())
    return {s: sorted(codes)[:MAX_CODES] for s, codes in by_scheme.items()}


def _first(props: dict[str, list], predicate: str) -> str | None:
    values = props.get(predicate)
    return values[0].value if values else None


def _lang(literals) -> Text:
    out: Text = {}
    for lit in sorted(literals, key=lambda lit: lit.value):
        out.setdefault(getattr(lit, "language", None) or "nb", lit.value)
    return out


def _texts(rows) -> dict[str, Text]:
    grouped: dict[str, list] = defaultdict(list)
    for row in rows:
        grouped[row["s"].value].append(row["o"])
    return {s: _lang(objs) for s, objs in grouped.items()}


def _theme_labels() -> dict[str, Text]:
    graph = ontology.load("themes.ttl")
    return {str(s): texts(graph.objects(s, SKOS.prefLabel)) for s in set(graph.subjects(SKOS.prefLabel))}


def _day(term, end: bool) -> date | None:
    return rdf_date(term.value, end) if term is not None else None
