"""Flat search documents, one per variable, built from the store's graphs in one pass."""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from pydantic import BaseModel, Field
from rdflib.namespace import FOAF, OWL, RDF, SKOS

from catalogue.model import ids, ontology
from catalogue.model.models import Period, Text, code_list_of, value_type
from catalogue.model.namespaces import DCAT, DCT, DISCO, SCHEMA
from catalogue.profiles.dcat_ap_no_3 import rdf_date
from catalogue.storage.store import SourceState, State, Store

MAX_CODES = 2000  # codes indexed per variable: a whole ICD-10 would crowd out its own variable




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
    # The same variable (same name, same register) from other sources: id -> source name
    same_as: dict[str, str] = Field(default_factory=dict)

    def years(self, this_year: int | None = None) -> list[int]:
        this_year = this_year or date.today().year
        return sorted({y for p in self.periods for y in p.years(this_year)})

    def facet_values(self, this_year: int | None = None, years: list[int] | None = None) -> dict[str, list[str]]:
        """The values this document counts under in each facet (see backend.FACETS);
        `years`, if the caller has them already, are self.years(this_year)."""
        years = self.years(this_year) if years is None else years
        return {
            "source": [self.source], "publisher": [self.publisher] if self.publisher else [],
            "dataset": [self.dataset], "theme": self.themes, "value_type": [self.value_type],
            "access_rights": [self.access_rights] if self.access_rights else [],
            "has_code_list": ["yes" if self.code_list else "no"],
            "decade": sorted({str(y // 10 * 10) for y in years}),
        }


# The predicates documents are made of, as strings (compared once per stored triple).
LABEL, DESCRIPTION, TITLE, NAME = (str(p) for p in (SKOS.prefLabel, DCT.description, DCT.title, FOAF.name))
IDENTIFIER, REPRESENTATION, UNIT = str(DCT.identifier), str(DISCO.representation), str(SCHEMA.unitText)
PUBLISHER, ACCESS, IN_SCHEME, NOTATION = str(DCT.publisher), str(DCT.accessRights), str(SKOS.inScheme), str(SKOS.notation)
START, END, THEME, TEMPORAL, HAS_VERSION = (str(p) for p in (DCAT.startDate, DCAT.endDate, DCAT.theme,
                                                              DCT.temporal, DCAT.hasVersion))
VARIABLE_LINK, RDF_TYPE, SAME_AS = str(DISCO.variable), str(RDF.type), str(OWL.sameAs)
VARIABLE, DATASET, CONCEPT_SCHEME = str(DISCO.Variable), str(DCAT.Dataset), str(SKOS.ConceptScheme)
TEXT, VALUE, LIST, LINK = range(4)
KEPT = {**dict.fromkeys((LABEL, DESCRIPTION, TITLE, NAME), TEXT),
        **dict.fromkeys((IDENTIFIER, REPRESENTATION, UNIT, PUBLISHER, ACCESS, IN_SCHEME, NOTATION, START, END,
                            SAME_AS), VALUE),
        **dict.fromkeys((THEME, TEMPORAL, HAS_VERSION, RDF_TYPE), LIST), VARIABLE_LINK: LINK}


class Concept(BaseModel):
    """A code of a code list, its labels in every version and language merged (newest first)."""
    code_list: str
    code_list_title: Text = Field(default_factory=dict)
    notation: str
    labels: list[str]


class Register(BaseModel):
    """A dataset with variables, as a search that finds nothing may point to it."""
    id: str
    title: Text
    description: Text = Field(default_factory=dict)


def build_documents(store: Store, state: State | None = None) -> list[VariableDoc]:
    return read_catalogue(store, state)[0]


def read_catalogue(store: Store, state: State | None = None
                   ) -> tuple[list[VariableDoc], list[Concept], list[Register]]:
    """The documents of the variables, the concepts of the code lists they use, and their registers.

    One document per variable whose dataset is in the store, read from the stored graphs
    in one pass (no SPARQL store to load: a million variables are some 15 million triples).
    The graphs passed the gate, so documents are assembled without validating them again.

    A dataset declared owl:sameAs a dataset of another source is that register: its variables
    count under the other's id, title and holder (one dataset in facets, pages and exports), keep
    their own source and ids (saved lists still resolve), and a variable both sources name alike
    links to its twin."""
    state = state or store.state()
    # (subject, predicate) -> what the triples say: flat maps cost less than nested ones
    texts: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    values: dict[tuple[str, str], str] = {}
    lists: dict[tuple[str, str], list[str]] = defaultdict(list)
    dataset_of: dict[str, str] = {}
    source_of: dict[str, SourceState] = {}
    dataset_source: dict[str, SourceState] = {}
    for source, triples in store.graph_triples(state):
        for triple in triples:
            predicate = triple.predicate.value
            kind = KEPT.get(predicate)
            if kind is None:
                continue
            key, obj = (triple.subject.value, predicate), triple.object
            if kind == TEXT:
                texts[key].append((obj.value, obj.language or "nb"))
            elif kind == VALUE:
                values.setdefault(key, obj.value)
            elif kind == LIST:
                lists[key].append(obj.value)
                if predicate == RDF_TYPE and obj.value == VARIABLE:
                    source_of[key[0]] = source
                elif predicate == RDF_TYPE and obj.value == DATASET:
                    dataset_source.setdefault(key[0], source)
            else:
                dataset_of[obj.value] = key[0]
    labels = {s: _lang(t) for (s, p), t in texts.items() if p == LABEL}
    labels.update(ontology.labels("themes.ttl"))
    codes = _codes(values, lists, labels)
    text = lambda subject, predicate: _lang(texts.get((subject, predicate), ()))  # noqa: E731

    datasets: dict[str, dict] = {}  # what a variable takes from its dataset, worked out once
    docs = []

    def id_in(source: SourceState, uri: str) -> str:
        return ids.dataset_id(source.id, values.get((uri, IDENTIFIER)), uri)

    for v, source in source_of.items():
        ds_uri = dataset_of.get(v)
        if ds_uri is None or ds_uri not in dataset_source:
            continue  # a variable whose dataset was held back is not searchable
        if ds_uri not in datasets:
            register = ids.register(ds_uri, lambda uri: values.get((uri, SAME_AS)), dataset_source)
            publisher = values.get((register, PUBLISHER)) or ""
            datasets[ds_uri] = {
                "dataset": id_in(dataset_source[register] if register != ds_uri else source, register),
                "dataset_uri": register, "dataset_title": text(register, TITLE),
                "publisher": publisher, "publisher_name": text(publisher, NAME) if publisher else {},
                "access_rights": values.get((register, ACCESS)), "source": source.id, "source_name": source.name}
        ds = datasets[ds_uri]
        name = values.get((v, IDENTIFIER)) or v
        themes = sorted({*lists.get((ds_uri, THEME), ()), *lists.get((v, THEME), ())})
        representation = values.get((v, REPRESENTATION))
        docs.append(VariableDoc.model_construct(
            **ds, id=ids.variable_id(id_in(source, ds_uri), name, v), uri=v, name=name,
            label=labels.get(v, {}), description=text(v, DESCRIPTION),
            themes=themes, theme_labels={t: labels[t] for t in themes if t in labels},
            value_type=value_type(representation), code_list=code_list_of(representation),
            code_list_title=text(representation, TITLE) if representation else {},
            codes=codes.get(representation or "", []), unit=values.get((v, UNIT)),
            periods=sorted((Period.model_construct(start=_day(values.get((t, START)), end=False),
                                                   end=_day(values.get((t, END)), end=True))
                            for t in lists.get((v, TEMPORAL), ())), key=lambda x: x.start or date.min),
        ))
    _link_twins(docs)
    used = {d.code_list for d in docs if d.code_list}
    registers = [Register(id=ds["dataset"], title=ds["dataset_title"], description=text(ds["dataset_uri"], DESCRIPTION))
                 for ds in {ds["dataset"]: ds for ds in datasets.values()}.values()]
    return sorted(docs, key=lambda d: d.id), _concepts(values, lists, texts, used), sorted(registers, key=lambda r: r.id)


def _concepts(values: dict[tuple[str, str], str], lists: dict[tuple[str, str], list[str]],
              literals: dict[tuple[str, str], list[tuple[str, str]]], used: set[str]) -> list[Concept]:
    """The codes of the code lists in `used`, a classification's versions' merged into it."""
    owner = {version: scheme for (scheme, predicate), versions in lists.items() if predicate == HAS_VERSION
             for version in versions}
    found: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for (concept, predicate), scheme in values.items():
        scheme = owner.get(scheme, scheme)
        if predicate == IN_SCHEME and scheme in used and (notation := values.get((concept, NOTATION))):
            # a version's URI sorts after its predecessors': the newest label first, below
            found[scheme, notation] += [(concept, label) for label, _ in literals.get((concept, LABEL), ())]
    return [Concept(code_list=scheme, code_list_title=_lang(literals.get((scheme, TITLE), ())), notation=notation,
                    labels=list(dict.fromkeys(label for _, label in sorted(labelled, reverse=True))))
            for (scheme, notation), labelled in sorted(found.items())]


def _link_twins(docs: list[VariableDoc]) -> None:
    """Variables of one register with the same name from different sources: each names the others."""
    alike: dict[tuple[str, str], list[VariableDoc]] = defaultdict(list)
    for doc in docs:
        alike[doc.dataset, doc.name.casefold()].append(doc)
    for group in alike.values():
        for doc in group:
            doc.same_as = {d.id: d.source_name for d in group if d.source != doc.source}


def _codes(values: dict[tuple[str, str], str], lists: dict[tuple[str, str], list[str]],
           labels: dict[str, Text]) -> dict[str, list[str]]:
    """Per code list, "notation label" of its codes, and of its versions' for a classification."""
    by_scheme: dict[str, set[str]] = defaultdict(set)
    for (concept, predicate), scheme in values.items():
        if predicate == IN_SCHEME and (notation := values.get((concept, NOTATION))):
            label = labels.get(concept, {})
            by_scheme[scheme].add(f"{notation} {label.get('nb') or next(iter(label.values()), '')}".strip())
    for (scheme, predicate), versions in lists.items():
        if predicate == HAS_VERSION and CONCEPT_SCHEME in lists.get((scheme, RDF_TYPE), ()):
            for version in versions:
                by_scheme[scheme] |= by_scheme.get(version, set())
    return {s: sorted(codes)[:MAX_CODES] for s, codes in by_scheme.items()}


def _lang(literals: list[tuple[str, str]]) -> Text:
    """Literals as a map from language to text (the first, in sorted order, for each)."""
    out: Text = {}
    for value, lang in sorted(literals):
        out.setdefault(lang, value)
    return out


def _day(value: str | None, end: bool) -> date | None:
    return rdf_date(value, end) if value is not None else None
