"""What the backends share about text: the words a Norwegian compound is split into, the
synonyms a query is widened with, and which words of a hit to mark.

Norwegian writes compounds as one word ("fødselsvekt"), so a search for "vekt" or for
"vekt ved fødsel" must see its parts. The parts come from the catalogue itself: every
word that also stands on its own in a label (or in a sample of descriptions), with the
linking -s and -e Norwegian puts between parts, and the words of the synonym lists.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from itertools import accumulate, compress

from rdflib.namespace import RDF, SKOS

from catalogue.model import ontology
from catalogue.search.documents import VariableDoc

WORD = re.compile(r"\w+", re.UNICODE)
SPLIT = re.compile(r"(\w+)", re.UNICODE)  # a text's words and what is between them
HYPHENATED = re.compile(r"\w+(?:-\w+)+")
# Where a name written in camel case starts a new word: "ErInnlagtSykehus", "komNrHjem2".
CAMEL = re.compile(r"(?<=[a-zæøå])(?=[A-ZÆØÅ])")
# Function words are not compound parts: "for" would split "forløsning" into nonsense.
NOT_PARTS = set("""
alle andre annen annet av bare begge da de dem den denne der deres det dette di din du eller
en enn er et ett etter fra før ha hadde han har hen her hos hun hva hvem hver hvis hvor i ikke
inn ja jeg kan man med meg men mer mot må ned noe noen nå og om opp oss over på sin sine sitt
skal som til ut ved vi vil være var and the for with from
""".split())
# Function words of bokmål, nynorsk and English: never scored, marked or compared, unless a
# query has nothing else ("i", "og" alone are searched as typed). Prepositions that begin
# compounds ("under" in "undervekt") stay compound parts, so they are listed here only.
STOP_WORDS = frozenset(NOT_PARTS | set("""
at å ble blei blir blitt bli både deg dere dei deira deim deires disse dykk dykkar då eg ei ein
eit eitt elles fordi ho hjå honom hennar hennes henne hvilke hvilken hvordan hvorfor ikkje ingen
ingi inkje inni kom korleis kva kvar kven kvi kvifor kun kunne me medan meget mellom mi min mine
mitt mykje mange nokon noka nokor noko nokre når også selv sjøl si sia sidan siden skulle slik so
somme somt så sånn uten um under upp ville vere verte vore vår vart varte vors vært
a an are as be been being but by did do does during had has have he her his how if in into is it
its me my no nor not of off on or our she so than that their them then there these they this
those through to too was we were what when where which who whom why will you your
""".split()))
MIN_PART = 3
MIN_ENDING = 4
MIN_LAST_PART = 6  # the shortest last part a typed compound is looked up by (last_parts)
DESCRIPTION_SAMPLE = 20_000  # descriptions read for parts: enough to know a language's words
_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a"})
# Nynorsk spellings and their bokmål, as rules on a word's letters: registries write bokmål,
# applicants either ("sjukepengar" -> "sykepenger", "heimesjukepleie" -> "hjemmesykepleie").
# In order; each applies once to a word, at the start (^), the end ($) or anywhere.
NYNORSK = tuple((re.compile(pattern), bokmal) for pattern, bokmal in (
    ("heime", "hjemme"), ("heim", "hjem"), ("sjuk", "syk"), ("høg", "høy"), ("fleir", "fler"),
    ("^bu(?=stad)", "bo"), ("stad", "sted"), ("hald", "hold"),
    # endings, after a stem of three letters or more
    ("(?<=...)leg$", "lig"), ("(?<=...)ande$", "ende"), ("(?<=...)ane$", "ene"), ("(?<=...)ar$", "er")))
# Adjectives and the nouns that measure them, as "hvor lang" asks for a length ("lengde").
MEASURED = {"lang": "lengde", "høy": "høyde", "tung": "tyngde", "bred": "bredde", "dyp": "dybde",
            "stor": "størrelse", "gammel": "alder"}
REMEMBERED_QUERIES = 4096  # the synonyms and related terms of the last texts asked about
NEAR_LABEL = 0.85  # how alike a long typed word and a one-word synonym label are to be taken as it
MIN_NEAR = 6  # the shortest word looked up among the labels as a misspelling


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def spaced(text: str) -> str:
    """A name written in camel case as words, so that its words are found:
    "ErInnlagtSykehus" -> "Er Innlagt Sykehus". Other text is left as it is."""
    return CAMEL.sub(" ", text)


def fold(text: str) -> str:
    """æ, ø, å and accents as a keyboard without them types them: 'fødsel' -> 'fodsel'."""
    text = text.lower().translate(_FOLD)
    if text.isascii():  # most text, once æ, ø and å are folded: no accent to take off
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


class CompoundParts:
    """The words compounds are split into, for an index of documents seen one at a time: those
    of their labels, of a sample of their descriptions (one in so many of the `count` there
    are, chosen by id, so that documents seen in parts, in any order, give the same sample), and
    of the codes of their code lists (each list once), where the words of a register's
    diagnoses and drugs stand on their own ("bryst" in "Ondartet svulst i bryst", so that
    "brystkreft" is split). What is kept is words, not documents."""

    def __init__(self, count: int):
        self._step = max(1, count // DESCRIPTION_SAMPLE)
        self._seen: set[str] = set()
        self._codes: dict[str, list[str]] = {}

    def add(self, doc: VariableDoc) -> None:
        sampled = self._step == 1 or zlib.crc32(doc.id.encode()) % self._step == 0
        for text in (*doc.label.values(), *(doc.description.values() if sampled else ())):
            self._seen.update(words(text))
        if doc.code_list:
            self._codes[doc.code_list] = doc.codes

    def update(self, other: CompoundParts) -> None:
        """Add what `other` has seen (of other documents of the same `count`)."""
        self._seen |= other._seen
        self._codes.update(other._codes)

    def parts(self) -> list[str]:
        return _parts(self._seen | {w for texts in self._codes.values() for text in texts for w in words(text)})


def parts_of(texts: Iterable[str]) -> list[str]:
    """The words compounds are split into: the words of `texts` and of the synonym lists."""
    return _parts({w for text in texts for w in words(text)})


def _parts(seen: set[str]) -> list[str]:
    seen = seen | {w for group in synonym_groups() for label in group for w in words(label)}
    words_seen = {w for w in seen if len(w) >= MIN_PART and w.isalpha() and w not in NOT_PARTS}
    parts = words_seen | {w + link for w in words_seen for link in ("s", "e")}
    # A compound is split only into parts of the dictionary, and would stay whole if it were
    # in the dictionary itself: keep out the words that are made of other words.
    return sorted(w for w in parts if not _splits(w, parts))


def _splits(word: str, parts: set[str]) -> bool:
    """Whether `word` is two or more words of `parts` written together."""
    tails = [j for j in range(MIN_PART, len(word) - MIN_PART + 1) if word[j:] in parts]
    if not tails:  # no part ends it: most words, looked up no further
        return False
    ends: list[int] = []  # where the beginnings of `word` made of one or more parts end
    for i in range(MIN_PART, tails[-1] + 1):
        if word[:i] in parts or any(word[j:i] in parts for j in ends if i - j >= MIN_PART):
            ends.append(i)
    return not set(tails).isdisjoint(ends)


def endings(text: str) -> list[str]:
    """The endings of the words of `text` (folded) that could be the last part of a
    compound: "hodeomkrets" -> "odeomkrets", ..., "omkrets", "mkrets", "krets"."""
    return sorted({w[i:] for w in words(fold(text)) for i in range(1, len(w) - MIN_ENDING + 1)})


def last_parts(text: str) -> list[str]:
    """The endings of the long words of `text` and of their one-word synonyms (folded) that
    could be a compound's last part, the part before it a word's length or more: "preeklampsi"
    (or "svangerskapsforgiftning") -> "eklampsi", "klampsi", ... A label with the word
    "Eklampsi" is found by the compound typed (see endings for the other way round)."""
    said = [w for t in [text, *(s for s in synonyms(text) if " " not in s)] for w in words(fold(t))]
    return sorted({w[i:] for w in said for i in range(MIN_PART, len(w) - MIN_LAST_PART + 1)})


def hyphenated(text: str) -> tuple[str, list[str]]:
    """`text` without its hyphenated words, and those words: a code name ("ICPC-2", "ICD-O-3",
    "covid-19") or a compound written so ("ST-elevasjonsinfarkt") is searched as a phrase,
    not as loose words ("2" alone would find every name ending in _2)."""
    found = HYPHENATED.findall(text)
    return HYPHENATED.sub(" ", text).strip(), found


def content(text: str) -> str:
    """`text` without its function words (STOP_WORDS), or `text` itself if it has nothing
    else. Only words standing alone are dropped ("du?" too), so "A.I.DIAG" stays whole."""
    kept = [token for token in text.split() if not _is_function_word(token)]
    return " ".join(kept) if any(WORD.search(token) for token in kept) else text


def _is_function_word(token: str) -> bool:
    found = words(token)
    return len(found) == 1 and found[0] in STOP_WORDS


def pairs(typed: str) -> list[str]:
    """Each two words that follow each other in the query `typed`, function words and
    hyphenated words aside ("lege forskrev legemidlet" -> "lege forskrev", "forskrev
    legemidlet"): words typed together and found together say more. None for a query of
    function words alone, which is searched as a phrase already."""
    if is_function_words(typed):
        return []
    found = words(hyphenated(content(typed))[0])
    return [f"{a} {b}" for a, b in zip(found, found[1:])]


def is_function_words(text: str) -> bool:
    """Whether every word of `text` is a function word: such a query is searched as typed."""
    typed = words(text)
    return bool(typed) and all(w in STOP_WORDS for w in typed)


def ignored(text: str) -> frozenset[str]:
    """The words not to mark in hits of a query: its function words, unless they are all it has."""
    return frozenset() if is_function_words(text) else STOP_WORDS


LABELS = (SKOS.prefLabel, SKOS.altLabel, SKOS.hiddenLabel)
# A concept's broader, narrower and related concepts: searched too, below its synonyms.
RELATIONS = (SKOS.broader, SKOS.narrower, SKOS.related)


@cache
def synonym_groups() -> tuple[frozenset[str], ...]:
    """Each SKOS concept in the shipped vocabularies (ontologies/*.ttl) as the set of its
    labels, lower-cased: preferred, alternative and hidden, in every language."""
    return tuple(labels for labels, _ in _concepts() if len(labels) > 1)


@cache
def _concepts() -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
    """Each SKOS concept of the vocabularies as its labels and the labels of the concepts it is
    broader, narrower or related to (either way round)."""
    found = []
    for name in ontology.vocabularies():
        graph = ontology.load(name)

        def labels(concept) -> frozenset[str]:
            return frozenset(str(o).strip().lower() for p in LABELS for o in graph.objects(concept, p))
        for concept in graph.subjects(RDF.type, SKOS.Concept):
            near = {*(o for p in RELATIONS for o in graph.objects(concept, p)),
                    *(s for p in RELATIONS for s in graph.subjects(p, concept))}
            found.append((labels(concept), frozenset().union(*(labels(c) for c in near))))
    return tuple(found)


@cache
def _related_index() -> dict[str, frozenset[str]]:
    """Label (as typed, and folded) -> the labels of the concepts its concepts are related to."""
    index: dict[str, set[str]] = {}
    for labels, near in _concepts():
        for label in labels if near else ():
            for key in {label, fold(label)}:
                index.setdefault(key, set()).update(near)
    return {k: frozenset(v) for k, v in index.items()}


@lru_cache(maxsize=REMEMBERED_QUERIES)
def related(text: str, longest: int = 4) -> tuple[str, ...]:
    """The labels of the concepts broader than, narrower than or related to one that the words
    of `text` (single words and runs of up to `longest`) or their synonyms name:
    "hypertensjon" -> "blodtrykk", "tvillinger" -> "flerfødsel"."""
    typed = words(text)
    said = {" ".join(typed[start:start + size]) for size in range(1, min(longest, len(typed)) + 1)
            for start in range(len(typed) - size + 1)} | set(synonyms(text, longest))
    index = _related_index()
    return tuple(sorted({other for label in said for key in (label, fold(label))
                         for other in index.get(key, ())} - said))


def holds_word(text: str, other: str) -> bool:
    """Whether `other` (a synonym or related term of the query `text`) holds one of the query's
    words of MIN_ENDING letters or more (folded) as a word, or as the start or end of one:
    "tvillinger" and "tvillingfødsel" hold "tvilling", "høyt blodtrykk" holds "blodtrykk".
    Where such a term is written, that word is written too."""
    typed = [w for w in words(fold(text)) if len(w) >= MIN_ENDING]
    return any(w.startswith(t) or w.endswith(t) for w in words(fold(other)) for t in typed)


def alternatives(text: str) -> list[str]:
    """What a search for `text` also looks for: its synonyms, then its related terms."""
    return [*synonyms(text), *related(text)]


@cache
def _synonym_index() -> dict[str, frozenset[str]]:
    """Label (as typed, and folded) -> the other labels of its concepts."""
    index: dict[str, set[str]] = {}
    for group in synonym_groups():
        for label in group:
            for key in {label, fold(label)}:
                index.setdefault(key, set()).update(group - {label})
    return {k: frozenset(v) for k, v in index.items()}


def bokmal(word: str) -> str:
    """A word as bokmål spells it, by the NYNORSK rules ("sjukehus" -> "sykehus"); others unchanged."""
    for pattern, replacement in NYNORSK:
        word = pattern.sub(replacement, word, count=1)
    return word


@lru_cache(maxsize=REMEMBERED_QUERIES)
def synonyms(text: str, longest: int = 4) -> tuple[str, ...]:
    """What the words of `text` (single words and runs of up to `longest`) are also called: in
    the synonym lists (a long word also by the label it is a letter or two from), their bokmål
    spelling, and the noun measuring an adjective ("lang" -> "lengde"). Remembered: a query
    asks for them several times (its clauses, its concepts, marking its hits)."""
    found: list[str] = []
    typed = words(text)
    respelt = [bokmal(w) for w in typed]

    def add(other: str, phrase: str) -> None:
        if other not in found and other != phrase:
            found.append(other)
    for run in [typed, respelt] if respelt != typed else [typed]:
        for size in range(min(longest, len(run)), 0, -1):
            for start in range(len(run) - size + 1):
                phrase = " ".join(run[start:start + size])
                for other in _also_called(phrase):
                    add(other, phrase)
    for word, spelt in zip(typed, respelt):
        add(spelt, word)
        if spelt in MEASURED:
            add(MEASURED[spelt], word)
    return tuple(other for other in found if other not in typed)


def _also_called(phrase: str) -> list[str]:
    """The other labels of the concepts `phrase` (as typed or folded) is a label of; for a
    long word none is, those of the one-word label it is nearest, and that label."""
    index = _synonym_index()
    found = sorted({other for key in (phrase, fold(phrase)) for other in index.get(key, ())})
    if found or " " in phrase or len(phrase) < MIN_NEAR:
        return found
    near = _near_label(fold(phrase))
    return [near, *sorted(index[near])] if near else []


@lru_cache(maxsize=4096)  # words typed are many: remember the recent ones
def _near_label(folded: str) -> str | None:
    """The one-word label (folded) a letter or so from `folded`: begun alike and as long, give
    or take a letter, as a misspelling is ("diagnose" is not "bidiagnose" misspelt)."""
    alike = [label for n in (-1, 0, 1) for label in _one_word_labels().get((folded[0], len(folded) + n), ())]
    near = difflib.get_close_matches(folded, alike, n=1, cutoff=NEAR_LABEL)
    return near[0] if near else None


@cache
def _one_word_labels() -> dict[tuple[str, int], list[str]]:
    """The folded one-word labels of the synonym lists by first letter and length."""
    shapes: dict[tuple[str, int], list[str]] = {}
    for label in _synonym_index():
        if " " not in label and label == fold(label):
            shapes.setdefault((label[0], len(label)), []).append(label)
    return shapes


Segments = list[tuple[str, bool]]  # text cut into runs, each saying whether it matched
Hits = Callable[[list[str]], list[bool]]  # the words of a text -> whether each matched


class Vocabulary:
    """The words of hits met so far, as the marked fields' analyzers index them, looked up
    both ways: a word's tokens, and the words that have a token. A query's matcher then
    finds the words to mark among all those met before in one step, and decides one by one
    only the words met since. Threads share it: a word is added to both lookups before it is
    listed in `learnt`, so a matcher that has seen the first n of `learnt` has them all."""

    def __init__(self, analyze: Callable[[str], frozenset[str]]):
        self.analyze = analyze  # a text's tokens
        self.tokens: dict[str, frozenset[str]] = {}
        self.having: dict[str, set[str]] = {}
        self.learnt: list[str] = []  # in the order they were met

    def learn(self, words: list[str]) -> None:
        if all(map(self.tokens.__contains__, words)):  # as most are, once the catalogue's words are met
            return
        for word in set(words).difference(self.tokens):
            found = self.tokens[word] = self.analyze(word)
            for token in found:
                self.having.setdefault(token, set()).add(word)
            self.learnt.append(word)


def matcher(text: str, vocabulary: Vocabulary) -> Hits:
    """Which words of a hit match the query `text`: a word whose tokens have one of the text
    or of a one-word synonym or related term (not a function word, unless the text has
    nothing else), and every word of a run that spells one of several words word by word, as
    the search matches it: "Barnets" alone is not "barnets vekt i hele gram"."""
    others = alternatives(text)
    analyze = vocabulary.analyze
    phrases = [[analyze(w) for w in WORD.findall(other)] for other in others if len(WORD.findall(other)) > 1]
    wanted = analyze(text).union(*(analyze(other) for other in others if len(WORD.findall(other)) == 1))
    ignore = ignored(text)
    seen = len(vocabulary.learnt)  # before the lookup: a word listed by then is in it
    having = vocabulary.having
    marked = {word for word in set().union(*[having[t] for t in wanted if t in having])  # one step: no
              if word.lower() not in ignore}                                           # thread adds meanwhile

    def hits(found: list[str]) -> list[bool]:
        nonlocal seen
        vocabulary.learn(found)
        if len(vocabulary.learnt) > seen:  # met since, in this query or another at the same time
            since = vocabulary.learnt[seen:]
            seen += len(since)
            marked.update(word for word in since if word.lower() not in ignore
                          and not wanted.isdisjoint(vocabulary.tokens[word]))
        flags = list(map(marked.__contains__, found))
        tokens = vocabulary.tokens
        for first, *rest in phrases:
            for start, word in enumerate(found[:len(found) - len(rest)]):
                if not first.isdisjoint(tokens[word]) and all(
                        not said.isdisjoint(tokens[found[start + n]]) for n, said in enumerate(rest, 1)):
                    flags[start:start + len(rest) + 1] = [True] * (len(rest) + 1)
        return flags
    return hits


def mark(text: str, hits: Hits, limit: int | None = None) -> Segments:
    """`text` cut into runs, each saying whether it is a word that matched. With `limit`, a
    window of about that many characters around the first match (the start when none did)."""
    parts = SPLIT.split(text)  # between words, a word, between words, ..., between words
    flags = hits(parts[1::2])
    matched = list(compress(range(len(flags)), flags))
    begin, end, prefix, suffix = 0, len(text), "", ""
    if (limit and len(text) > limit) or matched:
        ends = [0, *accumulate(map(len, parts))]  # word i is text[ends[2i + 1]:ends[2i + 2]]
    if limit and len(text) > limit:
        first = ends[2 * matched[0] + 1] if matched else 0
        begin = max(0, first - limit // 3)
        begin = begin if begin == 0 else text.find(" ", begin) + 1 or first  # at a word's start
        end = begin + limit
        end = end if end >= len(text) else (text.rfind(" ", begin, end) if " " in text[begin:end] else end)
        prefix, suffix = ("… " if begin else ""), (" …" if end < len(text) else "")
    segments: Segments = []
    plain, last = prefix, begin  # the text between marked words is one run
    for word in matched:
        start, stop = ends[2 * word + 1], ends[2 * word + 2]
        if start < begin or stop > end:  # outside the window, or cut by its end
            continue
        if plain or start > last:
            segments.append((plain + text[last:start], False))
        segments.append((text[start:stop], True))
        plain, last = "", stop
    plain += text[last:end] + suffix
    return segments + [(plain, False)] if plain else segments
