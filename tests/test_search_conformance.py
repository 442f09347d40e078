"""One suite every search backend must pass: what an applicant types, and what they must get.

It runs on the embedded backend and on a real two-node OpenSearch cluster (started once per
run from Maven Central's artifacts, see opensearch_cluster.py; skipped, saying why, where
Java or Maven Central is missing), and on Elasticsearch when CATALOGUE_ES_URL points at a
server (no Elasticsearch can be installed where the suite usually runs):

    CATALOGUE_ES_URL=http://localhost:9200 .venv/bin/python -m pytest tests/test_search_conformance.py

Tests of what a backend does not claim (its `capabilities`) are skipped, saying which.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
import tantivy
from fastapi.testclient import TestClient

from catalogue.model.models import Period
from catalogue.search import ConceptIndex, EmbeddedBackend, Query, VariableDoc, analysis, open_backend
from catalogue.search.concepts import counted
from catalogue.search.documents import Concept, Register
from catalogue.search.elastic import ElasticBackend
from catalogue.search.fields import RESCORE_WINDOW
from catalogue.search.query import Via
from catalogue.settings import Settings
from catalogue.site.app import create_app
from opensearch_cluster import Cluster

XSD_INT = "integer"
ICD10 = "https://example.test/codelist/icd10"
GROUPS = "https://example.test/codelist/groups"  # ICD-10 codes in ranges
ICPC2 = "https://example.test/codelist/icpc2"


def variable(id: str, name: str, label_nb: str, description: str = "", *, label_en: str = "",
             source: str = "mfr", dataset: str = "mfr/mfr", value_type: str = XSD_INT,
             code_list: str | None = None, codes: list[str] = (), start: int = 1967,
             end: int | None = None, access: str = "NON_PUBLIC", themes: list[str] = (),
             periods: list[Period] | None = None, code_list_title: str = "") -> VariableDoc:
    label = {"nb": label_nb, **({"en": label_en} if label_en else {})}
    return VariableDoc(
        id=id, uri=f"https://example.test/variable/{id}", name=name, label=label,
        description={"nb": description} if description else {}, source=source,
        source_name={"mfr": "Medisinsk fødselsregister", "npr": "Norsk pasientregister",
                     "hus": "Helseundersøkelsen"}[source],
        publisher="https://example.test/fhi", publisher_name={"nb": "Folkehelseinstituttet"},
        dataset=dataset, dataset_uri=f"https://example.test/dataset/{dataset}",
        dataset_title={"nb": {"mfr/mfr": "Medisinsk fødselsregister", "npr/somatikk": "Somatikk",
                              "hus/2024": "Helseundersøkelsen 2024"}[dataset]},
        themes=list(themes), value_type="code_list" if code_list else value_type,
        code_list=code_list, codes=list(codes),
        code_list_title={"nb": code_list_title} if code_list_title else {},
        access_rights=f"http://publications.europa.eu/resource/authority/access-right/{access}",
        periods=[Period(start=date(start, 1, 1), end=date(end, 12, 31) if end else None)]
        if periods is None else periods)


DOCS = [
    variable("mfr/mfr/VEKT", "VEKT", "Fødselsvekt", "Barnets vekt i gram ved fødselen.",
             label_en="Birth weight"),
    variable("mfr/mfr/MORS_VEKT", "MORS_VEKT", "Mors vekt før svangerskapet", "Egenrapportert vekt.",
             start=2006),
    variable("mfr/mfr/ROYK", "ROYK", "Røyking ved svangerskapets start", "Mors røykevaner.",
             label_en="Smoking at start of pregnancy", value_type="code_list", start=1999,
             code_list="https://example.test/codelist/royk", codes=["1 Røykte ikke", "3 Røykte daglig"]),
    variable("mfr/mfr/SVLEN", "SVLEN", "Svangerskapslengde", "Lengden i uker, fastsatt ved ultralyd.",
             label_en="Gestational age"),
    variable("mfr/mfr/KMI", "KMI_FOER", "Kroppsmasseindeks før svangerskapet",
             "Vekt delt på høyden i annen.", start=2006),
    variable("mfr/mfr/TID", "TID_FODSEL", "Tid før fødsel", "Timer fra innleggelse.", start=1999, end=2011),
    variable("mfr/mfr/GRUNN", "GRUNN", "Grunn for innleggelse", "Årsak oppgitt av jordmor."),
    variable("npr/somatikk/HDIAG", "HOVEDDIAGNOSE", "Hoveddiagnose", "Tilstanden som var hovedårsaken.",
             source="npr", dataset="npr/somatikk", code_list=ICD10, start=2008, code_list_title="ICD-10 diagnoser",
             codes=["I21 Akutt hjerteinfarkt", "E11 Diabetes mellitus type 2", "J45 Astma"]),
    variable("npr/somatikk/OMSORG", "OMSORGSNIVA", "Omsorgsnivå", "Døgnopphold, dagbehandling eller poliklinikk.",
             source="npr", dataset="npr/somatikk", start=1999, end=2008),
    variable("npr/somatikk/INNDATO", "INNDATO", "Innskrivningsdato", "Dato for innleggelse på sykehus.",
             source="npr", dataset="npr/somatikk", start=2008, value_type="date"),
    variable("hus/2024/VEKT", "VEKT", "Vekt", "Egenrapportert kroppsvekt i kilo.", source="hus",
             dataset="hus/2024", start=2024, access="RESTRICTED"),
    variable("hus/2024/GAP", "FYSAKT", "Fysisk aktivitet", "Spurt om i 1975 og igjen fra 2008.", source="hus",
             dataset="hus/2024", periods=[Period(start=date(1975, 1, 1), end=date(1975, 12, 31)),
                                          Period(start=date(2008, 1, 1))]),
    variable("hus/2024/UTEN", "UTEN_PERIODE", "Uten periode", "Ingen perioder oppgitt.", source="hus",
             dataset="hus/2024", periods=[]),
    variable("hus/2024/ROYKER", "ROYKER", "Røyker du?", "Om personen røyker daglig, av og til eller aldri.",
             source="hus", dataset="hus/2024", start=2024, access="RESTRICTED"),
]


BACKENDS = ["embedded", "opensearch", "elasticsearch"]


@pytest.fixture(scope="session")
def opensearch(tmp_path_factory) -> Iterator[Cluster]:
    """A two-node OpenSearch cluster for the whole run (about 15 s to start, more the first
    time Maven downloads the server)."""
    cluster = Cluster(tmp_path_factory.mktemp("opensearch"))
    try:
        cluster.start_all()
        yield cluster
    finally:
        cluster.stop()


def _server(kind: str, request) -> ElasticBackend:
    return ElasticBackend(_url(kind, request), f"catalogue-test-{uuid.uuid4().hex[:8]}", product=kind)


def _url(kind: str, request) -> str:
    if kind == "opensearch":
        return request.getfixturevalue("opensearch").url
    if not (url := os.environ.get("CATALOGUE_ES_URL")):
        pytest.skip("no Elasticsearch server: set CATALOGUE_ES_URL to run the suite against one")
    return url


def _built(request, tmp_path_factory, docs: list[VariableDoc]):
    kind = request.param
    engine = EmbeddedBackend(tmp_path_factory.mktemp("index")) if kind == "embedded" else _server(kind, request)
    engine.rebuild(docs)
    yield engine
    if kind != "embedded":
        engine.drop()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request, tmp_path_factory):
    yield from _built(request, tmp_path_factory, DOCS)


def needs(backend, capability: str) -> None:
    if capability not in backend.capabilities:
        pytest.skip(f"{type(backend).__name__} does not claim {capability!r}")


def ids(backend, text: str = "", **query) -> list[str]:
    return [hit.id for hit in backend.search(Query(text=text, size=100, **query)).items]


# -- ranking and language ------------------------------------------------------

def test_a_short_name_typed_exactly_comes_first(backend):
    assert set(ids(backend, "VEKT")[:2]) == {"mfr/mfr/VEKT", "hus/2024/VEKT"}
    assert ids(backend, "svlen")[0] == "mfr/mfr/SVLEN"


def test_inflected_norwegian_finds_the_base_form(backend):
    assert "mfr/mfr/ROYK" in ids(backend, "røykevanene")  # "røykevaner" in the description
    assert ids(backend, "hoveddiagnosen")[0] == "npr/somatikk/HDIAG"


def test_a_word_finds_the_compounds_it_is_part_of(backend):
    needs(backend, "compounds")
    found = ids(backend, "vekt")
    assert {"mfr/mfr/VEKT", "mfr/mfr/MORS_VEKT", "hus/2024/VEKT"} <= set(found)
    # and a compound finds the same words written apart
    assert ids(backend, "vekt ved fødsel")[0] == "mfr/mfr/VEKT"
    assert "mfr/mfr/SVLEN" in ids(backend, "lengde")


def test_the_words_compounds_are_split_into_are_no_compounds_themselves():
    from catalogue.search import analysis
    parts = set(analysis.parts_of(["fødselsvekt", "fødsel", "vekt", "blodtrykk", "trykk", "hjerteinfarkt", "hjerte",
                                   "infarkt", "hjerteinfarktregister", "register", "ulykke"]))
    # "blodtrykk" ends with a word of the list, but begins with none: it stays whole
    assert {"fødsel", "fødsels", "vekt", "trykk", "blodtrykk", "hjerte", "infarkt", "register", "ulykke"} <= parts
    # made of two or three words of the list (one with a linking "s"): split, not kept
    assert not {"fødselsvekt", "hjerteinfarkt", "hjerteinfarktregister"} & parts


def test_a_word_typed_without_æøå_is_found_but_the_exact_spelling_ranks_higher(backend):
    assert ids(backend, "fodselsvekt")[0] == "mfr/mfr/VEKT"
    assert ids(backend, "royking")[0] == "mfr/mfr/ROYK"
    # "før" and "for" are different words: the one typed wins, the other still shows
    found = ids(backend, "før")
    assert found.index("mfr/mfr/TID") < found.index("mfr/mfr/GRUNN")
    found = ids(backend, "for")
    assert found.index("mfr/mfr/GRUNN") < found.index("mfr/mfr/TID")


def test_english_labels_are_searchable(backend):
    assert ids(backend, "birth weight")[0] == "mfr/mfr/VEKT"
    assert ids(backend, "smoking")[0] == "mfr/mfr/ROYK"


def test_a_typo_in_a_long_word_is_forgiven_but_not_in_a_short_one(backend):
    needs(backend, "typos")
    assert ids(backend, "svangerskapslengd")[0] == "mfr/mfr/SVLEN"
    assert ids(backend, "innskrivingsdato")[0] == "npr/somatikk/INNDATO"
    assert ids(backend, "vkt") == []


def test_a_typo_in_the_name_of_a_register_finds_its_variables(backend):
    needs(backend, "typos")
    # "Somatikk" is the title of their dataset, not a word of their own
    assert set(ids(backend, "somatik")) == {"npr/somatikk/HDIAG", "npr/somatikk/OMSORG", "npr/somatikk/INNDATO"}


def test_synonyms_from_the_vocabularies_widen_a_query(backend):
    needs(backend, "synonyms")
    assert ids(backend, "BMI")[0] == "mfr/mfr/KMI"
    assert "npr/somatikk/INNDATO" in ids(backend, "sjukehus")  # nynorsk for "sykehus"


def test_an_adjective_finds_the_noun_that_measures_it(backend):
    needs(backend, "synonyms")
    assert ids(backend, "hvor lang")[0] == "mfr/mfr/SVLEN"  # "lang" asks for a length: "Svangerskapslengde"


def test_a_misspelt_word_reaches_the_synonyms_of_the_label_it_is_near(backend):
    needs(backend, "synonyms")
    # "hospittal" is "hospital", a synonym of "sykehus" (in INNDATO's description)
    assert "npr/somatikk/INNDATO" in ids(backend, "hospittal")


def test_codes_of_a_code_list_find_the_variables_coded_with_them(backend):
    assert ids(backend, "hjerteinfarkt") == ["npr/somatikk/HDIAG"]


def test_matched_words_are_marked(backend):
    needs(backend, "highlight")
    hit = backend.search(Query(text="vekt")).items
    vekt = next(h for h in hit if h.id == "mfr/mfr/VEKT")
    assert [tuple(s) for s in vekt.highlight["label"]["nb"]] == [("Fødselsvekt", True)]
    description = vekt.highlight["description"]["nb"]
    assert "".join(text for text, _ in description) == "Barnets vekt i gram ved fødselen."
    assert [text for text, hit in description if hit] == ["vekt"]


def test_a_synonym_of_several_words_is_marked_only_where_it_is_spelt_whole(backend):
    needs(backend, "highlight")
    # "barnets vekt i hele gram" is a synonym of "fødselsvekt": its "Barnets" alone is no match
    vekt = next(h for h in backend.search(Query(text="fødselsvekt")).items if h.id == "mfr/mfr/VEKT")
    assert [text for text, hit in vekt.highlight["description"]["nb"] if hit] == ["vekt", "fødselen"]


def test_words_first_met_by_another_search_are_marked_as_if_met_by_this_one():
    """Searches at the same time share what they learnt of the words of hits: a word first
    met by another search after this one started is still marked here, and only where it matches."""
    folded = analysis.Vocabulary(lambda text: frozenset(analysis.words(analysis.fold(text))))
    weight = analysis.matcher("vekt", folded)
    height = analysis.matcher("høyde", folded)
    assert height(["Barnets", "høyde", "og", "vekt"]) == [False, True, False, False]
    assert weight(["Barnets", "høyde", "og", "vekt"]) == [False, False, False, True]
    assert weight(["vekt", "og", "høyde"]) == [True, False, False]
    assert analysis.matcher("vekt", folded)(["Vekt", "høyde"]) == [True, False]  # one made after


def test_function_words_are_neither_scored_nor_marked(backend):
    found = ids(backend, "vekt i svangerskapet")
    assert found[0] == "mfr/mfr/MORS_VEKT"
    # "i" alone would bring in every description with the word (physical activity "spurt om i 1975")
    assert "hus/2024/GAP" not in found
    if "highlight" in backend.capabilities:
        vekt = next(h for h in backend.search(Query(text="vekt i svangerskapet")).items if h.id == "mfr/mfr/VEKT")
        assert [text for text, hit in vekt.highlight["description"]["nb"] if hit] == ["vekt"]


def test_a_query_of_function_words_alone_is_searched_as_typed(backend):
    assert set(ids(backend, "om")) == {"hus/2024/GAP", "hus/2024/ROYKER"}
    assert ids(backend, "av og til") == ["hus/2024/ROYKER"]


# -- filters, facets, sorting ----------------------------------------------------

def test_facet_counts_respect_the_other_filters_but_not_their_own(backend):
    page = backend.search(Query(filters={"source": ("mfr",)}))
    assert page.total == 7
    counts = {f: {v.value: v.count for v in values} for f, values in page.facets.items()}
    assert counts["source"] == {"mfr": 7, "npr": 3, "hus": 4}  # other sources stay choosable
    assert counts["dataset"] == {"mfr/mfr": 7}
    assert counts["has_code_list"] == {"no": 6, "yes": 1}
    both = backend.search(Query(filters={"source": ("mfr", "npr")}))
    assert both.total == 10
    narrowed = backend.search(Query(filters={"source": ("mfr", "npr"), "has_code_list": ("yes",)}))
    assert {h.id for h in narrowed.items} == {"mfr/mfr/ROYK", "npr/somatikk/HDIAG"}
    assert {v.value: v.count for v in narrowed.facets["source"]} == {"mfr": 1, "npr": 1}


def test_sources_are_grouped_under_their_holders(backend):
    sources = backend.search(Query()).facets["source"]
    assert {v.value: v.group for v in sources} == {s: "https://example.test/fhi" for s in ("mfr", "npr", "hus")}


def test_facets_count_access_value_type_and_decades(backend):
    page = backend.search(Query(text="vekt"))
    counts = {f: {v.value: v.count for v in values} for f, values in page.facets.items()}
    restricted = "http://publications.europa.eu/resource/authority/access-right/RESTRICTED"
    assert counts["access_rights"][restricted] == 1
    assert counts["decade"]["2020"] == 4 and counts["decade"]["1960"] == 1  # KMI: "vekt" in its description
    assert ids(backend, filters={"decade": ("1960",)}) == sorted(
        d.id for d in DOCS if d.periods and d.periods[0].start.year < 1970)


def test_decade_counts_match_what_filtering_by_the_decade_finds(backend):
    counts = {v.value: v.count for v in backend.search(Query()).facets["decade"]}
    assert set(counts) == {str(d) for d in range(1960, 2030, 10)}
    for decade, count in counts.items():
        assert count == len(ids(backend, filters={"decade": (decade,)})), decade
    gapped = {d for d, c in counts.items() if "hus/2024/GAP" in ids(backend, filters={"decade": (d,)})}
    assert gapped == {"1970", "2000", "2010", "2020"}  # not the 1980s and 1990s of its gap


def test_period_filters_overlap_and_cover(backend):
    overlap = set(ids(backend, year_from=2000, year_to=2005))
    assert "npr/somatikk/OMSORG" in overlap and "npr/somatikk/INNDATO" not in overlap
    assert "hus/2024/GAP" not in overlap and "hus/2024/UTEN" not in overlap  # in its gap; no periods
    assert "hus/2024/GAP" in set(ids(backend, year_from=1970, year_to=1980))
    cover = set(ids(backend, year_from=2005, year_to=2010, period="cover"))
    assert "npr/somatikk/OMSORG" not in cover and "mfr/mfr/VEKT" in cover


def test_sorting(backend):
    by_name = [backend.get(i).name for i in ids(backend, sort="name")]
    assert by_name == sorted(by_name, key=str.lower)
    first_year = lambda i: backend.get(i).periods[0].start.year if backend.get(i).periods else None  # noqa: E731
    firsts = [first_year(i) for i in ids(backend, sort="first_year")]
    assert firsts[-1] is None and firsts[:-1] == sorted(firsts[:-1])  # no periods: last
    latest = [y for y in map(first_year, ids(backend, sort="-first_year")) if y]
    assert latest == sorted(latest, reverse=True)
    sources = [backend.get(i).source for i in ids(backend, "vekt", sort="source")]
    assert sources == sorted(sources)


def test_paging_and_total(backend):
    first = backend.search(Query(size=5))
    second = backend.search(Query(size=5, page=2))
    assert first.total == second.total == len(DOCS)
    assert not {h.id for h in first.items} & {h.id for h in second.items}


def test_several_words_that_find_nothing_answer_with_no_hits(backend):
    """Where words typed together find nothing, there is nothing to order by how close they
    stand: an applicant's own words get an empty page (and the site its help), not an error."""
    for typed in ("qwertz asdfgh", "zzqx vvbnm plkjh"):
        page = backend.search(Query(text=typed))
        assert (page.total, page.items) == (0, [])


# -- suggestions, lookups, rebuilding --------------------------------------------

def test_suggestions_name_variables_datasets_and_sources(backend):
    needs(backend, "suggest")
    found = {(s.kind, s.text) for s in backend.suggest("fød")}
    assert ("variable", "Fødselsvekt") in found
    assert ("dataset", "Medisinsk fødselsregister") in found or ("source", "Medisinsk fødselsregister") in found
    assert {s.text for s in backend.suggest("mors v")} == {"Mors vekt før svangerskapet"}
    assert backend.suggest("zzzz") == []


def test_coverage_of_sources_and_datasets_is_kept_with_the_index(backend):
    hus = backend.coverage("source", "hus")
    assert [(p.start, p.end) for p in hus] == [(date(1975, 1, 1), date(1975, 12, 31)), (date(2008, 1, 1), None)]
    assert backend.coverage("dataset", "npr/somatikk") == [Period(start=date(1999, 1, 1))]
    assert backend.coverage("source", "nope") == []


def test_code_lists_are_named_and_filter_their_variables(backend):
    assert ("code_list", "ICD-10 diagnoser") in {(s.kind, s.text) for s in backend.suggest("diagnoser")}
    assert [(s.kind, s.text) for s in backend.named("icd", 3)] == [("code_list", "ICD-10 diagnoser")]
    assert ids(backend, filters={"code_list": (ICD10,)}) == ["npr/somatikk/HDIAG"]
    assert ids(backend, "vekt", filters={"code_list": (ICD10,)}) == []


def test_get_and_matching(backend):
    assert backend.get("mfr/mfr/VEKT").label["en"] == "Birth weight"
    assert backend.get("nope") is None
    assert sorted(d.id for d in backend.documents(["npr/somatikk/OMSORG", "nope", "mfr/mfr/VEKT"])) == [
        "mfr/mfr/VEKT", "npr/somatikk/OMSORG"]
    assert backend.documents([]) == []
    assert [d.id for d in backend.matching(Query(filters={"source": ("npr",)}))] == [
        "npr/somatikk/HDIAG", "npr/somatikk/INNDATO", "npr/somatikk/OMSORG"]


def test_a_rebuild_replaces_everything(backend):
    try:
        backend.rebuild(DOCS[:2])
        assert ids(backend) == ["mfr/mfr/MORS_VEKT", "mfr/mfr/VEKT"]
        assert backend.get("npr/somatikk/HDIAG") is None
    finally:
        backend.rebuild(DOCS)
    assert len(ids(backend)) == len(DOCS)


def kept_beside(backend) -> tuple:
    """What a backend keeps beside its index, as pages show it: facet values with their names
    and groups, each source's and dataset's coverage, and the names suggested."""
    facets = backend.search(Query()).facets
    return (facets,
            {(facet, v.value): backend.coverage(facet, v.value) for facet in ("source", "dataset")
             for v in facets[facet]},
            [backend.named(text, 10) for text in ("helse", "medisinsk", "somatikk", "icd")])


def test_a_patch_writes_and_removes_documents_and_what_is_kept_beside_follows(backend):
    vekt = next(d for d in DOCS if d.id == "mfr/mfr/VEKT")
    try:
        backend.patch([vekt.model_copy(update={"label": {"nb": "Vekt ved fødsel", "en": "Weight at birth"}}),
                       variable("npr/somatikk/UTDATO", "UTDATO", "Utskrivningsdato", "Dato for utskriving.",
                                source="npr", dataset="npr/somatikk", start=1990)], ["hus/2024/GAP", "nope"])
        assert backend.get("mfr/mfr/VEKT").label["en"] == "Weight at birth"
        assert ids(backend, "weight at birth")[0] == "mfr/mfr/VEKT"
        assert ids(backend, "utskrivningsdato")[0] == "npr/somatikk/UTDATO"
        assert backend.get("hus/2024/GAP") is None
        assert len(ids(backend)) == len(DOCS)  # one added, one removed, one replaced
        # What is kept beside the index follows: coverage without the gap, from the new start.
        assert backend.coverage("dataset", "npr/somatikk") == [Period(start=date(1990, 1, 1))]
        assert backend.coverage("source", "hus") == [Period(start=date(2024, 1, 1))]

        # A register whose last documents are removed is gone from facets, coverage and names.
        backend.patch(gone=[d.id for d in DOCS if d.dataset == "hus/2024"])
        assert "hus/2024" not in {v.value for v in backend.search(Query()).facets["dataset"]}
        assert backend.coverage("dataset", "hus/2024") == backend.coverage("source", "hus") == []
        assert backend.named("helseundersøkelsen", 10) == []
        # A variable moved to another register leaves its old register's coverage.
        utdato = backend.get("npr/somatikk/UTDATO")
        backend.patch([utdato.model_copy(update={"dataset": "mfr/mfr", "dataset_title": {"nb": "Medisinsk fødselsregister"}})])
        assert backend.coverage("dataset", "npr/somatikk") == [Period(start=date(1999, 1, 1))]
        # A variable whose periods changed moves its register's coverage; one whose label changed does not.
        vekt = backend.get("mfr/mfr/VEKT")
        backend.patch([vekt.model_copy(update={"periods": [Period(start=date(1890, 1, 1), end=date(1899, 12, 31))]})])
        assert backend.coverage("dataset", "mfr/mfr")[0] == Period(start=date(1890, 1, 1), end=date(1899, 12, 31))
        before = kept_beside(backend)
        backend.patch([backend.get("mfr/mfr/VEKT").model_copy(update={"label": {"nb": "Fødselsvekt i gram"}})])
        assert kept_beside(backend) == before
        # and what is kept is what a new index of the same documents keeps
        patched = kept_beside(backend)
        backend.rebuild(backend.matching(Query()))
        assert kept_beside(backend) == patched
    finally:
        backend.rebuild(DOCS)


# A patch in a process of its own, killed (CATALOGUE_KILL_AT) at its first write boundary.
KILLED_PATCH = """import sys
from catalogue.search import VariableDoc
from catalogue.search.elastic import ElasticBackend
url, alias, product, doc = sys.argv[1:]
ElasticBackend(url, alias, product=product).patch([VariableDoc.model_validate_json(doc)])"""


@pytest.mark.parametrize("kind", ["opensearch", "elasticsearch"])
def test_a_server_patch_is_seen_whole_by_every_server_or_not_at_all(kind, request):
    url = _url(kind, request)
    writer = _server(kind, request)
    writer.rebuild(DOCS)
    try:
        reader = ElasticBackend(url, writer.alias, product=kind)  # a site's server, in another process
        before = kept_beside(reader)
        new = variable("npr/somatikk/UTDATO", "UTDATO", "Utskrivningsdato", "Dato for utskriving.",
                       source="npr", dataset="npr/somatikk", start=1990)
        # Killed after writing the patch, before the alias names it: searches see the index before it.
        killed = subprocess.run([sys.executable, "-c", KILLED_PATCH, url, writer.alias, kind, new.model_dump_json()],
                                env={**os.environ, "CATALOGUE_KILL_AT": "1"}, capture_output=True, text=True,
                                timeout=300)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert reader.get(new.id) is None and new.id not in ids(reader, "utskrivningsdato")
        assert kept_beside(reader) == before
        # The next run patches again; a server that read the index before sees the new one with
        # the coverage that goes with it, and the killed patch's copy is gone.
        writer.patch([new])
        assert ids(reader, "utskrivningsdato")[0] == new.id
        assert reader.coverage("dataset", "npr/somatikk") == [Period(start=date(1990, 1, 1))]
        assert kept_beside(reader) != before
        assert len(writer._own_indexes()) == 2  # the one aliased, and the one before it
    finally:
        writer.drop()


def test_an_embedded_patch_shares_the_files_it_keeps_and_leaves_the_index_before_it_whole(tmp_path):
    backend = EmbeddedBackend(tmp_path)
    backend.rebuild(DOCS)
    before = tmp_path / (tmp_path / "CURRENT").read_text()
    files = {p.name: p.read_bytes() for p in before.iterdir()}
    vekt = next(d for d in DOCS if d.id == "mfr/mfr/VEKT")
    backend.patch([vekt.model_copy(update={"label": {"nb": "Vekt ved fødsel"}})], ["hus/2024/GAP"])
    after = tmp_path / (tmp_path / "CURRENT").read_text()
    assert after != before and backend.get("hus/2024/GAP") is None
    # The index before (a server in another process may be reading it still) is as it was,
    assert {p.name: p.read_bytes() for p in before.iterdir()} == files
    assert EmbeddedBackend._docs(tantivy.Index.open(str(before)).searcher(), tantivy.Query.all_query()) == \
        sorted(DOCS, key=lambda d: d.id)
    # and the new one shares its segments' files, not copies of them.
    shared = [p for p in after.iterdir() if p.suffix in (".idx", ".store") and (before / p.name).exists()]
    assert shared and all(p.stat().st_ino == (before / p.name).stat().st_ino for p in shared)


def test_searches_answer_the_same_when_a_node_of_the_cluster_dies(opensearch):
    engine = ElasticBackend(opensearch.url, f"catalogue-test-{uuid.uuid4().hex[:8]}", product="opensearch")
    engine.rebuild(DOCS)
    opensearch.wait_until_whole()
    copies = httpx.get(f"{opensearch.node_url(opensearch.names[0])}/_cat/shards/{engine.alias}",
                       params={"format": "json"}, timeout=10).json()
    assert sorted(c["prirep"] for c in copies) == ["p", "r"]  # one replica per shard,
    assert {c["node"] for c in copies} == set(opensearch.names)  # one copy on each node

    def answers():
        return ([engine.search(q) for q in (Query(text="vekt"), Query(text="røykevanene"), Query(),
                                             Query(filters={"source": ("npr",)}), Query(year_from=1975,
                                                                                        year_to=1980))],
                engine.suggest("fød"), engine.get("mfr/mfr/VEKT"), engine.matching(Query(text="vekt")),
                engine.coverage("source", "hus"))
    before = answers()
    assert before[0][0].total > 0 and before[1]
    # A two-node cluster keeps a cluster manager only while the elected one lives: the other goes.
    victim = next(name for name in opensearch.names if name != opensearch.manager())
    opensearch.kill(victim)
    try:
        assert answers() == before
    finally:
        opensearch.start(victim)  # so that the cluster is whole again for the other tests
        opensearch.wait_until_whole()
        engine.drop()


def test_the_settings_choose_opensearch_and_its_nodes(opensearch, tmp_path):
    settings = Settings(data_dir=tmp_path, sources_file=tmp_path / "sources.toml", base_uri="http://x.test/",
                        search="opensearch", es_url=opensearch.url, es_index=f"catalogue-test-{uuid.uuid4().hex[:8]}")
    engine = open_backend(settings)
    engine.rebuild(DOCS)
    try:
        assert ids(engine, "fødselsvekt")[0] == "mfr/mfr/VEKT"
    finally:
        engine.drop()


def test_the_explorer_api_answers_what_the_backend_finds(backend, request, tmp_path):
    """The site's search API over each backend: the embedded index in the data directory, or
    a search server (no other test searches OpenSearch through the site)."""
    kind = request.node.callspec.params["backend"]
    data = tmp_path / "data"
    data.mkdir()
    if kind == "embedded":
        (data / "index").symlink_to(backend.root)
    server = {} if kind == "embedded" else {"es_url": _url(kind, request), "es_index": backend.alias}
    settings = Settings(data_dir=data, sources_file=data / "sources.toml", base_uri="http://x.test/", search=kind,
                        **server)
    with TestClient(create_app(settings)) as client:
        found = client.get("/api/variables", params={"q": "vekt"}).json()
    assert found["total"] == backend.search(Query(text="vekt")).total > 1
    assert [hit["id"] for hit in found["items"]] == ids(backend, "vekt")[:20]


def test_a_server_backend_without_its_client_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "opensearchpy", None)  # as if opensearch-py were not installed
    with pytest.raises(RuntimeError, match=r"CATALOGUE_SEARCH=opensearch needs the opensearchpy client: "
                                           r"pip install '\.\[opensearch\]'"):
        ElasticBackend("http://127.0.0.1:9200", "catalogue-test", product="opensearch")


# -- concepts of code lists ------------------------------------------------------

CONCEPTS = [Concept(code_list=ICD10, code_list_title={"nb": "ICD-10 diagnoser"}, notation=code, labels=[label])
            for code, label in [("C34", "Ondartet svulst i bronkie og lunge"), ("E11", "Diabetes mellitus type 2"),
                                ("O244", "Diabetes mellitus som oppstår under svangerskap"), ("J45", "Astma"),
                                ("P070", "Ekstremt lav fødselsvekt"), ("C61", "Ondartet svulst i blærehalskjertel"),
                                ("C509", "Ondartet svulst i bryst, uspesifisert")]] + [
    Concept(code_list=GROUPS, code_list_title={"nb": "Diagnosegrupper"}, notation=code, labels=[label])
    for code, label in [("P05-P08", "Forstyrrelser knyttet til svangerskapets lengde og fostervekst"),
                        ("J40-J47", "Kroniske sykdommer i nedre luftveier")]]


@pytest.fixture(scope="module")
def concepts(tmp_path_factory) -> ConceptIndex:
    index = ConceptIndex(tmp_path_factory.mktemp("concepts"))
    index.rebuild(CONCEPTS, counted(d.label for d in DOCS), [Register(id="npr/somatikk", title={"nb": "Somatikk"},
                                            description={"nb": "Opphold på sykehus for somatiske lidelser."})])
    return index


@pytest.mark.parametrize("typed", ["lungekreft", "kreft i lunge", "lungecancer", "C34"])
def test_words_of_a_code_find_it_by_stem_compound_part_synonym_or_code(concepts, typed):
    [via] = concepts.via(typed)
    assert (via.code_list, via.code_list_title, via.notation, via.label) == (
        ICD10, "ICD-10 diagnoser", "C34", "Ondartet svulst i bronkie og lunge")


@pytest.mark.parametrize("typed, code", [
    ("prostatakreft", "C61"),  # "prostata" is "blærehalskjertel" by synonym, a compound matched by its parts
    ("brystkreft", "C509"),    # "uspesifisert" only sets the code apart from its neighbours
])
def test_a_concept_is_named_whole_by_a_compound_s_synonyms_and_without_its_qualifiers(concepts, typed, code):
    assert [v.notation for v in concepts.via(typed)] == [code]


def test_a_concept_the_words_name_only_a_little_of_is_no_way_to_its_list(concepts):
    assert concepts.via("fødselsvekt") == ()  # "Ekstremt lav fødselsvekt" is more than birth weight
    assert [v.notation for v in concepts.via("diabetes type 2")] == ["E11"]  # "mellitus" by synonym
    assert concepts.via("og") == concepts.via("") == ()


def test_a_query_through_a_concept_finds_the_variables_of_its_list_and_says_why(backend, concepts):
    found = backend.search(Query(text="lungekreft", via=concepts.via("lungekreft"))).items
    assert [hit.id for hit in found] == ["npr/somatikk/HDIAG"]
    assert [(v.notation, v.label) for v in found[0].via] == [("C34", "Ondartet svulst i bronkie og lunge")]
    # what the text finds stays; only the variables of the list say they were found through it
    both = backend.search(Query(text="hoveddiagnose vekt", via=concepts.via("lungekreft"), size=100)).items
    assert both[0].id == "npr/somatikk/HDIAG" and {"mfr/mfr/VEKT", "hus/2024/VEKT"} <= {h.id for h in both}
    assert all(not hit.via for hit in both[1:])


@pytest.mark.parametrize("typed, code", [
    ("C50.9", "C509"),  # written with its dot
    ("C50", "C509"),    # a category finds the codes it begins
    ("o24", "O244"),
])
def test_a_code_is_found_with_its_dot_or_as_its_category(concepts, typed, code):
    [via] = concepts.via(typed)
    assert (via.notation, via.score) == (code, 1.0)  # a code counts as one word, however written


@pytest.mark.parametrize("typed", ["ekstremt lav fødselsvekt", "P07"])
def test_a_code_that_subdivides_one_of_a_range_of_another_list_finds_that_list_too(concepts, typed):
    found = {v.notation: v for v in concepts.via(typed)}
    assert list(found) == ["P070", "P05-P08"]  # P070 subdivides P07, in P05-P08
    assert found["P05-P08"].code_list == GROUPS and found["P05-P08"].score == found["P070"].score / 2


def test_a_code_no_longer_than_the_ends_of_a_range_is_not_taken_to_lie_in_it(concepts):
    # another list's "J45" (as ICPC-2's "K75") may mean something else than ICD-10's
    assert [v.notation for v in concepts.via("astma")] == ["J45"]


def test_a_code_too_short_to_say_much_is_no_category(concepts):
    assert concepts.via("C5") == ()  # not every code of chapter C


def test_the_type_of_a_diagnosis_and_its_number_are_not_what_a_label_names(concepts):
    # "Diabetes mellitus type 2" is diabetes ("mellitus" by synonym)
    assert [v.notation for v in concepts.via("diabetes")] == ["E11"]


def test_a_misspelt_word_reaches_a_concept_as_a_weak_guess(concepts):
    [guess], [sure] = concepts.via("astmma"), concepts.via("astma")
    assert guess.notation == sure.notation == "J45" and guess.score < sure.score


def test_the_synonyms_of_a_near_label_are_not_those_of_a_longer_word():
    from catalogue.search import analysis
    assert "bidiagnose" not in analysis.synonyms("diagnose")  # a word is not a compound misspelt
    assert "sykepenger" in analysis.synonyms("sjukepengar") and "sjukepengar" not in analysis.synonyms("sjukepengar")


def test_a_search_that_finds_nothing_gets_spellings_concepts_and_registers(concepts):
    assert concepts.spellings("astmaa") == ["astma"]
    assert concepts.spellings("svangerskapslengd røykin") == ["svangerskapslengde røyking"]
    assert concepts.spellings("qwxyz") == []
    assert [c.notation for c in concepts.nearest("astmaa")] == ["J45"]
    assert [r.id for r in concepts.registers("somatiske")] == ["npr/somatikk"]
    assert concepts.registers("astma") == []


# -- variables as registers describe them ------------------------------------------

REGISTRY = [
    variable("npr/somatikk/INNLAGT", "ErInnlagtSykehus", "ErInnlagtSykehus", source="npr", dataset="npr/somatikk"),
    variable("mfr/mfr/EKLAMPSI", "EKLAMPSI", "Eklampsi totalt", "I svangerskapet, under fødsel eller etter."),
    variable("mfr/mfr/KREFT", "KREFT_MOR", "Mors kreftdiagnose", "Kreftdiagnosen kodet etter ICD-10.",
             code_list=ICD10, code_list_title="ICD-10 – diagnoser", codes=["C34 Ondartet svulst i bronkie og lunge"]),
    variable("npr/somatikk/HDIAG", "HOVEDTILSTAND", "Hovedtilstand", "Tilstanden som var hovedårsaken.",
             source="npr", dataset="npr/somatikk", code_list=ICD10, code_list_title="ICD-10 – diagnoser",
             codes=["C34 Ondartet svulst i bronkie og lunge"]),
    variable("npr/somatikk/DIAG", "DIAG_UT", "Diagnose (ICD-10)", "Diagnosen ved utskrivning.",
             source="npr", dataset="npr/somatikk"),
    variable("npr/somatikk/ALDER", "ALDER", "Alder", "Alder ved innleggelse.", source="npr", dataset="npr/somatikk"),
    variable("npr/somatikk/ICPC", "diagnoseICPC2", "Diagnose (ICPC-2)", "Diagnosen fastlegen satte.",
             source="npr", dataset="npr/somatikk"),
    variable("npr/somatikk/TVANG", "tvang10_2", "Tilbakeholdelse uten samtykke", "Etter § 10-2.",
             source="npr", dataset="npr/somatikk"),
    variable("npr/somatikk/SYKDOM", "SYKDOM", "Sykdom", "Det oppholdet gjaldt.", source="npr", dataset="npr/somatikk"),
    variable("npr/somatikk/BT", "BT_HOY", "Høyt blodtrykk", "Blodtrykket var høyt ved innkomst.",
             source="npr", dataset="npr/somatikk"),
    variable("npr/somatikk/SYS", "BT_SYS", "Systolisk blodtrykk", "Målt ved innkomst.", source="npr",
             dataset="npr/somatikk"),
    variable("npr/somatikk/BYTTE", "BYTTE", "Bytte", "Forskrev legen noe annet enn det utleverte legemidlet?",
             source="npr", dataset="npr/somatikk"),
    variable("npr/somatikk/FORSKRIVER", "FORSKRIVER", "Løpenummer",
             "Løpenummeret til legen som forskrev legemidlet, gitt av apoteket ved utlevering.",
             source="npr", dataset="npr/somatikk"),
    variable("npr/somatikk/KONTAKT", "KONTAKT", "Kontaktårsak", "Årsaken til kontakten, for eksempel myokardinfarkt.",
             source="npr", dataset="npr/somatikk", code_list=ICPC2, code_list_title="Primærhelsetjenestens koder"),
    variable("npr/somatikk/INFARKT", "INFARKT", "Myokardinfarkt", source="npr", dataset="npr/somatikk"),
    variable("npr/somatikk/PROS", "prosedyreKode", "Prosedyrekode", "Prosedyrer utført under oppholdet.",
             source="npr", dataset="npr/somatikk", code_list="https://example.test/codelist/ncsp",
             code_list_title="NCMP/NCSP"),
    variable("mfr/mfr/TVILLING", "TVILLING", "Tvillingfødsel", "Barnet har et søsken født samme dag."),
    variable("mfr/mfr/FOSTRE", "FOSTRE", "Antall fostre", "Oppgitt ved tvillingfødsel og trillingfødsel."),
]
LUNG_CANCER = Via(code_list=ICD10, code_list_title="ICD-10 – diagnoser", notation="C34",
                  label="Ondartet svulst i bronkie og lunge")


@pytest.fixture(scope="module", params=BACKENDS)
def registry(request, tmp_path_factory):
    yield from _built(request, tmp_path_factory, REGISTRY)


def test_a_label_written_in_camel_case_is_found_by_its_words(registry):
    assert ids(registry, "innlagt på sykehus") == ["npr/somatikk/INNLAGT"]


def test_a_compound_typed_finds_a_label_with_its_last_part(registry):
    assert ids(registry, "preeklampsi") == ["mfr/mfr/EKLAMPSI"]  # no label says "preeklampsi"


def test_through_a_concept_the_variables_that_share_a_word_with_the_query_come_first(registry):
    # all variables coded with the list, the one whose own words say cancer first; then one
    # whose label names the list without a link to it; nothing else
    assert ids(registry, "lungekreft", via=(LUNG_CANCER,)) == [
        "mfr/mfr/KREFT", "npr/somatikk/HDIAG", "npr/somatikk/DIAG"]


def test_through_a_concept_a_variable_whose_words_have_a_synonym_of_the_query_comes_first(registry):
    needs(registry, "synonyms")
    # "myokardinfarkt" is "hjerteinfarkt": the variable coded with the list that says so ranks
    # above a label that is the synonym but holds no code
    heart_attack = Via(code_list=ICPC2, code_list_title="Primærhelsetjenestens koder", notation="K75",
                       label="Akutt hjerteinfarkt")
    assert ids(registry, "hjerteinfarkt", via=(heart_attack,)) == ["npr/somatikk/KONTAKT", "npr/somatikk/INFARKT"]


def test_words_typed_together_found_together_rank_first(registry):
    # "forskrev legemidlet" together in a longer description, above the two words far apart
    assert ids(registry, "forskrev legemidlet")[:2] == ["npr/somatikk/FORSKRIVER", "npr/somatikk/BYTTE"]


# More variables with both words than the re-rank reads (RESCORE_WINDOW), each a little longer
# than the one before, so the words score less in each; the last, the longest, has them together.
CROWD = [variable(f"npr/somatikk/R{n:02}", f"R{n:02}", "Resept",
                  "Legemidlet ble utlevert, legen forskrev" + " utlevert" * n, source="npr", dataset="npr/somatikk")
         for n in range(RESCORE_WINDOW + 10)] + [
    variable("npr/somatikk/SAMMEN", "SAMMEN", "Resept", "Legen forskrev legemidlet" + " utlevert" * 90,
             source="npr", dataset="npr/somatikk")]


@pytest.fixture(scope="module", params=BACKENDS)
def crowd(request, tmp_path_factory):
    yield from _built(request, tmp_path_factory, CROWD)


def test_words_typed_together_reorder_only_the_top_hits(crowd):
    # "forskrev legemidlet" together lifts no hit from below the first RESCORE_WINDOW: they
    # come in the order of the same words typed apart, the one that has them together last
    together, apart = ids(crowd, "forskrev legemidlet"), ids(crowd, "legemidlet forskrev")
    assert together == apart and len(together) == len(CROWD) and together[-1] == "npr/somatikk/SAMMEN"
    # pages across the end of the window neither overlap nor skip
    pages = [crowd.search(Query(text="forskrev legemidlet", size=7, page=page)) for page in range(1, 10)]
    assert {page.total for page in pages} == {len(CROWD)}
    assert [hit.id for page in pages for hit in page.items] == together


def test_a_nynorsk_spelling_finds_what_its_bokmal_finds(registry):
    needs(registry, "synonyms")
    # no synonym list has "sjukdom", and it is two letters from "sykdom": the rule sjuk/syk spells it
    assert ids(registry, "sjukdom") == ["npr/somatikk/SYKDOM"]


def test_a_variable_is_found_by_the_name_of_its_code_list(registry):
    assert ids(registry, "NCSP") == ["npr/somatikk/PROS"]  # its label does not say it


def test_a_hyphenated_code_name_is_searched_as_a_phrase(registry):
    # not as "icpc" or "2": the "2" of "tvang10_2" and "§ 10-2" is no match
    assert ids(registry, "ICPC-2") == ["npr/somatikk/ICPC"]
    assert ids(registry, "ICPC-2 diagnose")[0] == "npr/somatikk/ICPC"


def test_a_synonym_of_several_words_finds_and_marks_them_as_a_phrase(registry):
    # "høyt blodtrykk" is a synonym of "hypertensjon"; its words in another order are no match
    found = registry.search(Query(text="hypertensjon")).items
    assert found[0].id == "npr/somatikk/BT"
    if "highlight" in registry.capabilities:
        assert [tuple(s) for s in found[0].highlight["label"]["nb"]] == [
            ("Høyt", True), (" ", False), ("blodtrykk", True)]
        assert [text for text, hit in found[0].highlight["description"]["nb"] if hit] == ["Blodtrykket"]


def test_a_synonym_holding_the_word_typed_ranks_a_label_and_the_word_finds_descriptions(registry):
    needs(registry, "synonyms")
    # "tvillingfødsel", a synonym of "tvilling", is searched in names and labels alone: the
    # label that is the synonym first; the description that has it, found by "tvilling" itself
    assert ids(registry, "tvilling")[:2] == ["mfr/mfr/TVILLING", "mfr/mfr/FOSTRE"]


def test_a_related_term_of_the_vocabularies_is_found_below_the_synonyms(registry):
    # "blodtrykk" is related to "hypertensjon" (skos:related): found, after "Høyt blodtrykk", and marked
    found = registry.search(Query(text="hypertensjon")).items
    assert [hit.id for hit in found] == ["npr/somatikk/BT", "npr/somatikk/SYS"]
    if "highlight" in registry.capabilities:
        assert [tuple(s) for s in found[1].highlight["label"]["nb"]] == [("Systolisk ", False), ("blodtrykk", True)]
