"""The Elasticsearch search backend: the same searches as the embedded backend, on a server.

Each rebuild writes a new index, `<alias>-<UTC timestamp>`, and then moves the alias to it
in one `update_aliases` call, so searches see the old index until the new one is whole.
The index before it is kept until the next rebuild (a search may still be reading it).

The index mirrors the embedded one (search.embedded): the same fields with the same
weights, analysed the same way (Norwegian stemmed with æ, ø and å kept and folded, English
stemmed, compounds split with a dictionary built from the documents and kept in the
index's settings). Synonyms are added to the query here, in Python, exactly as the
embedded backend does. The display names of facet values travel with the index, in its
mapping's `_meta`, so they switch with it.

Matched words are marked in Python with analysis.mark, as the embedded backend does, with
the index's own analyzers run through the `_analyze` API (a few requests per page).
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

from elasticsearch import Elasticsearch, NotFoundError, helpers

from catalogue.model.models import Period
from catalogue.search import analysis
from catalogue.search.backend import FACETS, FILTERS, FacetValue, Hit, Page, Suggestion, hit
from catalogue.search.documents import VariableDoc
from catalogue.search.fields import (AGREE_FIELDS, DESCRIPTION_WINDOW, ENDINGS_WEIGHT, FACET_SIZE, FIELDS,
                                     LAST_PART_WEIGHT, NO_YEAR, SYNONYM_WEIGHT, TYPO_FIELDS, TYPO_ONE, TYPO_TWO,
                                     NAMED, VIA_AGREE, VIA_WEIGHT, COVERED, Coverage, Groups, Labels, indexed, list_name,
                                     named, summarize)
from catalogue.search.query import MAX_PAGE_SIZE, Query, Via

REQUEST_TIMEOUT = 30  # seconds; a bulk request of BULK_CHUNK documents is the slowest call
BULK_CHUNK = 500
PAGE = 1000  # documents per request when `matching` walks every match
# The deepest page a Query may ask for (page <= 10 000): from + size must stay within the
# result window, and Elasticsearch collects at most as many hits as the index holds.
RESULT_WINDOW = 10_000 * MAX_PAGE_SIZE
# Words analysed per `_analyze` request when marking a page's matches; a word gives a few
# tokens (itself and its compound parts), well within the raised token limit below.
ANALYZE_BATCH = 1000
ANALYZE_MAX_TOKENS = 100_000
LONGEST_PREFIX = 30  # suggestions match typed words up to this long (and whole words of any length)
# 0 edits below TYPO_ONE letters, 1 from TYPO_ONE, 2 from TYPO_TWO: the embedded rule.
FUZZINESS = f"AUTO:{TYPO_ONE},{TYPO_TWO}"
# Typo queries analyse the typed words without splitting compounds: Elasticsearch turns the
# parts stacked on a word into one exact synonym query and would drop the fuzziness. (The
# other analyzers of TYPO_FIELDS do not split words.)
WHOLE_WORDS = {"nb_fold": "nb_fold_whole"}
HIGHLIGHT_ANALYZERS = ("nb", "nb_fold", "en")
SORT_FIELDS = {"name": "name_sort", "first_year": "first_year", "-first_year": "first_year", "source": "source"}


def _settings(parts: list[str]) -> dict:
    folded = sorted({analysis.fold(p) for p in parts})
    filters: dict[str, dict] = {
        "stem_nb": {"type": "stemmer", "language": "norwegian"},  # Snowball, as tantivy's
        "stem_en": {"type": "stemmer", "language": "porter2"},  # Snowball English, as tantivy's
        "prefixes": {"type": "edge_ngram", "min_gram": 1, "max_gram": LONGEST_PREFIX,
                     "preserve_original": True},
    }
    # A decompounder must be given words; with none (no documents, no vocabularies) words stay whole.
    for name, words in (("parts_nb", parts), ("parts_nb_fold", folded)):
        if words:
            filters[name] = {"type": "dictionary_decompounder", "word_list": words,
                             "min_subword_size": analysis.MIN_PART,
                             "max_subword_size": max(len(w) for w in words), "only_longest_match": True}
    split_nb = ["parts_nb"] if parts else []
    split_fold = ["parts_nb_fold"] if folded else []

    def custom(*chain: str, tokenizer: str = "alnum") -> dict:
        return {"type": "custom", "tokenizer": tokenizer, "filter": list(chain)}
    return {
        "index": {"number_of_shards": 1,  # one shard: the same term statistics for every document
                  "auto_expand_replicas": "0-1", "max_result_window": RESULT_WINDOW,
                  "analyze": {"max_token_count": ANALYZE_MAX_TOKENS}},
        "analysis": {
            # Words are runs of letters and digits, as tantivy's simple tokenizer cuts them
            # ("KMI_FOER" is two words, which the standard tokenizer would keep as one).
            "tokenizer": {"alnum": {"type": "pattern", "pattern": r"[^\p{L}\p{M}\p{N}]+"}},
            "filter": filters,
            "normalizer": {"sort_key": {"type": "custom", "filter": ["lowercase"]}},
            "analyzer": {
                "exact": custom("lowercase", tokenizer="keyword"),
                "words": custom("lowercase", "asciifolding"),
                "nb": custom("lowercase", *split_nb, "stem_nb"),
                "nb_fold": custom("lowercase", "asciifolding", *split_fold, "stem_nb"),
                "nb_fold_whole": custom("lowercase", "asciifolding", "stem_nb"),
                "en": custom("lowercase", "stem_en", "asciifolding"),
                "prefixes": custom("lowercase", "asciifolding", "prefixes"),
            },
        },
    }


def _meta(labels: Labels, coverage: Coverage, groups: Groups) -> dict:
    # (facet, value, display name or periods) triples: the values are URIs, not keys to nest under
    return {"labels": [(f, v, label) for f, values in labels.items() for v, label in values.items()],
            "coverage": [(f, v, periods) for f, values in coverage.items() for v, periods in values.items()],
            "groups": [(f, v, group) for f, values in groups.items() for v, group in values.items()]}


def _mappings(labels: Labels, coverage: Coverage, groups: Groups) -> dict:
    return {
        "dynamic": "strict",
        "_meta": _meta(labels, coverage, groups),
        "properties": {
            "id": {"type": "keyword"},
            **{field: {"type": "text", "analyzer": analyzer} for field, (analyzer, _) in FIELDS.items()},
            "label_endings": {"type": "keyword"},
            "missing_decades": {"type": "keyword"},
            "suggest": {"type": "text", "analyzer": "prefixes", "search_analyzer": "words"},
            "name_sort": {"type": "keyword", "normalizer": "sort_key"},
            **{facet: {"type": "keyword"} for facet in FILTERS},
            **{field: {"type": "integer"} for field in ("first_year", "last_year", "gap_years", "missing_years")},
            "doc": {"type": "object", "enabled": False},  # the VariableDoc, kept in _source only
        },
    }


def _document(doc: VariableDoc, this_year: int) -> dict:
    return {**indexed(doc, this_year), "doc": doc.model_dump(mode="json")}


# -- compiling a query ----------------------------------------------------------

def _bool(must: Iterable[dict] = (), filter: Iterable[dict] = ()) -> dict:
    clauses = {"must": list(must), "filter": list(filter)}
    clauses = {k: v for k, v in clauses.items() if v}
    return {"bool": clauses} if clauses else {"match_all": {}}


def _text_query(typed: str, via: tuple[Via, ...] = ()) -> dict:
    """Any of: the words in each field, their synonyms, near spellings of long words, and
    the code lists of concepts they match (`via`). Function words count only in synonyms'
    phrases, or as a phrase when they are all there is."""
    through = [clause for v in via for clause in _via(v, typed)]
    if analysis.is_function_words(typed):
        return {"bool": {"should": _fields(typed, 1.0, phrase=True) + through, "minimum_should_match": 1}}
    text, phrases = analysis.hyphenated(analysis.content(typed))
    should = through + [clause for phrase in phrases for clause in _fields(phrase, 1.0, phrase=True)]
    should += _fields(text, 1.0) if text else []
    endings = [w for w in analysis.words(analysis.fold(text)) if len(w) >= analysis.MIN_ENDING]
    if endings:
        should.append({"terms": {"label_endings": endings, "boost": ENDINGS_WEIGHT}})
    last = analysis.last_parts(text)
    if last:
        should.append({"constant_score": {"filter": {"terms": {"label_words": last}}, "boost": LAST_PART_WEIGHT}})
    for other in analysis.synonyms(typed):  # "blodpropp i hjertet" as a phrase, not as "i"
        should += _fields(other, SYNONYM_WEIGHT, phrase=True)
    should += [{"match": {field: {"query": text, "fuzziness": FUZZINESS, "prefix_length": 0, "boost": weight,
                                  "analyzer": WHOLE_WORDS.get(FIELDS[field][0], FIELDS[field][0])}}}
               for field, weight in TYPO_FIELDS.items() if text]
    # explicit, so that the clause needs a match in filter context too (`matching`)
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _via(via: Via, typed: str) -> list[dict]:
    """The variables of the concept's code list, and less those whose label only names the
    list (fields.list_name); more those whose own words or register share a word with the
    query (fields.VIA_AGREE)."""
    weight = VIA_WEIGHT * via.score
    ways = [({"term": {"code_list": via.code_list}}, weight * (1 - VIA_AGREE))]
    if name := list_name(via.code_list_title):
        ways.append(({"match_phrase": {"label_nb_fold": name}}, weight * (1 - VIA_AGREE) * NAMED))
    agree = {"bool": {"should": [{"match": {field: analysis.content(typed)}} for field in AGREE_FIELDS],
                      "minimum_should_match": 1}}
    listed = {"bool": {"should": [way for way, _ in ways], "minimum_should_match": 1}}
    return [*({"constant_score": {"filter": way, "boost": share}} for way, share in ways),
            {"constant_score": {"filter": {"bool": {"must": [listed, agree]}}, "boost": weight * VIA_AGREE}}]


def _fields(text: str, factor: float, phrase: bool = False) -> list[dict]:
    """The words of `text` in each field (any of them, or with `phrase` all in order). A
    phrase of one word, or of one word and the compound parts stacked on it, is matched as
    that word: `match_phrase` needs no test of the token count as tantivy's phrase does."""
    kind = "match_phrase" if phrase else "match"
    return [{kind: {field: {"query": text, "boost": weight * factor}}} for field, (_, weight) in FIELDS.items()]


def _period_filters(query: Query) -> list[dict]:
    """The year filter on first and last years (one number each, cheap to compare); only
    variables with gaps are looked at year by year."""
    if query.period == "cover":
        span = query.cover_years
        return [_years("first_year", None, span[0]), _years("last_year", span[-1], None),
                {"bool": {"must_not": [_years("missing_years", span[0], span[-1])]}}]
    if query.year_from is None and query.year_to is None:
        return []
    # Overlapping first..last is enough without gaps; with gaps, a year in range must have data.
    no_gap = {"bool": {"must_not": [{"exists": {"field": "gap_years"}}]}}
    return [_years("first_year", None, query.year_to), _years("last_year", query.year_from, None),
            {"bool": {"should": [no_gap, _years("gap_years", query.year_from, query.year_to)],
                      "minimum_should_match": 1}}]


def _years(field: str, lowest: int | None, highest: int | None) -> dict:
    return {"range": {field: {"gte": 0 if lowest is None else lowest,
                              "lte": NO_YEAR if highest is None else highest}}}


def _facet_filters(query: Query) -> dict[str, dict]:
    return {facet: {"terms": {facet: list(values)}}
            for facet, values in query.filters.items() if facet in FILTERS and values}


def _sort(query: Query) -> list[dict]:
    sort = query.sort if query.text.strip() or query.sort != "relevance" else "id"
    if sort == "id":
        return [{"id": "asc"}]
    first = ({"_score": "desc"} if sort == "relevance"
             else {SORT_FIELDS[sort]: "desc" if sort.startswith("-") else "asc"})
    return [first, {"id": "asc"}]  # ties in one order, so that pages neither overlap nor skip


def _search_body(query: Query) -> dict:
    """Keyword arguments of the search for a page: the text and period select what is
    counted; facet filters apply to the hits afterwards (post_filter), and each facet is
    counted under every filter but its own, so that several of its values can be chosen."""
    facets = _facet_filters(query)
    body = {
        "query": _bool(must=[_text_query(query.text, query.via)] if query.text.strip() else [],
                       filter=_period_filters(query)),
        "aggregations": {facet: {"filter": _bool(filter=[c for f, c in facets.items() if f != facet]),
                                 "aggregations": {"values": {"terms": {"field": facet, "size": FACET_SIZE}}}}
                         for facet in FACETS},
        "sort": _sort(query),
        "from_": query.offset, "size": query.size,
        "track_total_hits": True,
        "source": ["doc"],
    }
    if facets:
        body["post_filter"] = _bool(filter=facets.values())
    return body


def _matching_query(query: Query) -> dict:
    text = [_text_query(query.text, query.via)] if query.text.strip() else []
    return _bool(filter=[*text, *_period_filters(query), *_facet_filters(query).values()])


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # Elasticsearch counts offsets as Java does


class ElasticBackend:
    capabilities = frozenset({"compounds", "typos", "synonyms", "highlight", "suggest"})

    def __init__(self, url: str, alias: str):
        self.client = Elasticsearch(url, request_timeout=REQUEST_TIMEOUT)
        self.alias = alias
        self._own = re.compile(re.escape(alias) + r"-\d{20}")  # the indexes rebuilds name
        self._summary_of: tuple[str, Labels, Coverage, Groups] | None = None  # an index and its summary

    # -- writing -------------------------------------------------------------
    def rebuild(self, docs: Iterable[VariableDoc]) -> None:
        docs = list(docs)
        name = f"{self.alias}-{datetime.now(timezone.utc):%Y%m%d%H%M%S%f}"
        self.client.indices.create(index=name, settings=_settings(analysis.compound_parts(docs)),
                                   mappings=_mappings(*summarize(docs)))
        this_year = datetime.now(timezone.utc).year
        try:
            helpers.bulk(self.client, ({"_index": name, "_id": doc.id, "_source": _document(doc, this_year)}
                                       for doc in docs),
                         chunk_size=BULK_CHUNK, max_retries=3)  # retries what a busy cluster rejects (429)
            self.client.indices.refresh(index=name)
        except BaseException:
            self.client.options(ignore_status=404).indices.delete(index=name)  # no half-built index left
            raise
        replaced = self._aliased()
        self.client.indices.update_aliases(actions=[
            *({"remove": {"index": old, "alias": self.alias}} for old in replaced),
            {"add": {"index": name, "alias": self.alias}},
        ])
        # Older only (timestamps sort as names): a newer one may be another rebuild's, still writing.
        stale = [index for index in self._own_indexes() if index < name and index not in replaced]
        if stale:
            self.client.indices.delete(index=stale)

    def upsert(self, docs: Iterable[VariableDoc]) -> None:
        index = self._current()
        this_year = datetime.now(timezone.utc).year
        helpers.bulk(self.client, ({"_index": index, "_id": doc.id, "_source": _document(doc, this_year)}
                                   for doc in docs), chunk_size=BULK_CHUNK, max_retries=3)
        self._summarize_again(index)

    def delete(self, ids: Iterable[str]) -> None:
        index = self._current()
        helpers.bulk(self.client, ({"_op_type": "delete", "_index": index, "_id": doc_id} for doc_id in ids),
                     chunk_size=BULK_CHUNK, max_retries=3, ignore_status=(404,))
        self._summarize_again(index)

    def _summarize_again(self, index: str) -> None:
        """The index's summary (labels, coverage, groups) from the documents it now holds."""
        self.client.indices.refresh(index=index)
        self.client.indices.put_mapping(index=index, meta=_meta(*summarize(self.matching(Query()))))
        self._summary_of = None

    def drop(self) -> None:
        """Delete every index of this alias (and with them the alias)."""
        own = self._own_indexes()
        if own:
            self.client.indices.delete(index=own)

    def _aliased(self) -> list[str]:
        try:
            return list(self.client.indices.get_alias(name=self.alias).body)
        except NotFoundError:
            return []

    def _own_indexes(self) -> list[str]:
        found = self.client.indices.resolve_index(name=f"{self.alias}-*", expand_wildcards=["open", "closed"])
        return [index["name"] for index in found["indices"] if self._own.fullmatch(index["name"])]

    # -- reading -------------------------------------------------------------
    def has_index(self) -> bool:
        return bool(self.client.indices.exists_alias(name=self.alias))

    def _current(self) -> str | None:
        """The index behind the alias (None before the first rebuild). A call reads that one
        index throughout, even if a rebuild moves the alias meanwhile."""
        aliased = self._aliased()
        return aliased[0] if aliased else None

    def _summary(self, index: str) -> tuple[Labels, Coverage, Groups]:
        """The index's facet labels, coverage and groups, from its _meta (read once per index)."""
        cached = self._summary_of
        if cached and cached[0] == index:
            return cached[1], cached[2], cached[3]
        meta = self.client.indices.get_mapping(index=index)[index]["mappings"].get("_meta", {})
        labels: Labels = {facet: {} for facet in FILTERS}
        coverage: Coverage = {facet: {} for facet in COVERED}
        groups: Groups = {}
        for into, key in ((labels, "labels"), (coverage, "coverage"), (groups, "groups")):
            for facet, value, found in meta.get(key, []):
                into.setdefault(facet, {})[value] = found
        self._summary_of = (index, labels, coverage, groups)
        return labels, coverage, groups

    def _labels(self, index: str) -> Labels:
        return self._summary(index)[0]

    def coverage(self, facet: str, value: str) -> list[Period]:
        index = self._current()
        if index is None:
            return []
        return [Period.model_validate(p) for p in self._summary(index)[1].get(facet, {}).get(value, [])]

    def search(self, query: Query) -> Page:
        index = self._current()
        if index is None:
            return Page(items=[], total=0, facets={f: [] for f in FACETS})
        found = self.client.search(index=index, **_search_body(query))
        docs = [VariableDoc.model_validate(hit["_source"]["doc"]) for hit in found["hits"]["hits"]]
        labels, _, groups = self._summary(index)
        facets = {facet: [FacetValue(value=b["key"], count=b["doc_count"], label=labels[facet].get(b["key"], {}),
                                     group=groups.get(facet, {}).get(b["key"]))
                          for b in found["aggregations"][facet]["values"]["buckets"] if b["key"]]
                  for facet in FACETS}
        return Page(items=self._highlight(index, docs, query), total=found["hits"]["total"]["value"],
                    facets=facets)

    def matching(self, query: Query) -> list[VariableDoc]:
        """Every document the query matches, in id order, ignoring paging and facets' counts."""
        index = self._current()
        if index is None:
            return []
        docs: list[VariableDoc] = []
        after: list | None = None
        while True:
            found = self.client.search(index=index, query=_matching_query(query), sort=[{"id": "asc"}],
                                       size=PAGE, search_after=after, track_total_hits=False,
                                       source=["doc"])["hits"]["hits"]
            docs += [VariableDoc.model_validate(hit["_source"]["doc"]) for hit in found]
            if len(found) < PAGE:
                return docs
            after = found[-1]["sort"]

    def get(self, doc_id: str) -> VariableDoc | None:
        try:
            found = self.client.get(index=self.alias, id=doc_id, source_includes=["doc"])
        except NotFoundError:  # no such document, or no index yet
            return None
        return VariableDoc.model_validate(found["_source"]["doc"])

    def named(self, text: str, limit: int) -> list[Suggestion]:
        index = self._current()
        return named(self._labels(index), text, limit) if index is not None else []

    def suggest(self, text: str, limit: int = 10) -> list[Suggestion]:
        """Names of variables, datasets and sources with words starting as typed."""
        index = self._current()
        typed = analysis.words(analysis.fold(text))
        if index is None or not typed:
            return []
        names = named(self._labels(index), text, limit // 3)  # as self.named, on this call's index
        # `suggest` holds every prefix of every word: the typed words, in order, as a phrase
        hits = self.client.search(index=index, query={"match_phrase": {"suggest": " ".join(typed)}},
                                  sort=[{"_score": "desc"}, {"id": "asc"}], size=limit * 3,
                                  source=["doc.id", "doc.name", "doc.label"])["hits"]["hits"]
        variables: dict[str, Suggestion] = {}  # one per name: five registries' "Fødselsår" are one
        for found in hits:
            doc = found["_source"]["doc"]
            name = doc["label"].get("nb") or next(iter(doc["label"].values()), doc["name"])
            variables.setdefault(name.lower(), Suggestion(kind="variable", id=doc["id"], text=name))
        return [*list(variables.values())[:limit - len(names)], *names]

    # -- marking matched words ----------------------------------------------
    def _highlight(self, index: str, docs: list[VariableDoc], query: Query) -> list[Hit]:
        text = query.text
        if not text.strip():
            return [hit(doc, query) for doc in docs]
        phrases = [text, *analysis.synonyms(text)]
        words = [word for doc in docs for field in (doc.label, doc.description)
                 for value in field.values() for word in analysis.WORD.findall(value)]
        analyzers = [self._analyzer(index, name, [*phrases, *words]) for name in HIGHLIGHT_ANALYZERS]
        wanted = {t for p in phrases for analyze in analyzers for t in analyze(p)}
        is_hit = analysis.matcher(wanted, analyzers, analysis.ignored(text))
        return [hit(doc, query,
                    label={lang: analysis.mark(value, is_hit) for lang, value in doc.label.items()},
                    description={lang: analysis.mark(value, is_hit, limit=DESCRIPTION_WINDOW)
                                 for lang, value in doc.description.items()}) for doc in docs]

    def _analyzer(self, index: str, analyzer: str, texts: list[str]) -> Callable[[str], list[str]]:
        """One of the index's analyzers, as a function over `texts`: they are analysed up
        front, many per request, joined by newlines (on which every analyzer cuts) and told
        apart by where their tokens start. Any other text counts as no tokens: the only
        other words `mark` asks about are cut off at the end of a description's window."""
        texts = list(dict.fromkeys(texts))
        tokens: dict[str, list[str]] = {t: [] for t in texts}
        for first in range(0, len(texts), ANALYZE_BATCH):
            batch = texts[first:first + ANALYZE_BATCH]
            starts, at = [], 0
            for t in batch:
                starts.append(at)
                at += _utf16_len(t) + 1  # and the newline
            found = self.client.indices.analyze(index=index, analyzer=analyzer, text="\n".join(batch))
            for token in found["tokens"]:
                # compound parts and stems keep the offsets of the word they came from
                tokens[batch[bisect_right(starts, token["start_offset"]) - 1]].append(token["token"])
        return lambda text: tokens.get(text, [])
