"""SPARQL over the catalogue: answers in the protocol's formats, read-only, stopped at its
time limit, bounded in size, and a bad query told why."""
from __future__ import annotations

import csv
import io
import socket
import threading
import time
from dataclasses import replace
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS

from catalogue.site.app import create_app
from catalogue.sparql import SparqlError, _Worker, check
from catalogue.storage.database import open_database
from catalogue.storage.history import History
from catalogue.storage.store import Store
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
    assert count(answer) == client.get("/api/datasets/mfr/mfr").json()["total"] > 30
    rows = list(csv.reader(io.StringIO(client.get("/sparql", params={"query": COUNT_MFR},
                                                  headers={"accept": "text/csv"}).text)))
    assert rows[0] == ["n"] and int(rows[1][0]) == count(answer)
    xml = client.get("/sparql", params={"query": COUNT_MFR, "format": "xml"})
    assert xml.headers["content-type"].startswith("application/sparql-results+xml") and "<sparql" in xml.text


def test_post_as_a_body_or_a_form_and_construct_as_turtle(client):
    body = client.post("/sparql", content=COUNT_MFR, headers={"content-type": "application/sparql-query"})
    form = client.post("/sparql", data={"query": COUNT_MFR})
    assert count(body) == count(form) > 30
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
    assert client.post("/sparql").status_code == 400  # a GET without a query describes the service


def test_a_slow_query_is_stopped_at_its_limit_and_the_next_one_is_answered(client):
    started = time.monotonic()
    answer = client.get("/sparql", params={"query": SLOW})
    assert answer.status_code == 503 and "limit of 3 s" in answer.json()["detail"]
    assert time.monotonic() - started < 3 + 10  # the limit, and the worker's start
    assert count(client.get("/sparql", params={"query": COUNT_MFR})) > 30


def test_an_answer_larger_than_the_limit_is_refused(client):
    answer = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert answer.status_code == 413 and "50,000 bytes" in answer.json()["detail"]


@pytest.fixture
def listener():
    """A TCP listener on loopback that counts the connections made to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    connections, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            connections.append(connection.recv(1024))
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/sparql", connections
    stop.set()
    thread.join()
    server.close()


def reaching_out(url: str) -> dict[str, str]:
    """Queries and updates that would make the server fetch `url`, each spelled as
    pyoxigraph's parser accepts it."""
    prefix = f"PREFIX x: <{url.rsplit('/', 1)[0]}/> PREFIX : <{url.rsplit('/', 1)[0]}/> "
    return {
        "SERVICE <>": f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "SERVICE<>": f"SELECT * WHERE {{ SERVICE<{url}> {{ ?s ?p ?o }} }}",
        "SERVICE prefix:name": prefix + "SELECT * WHERE { SERVICE x:sparql { ?s ?p ?o } }",
        "SERVICEprefix:name": prefix + "SELECT * WHERE { SERVICEx:sparql { ?s ?p ?o } }",
        "SERVICE:name": prefix + "SELECT * WHERE { SERVICE:sparql { ?s ?p ?o } }",
        "SERVICE#comment": f"SELECT * WHERE {{ SERVICE#comment\n<{url}> {{ ?s ?p ?o }} }}",
        "service silent": f"select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
        "SERVICE after a filter": f"SELECT * WHERE {{ FILTER(true)SERVICE<{url}> {{ }} }}",
        "SERVICE after a number": f"SELECT * WHERE {{ ?a ?b 1SERVICE <{url}> {{ }} }}",
        "LOAD": f"LOAD <{url}>",
        "LOAD<>": f"LOAD<{url}> INTO GRAPH <http://example.org/g>",
        "load silent": f"load silent <{url}>",
        "LOAD after a prologue": f"{prefix}LOAD x:sparql",
    }


def test_nothing_reaches_out_load_and_service_in_any_spelling_are_refused(client, listener):
    url, connections = listener
    for name, text in reaching_out(url).items():
        for answer in (client.get("/sparql", params={"query": text}),
                       client.post("/sparql", content=text, headers={"content-type": "application/sparql-query"})):
            assert answer.status_code == 403, name
            assert ("SERVICE" if "SERVICE" in name.upper() else "read-only") in answer.json()["detail"], name
    time.sleep(0.5)  # a fetch started by any of them would have connected by now
    assert connections == []


def test_names_strings_and_iris_may_say_service(client):
    text = """PREFIX dcat: <http://www.w3.org/ns/dcat#>
    SELECT ?service ?load WHERE {
      VALUES ?load { "LOAD <http://example.org/> SERVICE" }  # SERVICE <http://example.org/> in a comment
      OPTIONAL { ?service a dcat:DataService ; <http://example.org/service#insert> ?x }
    }"""
    answer = client.get("/sparql", params={"query": text})
    assert answer.status_code == 200, answer.text
    assert answer.json()["head"]["vars"] == ["service", "load"]


def test_the_check_reads_the_query_and_never_runs_it():
    for text in ("SELECT * WHERE { ?s ?p ?o } INSERT", "DROP ALL", "CLEAR DEFAULT",
                 "PREFIX a: <http://a/> WITH a:g DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }"):
        with pytest.raises(SparqlError) as refused:
            check(text)
        assert refused.value.status == 403
    check("SELECT ?s WHERE { ?s <http://example.org/p> '''INSERT \\' SERVICE''' }")


def test_a_slow_query_holds_one_worker_and_others_are_answered(client):
    finished = []

    def slow():
        finished.append(("slow", client.get("/sparql", params={"query": SLOW}).status_code))

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.5)  # the slow query has its worker
    finished.append(("quick", client.get("/sparql", params={"query": COUNT_MFR}).status_code))
    thread.join()
    assert finished == [("quick", 200), ("slow", 503)]


def test_a_body_too_large_is_refused_before_it_is_read_whole(client):
    huge = b"SELECT * WHERE { ?s ?p ?o } #" + b"x" * 1_000_000
    declared = client.post("/sparql", content=huge, headers={"content-type": "application/sparql-query"})
    assert declared.status_code == 413

    def chunks():  # no Content-Length: read until past the limit, then refused
        for _ in range(100):
            yield b"#" + b"x" * 99_999

    streamed = client.post("/sparql", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert streamed.status_code == 413


MFR_GRAPH = "http://catalogue.test/graph/mfr"
COUNT_ALL = "SELECT (COUNT(*) AS ?n) {from_} WHERE {{ ?s ?p ?o }}"


def test_the_dataset_is_the_one_the_request_or_the_query_names(client):
    union = count(client.get("/sparql", params={"query": COUNT_ALL.format(from_="")}))
    mfr = count(client.get("/sparql", params={"query": COUNT_ALL.format(from_=f"FROM <{MFR_GRAPH}>")}))
    assert 0 < mfr < union  # the catalogue's own graph is in the union, not in MFR's
    assert count(client.get("/sparql", params={"query": COUNT_ALL.format(from_="FROM <http://nowhere.test/g>")})) == 0
    assert count(client.get("/sparql", params={"query": COUNT_ALL.format(from_=""),
                                               "default-graph-uri": MFR_GRAPH})) == mfr
    # the protocol's dataset wins over the query's
    assert count(client.get("/sparql", params={"query": COUNT_ALL.format(from_="FROM <http://nowhere.test/g>"),
                                               "default-graph-uri": MFR_GRAPH})) == mfr
    named = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert count(client.get("/sparql", params={"query": named, "named-graph-uri": MFR_GRAPH})) == 1
    assert client.get("/sparql", params={"query": named, "default-graph-uri": "not an iri"}).status_code == 400


def test_formats_by_name_media_type_or_accept_with_its_weights(client):
    def media(**request) -> str:
        return client.get("/sparql", **request).headers["content-type"].split(";")[0]
    select = {"query": COUNT_MFR}
    assert media(params={**select, "format": "text/tab-separated-values"}) == "text/tab-separated-values"
    assert media(params=select, headers={"accept": "text/csv;q=0.5, application/sparql-results+xml"}) == \
        "application/sparql-results+xml"
    assert media(params=select, headers={"accept": "text/csv;q=0, */*"}) == "application/sparql-results+json"
    construct = {"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 5"}
    assert media(params={**construct, "format": "json-ld"}) == "application/ld+json"
    assert media(params={**construct, "format": "xml"}) == "application/rdf+xml"
    assert media(params=construct, headers={"accept": "application/n-triples;q=0.9, application/ld+json"}) == \
        "application/ld+json"


def test_without_a_query_the_endpoint_describes_itself(client):
    description = Graph().parse(data=client.get("/sparql").text, format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    names = {str(o) for o in description.objects(None, URIRef(sd + "name"))}
    assert MFR_GRAPH in names
    assert (None, URIRef(sd + "supportedLanguage"), URIRef(sd + "SPARQL11Query")) in description


def test_sparql_id_and_catalog_answer_from_one_graph(client):
    """The dates the catalogue observed (first harvested, last changed), which /catalog
    gives, are in SPARQL's graph and on each resource's own description at /id too."""
    catalog = Graph().parse(data=client.get("/catalog").text, format="turtle")
    dated = {(str(s), datetime.fromisoformat(o)) for s, o in catalog.subject_objects(DCTERMS.modified)}
    answer = client.get("/sparql", params={"query": "PREFIX dct: <http://purl.org/dc/terms/> "
                                                    "SELECT ?s ?m WHERE { ?s dct:modified ?m }"})
    found = {(row["s"]["value"], datetime.fromisoformat(row["m"]["value"]))
             for row in answer.json()["results"]["bindings"]}
    assert len(dated) > 30 and found == dated
    dataset = "http://catalogue.test/id/dataset/mfr/mfr"
    described = Graph().parse(data=client.get("/id/dataset/mfr/mfr", headers={"accept": "text/turtle"}).text,
                              format="turtle")
    assert {str(o) for o in described.objects(URIRef(dataset), DCTERMS.issued)} == \
        {str(o) for o in catalog.objects(URIRef(dataset), DCTERMS.issued)} != set()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_gets_every_result_format(demo_server, method):
    """SPARQLWrapper as a real client of a real server: it sends `format=`, `output=` and
    `results=` with names (and media types for some), and converts what it gets."""
    from SPARQLWrapper import CSV, JSON, JSONLD, N3, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
    select = "SELECT ?v WHERE { ?v a <http://rdf-vocabulary.ddialliance.org/discovery#Variable> } LIMIT 3"
    construct = ("CONSTRUCT { ?v a <http://rdf-vocabulary.ddialliance.org/discovery#Variable> } "
                 "WHERE { ?v a <http://rdf-vocabulary.ddialliance.org/discovery#Variable> } LIMIT 3")
    for query, formats in ((select, (JSON, XML, CSV, TSV)), (construct, (TURTLE, N3, RDFXML, XML, JSONLD))):
        for fmt in formats:
            client = SPARQLWrapper(f"{demo_server}/sparql")
            client.setMethod(method)
            client.setQuery(query)
            client.setReturnFormat(fmt)
            answer = client.query()
            converted = answer.convert()
            if query is select:
                rows = {JSON: lambda c: c["results"]["bindings"],
                        XML: lambda c: c.getElementsByTagName("result"),
                        CSV: lambda c: c.decode().strip().splitlines()[1:],
                        TSV: lambda c: c.decode().strip().splitlines()[1:]}[fmt](converted)
                assert len(rows) == 3, (fmt, answer.info())
            else:
                graph = converted if isinstance(converted, Graph) else Graph().parse(
                    data=converted, format={TURTLE: "turtle", N3: "n3", JSONLD: "json-ld"}[fmt])
                assert len(graph) == 3, (fmt, answer.info())


def test_a_worker_the_server_lets_go_of_ends_without_an_error(demo_data, tmp_path):
    settings = demo_data(tmp_path, light=True)
    worker = _Worker("sparql-test")
    worker.ready_for(Store(settings.data_dir, settings.base_uri), History(open_database(settings)))
    process = worker.process
    try:
        worker.connection.close()  # as a server ending closes its end before its workers are stopped
        process.join(timeout=30)
        assert process.exitcode == 0  # no EOFError told on the way out
    finally:
        worker.stop()
