"""The graph store on a store server (CATALOGUE_STORE_URL, a real `oxigraph serve`): the
pages, the catalogue and the SPARQL endpoint read the same from it as from the data
directory; user SPARQL stays read-only and bounded; a writer killed after sending its graphs
but before committing leaves every reader on the committed ones, and the next write removes
what it sent."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from rdflib import BNode, Graph

from catalogue.pipeline.harvest import harvest
from catalogue.profiles import healthdcat_ap_r8
from catalogue.search import read_catalogue
from catalogue.services import Services
from catalogue.settings import DEMO_SOURCES, Settings
from catalogue.site.app import create_app
from catalogue.sources import load_config
from catalogue.storage.remote_store import RemoteStore
from catalogue.storage.store import Store
from catalogue.view import ADDITIONS
from support import BASE_URI, store_server_at

VARIABLES = ("kpr/kpr/alder", "mfr/mfr/VEKT")
SPARQL_JSON = {"Accept": "application/sparql-results+json"}
# Writes a new graph of mfr holding one triple more and commits it, as a harvest would: run
# with CATALOGUE_KILL_AT=2 it is killed once the graph is on the server (boundary 1 is the
# graph file), with 3 once the checkpoint naming it is, before the state is written.
WRITER = """
import sys
import time
from pathlib import Path
from catalogue.storage.remote_store import RemoteStore
from catalogue.storage.store import Store
from catalogue.view import ADDITIONS
store = Store(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
with store.lock():
    state = store.state()
    lines = (store.graphs_dir / state.sources["mfr"].graph_file).read_text().splitlines()
    state.sources["mfr"].graph_file = store.replace_graph("mfr", [*lines, '<urn:killed> <urn:p> "x" .'])
    store.write_state(state)
"""


@pytest.fixture(scope="module")
def catalogues(tmp_path_factory, demo_data) -> dict[str, tuple[Settings, TestClient]]:
    """The demo (without its large code lists) served with the graph store in its data
    directory ("embedded") and on a store server ("server"), from two copies."""
    folder = tmp_path_factory.mktemp("store-server-catalogues")
    with store_server_at(folder / "store-server") as url:
        embedded = demo_data(folder / "embedded", light=True)
        server = dataclasses.replace(demo_data(folder / "server", light=True), store_url=url)
        yield {name: (settings, TestClient(create_app(settings), base_url=BASE_URI.rstrip("/")))
               for name, settings in (("embedded", embedded), ("server", server))}


def both(catalogues, path: str, **request) -> list[httpx.Response]:
    answers = [client.get(path, **request) for _, client in catalogues.values()]
    assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
    return answers


def triples(turtle: str) -> set[tuple]:
    return {t for t in Graph().parse(data=turtle, format="turtle") if not any(isinstance(n, BNode) for n in t)}


def test_the_first_server_on_a_data_directory_sends_its_graphs_to_the_store_server(catalogues):
    settings, client = catalogues["server"]
    store = Store(settings.data_dir, settings.base_uri, settings.store_url)
    assert store.graph_store.has(store.state().checkpoint)
    assert client.get("/readyz").json()["checks"]["store"] == "up"
    assert isinstance(store.snapshot().store, RemoteStore)


def test_pages_and_the_catalogue_read_the_same_from_the_store_server(catalogues):
    for variable in VARIABLES:
        embedded, server = both(catalogues, f"/api/variables/{variable}")
        assert server.json() == embedded.json() and server.json()["variable"]["name"]
    dataset = catalogues["server"][1].get("/api/variables/mfr/mfr/VEKT").json()["variable"]["dataset_id"]
    embedded, server = both(catalogues, f"/api/datasets/{dataset}")
    assert server.json() == embedded.json()
    embedded, server = both(catalogues, "/catalog", headers={"Accept": "text/turtle"})
    assert triples(server.text) == triples(embedded.text) and len(triples(server.text)) > 1000
    # pages, read a level of resources at a time, in every profile and at an access level
    for params in ({"page": 2, "size": 5}, {"page": 1, "size": 5, "profile": "healthdcat-ap"},
                   {"page": 1, "size": 5, "profile": "healthdcat-ap", "access": "restricted"}):
        embedded, server = both(catalogues, "/catalog", params=params, headers={"Accept": "text/turtle"})
        assert triples(server.text) == triples(embedded.text) and len(triples(server.text)) > 100, params
    code_list = catalogues["server"][1].get("/api/variables/mfr/mfr/FSTART").json()["code_list_url"]
    embedded, server = both(catalogues, "/api" + code_list)
    assert server.json() == embedded.json() and server.json()["codes"]
    embedded, server = both(catalogues, "/id/variable/mfr/mfr/VEKT", headers={"Accept": "text/turtle"})
    assert triples(server.text) == triples(embedded.text) and len(triples(server.text)) > 5


def test_a_catalogue_page_over_the_store_server_reads_its_resources_in_a_few_requests(catalogues):
    """The resources of a page are read a level of its walk at a time, a few hundred in a
    request, not one request each: a page of every dataset costs a handful of requests."""
    settings, _ = catalogues["server"]
    view = Services(settings).view
    for profile in (None, healthdcat_ap_r8.PROFILE):
        view.additions(profile)  # what the catalogue adds, read once a generation
        asked: list[httpx.Request] = []
        view.snapshot.store.server.client.event_hooks["request"] = [asked.append]
        page = view.dataset_page(view.dataset_order(profile), profile)
        resources = {t.subject for t in page}
        assert len(resources) > 1000 and len(asked) < 30, (profile, len(resources), len(asked))


def test_the_search_index_is_built_from_the_store_server_as_from_the_data_directory(catalogues):
    """What an index is made from is read from the graph store a few subjects at a time: from the
    store server, the same documents, in the same order, the same concepts, registers and labels."""
    contents = {}
    for name, (settings, _) in catalogues.items():
        store = Store(settings.data_dir, settings.base_uri, settings.store_url)
        assert store.graph_store.has(store.state().checkpoint)
        read = read_catalogue(store, batch=50)
        contents[name] = ([doc.model_dump(mode="json") for doc in read.documents], read.concepts(), read.registers(),
                          sorted(json.dumps(label, sort_keys=True) for label in read.labels()))
    assert contents["server"] == contents["embedded"]
    docs, concepts, registers, labels = contents["server"]
    assert len(docs) > 300 and any(d["same_as"] for d in docs) and any(d["codes"] for d in docs)
    assert any(d["periods"] for d in docs) and any(d["theme_labels"] for d in docs)
    assert concepts and registers and len(labels) == len(docs)


def test_sparql_answers_the_same_from_the_store_server(catalogues):
    counts = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    embedded, server = both(catalogues, "/sparql", params={"query": counts}, headers=SPARQL_JSON)
    by_graph = [{b["g"]["value"]: b["n"]["value"] for b in a.json()["results"]["bindings"]}
                for a in (embedded, server)]
    assert by_graph[1] == by_graph[0] and {f"{BASE_URI}graph/mfr", BASE_URI + ADDITIONS} <= set(by_graph[1])
    # what the catalogue adds (the dates it observed), as a graph of its own, in the service description too
    dates = (f"SELECT ?s ?p ?o WHERE {{ GRAPH <{BASE_URI}{ADDITIONS}> {{ ?s ?p ?o }} "
             "FILTER(!isBlank(?s) && !isBlank(?o)) } ORDER BY ?s ?p ?o")
    embedded, server = both(catalogues, "/sparql", params={"query": dates}, headers=SPARQL_JSON)
    assert server.json() == embedded.json() and len(server.json()["results"]["bindings"]) > 100
    embedded, server = both(catalogues, "/sparql", headers={"Accept": "text/turtle"})
    assert triples(server.text) == triples(embedded.text) and BASE_URI + ADDITIONS in server.text

    names = "SELECT DISTINCT ?name WHERE { ?v a <http://rdf-vocabulary.ddialliance.org/discovery#Variable> ; " \
            "<http://www.w3.org/2004/02/skos/core#notation> ?name } ORDER BY ?name"
    for request in ({"query": names},  # the union of the sources' graphs
                    {"query": names.replace("WHERE", f"FROM <{BASE_URI}graph/mfr> WHERE")},  # one graph, by the query
                    {"query": names, "default-graph-uri": f"{BASE_URI}graph/kpr"},  # one graph, by the request
                    {"query": names, "format": "csv"}):
        embedded, server = both(catalogues, "/sparql", params=request, headers=SPARQL_JSON)
        assert server.headers["content-type"] == embedded.headers["content-type"]
        assert server.text == embedded.text and server.text.count("\n") > 3 if "format" in request else \
            server.json() == embedded.json() and server.json()["results"]["bindings"]

    construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{BASE_URI}graph/kpr> {{ ?s ?p ?o }} }}"
    embedded, server = both(catalogues, "/sparql", params={"query": construct}, headers={"Accept": "text/turtle"})
    assert server.headers["content-type"].startswith("text/turtle") and triples(server.text) == triples(embedded.text)


def test_sparql_over_the_store_server_stays_read_only_and_bounded(catalogues):
    settings, client = catalogues["server"]
    for query, status, said in (
            ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", 403, "SERVICE"),
            ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", 403, "read-only"),
            ("SELECT ?s WHERE { ?s ?p }", 400, "the query failed")):
        answer = client.get("/sparql", params={"query": query}, headers=SPARQL_JSON)
        assert answer.status_code == status and said in answer.text, answer.text
    small = TestClient(create_app(dataclasses.replace(settings, sparql_max_bytes=2000)))
    answer = small.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"}, headers=SPARQL_JSON)
    assert answer.status_code == 413 and "2,000 bytes" in answer.text


@pytest.mark.parametrize("kill_at", [2, 3], ids=["graphs-sent", "checkpoint-sent"])
def test_a_writer_killed_before_its_commit_leaves_readers_on_the_committed_graphs(tmp_path, store_server, kill_at):
    settings = Settings(data_dir=tmp_path / "data", sources_file=DEMO_SOURCES, base_uri=BASE_URI,
                        store_url=store_server)
    assert [r.status for r in harvest(settings, load_config(DEMO_SOURCES), only=["mfr"])] == ["ok"]
    store = Store(settings.data_dir, settings.base_uri, store_server)
    committed = store.state()

    killed = subprocess.run([sys.executable, "-c", WRITER, str(settings.data_dir), BASE_URI, store_server],
                            env={**os.environ, "CATALOGUE_KILL_AT": str(kill_at)}, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert on_server(store_server, "ASK { GRAPH ?g { <urn:killed> ?p ?o } }")  # it was sent

    assert store.state() == committed
    snapshot = store.snapshot()
    assert not any(q.subject.value == "urn:killed" for q in snapshot.store.quads_for_pattern(None, None, None, None))
    assert not snapshot.query("ASK { <urn:killed> ?p ?o }")
    assert TestClient(create_app(settings)).get("/api/variables/mfr/mfr/VEKT").status_code == 200

    # the next write removes what the killed writer sent
    assert [r.status for r in harvest(settings, load_config(DEMO_SOURCES), only=["mfr"], demo_edition=2)] == ["ok"]
    assert not on_server(store_server, "ASK { GRAPH ?g { <urn:killed> ?p ?o } }")


def test_a_query_past_the_time_limit_keeps_its_place_until_the_server_ends_it(tmp_path, store_server):
    """The server cannot be told to stop a query: one given up on still counts among the
    queries answered at once (CATALOGUE_SPARQL_WORKERS) until the server has answered it."""
    settings = Settings(data_dir=tmp_path / "data", sources_file=DEMO_SOURCES, base_uri=BASE_URI,
                        store_url=store_server, sparql_timeout=0.2, sparql_workers=1)
    assert [r.status for r in harvest(settings, load_config(DEMO_SOURCES), only=["mfr"])] == ["ok"]
    client = TestClient(create_app(settings))
    pairs = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f FILTER(STRLEN(STR(?c)) > STRLEN(STR(?f))) }"
    slow = client.get("/sparql", params={"query": pairs}, headers=SPARQL_JSON)
    assert slow.status_code == 503 and "limit of 0.2 s" in slow.text, slow.text
    busy = client.get("/sparql", params={"query": "ASK {}"}, headers=SPARQL_JSON)
    assert busy.status_code == 503 and "busy" in busy.text, busy.text
    deadline = time.monotonic() + 120  # against a hang only
    while (answer := client.get("/sparql", params={"query": "ASK {}"}, headers=SPARQL_JSON)).status_code == 503:
        assert time.monotonic() < deadline, answer.text
    assert answer.json()["boolean"] is True


def test_the_additions_sparql_sends_to_the_store_server_go_with_their_checkpoint(tmp_path, store_server):
    settings = Settings(data_dir=tmp_path / "data", sources_file=DEMO_SOURCES, base_uri=BASE_URI,
                        store_url=store_server)
    assert [r.status for r in harvest(settings, load_config(DEMO_SOURCES), only=["mfr"])] == ["ok"]
    client = TestClient(create_app(settings))
    dated = f"ASK {{ GRAPH <{BASE_URI}{ADDITIONS}> {{ ?s <http://purl.org/dc/terms/issued> ?o }} }}"
    assert client.get("/sparql", params={"query": dated}, headers=SPARQL_JSON).json()["boolean"]
    first = added_graphs(store_server)
    assert len(first) == 1

    store = Store(settings.data_dir, settings.base_uri, store_server)
    for change in range(2):  # the first checkpoint is kept for a reader still on it, then removed
        with store.lock():
            state = store.state()
            lines = (store.graphs_dir / state.sources["mfr"].graph_file).read_text().splitlines()
            state.sources["mfr"].graph_file = store.replace_graph("mfr", [*lines, f'<urn:change> <urn:p> "{change}" .'])
            store.write_state(state)
            store.prune(state)
    assert added_graphs(store_server) == set()  # the reader has not asked since: nothing sent
    assert client.get("/sparql", params={"query": dated}, headers=SPARQL_JSON).json()["boolean"]
    assert len(added_graphs(store_server) - first) == 1


def added_graphs(url: str) -> set[str]:
    answer = httpx.post(f"{url}/query", headers=SPARQL_JSON, data={
        "query": f'SELECT ?g WHERE {{ GRAPH ?g {{}} FILTER(STRSTARTS(STR(?g), "{BASE_URI}store/added/")) }}'})
    return {b["g"]["value"] for b in json.loads(answer.text)["results"]["bindings"]}


def on_server(url: str, ask: str) -> bool:
    answer = httpx.post(f"{url}/query", data={"query": ask}, headers=SPARQL_JSON)
    return json.loads(answer.text)["boolean"]


def test_the_setting_names_an_http_address(tmp_path):
    with pytest.raises(ValueError, match="CATALOGUE_STORE_URL='oxigraph:7878'"):
        Settings.from_env({"CATALOGUE_DATA_DIR": str(tmp_path), "CATALOGUE_STORE_URL": "oxigraph:7878"})
