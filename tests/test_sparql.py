"""SPARQL over the catalogue: answers in the protocol's formats, read-only, stopped at its
time limit, bounded in size, and a bad query told why."""
from __future__ import annotations

import csv
import io
import time
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph

from catalogue.site.app import create_app
from support import harvest_demo, settings_in

COUNT_MFR = """PREFIX disco: <http://rdf-vocabulary.ddialliance.org/discovery#>
SELECT (COUNT(?v) AS ?n) WHERE { <http://catalogue.test/id/dataset/mfr/mfr> disco:variable ?v }"""
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = replace(settings_in(tmp_path_factory.mktemp("sparql")), sparql_timeout=3.0, sparql_max_bytes=50_000)
    harvest_demo(settings, "mfr")
    with TestClient(create_app(settings)) as client:
        yield client


def count(response) -> int:
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_select_in_json_csv_and_xml(client):
    answer = client.get("/sparql", params={"query": COUNT_MFR})
    assert answer.headers["content-type"].startswith("application/sparql-results+json")
    assert count(answer) == client.get("/api/datasets/mfr/mfr").json()["total"] > 100
    rows = list(csv.reader(io.StringIO(client.get("/sparql", params={"query": COUNT_MFR},
                                                  headers={"accept": "text/csv"}).text)))
    assert rows[0] == ["n"] and int(rows[1][0]) == count(answer)
    xml = client.get("/sparql", params={"query": COUNT_MFR, "format": "xml"})
    assert xml.headers["content-type"].startswith("application/sparql-results+xml") and "<sparql" in xml.text


def test_post_as_a_body_or_a_form_and_construct_as_turtle(client):
    body = client.post("/sparql", content=COUNT_MFR, headers={"content-type": "application/sparql-query"})
    form = client.post("/sparql", data={"query": COUNT_MFR})
    assert count(body) == count(form) > 100
    graph = client.get("/sparql", params={"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 20"},
                       headers={"accept": "text/turtle"})
    assert graph.headers["content-type"].startswith("text/turtle")
    assert len(Graph().parse(data=graph.text, format="turtle")) == 20


def test_updates_and_federated_queries_are_refused(client):
    before = count(client.get("/sparql", params={"query": COUNT_MFR}))
    update = client.post("/sparql", data={"query": "DELETE WHERE { ?s ?p ?o }"})
    assert update.status_code == 403 and "read-only" in update.json()["detail"]
    federated = client.get("/sparql", params={"query": "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"})
    assert federated.status_code == 403 and "SERVICE" in federated.json()["detail"]
    assert count(client.get("/sparql", params={"query": COUNT_MFR})) == before


def test_a_malformed_query_gets_400_with_the_parsers_message(client):
    answer = client.get("/sparql", params={"query": "SELECT ?x WHERE { ?x ?y }"})
    assert answer.status_code == 400
    assert answer.json()["detail"] == "not a SPARQL query: error at 1:26: expected one of LATERAL, SERVICE, [_]"
    assert client.get("/sparql").status_code == 400


def test_a_slow_query_is_stopped_at_its_limit_and_the_next_one_is_answered(client):
    started = time.monotonic()
    answer = client.get("/sparql", params={"query": SLOW})
    assert answer.status_code == 503 and "limit of 3 s" in answer.json()["detail"]
    assert time.monotonic() - started < 3 + 10  # the limit, and the worker's start
    assert count(client.get("/sparql", params={"query": COUNT_MFR})) > 100


def test_an_answer_larger_than_the_limit_is_refused(client):
    answer = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert answer.status_code == 413 and "50,000 bytes" in answer.json()["detail"]
