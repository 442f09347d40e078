"""The OpenSearch and Elasticsearch search backend: the same searches as the embedded
backend, on a server or a cluster of them. What is sent is compiled once, in search.dsl;
here it goes through the server's own client: `opensearch-py` for OpenSearch, the official
`elasticsearch` client for Elasticsearch (which refuses OpenSearch servers). Each is an
optional extra: `pip install .[opensearch]` or `.[elasticsearch]`.

Each rebuild writes a new index, `<alias>-<UTC timestamp>`, and then moves the alias to it
in one `update_aliases` call, so searches see the old index until the new one is whole; each
patch does the same with a clone of the current index. The index before it is kept until the
next move (a search may still be reading it).

Matched words are marked in Python with analysis.mark, as the embedded backend does, with
the index's own analyzers run through the `_analyze` API (a few requests per page).
"""
from __future__ import annotations

import importlib
import json
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from types import ModuleType

from catalogue.model.models import Period
from catalogue.search import analysis, dsl
from catalogue.search.backend import FACETS, FILTERS, FacetValue, Hit, Page, Suggestion, hit
from catalogue.search.documents import VariableDoc
from catalogue.search.fields import COVERED, DESCRIPTION_WINDOW, Coverage, Groups, Labels, Summary, named
from catalogue.search.prepared import Prepared
from catalogue.search.query import Query
from catalogue.storage.durable import boundary

REQUEST_TIMEOUT = 30  # seconds a search or lookup may take
# Seconds a write may take: a bulk request of BULK_CHUNK documents, or the refresh that ends a
# rebuild, take longer on a busy cluster (a refresh after 100,000 documents took over 30 s).
WRITE_TIMEOUT = 300
BULK_CHUNK = 500
PAGE = 1000  # documents per request when `matching` walks every match
# Words analysed per `_analyze` request when marking a page's matches (dsl.ANALYZE_MAX_TOKENS
# allows a few tokens each).
ANALYZE_BATCH = 1000
HIGHLIGHT_ANALYZERS = ("nb", "nb_fold", "en")
# The client of each server (CATALOGUE_SEARCH): its module, class, the name of its timeout
# option, and the extra that installs it.
CLIENTS = {"opensearch": ("opensearchpy", "OpenSearch", "timeout", "opensearch"),
           "elasticsearch": ("elasticsearch", "Elasticsearch", "request_timeout", "elasticsearch")}


def _client_module(product: str) -> ModuleType:
    module_name, _, _, extra = CLIENTS[product]
    try:
        return importlib.import_module(module_name)
    except ImportError as e:
        raise RuntimeError(f"CATALOGUE_SEARCH={product} needs the {module_name} client: "
                           f"pip install '.[{extra}]'") from e


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # the server counts offsets as Java does


class ElasticBackend:
    capabilities = frozenset({"compounds", "typos", "synonyms", "highlight", "suggest"})

    def __init__(self, url: str, alias: str, product: str = "elasticsearch"):
        """`url`: one node's, or several nodes' separated by commas."""
        module = _client_module(product)
        _, client, timeout, _ = CLIENTS[product]
        nodes = [u.strip() for u in url.split(",") if u.strip()]
        # given several nodes, a request a node cannot answer is tried on the next
        self.client = getattr(module, client)(nodes, **{timeout: REQUEST_TIMEOUT})
        self._writer = getattr(module, client)(nodes, **{timeout: WRITE_TIMEOUT})
        self._missing = module.NotFoundError  # no such index or document
        self._bulk = importlib.import_module(f"{module.__name__}.helpers").bulk
        self.alias = alias
        self._own = re.compile(re.escape(alias) + r"-\d{20}")  # the indexes rebuilds name
        self._summary_of: tuple[str, Labels, Coverage, Groups] | None = None  # an index and its summary

    # -- writing -------------------------------------------------------------
    def rebuild(self, docs: Iterable[VariableDoc]) -> None:
        """A new index of `docs`, read once (see search.prepared), aliased when whole."""
        name = self._new_name()
        this_year = datetime.now(timezone.utc).year
        with Prepared(docs, lambda doc: (doc.id, dsl.document(doc, this_year))) as prepared:
            self._writer.indices.create(index=name, body=dsl.index_body(prepared.parts, prepared.summary))
            try:
                self._send(name, prepared)
                self._writer.indices.refresh(index=name)
            except BaseException:
                self._delete_indexes([name])  # no half-built index left
                raise
        self._alias(name)

    def _new_name(self) -> str:
        return f"{self.alias}-{datetime.now(timezone.utc):%Y%m%d%H%M%S%f}"

    def _alias(self, name: str) -> None:
        """Move the alias to the index `name` in one step; the index it leaves is kept (a search
        may still be reading it) until the next move, older ones are deleted."""
        replaced = self._aliased()
        self._writer.indices.update_aliases(body={"actions": [
            *({"remove": {"index": old, "alias": self.alias}} for old in replaced),
            {"add": {"index": name, "alias": self.alias}},
        ]})
        # Older only (timestamps sort as names): a newer one may be another rebuild's, still writing.
        stale = [index for index in self._own_indexes() if index < name and index not in replaced]
        self._delete_indexes(stale)

    def patch(self, docs: Iterable[VariableDoc] = (), gone: Iterable[str] = ()) -> None:
        """Write `docs` and delete the documents of the ids `gone` in a copy of the current
        index, summarize again the registers whose part in the summary changed, and move
        the alias to the copy when it is whole, as a rebuild does: searches (and readers in
        other processes, which keep what they read of an index by its name) see the index
        before the patch or after it, never a part of it, and a patch killed midway leaves the
        one before. The copy is a clone: the server shares the index's files, as the embedded
        backend's hard links do. Cloning needs its source blocked for writes, which the index a
        patch replaces then stays; only patches and rebuilds, which write new ones, write to it."""
        current, docs, gone = self._current(), list(docs), list(gone)
        if not docs and not gone:
            return
        registers = Summary.changed(docs, self.documents([*gone, *(d.id for d in docs)], current))  # read before they are replaced
        name = self._new_name()
        self._writer.indices.put_settings(index=current, body={"index.blocks.write": True})
        self._writer.indices.clone(index=current, target=name, body={"settings": {"index.blocks.write": False}},
                                   wait_for_active_shards=1)
        try:
            if gone:
                self._bulk(self._writer, ({"_op_type": "delete", "_index": name, "_id": doc_id} for doc_id in gone),
                           chunk_size=BULK_CHUNK, max_retries=3, ignore_status=(404,))
            self._write(name, docs)
            self._writer.indices.refresh(index=name)
            kept = self.client.indices.get_mapping(index=name)[name]["mappings"].get("_meta", {}).get("registers")
            if kept is not None:
                summary = Summary(json.loads(kept))
                summary.replace(registers, self._matching(name, Query(filters={"dataset": tuple(sorted(registers))}))
                                if registers else ())
            else:  # an index from before summaries were kept by register: summarized whole, once
                summary = Summary.of(self._matching(name, Query()))
            self._writer.indices.put_mapping(index=name, body={"_meta": dsl.meta(summary)})
            boundary("search index patched in a copy, not yet aliased")
        except BaseException:
            self._delete_indexes([name])  # no half-patched index left
            raise
        self._alias(name)

    def _write(self, index: str, docs: Iterable[VariableDoc]) -> None:
        this_year = datetime.now(timezone.utc).year
        self._send(index, ((doc.id, dsl.document(doc, this_year)) for doc in docs))

    def _send(self, index: str, documents: Iterable[tuple[str, dict]]) -> None:
        """Write (id, source) pairs to `index`."""
        self._bulk(self._writer, ({"_index": index, "_id": doc_id, "_source": source} for doc_id, source in documents),
                   chunk_size=BULK_CHUNK, max_retries=3)  # retries what a busy cluster rejects (429)

    def drop(self) -> None:
        """Delete every index of this alias (and with them the alias)."""
        self._delete_indexes(self._own_indexes())

    def _delete_indexes(self, names: list[str]) -> None:
        if names:  # one deleted meanwhile is no reason to keep the others
            self._writer.indices.delete(index=",".join(names), ignore_unavailable=True)

    def _aliased(self) -> list[str]:
        try:
            return list(self.client.indices.get_alias(name=self.alias))
        except self._missing:
            return []

    def _own_indexes(self) -> list[str]:
        found = self.client.indices.resolve_index(name=f"{self.alias}-*", expand_wildcards="open,closed")
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
        # Every page of a search from the same copy of the index: where hits tie, a rescored
        # search orders them as that copy holds them (dsl.search_body).
        found = self.client.search(index=index, body=dsl.search_body(query), preference=f"search {query.text}")
        docs = [Hit.model_validate(hit["_source"]["doc"]) for hit in found["hits"]["hits"]]
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
        return self._matching(index, query) if index is not None else []

    def _matching(self, index: str, query: Query) -> list[VariableDoc]:
        docs: list[VariableDoc] = []
        after: list | None = None
        while True:
            found = self.client.search(index=index, body=dsl.matching_body(query, PAGE, after))["hits"]["hits"]
            docs += [VariableDoc.model_validate(hit["_source"]["doc"]) for hit in found]
            if len(found) < PAGE:
                return docs
            after = found[-1]["sort"]

    def documents(self, ids: list[str], index: str | None = None) -> list[VariableDoc]:
        """The indexed documents of `ids`, those there are (of `index` if given: the one a
        patch copies, not the alias's)."""
        index = index or self._current()
        if index is None or not ids:
            return []
        found = self.client.mget(index=index, body={"ids": ids})["docs"]
        return [VariableDoc.model_validate(d["_source"]["doc"]) for d in found if d.get("found")]

    def get(self, doc_id: str) -> VariableDoc | None:
        try:
            found = self.client.get(index=self.alias, id=doc_id)
        except self._missing:  # no such document, or no index yet
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
        hits = self.client.search(index=index, body=dsl.suggest_body(typed, limit * 3))["hits"]["hits"]
        variables: dict[str, Suggestion] = {}  # one per name: five registries' "Fødselsår" are one
        for found in hits:
            doc = found["_source"]["doc"]
            name = doc["label"].get("nb") or next(iter(doc["label"].values()), doc["name"])
            variables.setdefault(name.lower(), Suggestion(kind="variable", id=doc["id"], text=name))
        return [*list(variables.values())[:limit - len(names)], *names]

    # -- marking matched words ----------------------------------------------
    def _highlight(self, index: str, docs: list[Hit], query: Query) -> list[Hit]:
        text = query.text
        if not text.strip():
            return [hit(doc, query) for doc in docs]
        said = [text, *analysis.alternatives(text)]  # and each word of those of several words
        words = [word for value in said[1:] for word in analysis.WORD.findall(value)]
        words += [word for doc in docs for field in (doc.label, doc.description)
                  for value in field.values() for word in analysis.WORD.findall(value)]
        analyzed = [self._analyzer(index, name, [*said, *words]) for name in HIGHLIGHT_ANALYZERS]
        tokens = {word: frozenset(t for analyze in analyzed for t in analyze(word)) for word in {*said, *words}}
        hits = analysis.matcher(text, analysis.Vocabulary(lambda word: tokens.get(word, frozenset())))
        return [hit(doc, query,
                    label={lang: analysis.mark(value, hits) for lang, value in doc.label.items()},
                    description={lang: analysis.mark(value, hits, limit=DESCRIPTION_WINDOW)
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
            found = self.client.indices.analyze(index=index, body={"analyzer": analyzer, "text": "\n".join(batch)})
            for token in found["tokens"]:
                # compound parts and stems keep the offsets of the word they came from
                tokens[batch[bisect_right(starts, token["start_offset"]) - 1]].append(token["token"])
        return lambda text: tokens.get(text, [])
