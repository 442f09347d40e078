"""A harvest's memory follows a source's largest dataset, not the source: records are read one
at a time, their lines kept on disk, and graph files sorted in runs on disk when large."""
from __future__ import annotations

import gc
import random
import weakref
from collections.abc import Iterator
from datetime import date

from rdflib import Graph

from catalogue.gate.shacl import profile_shapes
from catalogue.harvesters import Record
from catalogue.model.models import Agent, ContactPoint, Dataset, Period, Variable
from catalogue.model.rdf import stable_skolemize
from catalogue.pipeline.harvest import _read, _Reuse, gate, parsed
from catalogue.profiles.dcat_ap_no_3 import to_graph
from catalogue.storage.records import RecordStore, nt_lines
from catalogue.storage.store import sorted_lines

BASE = "http://example.org/"


def records(datasets: int = 2, variables: int = 10) -> Iterator[Record]:
    """Datasets with their variables, made as they are asked for, periods as blank nodes;
    every fifth variable has no label, and the gate refuses it."""
    publisher = Agent(uri=BASE + "agent/fhi", name={"nb": "FHI"})
    for d in range(datasets):
        dataset = f"{BASE}dataset/{d}"
        for i in range(variables):
            record = Record(key=f"variable {d}/{i}")
            to_graph(Variable(uri=f"{dataset}/variable/{i}", identifier=f"V{i}", dataset=dataset,
                              label={} if i % 5 == 4 else {"nb": f"Variabel {i}"},
                              periods=[Period(start=date(1990 + i, 1, 1))]), record.graph)
            yield record
        record = Record(key=f"dataset {d}")
        to_graph(Dataset(uri=dataset, identifier=str(d), title={"nb": f"Register {d}"},
                         description={"nb": "Et register"}, publisher=publisher.uri,
                         contact=ContactPoint(name={"nb": "Registeret"}, email="register@example.org"),
                         themes=["http://publications.europa.eu/resource/authority/data-theme/HEAL"]),
                 record.graph)
        to_graph(publisher, record.graph)
        yield record


def test_a_source_is_read_one_record_at_a_time_with_the_verdicts_of_all_at_once(settings):
    alive: list[weakref.ref] = []

    def harvested():
        for record in records():
            gc.collect()  # a graph refers to itself (through its namespace manager)
            # Every record before this one was let go once it was read.
            assert not any(graph() is not None for graph in alive)
            alive.append(weakref.ref(record.graph))
            yield record

    nothing_stored = _Reuse(making="", records=RecordStore(settings.data_dir), stored={})
    read = _read(harvested(), settings, nothing_stored, profile_shapes())
    assert not any(len(record.graph) for record in read.records)
    assert not any(settings.data_dir.iterdir())  # the lines are in a file with no name

    in_memory = list(records())
    for record in in_memory:
        record.graph = stable_skolemize(record.graph, settings.base_uri)
    assert [(r.key, list(read.versions[id(r)][0])) for r in read.records] == \
        [(r.key, nt_lines(r.graph)) for r in in_memory]
    versions = read.versions
    streamed = gate(read.records, survey=read.survey, triples=lambda r: parsed(versions[id(r)][0]))
    whole = gate(in_memory)
    assert [r.key for r in streamed.accepted] == [r.key for r in whole.accepted]
    assert streamed.held_back == whole.held_back and streamed.warnings == whole.warnings
    assert {h.record for h in streamed.held_back} == {f"variable {d}/{i}" for d in range(2) for i in (4, 9)}


def test_lines_past_a_sort_run_are_sorted_on_disk_as_in_memory(tmp_path):
    lines = [f"<{BASE}s{i % 40}> <{BASE}p> \"{i % 97} æ\" ." for i in range(500)]
    random.Random(7).shuffle(lines)
    assert list(sorted_lines(lines, tmp_path, run=30)) == sorted(set(lines))
    assert list(sorted_lines(lines[:10], tmp_path, run=30)) == sorted(set(lines[:10]))
    assert not any(tmp_path.iterdir())  # the sorted runs had no name


def test_a_record_read_back_is_the_record_as_harvested():
    record = next(records())
    lines = nt_lines(stable_skolemize(record.graph, BASE))
    graph = Graph()
    graph.addN((s, p, o, graph) for s, p, o in parsed(lines))
    assert nt_lines(graph) == lines
