"""A whole reindex in memory bounded by its largest register, not by the catalogue: documents
are made a few registers at a time as the backend takes them, read once and kept on disk
until the new index is made, and the index holds exactly the catalogue's documents."""
from __future__ import annotations

import gc
import json
from collections import Counter

import pytest

from catalogue.pipeline.harvest import reindex
from catalogue.search import EmbeddedBackend, Query, VariableDoc, build_documents, open_backend, read_catalogue
from catalogue.search import fields
from catalogue.storage import history
from catalogue.storage.history import History
from catalogue.storage.runs import Run, RunLog
from catalogue.storage.store import Store

BASE = "http://example.org/id/variable/"


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_data):
    settings = demo_data(tmp_path_factory.mktemp("reindex"))
    return settings, Store(settings.data_dir, settings.base_uri)


def dumped(docs) -> set[str]:
    return {json.dumps(doc.model_dump(mode="json"), sort_keys=True) for doc in docs}


def test_a_rebuild_indexes_exactly_the_documents_of_the_catalogue(demo):
    settings, store = demo
    whole = build_documents(store)
    assert reindex(store, settings) == len(whole)
    assert dumped(open_backend(settings).matching(Query())) == dumped(whole)
    assert any(doc.same_as for doc in whole)  # the demo's registers two sources describe: twins linked


def test_one_register_at_a_time_makes_the_same_documents_with_one_register_in_memory(demo):
    _, store = demo
    whole = build_documents(store)
    expected, largest = dumped(whole), max(Counter(doc.dataset for doc in whole).values())
    del whole
    gc.collect()
    before = _documents_alive()
    streamed, alive, last = set(), [], None
    for doc in read_catalogue(store, batch=1).documents:
        if doc.dataset != last:  # a register's first: its documents are all made, none of the last one's kept
            alive.append(_documents_alive() - before)
            last = doc.dataset
        streamed |= dumped([doc])
    assert streamed == expected
    assert len(alive) > 10 and max(alive) <= largest + 1, (max(alive), largest)


def _documents_alive() -> int:
    return sum(isinstance(o, VariableDoc) for o in gc.get_objects())


def test_a_variable_is_found_by_each_of_its_periods_and_by_the_codes_of_its_code_list(demo):
    """A document is made from its variable's statements and its periods', read from the graph
    store a batch at a time: every period counts, and the codes of its code list."""
    settings, store = demo
    reindex(store, settings)
    backend = open_backend(settings)
    for year in (1980, 1990, 2001, 2011):
        found = backend.search(Query(text="boligtype", year_from=year, year_to=year, size=100))
        assert "helsedata/befolkning/BOLIGTYPE" in [hit.id for hit in found.items], year
    assert "helsedata/befolkning/BOSTEDSFYLKE" in [hit.id for hit in backend.search(Query(text="Hordaland", size=100)).items]


@pytest.mark.parametrize("query", [
    Query(), Query(text="fødselsvekt"), Query(text="brystkreft"), Query(text="diagnose", year_from=2015),
    Query(filters={"source": ("helsedata",)}, sort="name"),
])
def test_an_index_built_a_register_at_a_time_answers_as_one_built_from_all_at_once(demo, tmp_path, query):
    _, store = demo
    one, whole = EmbeddedBackend(tmp_path / "one"), EmbeddedBackend(tmp_path / "whole")
    one.rebuild(read_catalogue(store, batch=1).documents)
    whole.rebuild(iter(build_documents(store)))  # a one-shot iterable too
    assert one.search(query) == whole.search(query)
    assert one.search(query).total


def test_coverage_merged_as_it_is_gathered_is_the_coverage_of_all_periods_at_once(demo, monkeypatch):
    _, store = demo
    docs = build_documents(store)
    at_once = fields.Summary.of(docs).whole()
    monkeypatch.setattr(fields, "MERGE_AT", 3)
    assert fields.Summary.of(docs).whole() == at_once
    assert any(len(periods) > 1 for periods in at_once[1]["source"].values())




def test_a_runs_events_written_and_recorded_as_they_come_are_all_recorded(tmp_path, monkeypatch):
    """A first harvest has an event for every record: they are written to the run's file as
    they are made, read back line by line, and recorded EVENTS_BATCH at a time."""
    monkeypatch.setattr(history, "EVENTS_BATCH", 3)
    events = (history.Event(at=f"2026-01-01T00:00:{i:02d}.000000+00:00", run="r1", source="s", record=f"v{i}",
                            subject=f"{BASE}v{i}", kind="variable", change="added") for i in range(10))
    log, recorded = RunLog(tmp_path), History(tmp_path)
    log.write(Run(id="r1", source="s", name="S", kind="table", started="2026-01-01T00:00:00+00:00"), (), events)
    log.apply("r1", lambda run, lines: recorded.add(run, (history.Event.model_validate_json(e) for e in lines)))
    assert [e.record for e in recorded.since("2026-01-01", limit=20)] == [f"v{i}" for i in reversed(range(10))]
