"""Unchanged means free, a change costs what it changes: an unchanged source is known by asking
for its documents again, before anything is parsed; a changed record rewrites only the search
documents that read it, in its own source or in those that use it (a code list's labels)."""
from __future__ import annotations

import json
import shutil

import pytest
import tantivy

from catalogue.pipeline.harvest import INDEXED, harvest, reindex, settle
from catalogue.search import Query, open_backend, open_concepts
from catalogue.search.concepts import WORDS
from catalogue.search.fields import FIELDS
from catalogue.storage.store import Store
from support import EU_HEALTH, indexed_documents, search

PREFIXES = """\
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix disco: <http://rdf-vocabulary.ddialliance.org/discovery#> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
COLOURS = "https://kodeverk.example.no/farge"
PUBLISHER = "https://organization-catalog.fellesdatakatalog.digdir.no/organizations/983744516"


def register(name: str, labels: list[str], coded: bool = False) -> str:
    """A DCAT catalogue of one dataset and its variables (the first coded with the colours, if `coded`)."""
    base = f"https://data.example.no/{name}"
    variables = "".join(
        f"""<{base}/v{i}> a disco:Variable ; dct:identifier "{name.upper()}{i}" ; skos:prefLabel "{label}"@nb ;
            disco:representation {f'<{COLOURS}>' if coded and i == 0 else 'xsd:string'} .\n"""
        for i, label in enumerate(labels))
    return PREFIXES + f"""
<{base}> a dcat:Dataset ; dct:identifier "{name}" ; dct:title "Registeret {name}"@nb ;
    dct:description "Opplysninger i {name}."@nb ; dct:publisher <{PUBLISHER}> ;
    dcat:theme <{EU_HEALTH}> ;
    dcat:contactPoint [ a vcard:Organization ; vcard:fn "{name}"@nb ; vcard:hasEmail <mailto:{name}@example.no> ] ;
    disco:variable {", ".join(f"<{base}/v{i}>" for i in range(len(labels)))} .
""" + variables


def colours(red: str) -> str:
    return PREFIXES + f"""
<{COLOURS}> a skos:ConceptScheme ; dct:title "Farger"@nb .
<{COLOURS}/1> a skos:Concept ; skos:inScheme <{COLOURS}> ; skos:notation "1" ; skos:prefLabel "{red}"@nb .
<{COLOURS}/2> a skos:Concept ; skos:inScheme <{COLOURS}> ; skos:notation "2" ; skos:prefLabel "Blå"@nb .
"""


SOURCES = "".join(f"""
[[source]]
id = "{name}"
name = "Kilde {name}"
publisher = "fhi"
kind = "dcat"
url = "{{url}}/{name}.ttl"
""" for name in ("alfa", "beta", "koder"))


@pytest.fixture
def catalogue(tmp_path, settings, make_config, serve):
    """Three sources served with ETags (two registers, and a code list the first uses), harvested."""
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "alfa.ttl").write_text(register("alfa", ["Hudfarge", "Fødselsvekt", "Svangerskapslengde"],
                                              coded=True), encoding="utf-8")
    (folder / "beta.ttl").write_text(register("beta", ["Røykevaner", "Yrke"]), encoding="utf-8")
    (folder / "koder.ttl").write_text(colours("Rød"), encoding="utf-8")
    config = make_config(SOURCES.format(url=serve(folder).url))
    assert {r.status for r in harvest(settings, config)} == {"ok"}
    return folder, config


def indexed(settings) -> dict[str, dict]:
    return {doc.id: doc.model_dump(mode="json") for doc in open_backend(settings).matching(Query())}


def test_an_index_an_earlier_release_wrote_with_other_fields_is_rebuilt_by_the_next_settle(
        settings, catalogue, monkeypatch):
    import catalogue.search.embedded as embedded
    ours = embedded._schema

    def earlier() -> tantivy.Schema:  # this release's fields and one it no longer has
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("description_nb", tokenizer_name="nb")
        for field, (analyzer, _) in FIELDS.items():
            builder.add_text_field(field, tokenizer_name=analyzer)
        return builder.build()

    monkeypatch.setattr(embedded, "_schema", earlier)
    store = Store(settings.data_dir, settings.base_uri)
    with store.lock():
        settle(settings, store, rebuild=True)
    monkeypatch.setattr(embedded, "_schema", ours)
    assert not open_backend(settings).has_index()

    with store.lock():
        assert settle(settings, store) == 5

    assert open_backend(settings).has_index()
    assert [hit.id for hit in search(settings, "fødselsvekt")] == ["alfa/alfa/ALFA1"]


def test_an_unchanged_source_is_not_parsed_again(settings, catalogue):
    _, config = catalogue
    state, index = Store(settings.data_dir, settings.base_uri).state(), indexed(settings)
    built_from = json.loads((settings.data_dir / INDEXED).read_text())

    runs = harvest(settings, config)

    assert [(r.status, r.parsed) for r in runs] == [("unchanged", False)] * 3
    assert all(f.not_modified for r in runs for f in r.fetched)  # asked again, answered 304
    assert [r.accepted for r in runs] == [4, 3, 1]  # what the source holds, as the run before said
    after = Store(settings.data_dir, settings.base_uri).state()
    assert {s: e.graph_file for s, e in after.sources.items()} == {s: e.graph_file for s, e in state.sources.items()}
    assert json.loads((settings.data_dir / INDEXED).read_text()) == built_from
    assert indexed(settings) == index


def test_a_changed_record_rewrites_its_own_document_only(settings, catalogue):
    folder, config = catalogue
    before = indexed(settings)
    (folder / "alfa.ttl").write_text(register("alfa", ["Hudfarge", "Fødselsvekt i gram", "Svangerskapslengde"],
                                              coded=True), encoding="utf-8")
    said: list[str] = []

    runs = {r.source: r for r in harvest(settings, config, progress=said.append)}

    assert runs["alfa"].changed == 1 and runs["alfa"].parsed
    assert (runs["beta"].status, runs["beta"].parsed) == ("unchanged", False)
    assert "index: 1 document made again, 1 written, 0 removed" in said and "indexing" not in said
    after = indexed(settings)
    assert {i for i in after if after[i] != before[i]} == {"alfa/alfa/ALFA1"}
    assert [d.name for d in search(settings, "gram")] == ["ALFA1"]


def test_a_removed_variable_leaves_the_index(settings, catalogue):
    folder, config = catalogue
    (folder / "beta.ttl").write_text(register("beta", ["Røykevaner"]), encoding="utf-8")
    said: list[str] = []

    harvest(settings, config, progress=said.append)

    assert "index: 1 document made again, 0 written, 1 removed" in said
    assert "beta/beta/BETA1" not in indexed(settings) and not search(settings, "Yrke")


def test_a_changed_code_list_relabels_the_variables_coded_with_it(settings, catalogue):
    folder, config = catalogue
    (folder / "koder.ttl").write_text(colours("Karmosinrød"), encoding="utf-8")
    said: list[str] = []

    runs = {r.source: r for r in harvest(settings, config, progress=said.append)}

    assert runs["koder"].changed == 1 and runs["alfa"].status == "unchanged"
    assert "index: 1 document made again, 1 written, 0 removed" in said
    [coded] = indexed_documents(settings, "Karmosinrød")
    assert coded.name == "ALFA0" and "1 Karmosinrød" in coded.codes


def test_spelling_learns_a_changed_label_and_forgets_the_old_one_as_a_rebuild_would(settings, catalogue):
    folder, config = catalogue
    (folder / "alfa.ttl").write_text(register("alfa", ["Hudfarge", "Fødselsvekt", "Utdanningsnivå"], coded=True),
                                     encoding="utf-8")
    said: list[str] = []

    harvest(settings, config, progress=said.append)
    patched = open_concepts(settings)
    spelt = patched.spellings("utdaningsnivå"), patched.spellings("svangerskapslengd"), patched.spellings("fødselsvekk")
    words = _spelling_words(settings)
    reindex(Store(settings.data_dir, settings.base_uri), settings)

    assert "index: 1 document made again, 1 written, 0 removed" in said and "indexing" not in said  # patched, not rebuilt
    assert spelt == (["utdanningsnivå"], [], ["fødselsvekt"])
    assert words == _spelling_words(settings)  # counted as a rebuild counts them


def test_a_harvest_killed_between_the_concepts_and_the_search_index_counts_its_words_once(settings, catalogue):
    folder, config = catalogue
    index, built = settings.data_dir / "index", (settings.data_dir / INDEXED).read_text()
    shutil.copytree(index, settings.data_dir / "index-before")
    (folder / "alfa.ttl").write_text(register("alfa", ["Hudfarge", "Fødselsvekt", "Utdanningsnivå"], coded=True),
                                     encoding="utf-8")
    harvest(settings, config)
    # as a kill leaves it after the concepts' index was patched: the search index and what it
    # was built from are as before
    shutil.rmtree(index)
    (settings.data_dir / "index-before").rename(index)
    (settings.data_dir / INDEXED).write_text(built)
    store = Store(settings.data_dir, settings.base_uri)

    with store.lock():
        settle(settings, store)
    words = _spelling_words(settings)
    reindex(store, settings)

    assert [d.name for d in search(settings, "utdanningsnivå")] == ["ALFA2"]
    assert words == _spelling_words(settings)


def _spelling_words(settings) -> dict[str, int]:
    """The words spelling knows, each with how many variables' labels hold it."""
    folder = settings.data_dir / "concepts"
    return json.loads((folder / (folder / "CURRENT").read_text().strip() / WORDS).read_text())["counts"]


def test_a_variable_two_datasets_list_counts_under_the_last_as_the_graph_file_reads(settings, catalogue):
    """The dataset a variable's document is of is that of the last line the graph files name it
    in: sorted, the dataset whose IRI sorts last. A patch and a rebuild agree."""
    folder, config = catalogue
    (folder / "alfa.ttl").write_text(register("alfa", ["Hudfarge", "Fødselsvekt", "Svangerskapslengde"], coded=True) + f"""
<https://data.example.no/samlet> a dcat:Dataset ; dct:identifier "samlet" ; dct:title "Samlet"@nb ;
    dct:description "Opplysninger samlet."@nb ; dct:publisher <{PUBLISHER}> ; dcat:theme <{EU_HEALTH}> ;
    dcat:contactPoint [ a vcard:Organization ; vcard:fn "alfa"@nb ; vcard:hasEmail <mailto:alfa@example.no> ] ;
    disco:variable <https://data.example.no/alfa/v0> .
""", encoding="utf-8")
    runs = harvest(settings, config)
    assert [(r.status, r.error) for r in runs] == [("ok", None), ("unchanged", None), ("unchanged", None)]
    patched = indexed(settings)
    assert {i: d["dataset"] for i, d in patched.items() if d["name"] == "ALFA0"} == {"alfa/samlet/ALFA0": "alfa/samlet"}

    reindex(Store(settings.data_dir, settings.base_uri), settings)
    assert indexed(settings) == patched


def test_a_variable_given_another_identifier_has_a_document_of_that_id_alone(settings, catalogue):
    """A document's id holds its variable's identifier: the old document is removed, as a
    rebuild would leave it, though only the variable's own lines changed."""
    folder, config = catalogue
    labels = ["Hudfarge", "Fødselsvekt", "Svangerskapslengde", "Paritet", "Mors alder", "Fars alder", "Apgar"]
    (folder / "alfa.ttl").write_text(register("alfa", labels, coded=True), encoding="utf-8")
    harvest(settings, config)  # enough variables for two changed documents to be patched
    (folder / "alfa.ttl").write_text(register("alfa", labels, coded=True).replace('"ALFA1"', '"ALFA1B"'),
                                     encoding="utf-8")
    said: list[str] = []

    harvest(settings, config, progress=said.append)
    patched = indexed(settings)
    reindex(Store(settings.data_dir, settings.base_uri), settings)

    assert "index: 7 documents made again, 1 written, 1 removed" in said  # the register's: its ids may change
    assert "alfa/alfa/ALFA1B" in patched and "alfa/alfa/ALFA1" not in patched
    assert indexed(settings) == patched


def test_a_twin_whose_label_changed_still_names_its_twin(settings, catalogue):
    """Where two sources describe one register, a variable's document names its twins (the
    same name in the other source): made alone, it would not know them, so the register's
    documents are all made again."""
    folder, config = catalogue
    (folder / "beta.ttl").write_text(register("beta", ["Fødselsvekt", "Yrke"]).replace('"BETA0"', '"ALFA1"').replace(
        'dct:identifier "beta" ;', 'dct:identifier "beta" ; <http://www.w3.org/2002/07/owl#sameAs> <https://data.example.no/alfa> ;'),
        encoding="utf-8")
    assert {r.source: r.status for r in harvest(settings, config)}["beta"] == "ok"
    twins = {i: d["same_as"] for i, d in indexed(settings).items() if d["name"] == "ALFA1"}
    assert twins == {"alfa/alfa/ALFA1": {"beta/beta/ALFA1": "Kilde beta"}, "beta/beta/ALFA1": {"alfa/alfa/ALFA1": "Kilde alfa"}}
    (folder / "alfa.ttl").write_text(register("alfa", ["Hudfarge", "Fødselsvekt i gram", "Svangerskapslengde"], coded=True),
                                     encoding="utf-8")
    said: list[str] = []

    harvest(settings, config, progress=said.append)
    patched = indexed(settings)
    reindex(Store(settings.data_dir, settings.base_uri), settings)

    assert "index: 5 documents made again, 1 written, 0 removed" in said
    assert {i: d["same_as"] for i, d in patched.items() if d["name"] == "ALFA1"} == twins
    assert indexed(settings) == patched
