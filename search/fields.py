"""What both search backends index and how they weigh it, so that the embedded index and
Elasticsearch answer a query alike: the fields of a document, their analyzers and weights,
and the rules for typos, synonyms, period filters and suggestions."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from catalogue.model.models import Period, Text, merge_periods
from catalogue.search import analysis
from catalogue.search.backend import FILTERS, Suggestion, facet_labels
from catalogue.search.documents import VariableDoc

# field -> (analyzer, weight). Weights order the kinds of match: short name as typed, then
# names, labels, descriptions; in names and labels, exact spellings above folded ones.
# Analyzers (built by each backend): exact (the whole value, lower-cased), words (lower-cased,
# folded), nb (Norwegian: compounds split, stemmed, æøå kept), nb_fold (the same folded), en
# (English stemmed).
FIELDS = {
    "name_exact": ("exact", 30.0),
    "name": ("words", 6.0),
    "label_nb": ("nb", 4.0), "label_nb_fold": ("nb_fold", 3.0), "label_en": ("en", 3.0),
    "label_words": ("words", 1.0),  # whole words, unstemmed: what typos are measured against
    # Descriptions are folded alone: they are most of what is indexed, and a second field of
    # them as written (æ, ø and å kept) cost a fifth of a rebuild's writing for the first page
    # of 2 of bench/relevance.py's 254 judged queries, where it ordered unjudged hits.
    "description_nb_fold": ("nb_fold", 1.8), "description_en": ("en", 0.8),
    "codes": ("nb_fold", 0.6),
    # dataset title, source name and code list name: the register says what its variables are
    # about as their descriptions do ("livmorhalskreft" and the variables of
    # Livmorhalsprogrammet), and so does the list that codes them ("Rusmiddelkoder")
    "context": ("nb_fold", 1.0),
}
# Typo tolerance: words of at least TYPO_ONE letters may be one edit off (two from TYPO_TWO).
TYPO_FIELDS = {"label_words": 1.5, "label_en": 1.2, "description_nb_fold": 0.3, "context": 0.3}
TYPO_ONE, TYPO_TWO = 5, 9
# A word typed may be the last part of a compound no dictionary splits ("omkrets" in
# "hodeomkrets"): labels are also indexed under their words' endings (analysis.endings).
ENDINGS_WEIGHT = 1.5
# The other way round, a compound typed whose last part is a word of a label ("preeklampsi",
# "Eklampsi totalt") scores this: below the label's own words, above a code list's variables.
LAST_PART_WEIGHT = 10.0
# Two words of the query that follow each other (function words aside) found within this many
# words of each other, in order, in a label or description score as much again as these
# fields do: "forskrev legemidlet" in "... som forskrev legemidlet" above "legemiddel" alone.
PAIR_FIELDS = {"label_nb_fold": 3.0, "description_nb_fold": 1.0}
PAIR_SLOP = 2
# Pairs only reorder the first RESCORE_WINDOW hits of the rest of the query (a second pass,
# as OpenSearch's rescore): their positions are read in these documents alone, not in every
# document with both words. Hits below keep their order.
RESCORE_WINDOW = 50
SYNONYM_WEIGHT = 0.8
RELATED_WEIGHT = 0.4  # a broader, narrower or related term (analysis.related)
# A synonym or related term that holds a word of the query (analysis.holds_word: "tvillinger",
# "tvillingfødsel" for "tvilling") is searched in names and labels alone, where it ranks: in
# descriptions, codes and registers' names the word itself finds it already, and its phrase
# read in every description holding its parts cost more than the rest of the query.
NAME_AND_LABEL_FIELDS = {field: FIELDS[field] for field in
                         ("name_exact", "name", "label_nb", "label_nb_fold", "label_en", "label_words")}
# A variable coded with a code list whose concept the words match (Query.via) scores up to
# this, times how well the concept matches: above a word in its description, as a diagnosis
# is what a diagnosis variable holds.
VIA_WEIGHT = 30.0
# Of that, the share a variable gets only when its own label, description or register (the
# AGREE_FIELDS) shares a word with the query: for "lungekreft", the Cancer Registry's diagnosis
# ranks above the other variables coded with ICD-10 (which may hold a lung cancer too), and a
# variable whose label names what the query asks for ranks above them all.
VIA_AGREE = 0.75
AGREE_FIELDS = ("label_nb_fold", "description_nb_fold", "context")
# A variable whose label names the code list without a link to it (list_name) gets this part
# of the share every variable of the list gets: its label says less surely what it holds.
# Under half, so a label naming two lists ("Refusjonskode (ICPC-2/ICD-10)") still ranks below
# a variable linked to one of them.
NAMED = 0.4


DESCRIPTION_WINDOW = 240  # characters of a hit's description shown around its first match
FACET_SIZE = 100  # values counted per facet, the most frequent first
NO_YEAR = 9999  # sorts variables without periods last by first year


def alternative_fields(text: str, other: str) -> dict[str, tuple[str, float]]:
    """The fields the synonym or related term `other` of the words `text` is searched in."""
    return NAME_AND_LABEL_FIELDS if analysis.holds_word(text, other) else FIELDS


def list_name(title: str) -> str:
    """What a code list is called in the labels of variables coded with it but not linked to
    it ("Diagnose (ICD-10)", "ATC-kode for utlevert legemiddel"): its title up to a dash,
    as in "ICD-10 – Den internasjonale statistiske klassifikasjonen ..."."""
    return title.split(" – ")[0] if " – " in title else ""


def list_titles(doc: VariableDoc) -> list[str]:
    """What the code list of a variable is called, where its label does not say it already
    ("Rusmiddelkoder" for "Hovedrusmiddel", not "Standard for kjønn" for "Kjønn"): a
    classification by its short name (list_name), another list by its title."""
    titles = {list_name(t) or t for t in doc.code_list_title.values()}
    if not titles:  # most variables: no code list to name
        return []
    said = {w for text in doc.label.values() for w in analysis.words(analysis.fold(text))}
    return sorted(t for t in titles if not said & set(analysis.words(analysis.fold(t))))


def indexed(doc: VariableDoc, this_year: int) -> dict[str, list]:
    """The fields a document is indexed under (empty values left out)."""
    # Variable lists often label a variable by its camel-case name ("ErInnlagtSykehus").
    label = {lang: analysis.spaced(text) for lang, text in doc.label.items()}
    nb = [t for t in (label.get("nb"), label.get("nn")) if t]
    nb_text = [t for t in (doc.description.get("nb"), doc.description.get("nn")) if t]
    years = doc.years(this_year)
    fields: dict[str, list] = {
        "id": [doc.id], "name_exact": [doc.name], "name": [analysis.spaced(doc.name)], "name_sort": [doc.name.lower()],
        "label_nb": nb, "label_nb_fold": nb, "label_en": [t for t in [label.get("en")] if t],
        "label_words": [t for t in label.values() if t], "label_endings": analysis.endings(" ".join(nb)),
        "description_nb_fold": nb_text,
        "description_en": [t for t in [doc.description.get("en")] if t],
        "codes": doc.codes,
        "context": [t for t in (*doc.dataset_title.values(), doc.source_name, *list_titles(doc)) if t],
        "suggest": [t for t in (doc.name, *doc.label.values()) if t],
        **doc.facet_values(this_year, years), "code_list": [doc.code_list] if doc.code_list else [],
        # Periods: first and last year with data (one number each, cheap to compare), and for
        # the few variables with gaps, which years have data and which do not.
        "first_year": [years[0] if years else NO_YEAR], "last_year": [years[-1] if years else NO_YEAR],
        **gaps(years),
    }
    return {k: vs for k, vs in fields.items() if vs}


COVERED = ("source", "dataset")  # whose coverage the backends keep with the index
Labels = dict[str, dict[str, dict[str, str]]]      # facet -> value -> display name
Coverage = dict[str, dict[str, list[dict]]]        # "source"/"dataset" -> id -> periods (JSON)
Groups = dict[str, dict[str, str]]                  # facet -> value -> the value it is grouped under


MERGE_AT = 10_000  # periods gathered per register and source before they are merged


class Summary:
    """What a backend keeps beside its index, so pages need not read every document: the
    display names of facet values, each source's and dataset's coverage (its variables'
    periods merged, gaps kept), and the holder (publisher) each source is grouped under.

    It is kept by register (dataset facet value): a change that rewrites some registers'
    documents summarizes those again and leaves the others' parts as they are, and the whole
    is folded from the parts, registers in order, as from every document in that order."""

    def __init__(self, registers: dict[str, dict] | None = None):
        # register -> {"labels": [(facet, value, display name)], "periods": {source: [period]},
        #              "holders": {source: publisher}}, as JSON
        self.registers = registers or {}

    @classmethod
    def of(cls, docs: Iterable[VariableDoc]) -> Summary:
        summary = cls()
        summary.replace((), docs)
        return summary

    def replace(self, registers: Iterable[str], docs: Iterable[VariableDoc]) -> None:
        """Summarize `registers` again from `docs`, every document they hold now (a register
        with none is gone), and any other register `docs` are of."""
        for register in registers:
            self.registers.pop(register, None)
        labels: dict[str, dict[tuple[str, str], Text]] = defaultdict(dict)
        periods: dict[str, dict[str, list[Period]]] = defaultdict(lambda: defaultdict(list))
        holders: dict[str, dict[str, str]] = defaultdict(dict)
        for doc in docs:
            register = doc.dataset
            for facet, value, label in facet_labels(doc):
                labels[register][facet, value] = label
            found = periods[register][doc.source]
            found += doc.periods
            if len(found) > MERGE_AT:  # merged as they come: what is kept follows the periods, not the documents
                found[:] = merge_periods(found)
            if doc.publisher:
                holders[register][doc.source] = doc.publisher
        for register, by_source in periods.items():
            self.registers[register] = {
                "labels": [[facet, value, label] for (facet, value), label in labels[register].items()],
                "periods": {source: _dumped(merge_periods(found)) for source, found in by_source.items()},
                "holders": holders[register]}

    @staticmethod
    def changed(written: list[VariableDoc], before: list[VariableDoc]) -> set[str]:
        """The registers a patch must summarize again, given the documents it writes and
        `before`, the indexed documents it replaces or removes: those of documents added or
        removed, or whose part in the summary (their facet values' names, periods, source and
        holder) or register changed. A label or a description rewritten leaves its register's
        summary as it was."""
        old, registers = {doc.id: doc for doc in before}, set()
        for doc in written:
            prior = old.pop(doc.id, None)
            if prior is None or _part(prior) != _part(doc):
                registers |= {doc.dataset, *([prior.dataset] if prior else [])}
        return registers | {doc.dataset for doc in old.values()}  # those removed

    def update(self, other: Summary) -> None:
        """Add `other`, a summary of other documents (of the same registers or not), as if its
        documents had come after these."""
        for register, theirs in other.registers.items():
            if (ours := self.registers.get(register)) is None:
                self.registers[register] = theirs
                continue
            labels = {(facet, value): label for facet, value, label in ours["labels"] + theirs["labels"]}
            ours["labels"] = [[facet, value, label] for (facet, value), label in labels.items()]
            for source, found in theirs["periods"].items():
                ours["periods"][source] = _dumped(merge_periods(
                    [Period.model_validate(p) for p in ours["periods"].get(source, []) + found]))
            ours["holders"].update(theirs["holders"])

    def whole(self) -> tuple[Labels, Coverage, Groups]:
        labels: Labels = {facet: {} for facet in FILTERS}
        groups: Groups = {"source": {}}
        periods: dict[str, dict[str, list[Period]]] = {facet: defaultdict(list) for facet in COVERED}
        for register, part in sorted(self.registers.items()):
            for facet, value, label in part["labels"]:
                labels[facet][value] = label
            for source, found in part["periods"].items():
                found = [Period.model_validate(p) for p in found]
                periods["source"][source] += found
                periods["dataset"][register] += found
            groups["source"].update(part["holders"])
        return labels, {facet: {value: _dumped(merge_periods(found)) for value, found in periods[facet].items()}
                        for facet in COVERED}, groups


def _part(doc: VariableDoc) -> tuple:
    """What a document gives its register's summary (see Summary.replace)."""
    return doc.dataset, doc.source, doc.publisher, list(facet_labels(doc)), doc.periods


def _dumped(periods: list[Period]) -> list[dict]:
    return [p.model_dump(mode="json") for p in periods]


def gaps(years: list[int]) -> dict[str, list[int]]:
    """For a variable whose years with data have gaps: those years, the missing ones, and
    the decades with no data at all between its first and last year."""
    if not years or years[-1] - years[0] + 1 == len(years):
        return {}
    have = set(years)
    missing = [y for y in range(years[0], years[-1]) if y not in have]
    decades = {y // 10 * 10 for y in years}
    return {"gap_years": years, "missing_years": missing,
            "missing_decades": sorted({str(y // 10 * 10) for y in missing} - {str(d) for d in decades})}


class Names:
    """The names of datasets, sources and code lists as words, folded once: suggestions
    look them up as one types."""

    def __init__(self, labels: Labels):
        self._names = []
        for facet in ("dataset", "source", "code_list"):
            for value, label in sorted(labels.get(facet, {}).items()):
                name = label.get("nb") or next(iter(label.values()), value)
                self._names.append((Suggestion(kind=facet, id=value, text=name),
                                    " " + " ".join(analysis.words(analysis.fold(name)))))

    def starting(self, text: str, limit: int) -> list[Suggestion]:
        """Datasets, sources, then code lists, whose names have words starting as `text` is typed."""
        typed = analysis.words(analysis.fold(text))
        if not typed:  # only punctuation or symbols: no word to start a name with
            return []
        # The typed words start consecutive words of a name, the last one a prefix: as text,
        # " w1 w2" within " ... w1 w2... ..." (words have no spaces, so the match starts at a word).
        written = " " + " ".join(typed)
        return [found for found, words in self._names if written in words][:limit]


def named(labels: Labels, text: str, limit: int) -> list[Suggestion]:
    """Datasets, sources, then code lists, whose names have words starting as `text` is typed."""
    return Names(labels).starting(text, limit)
