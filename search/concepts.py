"""The concepts of the catalogue's code lists, indexed beside the variables, so that a search
for what a code means ("lungekreft", "antidepressiva") finds the variables coded with its list.

A small tantivy index in the data directory, whichever backend searches the variables: each
code once per list, its labels in every version merged. A query's words must each match a
concept's labels (stemmed, compounds split against the code lists' own words, or through a
synonym); the best concepts become `Query.via`, which each backend compiles. Rebuilt when
the variable index is rebuilt or patched, swapped in by one rename as the embedded index is.
"""
from __future__ import annotations

import difflib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

import rapidfuzz
import tantivy
from tantivy import Filter, Occur, Query as TQ, TextAnalyzer

from catalogue.model.models import Text
from catalogue.search import analysis
from catalogue.search.documents import Concept, Register
from catalogue.search.embedded import Swapped, analyzers, build
from catalogue.search.fields import TYPO_ONE, TYPO_TWO
from catalogue.search.query import Code, Via
from catalogue.storage.durable import atomic_write

PARTS, WORDS, REGISTERS = "compound-parts.json", "words.json", "registers.json"
# concepts read per query, the best first: a lookup stays one small search, and a short label of
# one list (ICPC-2 "Diabetes type 2") is still read after the many of another (ICD-10's diabetes)
CANDIDATES = 100
# A concept counts only if the query names most of its words: "søvn" is not a search for
# "Søvnforstyrrelse", nor "fødselsvekt" one for "Ekstremt lav fødselsvekt".
MIN_COVERED = 0.8
# Words code lists add to a label to set a code apart from its neighbours, not to say what it
# is: "Ondartet svulst i bryst, uspesifisert" is breast cancer, "Diabetes mellitus type 2 uten
# kompl" is type 2 diabetes. They are not counted in the share of a label a query names.
QUALIFIERS = frozenset("""
uspesifisert uspesifiserte uspes ikke spesifisert annen annet andre ukomplisert uten kompl
komplikasjoner komplikasjon unspecified other without complications type analoger analogues
""".split())  # and numbers: "Diabetes type 2" is diabetes
# The share of its score a concept keeps when found through a word respelt (see _respelt).
RESPELT_SHARE = 0.1
RESPELLINGS_KEPT = 10_000  # respelt words remembered, then forgotten all at once
# What a typed code looks like: a letter and a digit, maybe a dot ("E11", "I21.9", "N06AB03").
CODE = re.compile(r"(?=.*\d)[a-z][a-z0-9]*(?:\.[a-z0-9]+)?")
MIN_CODE_PREFIX = 3  # a typed code this long also finds the codes it begins ("E11": E110-E119)
# A code of a list that groups another list's codes in ranges ("C30-C39" of the Cancer Registry's
# topography groups): a code that subdivides one in the range ("C349") lies within it, and the
# variables coded with the grouping list are found through it, at this share of its score.
RANGE = re.compile(r"([a-z])(\d+)-\1(\d+)")
WITHIN_SHARE = 0.5
# When a search finds nothing: spellings offered (words this close to the catalogue's own),
# and the concepts and registers nearest to it.
SPELLING_CUTOFF, HELP_SIZE = 0.8, 5


def _spelling(text: str) -> Iterator[str]:
    """The words of `text` that spelling knows."""
    return (w for w in analysis.words(text)
            if len(w) >= analysis.MIN_PART and w.isalpha() and w not in analysis.STOP_WORDS)


def spelt(label: Text) -> Iterator[str]:
    """The words of a variable's label, in each of its languages, that spelling knows."""
    return (w for text in label.values() for w in _spelling(text))


def counted(labels: Iterable[Text]) -> Counter:
    """The words of the variables' `labels` that spelling knows, with how often each is said."""
    return Counter(w for label in labels for w in spelt(label))


def _analyzers(parts: list[str]) -> dict[str, TextAnalyzer]:
    """The variables' analyzers, and "parts": compounds split, the parts left as written."""
    return {**analyzers(parts), "parts": build(Filter.lowercase(), Filter.split_compound(parts))}


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("notation", tokenizer_name="exact")
    builder.add_text_field("label_nb", tokenizer_name="nb")
    builder.add_text_field("label_nb_fold", tokenizer_name="nb_fold")
    builder.add_bytes_field("concept", stored=True)
    return builder.build()


def code(concept: Concept) -> Code:
    """A concept as a search names it: its list's title and its newest label, in bokmål if it has it."""
    title = concept.code_list_title
    return Code(code_list=concept.code_list, code_list_title=title.get("nb") or next(iter(title.values()), ""),
                notation=concept.notation, label=concept.labels[0] if concept.labels else "")


def _code(typed: str) -> str | None:
    """`typed` as code lists write a code (lower-cased, no dot: "I21.9" -> "i219"), if it looks like one."""
    code = typed.strip().lower()
    return code.replace(".", "") if CODE.fullmatch(code) else None


class ConceptIndex(Swapped):
    prefix = "concepts-"

    def __init__(self, root: Path):
        super().__init__(root)
        self._words: dict[str, str] = {}  # folded -> as written
        # folded words by first letter and length, and words respelt: a lookup compares a word
        # with the few it may be a misspelling of, once
        self._by_shape: dict[tuple[str, int], list[str]] = {}
        self._respellings: dict[str, str] = {}
        self._registers: list[Register] = []
        self._ranges: list[tuple[str, str, str, Concept]] = []  # letter, first and last number, the range
        self.schema = _schema()

    def _open(self, folder: Path, create: bool = False) -> tantivy.Index:
        index = tantivy.Index(self.schema, path=str(folder), reuse=not create)
        self._analyzers = _analyzers(json.loads((folder / PARTS).read_text()))
        for name, analyzer in self._analyzers.items():
            index.register_tokenizer(name, analyzer)
        return index

    def rebuild(self, concepts: Iterable[Concept], words: Counter | None = None,
                registers: Iterable[Register] = (), graphs: dict[str, str] | None = None) -> None:
        """Replace the index; lookups read the old one until the new one is whole. The words
        of the concepts and of the variables' labels (`words`, as `counted` counts them) are
        kept for spelling, and the registers for help when a search finds nothing; `graphs`:
        those the labels were read from."""
        self._write(list(concepts), words or Counter(), registers, graphs)

    def patch(self, concepts: Iterable[Concept], registers: Iterable[Register], gone: Iterable[Text],
              added: Iterable[Text], before: dict[str, str], graphs: dict[str, str]) -> bool:
        """As rebuild, with the words of the variables' labels counted as the current index counted
        them from the graphs `before`, less those of the labels `gone` and plus those `added` (a
        changed variable's is in both): only the labels of what changed are read, however large
        the catalogue. True if the index is then of `graphs` (or was already: a patch killed
        after this one); False, and nothing changed, if it counted other graphs or none (an
        index of an older release kept no counts): then only a rebuild can count them."""
        kept = json.loads((self.root / self._pointer.read_text().strip() / WORDS).read_text()) \
            if self._pointer.exists() else []
        if not isinstance(kept, dict) or kept["graphs"] not in (before, graphs):
            return False
        if kept["graphs"] == graphs:
            return True
        counts = Counter(kept["counts"])
        counts.subtract(w for label in gone for w in spelt(label))
        counts.update(w for label in added for w in spelt(label))
        self._write(list(concepts), +counts, registers, graphs)
        return True

    def _write(self, concepts: list[Concept], counts: Counter, registers: Iterable[Register],
               graphs: dict[str, str] | None) -> None:
        folder = self._new_folder()
        folder.mkdir(parents=True)
        texts = [label for c in concepts for label in c.labels]
        atomic_write(folder / PARTS, json.dumps(analysis.parts_of(texts), ensure_ascii=False).encode())
        # each word with how many times the variables' labels hold it (0: only concepts' labels do)
        words = {**dict.fromkeys((w for text in texts for w in _spelling(text)), 0), **counts}
        atomic_write(folder / WORDS, json.dumps({"graphs": graphs, "counts": dict(sorted(words.items()))},
                                                ensure_ascii=False).encode())
        atomic_write(folder / REGISTERS, json.dumps([r.model_dump() for r in registers], ensure_ascii=False).encode())
        writer = self._open(folder, create=True).writer(heap_size=64_000_000, num_threads=1)
        for concept in concepts:
            writer.add_document(tantivy.Document(
                notation=[concept.notation], label_nb=concept.labels, label_nb_fold=concept.labels,
                concept=[concept.model_dump_json().encode()]))
        writer.commit()
        writer.wait_merging_threads()
        self._swap(folder)

    def _load(self, folder: Path) -> tantivy.Index:
        words = json.loads((folder / WORDS).read_text())  # a list in an index of an older release
        self._words = {analysis.fold(w): w for w in (words["counts"] if isinstance(words, dict) else words)}
        self._by_shape = defaultdict(list)
        for folded in self._words:
            self._by_shape[folded[0], len(folded)].append(folded)
        self._respellings = {}
        self._registers = [Register.model_validate(r) for r in json.loads((folder / REGISTERS).read_text())]
        index = self._open(folder)
        searcher = index.searcher()
        alike = TQ.regex_query(self.schema, "notation", "[a-z][0-9]+-[a-z][0-9]+")
        self._ranges = []
        for _, address in searcher.search(alike, limit=max(1, searcher.num_docs)).hits:
            concept = Concept.model_validate_json(searcher.doc(address)["concept"][0])
            if found := RANGE.fullmatch(concept.notation.lower()):
                self._ranges.append((*found.groups(), concept))
        return index

    def lookup(self, typed: str, limit: int = 5) -> list[tuple[Concept, float]]:
        """The concepts all the words of `typed` match (or its code), most of whose own words
        it names first (see _covered), each with that share; at most `limit`."""
        index = self._current()
        words = analysis.words(analysis.content(typed))
        if index is None or not words or analysis.is_function_words(typed):
            return []
        searcher = index.searcher()
        code = _code(typed)
        notation = code or typed.strip().lower()
        respelt = [self._respelt(w) for w in words]
        if respelt != words:
            typed, words = " ".join(respelt), respelt
        ways = [TQ.term_query(self.schema, "notation", notation),
                TQ.boolean_query([(Occur.Must, self._word(w)) for w in words])]
        if code and len(code) >= MIN_CODE_PREFIX:
            ways.append(TQ.regex_query(self.schema, "notation", re.escape(code) + ".+"))
        wanted = self._wanted(typed, words)
        found = []
        for score, address in searcher.search(TQ.boolean_query([(Occur.Should, w) for w in ways]),
                                              limit=CANDIDATES).hits:
            concept = Concept.model_validate_json(searcher.doc(address)["concept"][0])
            named = concept.notation.lower() == notation or code and concept.notation.lower().startswith(code)
            covered = 1.0 if named else self._covered(concept, wanted)
            if covered >= MIN_COVERED:
                found.append((concept, covered, score))
        # the best covered first, then the best scored; of concepts alike, the broadest (shortest code)
        found.sort(key=lambda c: (-c[1], -round(c[2], 3), len(c[0].notation), c[0].notation))
        return [(concept, covered) for concept, covered, _ in found[:limit]]

    def via(self, typed: str) -> tuple[Via, ...]:
        """The best concept of each code list `typed` matches. Its score grows with the share
        of the concept the query names, and with the query's words: a concept that all of
        several words name ("kreft i lunge") says more than any one of them in a label."""
        found: dict[str, tuple[Concept, float]] = {}  # list -> its concept and its score
        for concept, covered in self.lookup(typed, CANDIDATES):
            found.setdefault(concept.code_list, (concept, covered ** 2))
        for concept, score in list(found.values()):  # then the ranges of other lists they lie in
            for within in self._within(concept):
                found.setdefault(within.code_list, (within, score * WITHIN_SHARE))
        # a code counts as one word, written with its dot or not ("I21.9", "I219")
        words = analysis.words(analysis.content(typed))
        many = 1 if _code(typed) else len(words)
        # a concept found through a respelt word is a guess: below a variable the word is near
        sure = RESPELT_SHARE if [self._respelt(w) for w in words] != words else 1.0
        return tuple(Via(**code(c).model_dump(), score=score * many * sure) for c, score in found.values())

    def _within(self, concept: Concept) -> list[Concept]:
        """The ranges of other lists with a code that `concept` subdivides: "C349" lies in
        "C30-C39"; a code no longer than the range's ("K75" of ICPC-2) in none, as another
        list's code may mean something else."""
        notation = concept.notation.lower()
        return [within for letter, first, last, within in self._ranges
                if within.code_list != concept.code_list and notation[0] == letter
                and len(notation) > 1 + len(first) and notation[1:1 + len(first)].isdigit()
                and int(first) <= int(notation[1:1 + len(first)]) <= int(last)]

    def _wanted(self, typed: str, words: list[str]) -> set[str]:
        """The stems `typed` stands for: its words', their compound parts', and their synonyms'."""
        said = [typed, *analysis.synonyms(typed)]
        for word in words:
            for part in self._analyzers["parts"].analyze(word):
                said += analysis.synonyms(part)
        analyze = self._analyzers["nb"].analyze
        return {token for text in said for token in analyze(analysis.content(text))}

    def _covered(self, concept: Concept, wanted: set[str]) -> float:
        """The largest share of a label's words (function words and QUALIFIERS aside) that the
        query names: "lungekreft" names 3 of the 4 of "Ondartet svulst bronkie/lunge", only 2 of the 4 of
        "Ekstremt lav fødselsvekt" as "fødselsvekt" does."""
        best = 0.0
        for label in concept.labels:
            tokens = self._analyzers["nb"].analyze(" ".join(
                w for w in analysis.words(label)
                if w not in analysis.STOP_WORDS and w not in QUALIFIERS and not w.isdigit()))
            if tokens:
                best = max(best, sum(t in wanted for t in tokens) / len(tokens))
        return best

    def _word(self, word: str) -> TQ:
        """A word of the query in a concept's labels: itself, its compound parts each (or
        their synonyms), or one of its synonyms."""
        parts = self._analyzers["parts"].analyze(word)
        if len(parts) > 1:
            ways = [TQ.boolean_query([(Occur.Must, self._alike(p)) for p in parts])]
        else:
            ways = [self._phrase(word)]
        ways += [self._phrase(other) for other in analysis.synonyms(word)]
        return TQ.boolean_query([(Occur.Should, q) for q in ways])

    def _alike(self, part: str) -> TQ:
        return TQ.boolean_query([(Occur.Should, self._phrase(p)) for p in [part, *analysis.synonyms(part)]])

    def _phrase(self, text: str) -> TQ:
        """`text` in the labels, its words in order, exactly or folded. The parts of a single
        compound ("blærehalskjertel") are all wanted, in any order, as a label may write
        them as words or as another compound."""
        ways = []
        single = len(analysis.words(text)) == 1
        for field, analyzer in (("label_nb", "nb"), ("label_nb_fold", "nb_fold")):
            tokens = self._analyzers[analyzer].analyze(text)
            if len(tokens) > 1:
                ways.append(TQ.boolean_query([(Occur.Must, TQ.term_query(self.schema, field, t)) for t in tokens])
                            if single else TQ.phrase_query(self.schema, field, tokens))
            elif tokens:
                ways.append(TQ.term_query(self.schema, field, tokens[0]))
        return TQ.boolean_query([(Occur.Should, q) for q in ways])

    # -- help for a search that found nothing ----------------------------------
    def spellings(self, typed: str) -> list[str]:
        """`typed` with its words not in the catalogue's labels respelt as the nearest that
        are: one query per near word of a single word, else the one with each word nearest."""
        if self._current() is None:
            return []
        words = analysis.words(analysis.content(typed))
        near = [self._near(w) for w in words]
        if len(words) == 1:
            return [w for w in near[0] if w != words[0]]
        respelt = " ".join(n[0] if n else w for w, n in zip(words, near))
        return [respelt] if respelt != " ".join(words) else []

    def _respelt(self, word: str) -> str:
        """A word of a query as the catalogue spells it, if it is not one of its words but is
        near one, begun alike and as long give or take a letter ("epelepsi" -> "epilepsi").
        Short words and words with digits (codes) stay as typed: too many are near."""
        folded = analysis.fold(word)
        if len(word) < TYPO_ONE or not word.isalpha() or folded in self._words:
            return word
        if folded not in self._respellings:
            alike = [w for n in (-1, 0, 1) for w in self._by_shape.get((folded[0], len(folded) + n), ())]
            near = difflib.get_close_matches(folded, alike, n=1, cutoff=SPELLING_CUTOFF)
            if len(self._respellings) >= RESPELLINGS_KEPT:  # words typed are many: keep the memory bounded
                self._respellings.clear()
            self._respellings[folded] = self._words[near[0]] if near else word
        return self._respellings[folded]

    def _near(self, word: str) -> list[str]:
        folded = analysis.fold(word)
        if folded in self._words:
            return [self._words[folded]]
        # difflib's ratio counts the letters of the blocks it matches, a common subsequence, so it
        # is never above rapidfuzz's (the longest common subsequence's): the words that ratio
        # rules out, difflib would too. It looks at every word in C; difflib, at the few left.
        alike = [w for w, _, _ in rapidfuzz.process.extract(
            folded, [w for w in self._words if abs(len(w) - len(folded)) <= 2], scorer=rapidfuzz.fuzz.ratio,
            processor=None, score_cutoff=SPELLING_CUTOFF * 100 - 1e-6, limit=None)]
        return [self._words[w] for w in difflib.get_close_matches(folded, alike, n=3, cutoff=SPELLING_CUTOFF)]

    def nearest(self, typed: str) -> list[Code]:
        """The concepts with words nearest those of `typed`: as typed, or a letter or two off
        for long words (as the variables' search allows typos, fields.TYPO_ONE/TYPO_TWO)."""
        index = self._current()
        tokens = [] if index is None else self._analyzers["nb_fold"].analyze(analysis.content(typed))
        if not tokens:
            return []
        searcher = index.searcher()
        query = TQ.boolean_query([(Occur.Should, TQ.fuzzy_term_query(
            self.schema, "label_nb_fold", token, distance=(len(token) >= TYPO_ONE) + (len(token) >= TYPO_TWO)))
            for token in set(tokens)])
        return [code(Concept.model_validate_json(searcher.doc(address)["concept"][0]))
                for _, address in searcher.search(query, limit=HELP_SIZE).hits]

    def registers(self, typed: str) -> list[Register]:
        """The registers whose title or description have a word of `typed` (stemmed, folded)."""
        if self._current() is None:
            return []
        analyze = self._analyzers["nb_fold"].analyze
        wanted = set(analyze(analysis.content(typed)))
        return [r for r in self._registers
                if wanted & {t for text in [*r.title.values(), *r.description.values()] for t in analyze(text)}
                ][:HELP_SIZE]
