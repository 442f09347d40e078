"""The embedded search backend: a tantivy index in the data directory.

Each rebuild writes a new index folder and then points `CURRENT` at it in one
rename, so a server in another process keeps answering from the old index
until the new one is whole, and picks the new one up on its next search.

Text is indexed several ways, each weighed (see FIELDS): the short name as typed
(ranked first), Norwegian labels stemmed with æ, ø and å kept, the same folded the way a
keyboard without them types them (ranked a little lower), descriptions folded alone, English
stemmed, and the codes of the variable's code list. Norwegian compounds are split into
their parts with a dictionary built from the catalogue (search.analysis), kept with the
index so queries are split the same way.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pydantic_core
import tantivy
from pydantic import BaseModel, TypeAdapter
from tantivy import Filter, Occur, Order, Query as TQ, TextAnalyzer, TextAnalyzerBuilder, Tokenizer

from catalogue.forked import cores
from catalogue.model.models import Period
from catalogue.search import analysis
from catalogue.search.backend import FACETS, FILTERS, FacetValue, Hit, Page, Suggestion, hit
from catalogue.search.documents import VariableDoc
from catalogue.search.fields import (AGREE_FIELDS, DESCRIPTION_WINDOW, ENDINGS_WEIGHT, FACET_SIZE, FIELDS,
                                     LAST_PART_WEIGHT, NO_YEAR, PAIR_FIELDS, PAIR_SLOP, RELATED_WEIGHT, RESCORE_WINDOW,
                                     SYNONYM_WEIGHT, TYPO_FIELDS, TYPO_ONE, TYPO_TWO, NAMED, VIA_AGREE, VIA_WEIGHT,
                                     Coverage, Groups, Labels, Names, Summary, alternative_fields, indexed,
                                     list_name)
from catalogue.search.prepared import Prepared
from catalogue.search.query import Query, Via
from catalogue.storage.durable import atomic_write

KEEP_INDEXES = 2
MARKED = ("nb", "nb_fold", "en")  # the analyzers whose tokens mark a hit's words
REMEMBERED_WORDS = 200_000  # words of hits kept analyzed (a few tens of MB at most)
WRITER_MEMORY = 256_000_000  # bytes the index writer fills before it writes a segment (see _add)
SEGMENT_DOCUMENTS = 250_000  # about what one writer's memory holds (316,000 of bench/harvest.py's variables)
MAX_LOOKED_UP = 1000  # values of a filter looked up one by one; a set query reads more (see _one_of)
REMEMBERED_FACETS = 64  # searches whose facets are kept, for their next page or another order
SUMMARY, REGISTERS, PARTS = "summary.json", "summary-by-register.json", "compound-parts.json"
FACET_VALUES = TypeAdapter(dict[str, list[FacetValue]])
CORES = cores()
_POOL = ThreadPoolExecutor(max_workers=CORES, thread_name_prefix="facets")


def _linked(source: str, destination: str) -> None:
    """A file of an index in a copy of it: the same file where the file system can say so."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


class Swapped:
    """An index kept as folders under `root`: a new one is written whole beside the current
    one, then named in `CURRENT` in one rename, so readers in other processes keep the old
    one until the new one is whole, and pick the new one up on their next read."""
    prefix = "index-"

    def __init__(self, root: Path):
        self.root = Path(root)
        self._pointer = self.root / "CURRENT"
        self._loaded: tuple[str | None, tantivy.Index | None] = (None, None)  # folder name, its index
        self._analyzers: dict[str, TextAnalyzer] = {}

    def _new_folder(self) -> Path:
        return self.root / (self.prefix + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f"))

    def _swap(self, folder: Path) -> None:
        """Make `folder` the index read, in one step, and remove older ones."""
        self._loaded = (None, None)  # the next read opens the new index with its own dictionary
        atomic_write(self._pointer, folder.name.encode())
        for stale in sorted(p for p in self.root.glob(self.prefix + "*") if p.is_dir())[:-KEEP_INDEXES]:
            shutil.rmtree(stale, ignore_errors=True)

    def _current(self) -> tantivy.Index | None:
        """The current index (None if one was never made), opened anew when it was swapped."""
        return self._generation()[1]

    def _generation(self) -> tuple[str | None, tantivy.Index | None]:
        """The current index's folder name and the index, read together: what is
        remembered of an index is remembered under its name."""
        try:
            name = self._pointer.read_text().strip()
        except FileNotFoundError:
            return None, None
        loaded = self._loaded
        if name != loaded[0]:
            loaded = self._loaded = (name, self._load(self.root / name))
        return loaded

    def _load(self, folder: Path) -> tantivy.Index:
        """Open the index in `folder`, with what is kept beside it."""
        raise NotImplementedError


class _Named(BaseModel):
    """What a suggestion reads of a stored document (its codes and descriptions are skipped)."""
    id: str
    name: str
    label: dict[str, str]


def build(*filters) -> TextAnalyzer:
    """An analyzer of words (split at what is not a letter or digit) through `filters`."""
    builder = TextAnalyzerBuilder(Tokenizer.simple())
    for f in filters:
        builder = builder.filter(f)
    return builder.build()


def analyzers(parts: list[str]) -> dict[str, TextAnalyzer]:
    """The analyzers of FIELDS, Norwegian compounds split into `parts`."""
    folded = sorted({analysis.fold(p) for p in parts})
    return {
        "exact": TextAnalyzerBuilder(Tokenizer.raw()).filter(Filter.lowercase()).build(),
        "words": build(Filter.lowercase(), Filter.ascii_fold()),
        "nb": build(Filter.lowercase(), Filter.split_compound(parts), Filter.stemmer("norwegian")),
        "nb_fold": build(Filter.lowercase(), Filter.ascii_fold(), Filter.split_compound(folded),
                         Filter.stemmer("norwegian")),
        "en": build(Filter.lowercase(), Filter.stemmer("english"), Filter.ascii_fold()),
    }


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    for field, (analyzer, _) in FIELDS.items():
        builder.add_text_field(field, tokenizer_name=analyzer)
    builder.add_text_field("suggest", tokenizer_name="words")
    builder.add_text_field("label_endings", tokenizer_name="raw")
    builder.add_text_field("missing_decades", tokenizer_name="raw", fast=True)
    builder.add_text_field("name_sort", tokenizer_name="raw", fast=True)
    for facet in FILTERS:
        builder.add_text_field(facet, tokenizer_name="raw", fast=True)
    # Periods: a variable's first and last year with data, and for the few with gaps, which
    # years have data and which do not (see _period).
    for field in ("first_year", "last_year", "gap_years", "missing_years"):
        builder.add_integer_field(field, indexed=True, fast=True)
    builder.add_bytes_field("doc", stored=True)
    return builder.build()


class EmbeddedBackend(Swapped):
    capabilities = frozenset({"compounds", "typos", "synonyms", "highlight", "suggest"})

    def __init__(self, root: Path):
        super().__init__(root)
        self._labels: Labels = {}
        self._names = Names({})
        self._coverage: Coverage = {}
        self._groups: Groups = {}
        # The facets of the last searches, by index folder and what they depend on (not the page
        # or the order): the start page, and the next page or another order of a search.
        self._facets: OrderedDict[tuple, dict[str, list[FacetValue]]] = OrderedDict()
        self._facets_lock = threading.Lock()
        self.schema = _schema()

    def _open(self, folder: Path, parts: list[str], create: bool = False) -> tantivy.Index:
        index = tantivy.Index(self.schema, path=str(folder), reuse=not create)
        self._analyzers = analyzers(parts)
        self._vocabulary = analysis.Vocabulary(self._analyze)
        for name, analyzer in self._analyzers.items():
            index.register_tokenizer(name, analyzer)
        return index

    # -- writing -------------------------------------------------------------
    def rebuild(self, docs: Iterable[VariableDoc]) -> None:
        """A new index of `docs`, read once (see search.prepared), swapped in when whole."""
        self.root.mkdir(parents=True, exist_ok=True)
        folder = self._new_folder()
        folder.mkdir()
        this_year = datetime.now(timezone.utc).year
        with Prepared(docs, lambda doc: self._prepare(doc, this_year), self.root) as prepared:
            atomic_write(folder / PARTS, json.dumps(prepared.parts, ensure_ascii=False).encode())
            self._add(self._open(folder, prepared.parts, create=True), prepared, (),
                      threads=max(1, min(cores(), prepared.count // SEGMENT_DOCUMENTS)))
            self._keep_summary(folder, prepared.summary)
        self._swap(folder)

    def patch(self, docs: Iterable[VariableDoc] = (), gone: Iterable[str] = ()) -> None:
        """Change a copy of the current index and swap it in, as a rebuild does: readers in
        other processes go on with the old one until the new one is whole. The copy shares the
        current index's files (tantivy never changes a file it has written), and only the
        registers whose part in the summary changed are summarized again (Summary.changed). The compound
        dictionary stays the one the last rebuild made."""
        docs, gone = list(docs), list(gone)
        current = self.root / self._pointer.read_text().strip()
        folder = self._new_folder()
        shutil.copytree(current, folder, copy_function=_linked, ignore=shutil.ignore_patterns(".tantivy-*.lock"))
        index = self._open(folder, json.loads((folder / PARTS).read_text()))
        replaced = [*gone, *(d.id for d in docs)]
        registers = Summary.changed(docs, self.documents(replaced))  # read before they are replaced
        self._write(index, docs, replaced)
        index.reload()
        searcher = index.searcher()
        if (folder / REGISTERS).exists():
            summary = Summary(json.loads((folder / REGISTERS).read_text()))
            summary.replace(registers, self._docs(searcher, self._compile(
                Query(filters={"dataset": tuple(sorted(registers))}), scoring=False)) if registers else ())
        else:  # an index from before summaries were kept by register: summarized whole, once
            summary = Summary.of(self._docs(searcher, TQ.all_query()))
        self._keep_summary(folder, summary)
        self._swap(folder)

    @staticmethod
    def _keep_summary(folder: Path, summary: Summary) -> None:
        """The summary by register (what a patch changes) and whole (what pages read)."""
        atomic_write(folder / REGISTERS, json.dumps(summary.registers, ensure_ascii=False).encode())
        atomic_write(folder / SUMMARY, json.dumps(summary.whole(), ensure_ascii=False).encode())

    def _write(self, index: tantivy.Index, docs: list[VariableDoc], gone: Iterable[str]) -> None:
        this_year = datetime.now(timezone.utc).year
        self._add(index, (self._prepare(doc, this_year) for doc in docs), gone)

    @staticmethod
    def _add(index: tantivy.Index, documents: Iterable[str], gone: Iterable[str], threads: int = 1) -> None:
        # The writer starts a new segment each time its memory is full, and every search pays
        # for each segment (its own term dictionaries, its fuzzy words looked up again): with
        # 256 MB, 100,000 variables are one segment, and a search costs a tenth less than on two.
        # Each thread writes segments of its own, so a second one is only for documents that
        # fill several segments anyway: at 1,000,000 variables it cut a rebuild's writing by a fifth.
        writer = index.writer(heap_size=threads * WRITER_MEMORY, num_threads=threads)
        for doc_id in gone:
            writer.delete_documents_by_term("id", doc_id)
        for document in documents:
            writer.add_json(document)
        writer.commit()
        writer.wait_merging_threads()

    @staticmethod
    def _prepare(doc: VariableDoc, this_year: int) -> str:
        """The document as JSON, which the writer reads in Rust: a tantivy.Document built
        from a dict in Python held the writer back (at 1,000,000 variables a rebuild's writing
        took 38.5 s so, 28.9 s as JSON). The whole document is kept in a bytes field, which
        JSON gives in standard base64."""
        return pydantic_core.to_json({**indexed(doc, this_year), "doc": [
            base64.b64encode(doc.model_dump_json().encode()).decode()]}).decode()

    # -- reading -------------------------------------------------------------
    def has_index(self) -> bool:
        """Whether there is a current index of this release's fields: one an earlier release
        wrote with other fields cannot be opened, and the next settle rebuilds it."""
        try:
            return self._current() is not None
        except ValueError as error:  # tantivy's word for it
            if "schema does not match" in str(error):
                return False
            raise

    def _load(self, folder: Path) -> tantivy.Index:
        self._labels, self._coverage, self._groups = json.loads((folder / SUMMARY).read_text())
        self._names = Names(self._labels)
        return self._open(folder, json.loads((folder / PARTS).read_text()))

    def search(self, query: Query) -> Page:
        generation, index = self._generation()
        if index is None:
            return Page(items=[], total=0, facets={f: [] for f in FACETS})
        searcher = index.searcher()
        key = (generation, query.text, query.via, tuple(sorted((f, v) for f, v in query.filters.items() if v)),
               query.year_from, query.year_to, query.period)
        with self._facets_lock:
            cached = self._facets.get(key)
        # tantivy lets go of the GIL while it searches: where a core is idle, facets are
        # counted on it while this thread finds and marks the page of hits. The other thread
        # runs tantivy alone; what Python does with the counts is done here, so that the two
        # threads do not wait on each other for the GIL.
        compiled = self._compile(query)
        counting = None if cached else self._counting(searcher, query, compiled)
        pairs = self._pairs(query)
        if pairs and query.offset < RESCORE_WINDOW:
            result = searcher.search(compiled, limit=max(RESCORE_WINDOW, query.offset + query.size), count=True)
            stored = self._rescored(searcher, result.hits, pairs)[query.offset:query.offset + query.size]
        else:
            result = searcher.search(compiled, limit=query.size, offset=query.offset, count=True, **self._order(query))
            stored = [searcher.doc(address) for _, address in result.hits]
        # read as hits at once: a document validated and then copied into a Hit costs twice
        docs = [Hit.model_validate_json(document["doc"][0]) for document in stored]
        hits = self._matcher(query.text) if query.text.strip() else None
        items = [self._highlight(doc, query, hits) for doc in docs]
        facets = cached if cached is not None else self._facet_values(counting.result())
        with self._facets_lock:
            self._facets[key] = facets
            self._facets.move_to_end(key)
            if len(self._facets) > REMEMBERED_FACETS:
                self._facets.popitem(last=False)
        return Page(items=items, total=result.count, facets={f: facets.get(f, []) for f in FACETS})

    def _pairs(self, query: Query) -> list[TQ]:
        """The query's words typed together, as phrases in PAIR_FIELDS; none unless the hits
        are ordered by relevance."""
        if self._order(query):
            return []
        out = []
        for pair in analysis.pairs(query.text):
            for field, weight in PAIR_FIELDS.items():
                tokens = self._analyzers[FIELDS[field][0]].analyze(pair)
                if len(tokens) > 1:
                    out.append(TQ.boost_query(TQ.phrase_query(self.schema, field, tokens, slop=PAIR_SLOP), weight))
        return out

    def _rescored(self, searcher: tantivy.Searcher, hits: list, pairs: list[TQ]) -> list[tantivy.Document]:
        """The stored documents of `hits` (score, address), the first RESCORE_WINDOW reordered
        by their score plus that of the `pairs` they match, the rest after them as they were.
        The pairs are searched among the window's documents alone (by their ids), so their
        positions are read only there."""
        if not hits:  # nothing to reorder, and tantivy refuses to look for no hits
            return []
        window = [(score, searcher.doc(address), address) for score, address in hits[:RESCORE_WINDOW]]
        ids = TQ.const_score_query(TQ.boolean_query(
            [(Occur.Should, TQ.term_query(self.schema, "id", document["id"][0])) for _, document, _ in window]), 0.0)
        among = TQ.boolean_query([(Occur.Should, TQ.boolean_query([(Occur.Must, ids), (Occur.Must, pair)]))
                                  for pair in pairs])
        found = searcher.search(among, limit=len(window), count=False).hits
        extra = {(a.segment_ord, a.doc): score for score, a in found}
        window.sort(key=lambda hit: -(hit[0] + extra.get((hit[2].segment_ord, hit[2].doc), 0.0)))
        return [document for _, document, _ in window] + [searcher.doc(address) for _, address in hits[RESCORE_WINDOW:]]

    def _order(self, query: Query) -> dict:
        sort = query.sort if query.text.strip() or query.sort != "relevance" else "id"
        if sort == "relevance":
            return {}
        field = {"name": "name_sort", "first_year": "first_year", "-first_year": "first_year"}.get(sort, sort)
        return {"order_by_field": field, "order": Order.Desc if sort.startswith("-") else Order.Asc}

    def _counting(self, searcher: tantivy.Searcher, query: Query, compiled: TQ) -> Future[dict]:
        """Every facet's counts in one pass (see _facet_values), on another thread where a
        core is idle, here otherwise: on busy cores a second thread only adds the cost of
        switching between threads, a fifth of a search's at 100,000 variables. A facet's
        counts ignore its own filter, so that several of its values can be chosen: the documents
        are those the query matches without its facet filters, each facet counted among those
        that pass the other facets' filters. `compiled`: the query's own, counted over when no
        facet filter is chosen."""
        chosen = {f: query.filters[f] for f in FACETS if query.filters.get(f)}
        aggregations: dict = {}
        for facet in FACETS:
            counted = DECADE_AGGREGATIONS if facet == "decade" else {
                facet: {"terms": {"field": facet, "size": FACET_SIZE}}}
            others = " AND ".join(_any_of(f, values) for f, values in chosen.items() if f != facet)
            if others:  # facets that share the same other filters are counted under one filter
                aggregations.setdefault(f"filtered {others}", {"filter": others, "aggs": {}})["aggs"].update(counted)
            else:
                aggregations.update(counted)
        if chosen:
            unfiltered = query.model_copy(update={"filters": {k: v for k, v in query.filters.items() if k not in chosen}})
            matched = self._compile(unfiltered, scoring=False)
        else:
            matched = TQ.const_score_query(compiled, 1.0)
        if _idle_core():
            return _POOL.submit(searcher.aggregate, matched, aggregations)
        counted: Future[dict] = Future()
        counted.set_result(searcher.aggregate(matched, aggregations))
        return counted

    def _facet_values(self, found: dict) -> dict[str, list[FacetValue]]:
        """The facets' values and counts from the aggregations of _counting, with their labels."""
        for name in [k for k in found if k.startswith("filtered ")]:
            found.update(found.pop(name))
        buckets = {f: [(b["key"], b["doc_count"]) for b in found[f]["buckets"] if b["key"]]
                   for f in FACETS if f != "decade"}
        buckets["decade"] = _decades(found)
        # validated in one call: cheaper than a hundred or so FacetValues made one at a time
        labels, groups = self._labels, self._groups
        return FACET_VALUES.validate_python({
            facet: [{"value": key, "count": count, "label": labels.get(facet, {}).get(key, {}),
                     "group": groups.get(facet, {}).get(key)} for key, count in buckets[facet]]
            for facet in FACETS})

    def matching(self, query: Query) -> list[VariableDoc]:
        """Every document the query matches, in id order, ignoring paging and facets."""
        index = self._current()
        return self._docs(index.searcher(), self._compile(query, scoring=False)) if index is not None else []

    @staticmethod
    def _docs(searcher: tantivy.Searcher, query: TQ) -> list[VariableDoc]:
        result = searcher.search(query, limit=max(1, searcher.num_docs), order_by_field="id", order=Order.Asc)
        return [VariableDoc.model_validate_json(searcher.doc(address)["doc"][0]) for _, address in result.hits]

    def documents(self, ids: list[str]) -> list[VariableDoc]:
        index = self._current()
        return self._docs(index.searcher(), self._one_of("id", ids)) if index and ids else []

    def get(self, doc_id: str) -> VariableDoc | None:
        index = self._current()
        if index is None:
            return None
        searcher = index.searcher()
        hits = searcher.search(TQ.term_query(self.schema, "id", doc_id), limit=1).hits
        return VariableDoc.model_validate_json(searcher.doc(hits[0][1])["doc"][0]) if hits else None

    def coverage(self, facet: str, value: str) -> list[Period]:
        if self._current() is None:
            return []
        return [Period.model_validate(p) for p in self._coverage.get(facet, {}).get(value, [])]

    def named(self, text: str, limit: int) -> list[Suggestion]:
        return self._names.starting(text, limit) if self._current() is not None else []

    def suggest(self, text: str, limit: int = 10) -> list[Suggestion]:
        """Names of variables, datasets and sources with words starting as typed."""
        index = self._current()
        typed = analysis.words(analysis.fold(text))
        if index is None or not typed:
            return []
        names = self.named(text, limit // 3)
        searcher = index.searcher()
        hits = searcher.search(TQ.phrase_prefix_query(self.schema, "suggest", typed), limit=limit * 3).hits
        variables: dict[str, Suggestion] = {}  # one per name: five registries' "Fødselsår" are one
        for _, address in hits:
            if len(variables) == limit - len(names):  # the rest are not read
                break
            doc = _Named.model_validate_json(searcher.doc(address)["doc"][0])
            text = doc.label.get("nb") or next(iter(doc.label.values()), doc.name)
            variables.setdefault(text.lower(), Suggestion(kind="variable", id=doc.id, text=text))
        return [*variables.values(), *names]

    # -- compiling a query ----------------------------------------------------
    def _compile(self, query: Query, scoring: bool = True) -> TQ:
        clauses: list[tuple[Occur, TQ]] = []
        if query.text.strip():
            clauses.append((Occur.Must, self._text(query.text, query.via)))
        for facet, values in query.filters.items():
            if facet in FILTERS and values:
                clauses.append((Occur.Must, self._one_of(facet, values)))
        clauses += self._period(query)
        compiled = TQ.boolean_query(clauses) if clauses else TQ.all_query()
        return compiled if scoring else TQ.const_score_query(compiled, 1.0)

    def _period(self, query: Query) -> list[tuple[Occur, TQ]]:
        """The year filter on first and last years (one number each, cheap to compare);
        only variables with gaps are looked at year by year."""
        if query.period == "cover":
            span = query.cover_years
            return [(Occur.Must, self._years("first_year", None, span[0])),
                    (Occur.Must, self._years("last_year", span[-1], None)),
                    (Occur.MustNot, self._years("missing_years", span[0], span[-1]))]
        if query.year_from is None and query.year_to is None:
            return []
        # Overlapping first..last is enough without gaps; with gaps, a year in range must have
        # data. Said as the few with gaps and no such year left out: "no gaps, or a year in
        # range" as a union of clauses reads every document without gaps (a third of a
        # filtered search at 1,000,000 variables), where leaving out reads only those few.
        gap_over_range = TQ.boolean_query([
            (Occur.Must, TQ.exists_query("gap_years")),
            (Occur.MustNot, self._years("gap_years", query.year_from, query.year_to))])
        return [(Occur.Must, self._years("first_year", None, query.year_to)),
                (Occur.Must, self._years("last_year", query.year_from, None)),
                (Occur.MustNot, gap_over_range)]

    def _one_of(self, field: str, values: Iterable[str]) -> TQ:
        """Documents with any of `values` in `field`, each scoring 1. A set query reads the
        field's whole dictionary (a quarter of a millisecond for any field with many words,
        as much as the rest of a one-word search's words); a few words are looked up one by one."""
        values = list(dict.fromkeys(values))
        if len(values) > MAX_LOOKED_UP:
            return TQ.term_set_query(self.schema, field, values)
        return TQ.const_score_query(TQ.boolean_query(
            [(Occur.Should, TQ.term_query(self.schema, field, v)) for v in values]), 1.0)

    def _years(self, field: str, lowest: int | None, highest: int | None) -> TQ:
        return TQ.range_query(self.schema, field, tantivy.FieldType.Integer,
                              lower_bound=0 if lowest is None else lowest,
                              upper_bound=NO_YEAR if highest is None else highest)

    def _text(self, typed: str, via: tuple[Via, ...] = ()) -> TQ:
        """Any of: the words in each field, their synonyms, near spellings of long words, and
        the code lists of concepts they match (`via`). Function words count only in synonyms'
        phrases, or as a phrase when they are all there is. Words found together (pairs) are
        no part of it: they only reorder the top hits (_rescored)."""
        through = [(Occur.Should, q) for v in via for q in self._via(v, typed)]
        if analysis.is_function_words(typed):
            return TQ.boolean_query([(Occur.Should, q) for q in self._fields(typed, 1.0, phrase=True)] + through)
        text, phrases = analysis.hyphenated(analysis.content(typed))
        should = through + [(Occur.Should, q) for phrase in phrases for q in self._fields(phrase, 1.0, phrase=True)]
        should += [(Occur.Should, q) for q in self._fields(text, 1.0) if text]
        endings = [w for w in analysis.words(analysis.fold(text)) if len(w) >= analysis.MIN_ENDING]
        if endings:
            should.append((Occur.Should, TQ.boost_query(self._one_of("label_endings", endings), ENDINGS_WEIGHT)))
        last = analysis.last_parts(text)
        if last:
            should.append((Occur.Should, TQ.const_score_query(self._one_of("label_words", last),
                                                              LAST_PART_WEIGHT)))
        for others, weight in ((analysis.synonyms(typed), SYNONYM_WEIGHT), (analysis.related(typed), RELATED_WEIGHT)):
            for other in others:  # "blodpropp i hjertet" as a phrase, not as "i"
                should += [(Occur.Should, q) for q in self._fields(other, weight, phrase=True,
                                                                   fields=alternative_fields(text, other))]
        for field, weight in TYPO_FIELDS.items():
            for token in set(self._analyzers[FIELDS[field][0]].analyze(text)):
                if len(token) >= TYPO_ONE:
                    distance = 2 if len(token) >= TYPO_TWO else 1
                    should.append((Occur.Should, TQ.boost_query(
                        TQ.fuzzy_term_query(self.schema, field, token, distance=distance), weight)))
        return TQ.boolean_query(should)

    def _via(self, via: Via, typed: str) -> list[TQ]:
        """The variables of the concept's code list, and less those whose label only names the
        list (fields.list_name); more those whose own words or register share a word with the
        query or have one of its synonyms (fields.VIA_AGREE)."""
        weight = VIA_WEIGHT * via.score
        linked = TQ.term_query(self.schema, "code_list", via.code_list)
        named = self._analyzers["nb_fold"].analyze(list_name(via.code_list_title))
        ways = [(linked, weight * (1 - VIA_AGREE))]
        if named:
            ways.append((self._phrase("label_nb_fold", named), weight * (1 - VIA_AGREE) * NAMED))
        out = [TQ.const_score_query(way, share) for way, share in ways]
        tokens = set(self._analyzers["nb_fold"].analyze(analysis.content(typed)))
        if tokens:
            said = [self._analyzers["nb_fold"].analyze(other) for other in analysis.synonyms(typed)]
            agree = TQ.boolean_query([(Occur.Should, TQ.term_query(self.schema, field, t))
                                      for field in AGREE_FIELDS for t in tokens]
                                     + [(Occur.Should, self._phrase(field, other))
                                        for field in AGREE_FIELDS for other in said if other])
            listed = TQ.boolean_query([(Occur.Should, way) for way, _ in ways])
            out.append(TQ.const_score_query(TQ.boolean_query([(Occur.Must, listed), (Occur.Must, agree)]),
                                            weight * VIA_AGREE))
        return out

    def _phrase(self, field: str, tokens: list[str]) -> TQ:
        """The tokens in `field`, in order."""
        return (TQ.phrase_query(self.schema, field, tokens) if len(tokens) > 1
                else TQ.term_query(self.schema, field, tokens[0]))

    def _fields(self, text: str, factor: float, phrase: bool = False,
                fields: dict[str, tuple[str, float]] = FIELDS) -> list[TQ]:
        """The words of `text` in each of `fields` (any of them, or with `phrase` all in order)."""
        out = []
        for field, (analyzer, weight) in fields.items():
            tokens = self._analyzers[analyzer].analyze(text)
            if phrase and len(tokens) > 1 and field != "name_exact":
                matched = TQ.phrase_query(self.schema, field, tokens)
            elif tokens:
                matched = TQ.boolean_query([(Occur.Should, TQ.term_query(self.schema, field, t))
                                            for t in dict.fromkeys(tokens)])
            else:
                continue
            out.append(TQ.boost_query(matched, weight * factor))
        return out

    @staticmethod
    def _highlight(doc: Hit, query: Query, hits: analysis.Hits | None) -> Hit:
        if hits is None:
            return hit(doc, query)
        return hit(doc, query,
                   label={lang: analysis.mark(value, hits) for lang, value in doc.label.items()},
                   description={lang: analysis.mark(value, hits, limit=DESCRIPTION_WINDOW)
                                for lang, value in doc.description.items()})

    def _matcher(self, text: str) -> analysis.Hits:
        """What marks the words of hits that match `text` (or its synonyms). The words of hits
        are kept analyzed across queries (hits repeat the catalogue's words: three analyzers a
        word cost more than the search itself), forgotten with the index, whose compound parts
        they are split by, or when there are too many."""
        if len(self._vocabulary.tokens) >= REMEMBERED_WORDS:
            self._vocabulary = analysis.Vocabulary(self._vocabulary.analyze)
        return analysis.matcher(text, self._vocabulary)

    def _analyze(self, text: str) -> frozenset[str]:
        """`text` as the marked fields' analyzers index it."""
        return frozenset(t for name in MARKED for t in self._analyzers[name].analyze(text))


# Decades are counted from first and last years, one number each, rather than from the
# several decades a variable has: a variable has data in decade D when it starts by D+9 and
# has not ended before D, unless a gap spans all of D (missing_decades, few variables).
# The years are counted as terms and summed into decades here: a histogram of the same field
# costs tantivy about twice as much, and there are only some hundred years.
YEARS = 10_000  # every year of four digits (NO_YEAR too): a year left out would be missing from its decade
DECADE_AGGREGATIONS = {
    "first_years": {"terms": {"field": "first_year", "size": YEARS}},
    "last_years": {"terms": {"field": "last_year", "size": YEARS}},
    "missing_decades": {"terms": {"field": "missing_decades", "size": 1000}},
}


def _idle_core() -> bool:
    """Whether fewer threads are running now, this one among them, than this process has
    cores (Linux's count of runnable threads; elsewhere no core is taken to be idle)."""
    try:
        with open("/proc/loadavg", "rb") as load:
            running = int(load.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return False
    return running < CORES


def _any_of(field: str, values: tuple[str, ...]) -> str:
    """A filter on `field` in tantivy's query language: any of `values`, each quoted whole."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "(" + " OR ".join(f"{field}:{v}" for v in quoted) + ")"


def _decades(counted: dict) -> list[tuple[str, int]]:
    """The decade facet from DECADE_AGGREGATIONS: (decade, variables), most first."""
    first, last = _by_decade(counted["first_years"]), _by_decade(counted["last_years"])
    missing = {int(b["key"]): b["doc_count"] for b in counted["missing_decades"]["buckets"]}
    if not first:
        return []
    out, started, ended = [], 0, 0
    for decade in range(min(first), max(last | first) + 10, 10):
        started += first.get(decade, 0)  # variables that start by the end of this decade
        count = started - ended - missing.get(decade, 0)
        ended += last.get(decade, 0)     # variables that end within it
        if count > 0:
            out.append((str(decade), count))
    return sorted(out, key=lambda item: (-item[1], item[0]))


def _by_decade(years: dict) -> dict[int, int]:
    """A terms count of years, summed by decade (variables without periods left out)."""
    out: dict[int, int] = defaultdict(int)
    for bucket in years["buckets"]:
        if bucket["key"] != NO_YEAR:
            out[int(bucket["key"]) // 10 * 10] += bucket["doc_count"]
    return out
