"""A writer's graph files, read by subject, say what its graph store says: a rebuild that reads
the variables' statements from the files makes the same documents as one that asks the store."""
from __future__ import annotations

import json
import sys

import pyoxigraph as ox
import pytest

from catalogue.search import read_catalogue
from catalogue.search.documents import DATASET, READ, RDF_TYPE, REPRESENTATION, VARIABLE, VARIABLE_LINK
from catalogue.storage import graph_files
from catalogue.storage.graph_files import RUN_READ, GraphFiles
from catalogue.storage.store import Snapshot, Store


@pytest.fixture(scope="module")
def demo(demo_harvest):
    settings = demo_harvest[0]  # read only
    store = Store(settings.data_dir, settings.base_uri)
    return store, store.state()


def test_the_files_say_what_the_store_says_of_every_subject(demo):
    store, state = demo
    files, snapshot = GraphFiles.of(store, state), Snapshot(store, state)
    assert files is not None  # a writer's data directory has them
    subjects = [ox.NamedNode(s) for s in sorted({q.subject.value for q in snapshot.store.quads_for_pattern(None, None, None, None)
                                                 if isinstance(q.subject, ox.NamedNode)})]
    from_files, from_store = files.said_by(subjects, READ), snapshot.said_by(subjects, READ)
    assert {s: sorted(map(str, said)) for s, said in from_files.items()} == \
        {s: sorted(map(str, said)) for s, said in from_store.items()}
    # and of subjects several graphs name, what each graph says (a source's variables' twins)
    assert any(len({place for _, _, place in said}) > 1 for said in from_store.values())


def test_the_files_list_the_subjects_of_a_type_and_the_links_the_store_lists(demo):
    store, state = demo
    files = GraphFiles.of(store, state, typed=(VARIABLE, DATASET), linking=(VARIABLE_LINK,))
    snapshot = Snapshot(store, state)
    listed = 0
    for graph in snapshot.sources_by_graph():
        for kind in (VARIABLE, DATASET):
            assert sorted(files.subjects(graph, RDF_TYPE, kind)) == sorted(snapshot.subjects(graph, RDF_TYPE, kind))
        assert sorted(files.pairs(graph, VARIABLE_LINK)) == sorted(snapshot.pairs(graph, VARIABLE_LINK))
        listed += len(list(files.pairs(graph, VARIABLE_LINK)))
    assert listed > 300
    with pytest.raises(ValueError, match="not gathered"):
        files.pairs(graph, READ[0])


def test_a_rebuild_from_the_files_makes_the_documents_the_store_makes(demo):
    store, state = demo
    dumped = [[json.dumps(d.model_dump(mode="json"), sort_keys=True) for d in read_catalogue(store, state, files=f).documents]
              for f in (True, False)]
    assert dumped[0] == dumped[1] and len(dumped[0]) > 300
    assert any('"same_as": {"' in d for d in dumped[0])  # twins are linked the same


def test_without_every_graph_file_of_the_state_the_files_are_not_read(demo, tmp_path):
    store, state = demo
    moved = Store(tmp_path, store.base_uri)  # a data directory that lacks a graph file of the state
    moved.graphs_dir.mkdir()
    assert GraphFiles.of(moved, state) is None


def test_a_run_is_read_whole_however_long_its_lines_and_wherever_the_file_ends(tmp_path):
    long = "x" * (3 * RUN_READ)
    lines = [f'<http://a.test/s{i}> <http://a.test/p> "{long if i == 1 else i}" .' for i in range(3)]
    lines += [f'<http://a.test/s1> <http://a.test/q> "{n}" .' for n in range(2000)]  # a run of many lines
    path = tmp_path / "g.nt"
    path.write_text("\n".join(sorted(lines)))  # the last line without its newline
    said = GraphFiles([path]).said_by([ox.NamedNode(f"http://a.test/s{i}") for i in range(3)],
                                      ["http://a.test/p", "http://a.test/q"])
    assert [len(said[ox.NamedNode(f"http://a.test/s{i}")]) for i in range(3)] == [1, 2001, 1]
    assert ("http://a.test/p", ox.Literal(long), 0) in said[ox.NamedNode("http://a.test/s1")]
    assert said[ox.NamedNode("http://a.test/s2")] == [("http://a.test/p", ox.Literal("2"), 0)]


def test_a_type_or_a_linking_statement_is_read_as_the_parser_reads_it_whatever_its_terms(tmp_path):
    lines = ['<http://a.test/d> <http://a.test/has> <http://a.test/v1> .',
             '<http://a.test/d> <http://a.test/has> <http://a.test/v\\u00E52> .',  # an escaped IRI
             '<http://a.test/d> <http://a.test/has> "a literal" .',
             '<http://a.test/d> <http://a.test/other> <http://a.test/v3> .',
             '<http://a.test/e\\u00E5> <http://a.test/has> <http://a.test/v1> .',  # an escaped subject
             '_:b <http://a.test/has> <http://a.test/v4> .',  # a blank node says nothing, as in the store
             f'<http://a.test/d> <{RDF_TYPE}> <http://a.test/T> .', f'<http://a.test/e\\u00E5> <{RDF_TYPE}> <http://a.test/T> .',
             f'<http://a.test/f> <{RDF_TYPE}> <http://a.test/U> .', f'_:b <{RDF_TYPE}> <http://a.test/T> .']
    path = tmp_path / "g.nt"
    path.write_text("\n".join(sorted(lines)))  # the last line without its newline
    files = GraphFiles([path], ["http://a.test/g"], typed=["http://a.test/T"], linking=["http://a.test/has"])
    assert sorted(files.subjects("http://a.test/g", RDF_TYPE, "http://a.test/T")) == ["http://a.test/d", "http://a.test/eå"]
    assert sorted(files.pairs("http://a.test/g", "http://a.test/has")) == [
        ("http://a.test/d", "a literal"), ("http://a.test/d", "http://a.test/v1"),
        ("http://a.test/d", "http://a.test/vå2"), ("http://a.test/eå", "http://a.test/v1")]
    assert sorted(files.subjects("http://a.test/g", "http://a.test/has", "http://a.test/v1")) == [
        "http://a.test/d", "http://a.test/eå"]


def _everything(files: GraphFiles, store: Store, state) -> dict:
    """All a reader of the files can be told, for the demo's state."""
    snapshot = Snapshot(store, state)
    subjects = sorted({q.subject.value for q in snapshot.store.quads_for_pattern(None, None, None, None)
                       if isinstance(q.subject, ox.NamedNode)})
    said = files.said_by([ox.NamedNode(s) for s in subjects], READ)
    return {"said": {s.value: sorted(map(str, found)) for s, found in said.items()},
            "typed": {(g, kind): files.subjects(g, RDF_TYPE, kind) for g in snapshot.sources_by_graph()
                      for kind in (VARIABLE, DATASET)},
            "links": {g: list(files.pairs(g, VARIABLE_LINK)) for g in snapshot.sources_by_graph()}}


def test_a_writer_keeps_each_files_index_beside_it_and_later_readers_are_told_the_same_by_it(demo_data, tmp_path):
    settings = demo_data(tmp_path)
    store = Store(settings.data_dir, settings.base_uri)
    state = store.state()
    kept = sorted(store.graphs_dir.glob("*.nt.subjects"))
    assert {p.name for p in kept} == {f"{s.graph_file}.subjects" for s in state.sources.values() if s.graph_file}
    for path in kept:
        path.unlink()
    gathered = {"typed": (VARIABLE, DATASET), "linking": (VARIABLE_LINK,)}
    read = _everything(GraphFiles.of(store, state, **gathered), store, state)
    assert not list(store.graphs_dir.glob("*.nt.subjects"))  # a reader without the lock writes nothing
    assert sum(map(len, read["typed"].values())) > 300 and sum(map(len, read["links"].values())) > 300
    with store.lock():
        assert _everything(GraphFiles.of(store, state, **gathered), store, state) == read
    assert sorted(store.graphs_dir.glob("*.nt.subjects")) == kept
    assert _everything(GraphFiles.of(store, state, **gathered), store, state) == read  # told by what was kept

    # What was kept for other gathered predicates, or not kept whole, is passed over, not believed.
    more = GraphFiles.of(store, state, typed=(VARIABLE, DATASET), linking=(VARIABLE_LINK, REPRESENTATION))
    snapshot = Snapshot(store, state)
    represented = {g: sorted(more.pairs(g, REPRESENTATION)) for g in read["links"]}
    assert represented == {g: sorted(snapshot.pairs(g, REPRESENTATION)) for g in read["links"]}
    assert sum(map(len, represented.values())) > 100
    for path in kept:
        path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    assert _everything(GraphFiles.of(store, state, **gathered), store, state) == read


def test_files_passed_over_in_forked_processes_tell_what_one_process_is_told(demo_data, tmp_path, monkeypatch):
    settings = demo_data(tmp_path)
    store = Store(settings.data_dir, settings.base_uri)
    state = store.state()
    for path in store.graphs_dir.glob("*.nt.subjects"):
        path.unlink()
    gathered = {"typed": (VARIABLE, DATASET), "linking": (VARIABLE_LINK, REPRESENTATION)}
    monkeypatch.setattr(graph_files, "cores", lambda: 1)
    alone = _everything(GraphFiles.of(store, state, **gathered), store, state)
    monkeypatch.setattr(graph_files, "cores", lambda: 3)
    forked = GraphFiles.of(store, state, **gathered)
    assert _everything(forked, store, state) == alone
    assert sum(map(len, alone["typed"].values())) > 300
    # A subject's IRI is the one interned string, whichever process passed over its file (memory:
    # the readers' maps hold a million variables' IRIs once).
    variables = [v for graph in Snapshot(store, state).sources_by_graph() for v in forked.subjects(graph, RDF_TYPE, VARIABLE)]
    assert len(variables) > 300 and all(sys.intern("".join(list(v))) is v for v in variables)


def test_what_was_kept_beside_a_graph_file_is_removed_with_it(demo_data, tmp_path):
    settings = demo_data(tmp_path)
    store = Store(settings.data_dir, settings.base_uri)
    state = store.state()
    orphan = store.graphs_dir / "gone.20200101T000000000000.nt.subjects"
    orphan.write_bytes(b"")
    with store.lock():
        store.prune(state)
    assert not orphan.exists()
    assert {p.name for p in store.graphs_dir.glob("*.nt.subjects")} == \
        {f"{s.graph_file}.subjects" for s in state.sources.values() if s.graph_file}
