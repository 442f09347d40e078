"""The embedded search backend: a tantivy index in the data directory.

Each rebuild writes a new index folder and then points `CURRENT` at it in one
rename, so a server in another process keeps answering from the old index
until the new one is whole, and picks the new one up on its next search.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import tantivy
from tantivy import Filter, Occur, Order, Query as TQ, TextAnalyzerBuilder, Tokenizer

from catalogue.search.backend import FACETS, FacetValue, Page, facet_labels
from catalogue.search.documents import VariableDoc
from catalogue.search.query import Query

TEXT_FIELDS = {"name": 4.0, "label_nb": 3.0, "label_en": 2.5, "description_nb": 1.0,
               "description_en": 1.0}
KEEP_INDEXES = 2
LABELS = "labels.json"


def _analyzer(language: str):
    return (TextAnalyzerBuilder(Tokenizer.simple()).filter(Filter.lowercase())
            .filter(Filter.stemmer(language)).filter(Filter.ascii_fold()).build())


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    builder.add_text_field("name", tokenizer_name="default")
    for field in ("label_nb", "description_nb"):
        builder.add_text_field(field, tokenizer_name="nb_stem")
    for field in ("label_en", "description_en"):
        builder.add_text_field(field, tokenizer_name="en_stem")
    for facet in FACETS:
        builder.add_text_field(facet, tokenizer_name="raw", fast=True)
    builder.add_integer_field("years", indexed=True, fast=True)
    builder.add_bytes_field("doc", stored=True)
    return builder.build()


def _open(path: Path, create: bool = False) -> tantivy.Index:
    index = tantivy.Index(_schema(), path=str(path), reuse=not create)
    index.register_tokenizer("nb_stem", _analyzer("norwegian"))
    index.register_tokenizer("en_stem", _analyzer("english"))
    return index


class EmbeddedBackend:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._pointer = self.root / "CURRENT"
        self._loaded: str | None = None
        self._index: tantivy.Index | None = None
        self._labels: dict[str, dict[str, dict[str, str]]] = {}
        self.schema = _schema()

    # -- writing -------------------------------------------------------------
    def rebuild(self, docs: Iterable[VariableDoc]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        name = "index-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        folder = self.root / name
        folder.mkdir()
        index = _open(folder, create=True)
        writer = index.writer(heap_size=64_000_000, num_threads=1)
        this_year = datetime.now(timezone.utc).year
        labels: dict[str, dict[str, dict[str, str]]] = {facet: {} for facet in FACETS}
        for doc in docs:
            writer.add_document(self._document(doc, this_year))
            for facet, value, label in facet_labels(doc):
                labels[facet][value] = label
        writer.commit()
        (folder / LABELS).write_text(json.dumps(labels, ensure_ascii=False))
        writer.wait_merging_threads()
        tmp = self.root / ".CURRENT.tmp"
        tmp.write_text(name)
        os.replace(tmp, self._pointer)
        for stale in sorted(p for p in self.root.glob("index-*") if p.is_dir())[:-KEEP_INDEXES]:
            shutil.rmtree(stale, ignore_errors=True)

    @staticmethod
    def _document(doc: VariableDoc, this_year: int) -> tantivy.Document:
        fields: dict[str, list] = {
            "id": [doc.id], "name": [doc.name],
            "label_nb": [doc.label.get("nb", "")], "label_en": [doc.label.get("en", "")],
            "description_nb": [doc.description.get("nb", "")],
            "description_en": [doc.description.get("en", "")],
            "source": [doc.source], "publisher": [doc.publisher], "dataset": [doc.dataset],
            "theme": doc.themes, "value_type": [doc.value_type],
            "years": doc.years(this_year),
            "doc": [doc.model_dump_json().encode()],
        }
        return tantivy.Document(**{k: v for k, v in fields.items() if v})

    # -- reading -------------------------------------------------------------
    def _current(self) -> tantivy.Index | None:
        try:
            name = self._pointer.read_text().strip()
        except FileNotFoundError:
            return None
        if name != self._loaded:
            self._index, self._loaded = _open(self.root / name), name
            self._labels = json.loads((self.root / name / LABELS).read_text())
        return self._index

    def search(self, query: Query) -> Page:
        index = self._current()
        if index is None:
            return Page(items=[], total=0, facets={f: [] for f in FACETS})
        searcher = index.searcher()
        main = self._compile(index, query)
        ordered = {} if query.text.strip() else {"order_by_field": "id", "order": Order.Asc}
        result = searcher.search(main, limit=query.size, offset=query.offset, count=True, **ordered)
        items = [VariableDoc.model_validate_json(searcher.doc(address)["doc"][0])
                 for _, address in result.hits]
        facets = {}
        for facet in FACETS:
            # Counts for a facet ignore that facet's own filter, so other values stay choosable.
            others = {k: v for k, v in query.filters.items() if k != facet}
            aggregated = searcher.aggregate(
                self._compile(index, query.model_copy(update={"filters": others})),
                {facet: {"terms": {"field": facet, "size": 200}}})
            names = self._labels.get(facet, {})
            facets[facet] = [FacetValue(value=b["key"], count=b["doc_count"],
                                        label=names.get(b["key"], {}))
                             for b in aggregated[facet]["buckets"] if b["key"]]
        return Page(items=items, total=result.count, facets=facets)

    def matching(self, query: Query) -> list[VariableDoc]:
        """Every document the query matches, in id order, ignoring paging and facets."""
        index = self._current()
        if index is None:
            return []
        searcher = index.searcher()
        result = searcher.search(self._compile(index, query), limit=max(1, searcher.num_docs),
                                 order_by_field="id", order=Order.Asc)
        return [VariableDoc.model_validate_json(searcher.doc(address)["doc"][0])
                for _, address in result.hits]

    def get(self, doc_id: str) -> VariableDoc | None:
        index = self._current()
        if index is None:
            return None
        searcher = index.searcher()
        hits = searcher.search(TQ.term_query(self.schema, "id", doc_id), limit=1).hits
        return VariableDoc.model_validate_json(searcher.doc(hits[0][1])["doc"][0]) if hits else None

    def _compile(self, index: tantivy.Index, query: Query) -> TQ:
        clauses: list[tuple[Occur, TQ]] = []
        text = query.text.strip()
        if text:
            parsed, _errors = index.parse_query_lenient(
                text, list(TEXT_FIELDS), field_boosts=TEXT_FIELDS)
            clauses.append((Occur.Must, parsed))
        for facet, values in query.filters.items():
            if facet not in FACETS or not values:
                continue
            clauses.append((Occur.Must, TQ.boolean_query(
                [(Occur.Should, TQ.term_query(self.schema, facet, v)) for v in values])))
        if query.period == "cover":
            # Every year of the span must be among the document's years: one required term each.
            clauses += [(Occur.Must, TQ.term_query(self.schema, "years", year))
                        for year in query.cover_years]
        elif query.year_from or query.year_to:
            clauses.append((Occur.Must, TQ.range_query(
                self.schema, "years", tantivy.FieldType.Integer,
                lower_bound=query.year_from, upper_bound=query.year_to)))
        return TQ.boolean_query(clauses) if clauses else TQ.all_query()
