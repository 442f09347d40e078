"""What OpenSearch and Elasticsearch are sent, compiled once for both: the index's settings
(analysis) and mappings, its documents, and the searches (query, aggregations for facets,
sorting, suggestions). Plain dicts in the REST API's own names, which either client sends.

The index mirrors the embedded one (search.embedded): the same fields with the same
weights, analysed the same way (Norwegian stemmed with æ, ø and å kept and folded, English
stemmed, compounds split with a dictionary built from the documents and kept in the
index's settings). Function words are dropped and synonyms added to the query here, in
Python, exactly as the embedded backend does. The display names of facet values travel
with the index, in its mapping's `_meta`, so they switch with it.
"""
from __future__ import annotations

import json
from collections.abc import Iterable

from catalogue.search import analysis
from catalogue.search.backend import FACETS, FILTERS
from catalogue.search.documents import VariableDoc
from catalogue.search.fields import (AGREE_FIELDS, ENDINGS_WEIGHT, FACET_SIZE, FIELDS, LAST_PART_WEIGHT, NO_YEAR,
                                     PAIR_FIELDS, PAIR_SLOP, RELATED_WEIGHT, RESCORE_WINDOW, SYNONYM_WEIGHT,
                                     TYPO_FIELDS, TYPO_ONE, TYPO_TWO, NAMED, VIA_AGREE, VIA_WEIGHT, Summary,
                                     alternative_fields, indexed, list_name)
from catalogue.search.query import MAX_PAGE_SIZE, Query, Via

# The deepest page a Query may ask for (page <= 10 000): from + size must stay within the
# result window, and the server collects at most as many hits as the index holds.
RESULT_WINDOW = 10_000 * MAX_PAGE_SIZE
# A word gives a few tokens (itself and its compound parts): the `_analyze` requests that
# mark a page's matches send many words at once.
ANALYZE_MAX_TOKENS = 100_000
LONGEST_PREFIX = 30  # suggestions match typed words up to this long (and whole words of any length)
# 0 edits below TYPO_ONE letters, 1 from TYPO_ONE, 2 from TYPO_TWO: the embedded rule.
FUZZINESS = f"AUTO:{TYPO_ONE},{TYPO_TWO}"
# Typo queries analyse the typed words without splitting compounds: the server turns the
# parts stacked on a word into one exact synonym query and would drop the fuzziness. (The
# other analyzers of TYPO_FIELDS do not split words.)
WHOLE_WORDS = {"nb_fold": "nb_fold_whole"}
SORT_FIELDS = {"name": "name_sort", "first_year": "first_year", "-first_year": "first_year", "source": "source"}


def index_settings(parts: list[str]) -> dict:
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


def meta(summary: Summary) -> dict:
    """The summary as the index keeps it: whole, for pages, and by register, for patches."""
    labels, coverage, groups = summary.whole()
    # (facet, value, display name or periods) triples: the values are URIs, not keys to nest under
    return {"labels": [(f, v, label) for f, values in labels.items() for v, label in values.items()],
            "coverage": [(f, v, periods) for f, values in coverage.items() for v, periods in values.items()],
            "groups": [(f, v, group) for f, values in groups.items() for v, group in values.items()],
            "registers": json.dumps(summary.registers, ensure_ascii=False)}  # read back whole, never searched


def mappings(summary: Summary) -> dict:
    return {
        "dynamic": "strict",
        "_meta": meta(summary),
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


def document(doc: VariableDoc, this_year: int) -> dict:
    return {**indexed(doc, this_year), "doc": doc.model_dump(mode="json")}


# -- compiling a query ----------------------------------------------------------

def _bool(must: Iterable[dict] = (), filter: Iterable[dict] = ()) -> dict:
    clauses = {"must": list(must), "filter": list(filter)}
    clauses = {k: v for k, v in clauses.items() if v}
    return {"bool": clauses} if clauses else {"match_all": {}}


def _text_query(typed: str, via: tuple[Via, ...] = ()) -> dict:
    """Any of: the words in each field, their synonyms, near spellings of long words, and
    the code lists of concepts they match (`via`). Function words count only in synonyms'
    phrases, or as a phrase when they are all there is. Words found together (pairs) are no
    part of it: they only reorder the top hits (_rescore)."""
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
    for others, weight in ((analysis.synonyms(typed), SYNONYM_WEIGHT), (analysis.related(typed), RELATED_WEIGHT)):
        for other in others:  # "blodpropp i hjertet" as a phrase, not as "i"
            should += _fields(other, weight, phrase=True, fields=alternative_fields(text, other))
    should += [{"match": {field: {"query": text, "fuzziness": FUZZINESS, "prefix_length": 0, "boost": weight,
                                  "analyzer": WHOLE_WORDS.get(FIELDS[field][0], FIELDS[field][0])}}}
               for field, weight in TYPO_FIELDS.items() if text]
    # explicit, so that the clause needs a match in filter context too (`matching`)
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _rescore(typed: str) -> dict | None:
    """The first RESCORE_WINDOW hits reordered by their score plus that of the words typed
    together they have (None without such words)."""
    pairs = [{"match_phrase": {field: {"query": pair, "slop": PAIR_SLOP, "boost": weight}}}
             for pair in analysis.pairs(typed) for field, weight in PAIR_FIELDS.items()]
    if not pairs:
        return None
    return {"window_size": RESCORE_WINDOW,
            "query": {"rescore_query": {"bool": {"should": pairs}}, "query_weight": 1.0,
                      "rescore_query_weight": 1.0, "score_mode": "total"}}


def _via(via: Via, typed: str) -> list[dict]:
    """The variables of the concept's code list, and less those whose label only names the
    list (fields.list_name); more those whose own words or register share a word with the
    query or have one of its synonyms (fields.VIA_AGREE)."""
    weight = VIA_WEIGHT * via.score
    ways = [({"term": {"code_list": via.code_list}}, weight * (1 - VIA_AGREE))]
    if name := list_name(via.code_list_title):
        ways.append(({"match_phrase": {"label_nb_fold": name}}, weight * (1 - VIA_AGREE) * NAMED))
    said = analysis.synonyms(typed)
    agree = {"bool": {"should": [{"match": {field: analysis.content(typed)}} for field in AGREE_FIELDS]
                      + [{"match_phrase": {field: other}} for field in AGREE_FIELDS for other in said],
                      "minimum_should_match": 1}}
    listed = {"bool": {"should": [way for way, _ in ways], "minimum_should_match": 1}}
    return [*({"constant_score": {"filter": way, "boost": share}} for way, share in ways),
            {"constant_score": {"filter": {"bool": {"must": [listed, agree]}}, "boost": weight * VIA_AGREE}}]


def _fields(text: str, factor: float, phrase: bool = False,
            fields: dict[str, tuple[str, float]] = FIELDS) -> list[dict]:
    """The words of `text` in each of `fields` (any of them, or with `phrase` all in order). A
    phrase of one word, or of one word and the compound parts stacked on it, is matched as
    that word: `match_phrase` needs no test of the token count as tantivy's phrase does."""
    kind = "match_phrase" if phrase else "match"
    return [{kind: {field: {"query": text, "boost": weight * factor}}} for field, (_, weight) in fields.items()]


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


def search_body(query: Query) -> dict:
    """The search for a page: the text and period select what is counted; facet filters
    apply to the hits afterwards (post_filter), and each facet is counted under every
    filter but its own, so that several of its values can be chosen."""
    facets = _facet_filters(query)
    body = {
        "query": _bool(must=[_text_query(query.text, query.via)] if query.text.strip() else [],
                       filter=_period_filters(query)),
        "aggregations": {facet: {"filter": _bool(filter=[c for f, c in facets.items() if f != facet]),
                                 "aggregations": {"values": {"terms": {"field": facet, "size": FACET_SIZE}}}}
                         for facet in FACETS},
        "sort": _sort(query),
        "from": query.offset, "size": query.size,
        "track_total_hits": True,
        "_source": {"includes": ["doc"], "excludes": ["doc.codes"]},  # a hit shows no codes (backend.Hit)
    }
    if facets:
        body["post_filter"] = _bool(filter=facets.values())
    rescore = _rescore(query.text) if query.text.strip() and query.sort == "relevance" else None
    if rescore:
        # a rescore takes no sort: ties are in the index's order, the same for every page
        # of a search as long as one copy of the index answers it (see ElasticBackend.search)
        del body["sort"]
        body["rescore"] = rescore
    return body


def matching_body(query: Query, size: int, after: list | None) -> dict:
    """A page of `size` documents the query matches, in id order, after the sort key `after`."""
    text = [_text_query(query.text, query.via)] if query.text.strip() else []
    body = {"query": _bool(filter=[*text, *_period_filters(query), *_facet_filters(query).values()]),
            "sort": [{"id": "asc"}], "size": size, "track_total_hits": False, "_source": ["doc"]}
    return {**body, "search_after": after} if after else body


def suggest_body(typed: list[str], size: int) -> dict:
    """Variables with words starting as the typed (folded) words, in order: `suggest` holds
    every prefix of every word."""
    return {"query": {"match_phrase": {"suggest": " ".join(typed)}},
            "sort": [{"_score": "desc"}, {"id": "asc"}], "size": size,
            "_source": ["doc.id", "doc.name", "doc.label"]}


def index_body(parts: list[str], summary: Summary) -> dict:
    """A new index: its analysis (with its documents' compound parts) and mappings (with their summary)."""
    return {"settings": index_settings(parts), "mappings": mappings(summary)}
