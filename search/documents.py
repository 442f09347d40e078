"""Flat search documents, one per variable, made from the graph store a batch of variables at a time."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from datetime import date
from itertools import islice
from pathlib import Path
from sys import intern
from typing import TypeVar

import pyoxigraph as ox

from pydantic import BaseModel, Field
from rdflib.namespace import FOAF, OWL, RDF, SKOS, XSD

from catalogue.forked import cores, in_order
from catalogue.model import ids, ontology
from catalogue.model.models import Period, Text, code_list_of, value_type
from catalogue.model.namespaces import DCAT, DCT, DISCO, SCHEMA
from catalogue.profiles.dcat_ap_no_3 import rdf_date
from catalogue.storage.graph_files import GraphFiles, parse_lines
from catalogue.storage.store import Snapshot, SourceState, State, Store

MAX_CODES = 2000  # codes indexed per variable: a whole ICD-10 would crowd out its own variable
# Variables whose documents are made at a time in a rebuild (whole registers where two sources
# describe one, so that twins find each other): the documents of a batch are in memory
# together, a few kB each.
REGISTER_BATCH = 5000
ALONE = 1000  # a register's variables whose documents are made alone (see read_changes), at most
T = TypeVar("T")




class VariableSummary(BaseModel):
    """A variable as a search shows it: every field of its document but the codes it is
    found by (as many as MAX_CODES; its own page lists them)."""
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
            "decade": sorted(map(str, {y // 10 * 10 for y in years})),
        }


class VariableDoc(VariableSummary):
    """A variable as it is indexed."""
    # "notation label" of the code list's codes (its versions' for a classification), so a
    # search for a diagnosis or a place finds the variables coded with it
    codes: list[str] = Field(default_factory=list)


# The predicates documents are made of, as strings (compared once per stored triple).
LABEL, DESCRIPTION, TITLE, NAME = (str(p) for p in (SKOS.prefLabel, DCT.description, DCT.title, FOAF.name))
IDENTIFIER, REPRESENTATION, UNIT = str(DCT.identifier), str(DISCO.representation), str(SCHEMA.unitText)
PUBLISHER, ACCESS, IN_SCHEME, NOTATION = str(DCT.publisher), str(DCT.accessRights), str(SKOS.inScheme), str(SKOS.notation)
START, END, THEME, TEMPORAL, HAS_VERSION = (str(p) for p in (DCAT.startDate, DCAT.endDate, DCAT.theme,
                                                              DCT.temporal, DCAT.hasVersion))
VARIABLE_LINK, RDF_TYPE, SAME_AS = str(DISCO.variable), str(RDF.type), str(OWL.sameAs)
VARIABLE, DATASET, CONCEPT_SCHEME = str(DISCO.Variable), str(DCAT.Dataset), str(SKOS.ConceptScheme)
# What variables name and share with others (their code lists, their themes): read before any
# document is made, with the datasets and publishers.
SHARED_BY = (REPRESENTATION, THEME)
# and as nodes, to look statements up by
_IN_SCHEME, _HAS_VERSION, _REPRESENTATION = (ox.NamedNode(p) for p in (IN_SCHEME, HAS_VERSION, REPRESENTATION))
TEXT, VALUE, LIST = range(3)
KEPT = {**dict.fromkeys((LABEL, DESCRIPTION, TITLE, NAME), TEXT),
        **dict.fromkeys((IDENTIFIER, REPRESENTATION, UNIT, PUBLISHER, ACCESS, IN_SCHEME, NOTATION, START, END,
                            SAME_AS), VALUE),
        **dict.fromkeys((THEME, TEMPORAL, HAS_VERSION, RDF_TYPE), LIST)}
READ = list(KEPT)  # the predicates whose statements are read


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
    return list(read_catalogue(store, state).documents)


def read_catalogue(store: Store, state: State | None = None, batch: int = REGISTER_BATCH,
                   files: bool = True, processes: int | None = None) -> Contents:
    """The documents of the variables, the concepts of the code lists they use, and their registers.

    One document per variable whose dataset is in the store, read from the state's checkpoint
    of the graph store a subject at a time (see _Graphs): what is held in memory is what the
    variables share and one batch's statements, not the catalogue. Which variables there are,
    and their own statements, are read from the state's graph files instead where the data
    directory has them (a writer's, unless `files` is false), at about 40 % of the cost. The
    graphs passed the gate, so documents are assembled without validating them again.

    A dataset declared owl:sameAs a dataset of another source is that register: its variables
    count under the other's id, title and holder (one dataset in facets, pages and exports), keep
    their own source and ids (saved lists still resolve), and a variable both sources name alike
    links to its twin.

    The documents are made as they are taken, a batch of about `batch` variables at a time:
    see Contents; where they are read from the graph files, by `processes` forked
    processes (by default one per core) for whoever takes them a batch at a time."""
    state = state or store.state()
    return Contents(_Graphs(Snapshot(store, state), _files(store, state) if files else None), batch,
                    cores() if processes is None else processes)


def _files(store: Store, state: State) -> GraphFiles | None:
    """The state's graph files, where the data directory has them all, with what a first pass
    over the variables asks by predicate (see _Graphs) gathered as they are read."""
    return GraphFiles.of(store, state, typed=(VARIABLE, DATASET), linking=(VARIABLE_LINK, *SHARED_BY))


class Contents:
    """What an index is built from. `documents` are made as they are read, a batch at a time
    (`batch` variables or so, see Documents), so that only what the variables share and one batch's
    statements and documents are in memory; the concepts and the registers are small, and the
    variables' labels are read a batch at a time too."""

    def __init__(self, read: _Graphs, batch: int, processes: int = 1):
        self._read = read
        self.documents = Documents(read, read.by_register(), batch, processes)

    def concepts(self, used: set[str] | None = None) -> list[Concept]:
        """The codes of the code lists `used` (if not given: those the variables use, read from the store)."""
        return self._read.concepts(used)

    def registers(self) -> list[Register]:
        return self._read.registers()

    def labels(self) -> Iterator[Text]:
        """The labels of the variables that have documents (the words spelling knows)."""
        return self._read.labels(v for v, _, _ in self._read.indexed())


class Documents:
    """The documents of the variables `registers` lists by register, made a batch at a
    time as they are iterated, by register and then in the order the graph files name them;
    len() is how many there are, known before the first is made. A batch is `batch` variables
    of a register, or whole registers where two sources describe one (its twins are linked
    within the batch). Taken a batch at a time (`each_batch`), they are made, and worked on,
    in `processes` forked processes where the read allows it."""

    def __init__(self, read: _Graphs, registers: dict[str, list[str]], batch: int, processes: int = 1):
        self._read, self._batch, self._processes = read, batch, processes
        self._registers = registers

    def __len__(self) -> int:
        return sum(len(variables) for variables in self._registers.values())

    def __iter__(self) -> Iterator[VariableDoc]:
        for docs in self.each_batch(lambda docs: docs, processes=1):
            yield from docs

    def each_batch(self, work: Callable[[list[VariableDoc]], T], processes: int | None = None) -> Iterator[T]:
        """`work(documents)` of each batch, in order. A forked process makes a batch's documents
        and works on them: only what `work` gives is handed back, to this process, which makes
        none itself. What a rebuild does with each batch there (writes it, merges its words and
        summary) had the other process wait a sixth of the time; with a process per core making
        documents, a rebuild of 1,000,000 variables took 5 % less time and 0.12 GB more memory.
        Only documents whose own statements come from the graph files are made so (see
        _Graphs.forkable): the graph store's handle is not one to share with a forked process."""
        processes = (self._processes if processes is None else processes) if self._read.forkable else 1
        self._read.codes()  # worked out once, here, not in each process
        return in_order(lambda variables: work(self._read.documents(variables)), self._batches(), processes,
                        taker_works=False)

    def _batches(self) -> list[list[str]]:
        batches: list[list[str]] = [[]]
        for register in sorted(self._registers):
            variables = self._registers[register]
            # of one source, a register has no twins: it may be cut where the batch is full
            parts = [variables] if self._read.sources(variables) > 1 else [
                variables[i:i + self._batch] for i in range(0, len(variables), self._batch)]
            for part in parts:
                if len(batches[-1]) >= self._batch:
                    batches.append([])
                batches[-1] += part
        return batches


class Changes(BaseModel):
    """What a change of some graphs means for the index: the registers (dataset facet values)
    whose every document may differ (`units`), the documents that may differ as they are now
    (those of `units`, and of other registers the few variables that changed alone), and, whole
    (they are small), the concepts and registers; `labels`: the label of every variable that
    has a document (the words spelling knows), read only if they are iterated."""
    model_config = {"arbitrary_types_allowed": True}

    units: set[str]
    docs: Documents
    concepts: list[Concept]
    registers: list[Register]
    labels: Iterable[Text]
    variables: int  # in the whole catalogue


class Touched(BaseModel):
    """What differs between the graphs an index was built from and the current ones: the IRIs
    of the triples added or removed, those whose dct:identifier changed (a document's id holds
    its variable's), the datasets removed (URI -> id), and the sources whose every document
    may differ (renamed: their names are in the documents, not the graphs)."""
    iris: set[str] = Field(default_factory=set)
    identified: set[str] = Field(default_factory=set)
    gone_datasets: dict[str, str] = Field(default_factory=dict)
    sources: set[str] = Field(default_factory=set)


def read_changes(store: Store, state: State, touched: Touched) -> Changes:
    """The documents that read something `touched` names.

    A document reads its variable, its dataset and register, its publisher, its code list
    (with its versions and codes) and its periods. Where what changed is a register's (its
    dataset, register or publisher, a variable added to it or taken from it), the register is
    the unit: all its documents are made. Where it is only some of its variables' own (their
    labels, periods or code lists), only theirs are made, if they are few (ALONE) and keep
    their ids, and the register has no twins (one source describes it; twins link across it).
    The graphs are all read (a document joins across sources), and the variables that name
    what changed are found by looking it up, not by reading every variable."""
    read = _Graphs(Snapshot(store, state), _files(store, state))
    iris = set(touched.iris)
    owner = {version: scheme for (scheme, predicate), versions in read.lists.items() if predicate == HAS_VERSION
             for version in versions}
    for iri in list(iris):  # a code's change is its code list's, a version's its classification's
        scheme = read.values.get((iri, IN_SCHEME), iri)
        iris |= {scheme, owner.get(scheme, scheme)}
    units = set(touched.gone_datasets.values())
    # A datatype (xsd:string) is named by the lines of every variable of that type and says
    # nothing a document reads: a variable of that type added or removed changes no other.
    coded = {iri for iri in iris if not iri.startswith(str(XSD))}
    named = iris & read.source_of.keys() | read.referring(coded, REPRESENTATION) | read.referring(iris, TEMPORAL)
    alone: dict[str, set[str]] = defaultdict(set)  # register -> its variables named
    for v, source, ds in read.indexed():
        if source.id in touched.sources or not iris.isdisjoint((ds["source_dataset"], ds["dataset_uri"], ds["publisher"])):
            units.add(ds["dataset"])
        elif v in named:
            alone[ds["dataset"]].add(v)
    registers = read.by_register(units | alone.keys())
    for register, variables in alone.items():
        if register in units:
            continue
        if len(variables) > ALONE or not variables.isdisjoint(touched.identified) or read.sources(registers[register]) > 1:
            units.add(register)
        else:
            registers[register] = [v for v in registers[register] if v in variables]
    return Changes(units=units, docs=Documents(read, registers, REGISTER_BATCH), concepts=read.concepts(),
                   registers=read.registers(), labels=read.labels(v for v, _, _ in read.indexed()),
                   variables=len(read.source_of))


def touched_between(store: Store, before: dict[str, str], after: dict[str, str]) -> Touched | None:
    """What differs between the graphs `before` and `after` (source id -> graph file), from
    their lines (stored sorted, so compared streaming, one source at a time); None when a
    file of `before` is no longer kept."""
    touched = Touched()
    for source_id in sorted(before.keys() | after.keys()):
        old, new = before.get(source_id), after.get(source_id)
        if old == new:
            continue
        paths = [store.graphs_dir / name if name else None for name in (old, new)]
        if any(path and not path.exists() for path in paths):
            return None
        removed, added = _differing_lines(*paths)
        for lines, gone in ((removed, True), (added, False)):
            datasets, names = set(), {}
            for triple in parse_lines("\n".join(lines).encode()):
                subject, predicate, obj = triple.subject.value, triple.predicate.value, triple.object
                touched.iris.add(subject)
                if isinstance(obj, ox.NamedNode) and predicate != RDF_TYPE:
                    touched.iris.add(obj.value)
                if predicate == RDF_TYPE and obj.value == DATASET:
                    datasets.add(subject)
                elif predicate == IDENTIFIER:
                    names[subject] = obj.value
                    touched.identified.add(subject)
            if gone:
                touched.gone_datasets.update({uri: ids.dataset_id(source_id, names.get(uri), uri) for uri in datasets})
    return touched


def _differing_lines(old: Path | None, new: Path | None) -> tuple[list[str], list[str]]:
    """The lines only in `old` and those only in `new`, both files sorted (None: no lines)."""
    removed, added = [], []
    with ExitStack() as files:
        a, b = (iter(files.enter_context(p.open(encoding="utf-8")) if p else ()) for p in (old, new))
        x, y = next(a, None), next(b, None)
        while x is not None or y is not None:
            if y is None or (x is not None and x < y):
                removed.append(x.rstrip("\n"))
                x = next(a, None)
            elif x is None or y < x:
                added.append(y.rstrip("\n"))
                y = next(b, None)
            else:
                x, y = next(a, None), next(b, None)
    return [line for line in removed if line], [line for line in added if line]


class _Maps:
    """What the statements of some subjects say, as flat maps (subject, predicate) -> what they
    say: flat maps cost less than nested ones."""

    def __init__(self) -> None:
        self.texts: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        self.values: dict[tuple[str, str], str] = {}
        self.lists: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.periods: list[ox.NamedNode | ox.BlankNode] = []  # the nodes dct:temporal names, to read next

    def add(self, said: dict) -> None:
        """`said`: each subject's statements, (predicate, object, the graph's place in the state)
        each, in any order: of a subject's values, the first in the sorted graph files (by graph,
        then line) is the one kept."""
        for node, statements in said.items():
            # An IRI is read anew from each statement that names it: kept once (interned), the maps
            # take a quarter less.
            subject = intern(node.value)
            if not self._take(subject, statements):  # a predicate with several values: their order counts
                for key in {(subject, predicate) for predicate, _, _ in statements}:
                    self.texts.pop(key, None), self.values.pop(key, None), self.lists.pop(key, None)
                self._take(subject, sorted(statements, key=lambda s: (s[2], str(s[1]))),
                           ordered=True)

    def _take(self, subject: str, statements: list[tuple], ordered: bool = False) -> bool:
        """Take the subject's statements in the order given; unless they are `ordered`, stop
        (False, taken in part) at a second value of a predicate whose values' order counts."""
        texts, values, lists = self.texts, self.values, self.lists
        for predicate, obj, _ in statements:
            kind, key = KEPT[predicate], (subject, predicate)
            if kind == TEXT:
                texts[key].append((obj.value, obj.language or "nb"))
            elif kind == VALUE:
                if key not in values:
                    values[key] = obj.value
                elif not ordered:
                    return False
            elif kind == LIST and predicate != RDF_TYPE:
                if predicate == TEMPORAL:
                    if key in lists and not ordered:
                        return False
                    self.periods.append(obj)
                lists[key].append(intern(obj.value))
            elif kind == LIST and obj.value == CONCEPT_SCHEME:  # the one type read from here
                lists[key].append(obj.value)
        return True


class _Graphs:
    """The graphs of a state, read from its checkpoint of the graph store (in the data directory
    or on a store server) a few subjects at a time, never whole. What many variables share
    (datasets, publishers, code lists with their codes, themes) is read once and kept; of a
    variable, only its IRI, source and dataset are kept: its own statements, and its periods',
    are read for a batch of variables at a time, when their documents are made. Given the graph
    `files` (gathering VARIABLE, DATASET, VARIABLE_LINK and SHARED_BY, see _files), which variables
    there are and their own statements are read from them instead: the same statements, read
    faster, and by a forked process too (`forkable`): what the variables share is all read
    before their first document is made, so that making one reads nothing but the files."""

    def __init__(self, snapshot: Snapshot, files: GraphFiles | None = None) -> None:
        self._store = store = snapshot.store
        self._said_by = snapshot.said_by
        own = files if files is not None else snapshot
        self._own_said_by, self.forkable = own.said_by, files is not None
        self._referrers = snapshot.referrers
        graphs = snapshot.sources_by_graph()
        self.order = {ox.NamedNode(graph): i for i, graph in enumerate(graphs)}
        self.shared = _Maps()
        self.texts, self.values, self.lists = self.shared.texts, self.shared.values, self.shared.lists
        self.source_of: dict[str, SourceState] = {}
        self.dataset_of: dict[str, str] = {}
        self.dataset_source: dict[str, SourceState] = {}
        self._datasets: dict[str, dict] = {}  # what a variable takes from its dataset, worked out once
        self._read: set[str] = set()  # the shared subjects whose statements are in `shared`
        self._themes = ontology.labels("themes.ttl")
        self._codes: dict[str, list[str]] | None = None
        self._first: dict[str, SourceState] = {}  # a variable's first source, where a later one names it too
        self._place = {source.id: i for i, source in enumerate(graphs.values())}
        for graph, source in graphs.items():  # in the state's order, as the graph files were read
            for v in own.subjects(graph, RDF_TYPE, VARIABLE):
                v = intern(v)
                if (before := self.source_of.get(v)) is not None and before is not source:
                    self._first.setdefault(v, before)
                self.source_of[v] = source
            for ds in own.subjects(graph, RDF_TYPE, DATASET):
                self.dataset_source.setdefault(intern(ds), source)
            # Of the datasets linking to a variable, the last line read counts: this graph's over
            # an earlier one's, and in a graph (its lines sorted) the one whose IRI sorts last.
            here: set[str] = set()
            for ds, v in own.pairs(graph, VARIABLE_LINK):
                v, ds = intern(v), intern(ds)
                if v not in here or f"<{ds}>" > f"<{self.dataset_of[v]}>":
                    self.dataset_of[v] = ds
                    here.add(v)
        self._learn(self.dataset_source)
        self._learn([p for (_, predicate), p in list(self.values.items()) if predicate == PUBLISHER]
                    + [o for graph in graphs for predicate in SHARED_BY for o in own.objects(graph, predicate)])
        concepts = {quad.subject.value: quad.object.value
                    for quad in store.quads_for_pattern(None, _IN_SCHEME, None, None) if quad.graph_name in self.order}
        self._learn([*concepts, *set(concepts.values()),
                     *(quad.subject.value for quad in store.quads_for_pattern(None, _HAS_VERSION, None, None))])
        first: dict[str, str] = {}  # what a dataset gives its variables is worked out for its first
        for v, source in self.source_of.items():
            if (ds := self.dataset_of.get(v)) in self.dataset_source and (ds not in first or self._line(v) < self._line(first[ds])):
                first[ds] = v
        for v in first.values():
            self.dataset(v, self.source_of[v])

    def _line(self, v: str) -> tuple[int, str]:
        """Where the graph files first name variable `v` (the order its document was always made in)."""
        return self._place[self._first.get(v, self.source_of[v]).id], f"<{v}>"

    def _learn(self, subjects) -> None:
        """Read the statements of the shared `subjects` not read yet."""
        subjects = [s for s in dict.fromkeys(subjects) if s not in self._read]
        nodes = [node for s in subjects if (node := _node(s))]
        self._read.update(subjects)
        self.shared.add(self._said_by(nodes, READ))

    def label(self, subject: str) -> Text:
        """A shared subject's preferred label (a theme's, the themes' vocabulary's)."""
        return self._themes.get(subject) or _lang(self.texts.get((subject, LABEL), ()))

    def text(self, subject: str, predicate: str) -> Text:
        return _lang(self.texts.get((subject, predicate), ()))

    def _id_in(self, source: SourceState, uri: str) -> str:
        return ids.dataset_id(source.id, self.values.get((uri, IDENTIFIER)), uri)

    def dataset(self, v: str, source: SourceState) -> dict | None:
        """What variable `v` of `source` takes from its dataset (None when its dataset was held
        back, which makes it unsearchable), with the URI of its own dataset as "source_dataset".
        Worked out for the dataset's first variable in the graph files (see __init__)."""
        ds_uri = self.dataset_of.get(v)
        if ds_uri is None or ds_uri not in self.dataset_source:
            return None
        if ds_uri not in self._datasets:
            register = ids.register(ds_uri, lambda uri: self.values.get((uri, SAME_AS)), self.dataset_source)
            publisher = self.values.get((register, PUBLISHER)) or ""
            self._datasets[ds_uri] = {
                "dataset": self._id_in(self.dataset_source[register] if register != ds_uri else source, register),
                "dataset_uri": register, "dataset_title": self.text(register, TITLE), "source_dataset": ds_uri,
                "publisher": publisher, "publisher_name": self.text(publisher, NAME) if publisher else {},
                "access_rights": self.values.get((register, ACCESS)), "source": source.id,
                "source_name": source.name}
        return self._datasets[ds_uri]

    def indexed(self) -> Iterator[tuple[str, SourceState, dict]]:
        """The variables that have documents (those whose dataset is in the store), with their
        source and what they take from their dataset."""
        for v, source in self.source_of.items():
            if (ds := self.dataset(v, source)) is not None:
                yield v, source, ds

    def sources(self, variables: list[str]) -> int:
        """How many sources the variables (of a register) come from."""
        return len({self.source_of[v].id for v in variables})

    def _has_document(self, v: str) -> bool:
        return (source := self.source_of.get(v)) is not None and self.dataset(v, source) is not None

    def by_register(self, units: set[str] | None = None) -> dict[str, list[str]]:
        """The variables that have documents (of the registers `units`, if given) by register."""
        found: dict[str, list[str]] = defaultdict(list)
        for v, _, ds in self.indexed():
            if units is None or ds["dataset"] in units:
                found[ds["dataset"]].append(v)
        for variables in found.values():
            variables.sort(key=self._line)
        return found

    def documents(self, variables: list[str]) -> list[VariableDoc]:
        """The documents of `variables`, in their order (twins are linked among them: a register
        two sources describe is given whole)."""
        own = _Maps()
        own.add(self._own_said_by((ox.NamedNode(v) for v in variables), READ))
        own.add(self._own_said_by(own.periods, READ))
        values, lists = own.values, own.lists
        codes = self.codes()
        docs = []
        for v in variables:
            source = self.source_of[v]
            ds = self.dataset(v, source)
            ds_uri = ds["source_dataset"]
            name = values.get((v, IDENTIFIER)) or v
            themes = sorted({*self.lists.get((ds_uri, THEME), ()), *lists.get((v, THEME), ())})
            representation = values.get((v, REPRESENTATION))
            docs.append(VariableDoc.model_construct(
                **{k: value for k, value in ds.items() if k != "source_dataset"},
                id=ids.variable_id(self._id_in(source, ds_uri), name, v), uri=v, name=name,
                label=_lang(own.texts.get((v, LABEL), ())), description=_lang(own.texts.get((v, DESCRIPTION), ())),
                themes=themes, theme_labels={t: label for t in themes if (label := self.label(t))},
                value_type=value_type(representation), code_list=code_list_of(representation),
                code_list_title=self.text(representation, TITLE) if representation else {},
                codes=codes.get(representation or "", []), unit=values.get((v, UNIT)),
                periods=sorted((Period.model_construct(start=_day(values.get((t, START)), end=False),
                                                       end=_day(values.get((t, END)), end=True))
                                for t in lists.get((v, TEMPORAL), ())), key=lambda x: x.start or date.min),
                same_as={},  # given, so that pydantic need not work out how to call its default factory
            ))
        _link_twins(docs)
        return docs

    def labels(self, variables: Iterable[str]) -> Iterator[Text]:
        """The variables' labels, read a batch at a time."""
        variables = iter(variables)
        while part := list(islice(variables, REGISTER_BATCH)):
            for said in self._said_by((ox.NamedNode(v) for v in part), [LABEL]).values():
                yield _lang([(label.value, label.language or "nb") for _, label, _ in said])

    def referring(self, iris: set[str], predicate: str) -> set[str]:
        """The subjects that name any of `iris` by `predicate`."""
        return {s for said in self._referrers((i for i in iris if _node(i)), predicate).values() for s in said}

    def codes(self) -> dict[str, list[str]]:
        """Per code list, "notation label" of its codes (worked out once)."""
        if self._codes is None:
            self._codes = _codes(self.values, self.lists, self.label)
        return self._codes

    def registers(self) -> list[Register]:
        """Every register with variables."""
        registers = {ds["dataset"]: ds for ds in self._datasets.values()}
        return [Register(id=register, title=ds["dataset_title"], description=self.text(ds["dataset_uri"], DESCRIPTION))
                for register, ds in sorted(registers.items())]

    def concepts(self, used: set[str] | None = None) -> list[Concept]:
        """The codes of the code lists `used`, or (not given) of those the variables with documents
        use, streamed from the store: never whole."""
        if used is None:
            used = {code_list_of(quad.object.value)
                    for quad in self._store.quads_for_pattern(None, _REPRESENTATION, None, None)
                    if quad.graph_name in self.order and self._has_document(quad.subject.value)} - {None}
        return _concepts(self.values, self.lists, self.texts, used)


def _node(iri: str) -> ox.NamedNode | None:
    """The IRI as a node to look up (None for what is no IRI: a blank node's label)."""
    try:
        return ox.NamedNode(iri)
    except ValueError:
        return None


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
           label_of: Callable[[str], Text]) -> dict[str, list[str]]:
    """Per code list, "notation label" of its codes, and of its versions' for a classification."""
    by_scheme: dict[str, set[str]] = defaultdict(set)
    for (concept, predicate), scheme in values.items():
        if predicate == IN_SCHEME and (notation := values.get((concept, NOTATION))):
            label = label_of(concept)
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
