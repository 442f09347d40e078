"""Hostile and unlucky inputs, harvested over HTTP from 127.0.0.1 beside a good source: each
ends cleanly (accepted, or refused with the limit or field named), never with a crash or a
hang, and the other source's stored graph stays byte for byte what it was."""
import json
import threading
from http.server import BaseHTTPRequestHandler
from xml.etree.ElementTree import fromstring

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from catalogue.harvesters.base import MAX_JSON_DEPTH
from catalogue.model.namespaces import DCT
from catalogue.model.rdf import read_rdf
from catalogue.pipeline.harvest import CATALOGUE_GRAPH, harvest
from catalogue.site.app import create_app
from catalogue.storage.store import Store
from support import DCAT_SOURCE, EU_HEALTH, MFR_SOURCE, serve_handler, stop_server

DATASET = "<https://data.fhi.no/datasett/dar>"
EX = "https://example.org/"

def stored_graphs(settings) -> dict[str, bytes]:
    """Each source's stored graph (not the catalogue's own description, written on every harvest)."""
    store = Store(settings.data_dir, settings.base_uri)
    return {source: (store.graphs_dir / entry.graph_file).read_bytes()
            for source, entry in store.state().sources.items()
            if entry.graph_file and source != CATALOGUE_GRAPH}


def stored(settings, source: str) -> Graph:
    return Graph().parse(data=stored_graphs(settings)[source].decode(), format="nt")


@pytest.fixture
def sources(settings, make_config, served):
    """Harvests the DCAT source `dar` (its document in `folder/dcat/katalog.ttl`, extra
    options given) beside the table source `mfr`; the first harvest, of the untouched files,
    is done here, and its graphs are `before`."""
    folder, url = served

    def run(dar_options: str = "") -> dict:
        return {r.source: r for r in harvest(settings, make_config(
            DCAT_SOURCE.format(url=url) + dar_options + MFR_SOURCE.format(url=url)))}

    first = run()
    assert {r.status for r in first.values()} == {"ok"}, {s: r.error for s, r in first.items()}
    run.folder, run.url, run.before = folder, url, stored_graphs(settings)
    return run


def add_to_catalogue(folder, turtle: str) -> None:
    with (folder / "dcat" / "katalog.ttl").open("a", encoding="utf-8") as out:
        out.write("\n" + turtle + "\n")


def turtle_list(items: int) -> str:
    return f"{DATASET} <{EX}ordning> ( " + " ".join(f'"{i}"' for i in range(items)) + " ) ."


def blank_node_web(levels: int) -> str:
    """Two blank nodes per level, each pointing to both of the next: content spelled out
    in full doubles with each level."""
    lines = [f"{DATASET} <{EX}nett> _:a0, _:b0 ."]
    for level in range(levels):
        for node in "ab":
            lines.append(f'_:{node}{level} <{EX}navn> "{node}{level}" ; '
                         f"<{EX}del> _:a{level + 1}, _:b{level + 1} .")
    return "\n".join(lines)


def nested(depth: int) -> str:
    return f"{DATASET} <{EX}del> " + f"[ <{EX}del> " * depth + '"bunn"' + " ]" * depth + " ."


def within(seconds: float, action):
    """`action()`, failed rather than hanging when it runs past `seconds`."""
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("value", action()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s"
    return result["value"]


@pytest.mark.parametrize("items", [1_000, 10_000])
def test_long_turtle_lists_are_accepted(settings, sources, items):
    add_to_catalogue(sources.folder, turtle_list(items))

    runs = within(600, sources)

    assert runs["dar"].status == "ok", runs["dar"].error
    graph = stored(settings, "dar")
    assert len(set(graph.objects(None, RDF.first))) == items
    assert stored_graphs(settings)["mfr"] == sources.before["mfr"]


def test_a_web_of_blank_nodes_forty_levels_deep_is_named_and_stored(settings, sources):
    add_to_catalogue(sources.folder, blank_node_web(40))

    runs = within(600, sources)

    assert runs["dar"].status == "ok", runs["dar"].error
    names = {o for o in stored(settings, "dar").objects(None, URIRef(f"{EX}navn"))}
    assert len(names) == 80  # every node kept apart: a0 and b0 differ in their names
    assert stored_graphs(settings)["mfr"] == sources.before["mfr"]


def test_blank_node_names_are_the_same_on_every_harvest(settings, sources):
    add_to_catalogue(sources.folder, turtle_list(1_000) + "\n" + blank_node_web(12))
    sources()
    first = stored_graphs(settings)["dar"]

    sources("fill_publisher = true\n")  # a configuration change: every record is read again

    assert stored_graphs(settings)["dar"] == first


@pytest.mark.parametrize("options, document, limit", [
    ("max_blank_nodes = 50\n", turtle_list(100), "max_blank_nodes=50"),
    ("max_triples = 40\n", turtle_list(100), "max_triples=40"),
    ("max_list_length = 500\n", turtle_list(1_000), "max_list_length=500"),
    ("", nested(5_000), "max_depth=64"),
])
def test_a_document_past_a_limit_is_refused_naming_it(settings, sources, options, document, limit):
    add_to_catalogue(sources.folder, document)

    runs = within(600, lambda: sources(options))

    assert runs["dar"].status == "failed"
    assert limit in runs["dar"].error and f"{sources.url}/dcat/katalog.ttl" in runs["dar"].error
    assert runs["mfr"].status == "unchanged"  # read again, and found as it was
    assert stored_graphs(settings) == sources.before  # the refused source keeps its last good graph


VARDEF_SOURCE = """
[[source]]
id = "vardef"
name = "SSB Vardef"
publisher = "ssb"
kind = "vardef"
url = "{url}/vardef/variable-definitions"
[source.dataset]
id = "befolkning"
title = {{ nb = "Befolkningsvariabler fra SSB" }}
description = {{ nb = "Variabeldefinisjoner fra SSB." }}
themes = ["%s"]
contact = {{ name = {{ nb = "SSB" }}, email = "s320@ssb.no" }}
""" % EU_HEALTH


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_json_nested_too_deep_is_refused_before_it_is_parsed(settings, make_config, served, depth):
    folder, url = served
    config = make_config(VARDEF_SOURCE.format(url=url) + MFR_SOURCE.format(url=url))
    harvest(settings, config, only=["mfr"])
    before = stored_graphs(settings)
    (folder / "vardef").mkdir()
    (folder / "vardef" / "variable-definitions.json").write_text("[" * depth + "]" * depth)

    runs = {r.source: r for r in harvest(settings, config)}

    assert runs["vardef"].status == "failed"
    assert runs["vardef"].error.endswith(f"{url}/vardef/variable-definitions: JSON nested deeper "
                                         f"than {MAX_JSON_DEPTH} levels")
    assert runs["mfr"].status == "unchanged" and stored_graphs(settings)["mfr"] == before["mfr"]


class Listener:
    """An HTTP server on 127.0.0.1 that answers every request with a JSON-LD context and
    counts the requests: a context fetched from where a document points shows up here."""

    def __init__(self):
        counted = self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                counted.append(self.path)
                body = json.dumps({"@context": {"title": "http://purl.org/dc/terms/title"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server, self.url = serve_handler(Handler)

    def close(self):
        stop_server(self.server)


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


LD_SOURCE = """
[[source]]
id = "ld"
name = "Lenkede data"
publisher = "fhi"
kind = "dcat"
profile = "dcat-ap"
url = "{url}/ld/katalog.jsonld"
contexts = {{ {contexts} }}
"""


@pytest.fixture
def linked_data(settings, make_config, served, listener):
    """A JSON-LD catalogue whose context (top.jsonld) imports another (base.jsonld) and gives
    the type Dataset a scoped context (scoped.jsonld), all three named by URLs of `listener`
    and mirrored in the served folder. `run(mirrored)` harvests it beside `mfr` with only
    the `mirrored` contexts named in its `contexts` option."""
    folder, url = served
    (folder / "ld").mkdir()
    top = {"@context": {"@version": 1.1, "@import": f"{listener.url}/base.jsonld",
                        "Dataset": {"@id": "http://www.w3.org/ns/dcat#Dataset",
                                    "@context": f"{listener.url}/scoped.jsonld"}}}
    base = {"@context": {"title": {"@id": "http://purl.org/dc/terms/title", "@language": "nb"}}}
    scoped = {"@context": {"keyword": {"@id": "http://www.w3.org/ns/dcat#keyword", "@language": "nb"}}}
    for name, context in (("top", top), ("base", base), ("scoped", scoped)):
        (folder / "ld" / f"{name}.jsonld").write_text(json.dumps(context))
    document = {"@context": f"{listener.url}/top.jsonld", "@id": "https://data.fhi.no/datasett/ld",
                "@type": "Dataset", "title": "Lenket datasett", "keyword": "nøkkelord"}
    (folder / "ld" / "katalog.jsonld").write_text(json.dumps(document))

    def run(mirrored=("top", "base", "scoped"), document_context=None) -> dict:
        if document_context is not None:
            (folder / "ld" / "katalog.jsonld").write_text(json.dumps({**document, "@context": document_context}))
        contexts = ", ".join(f'"{listener.url}/{name}.jsonld" = "{url}/ld/{name}.jsonld"' for name in mirrored)
        return {r.source: r for r in harvest(settings, make_config(
            LD_SOURCE.format(url=url, contexts=contexts) + MFR_SOURCE.format(url=url)))}

    run.folder, run.url = folder, url
    return run


def test_imported_and_scoped_contexts_are_read_from_their_mirrors(settings, linked_data, listener):
    runs = linked_data()

    assert runs["ld"].status == "ok", runs["ld"].error
    graph = stored(settings, "ld")
    dataset = URIRef("https://data.fhi.no/datasett/ld")
    assert (dataset, DCT.title, Literal("Lenket datasett", lang="nb")) in graph  # from the import
    assert (dataset, URIRef("http://www.w3.org/ns/dcat#keyword"), Literal("nøkkelord", lang="nb")) in graph
    assert listener.requests == []


@pytest.mark.parametrize("unmirrored", ["top", "base", "scoped"])
def test_a_context_without_a_mirror_is_never_fetched(settings, linked_data, listener, unmirrored):
    first = linked_data()
    assert first["ld"].status == "ok", first["ld"].error
    before = stored_graphs(settings)

    runs = linked_data(mirrored=[n for n in ("top", "base", "scoped") if n != unmirrored])

    assert runs["ld"].status == "failed"
    assert f"{listener.url}/{unmirrored}.jsonld is remote" in runs["ld"].error
    assert f"{linked_data.url}/ld/katalog.jsonld" in runs["ld"].error
    assert listener.requests == []
    assert stored_graphs(settings) == before


@pytest.mark.parametrize("reference", ["remote", "file"])
def test_the_rdf_parser_itself_loads_no_context(listener, tmp_path, reference):
    secret = tmp_path / "secret.jsonld"
    secret.write_text(json.dumps({"@context": {"title": "http://example.org/SECRET-TERM"}}))
    context = f"{listener.url}/top.jsonld" if reference == "remote" else secret.as_uri()
    document = json.dumps({"@context": context, "@id": "https://example.org/d", "title": "T"}).encode()

    with pytest.raises(SyntaxError) as refused:
        read_rdf(document, "json-ld", "https://example.org/katalog.jsonld")

    assert "SECRET-TERM" not in str(refused.value)
    assert listener.requests == []


def test_a_file_context_is_never_opened(settings, linked_data, tmp_path):
    secret = tmp_path / "secret.jsonld"
    secret.write_text(json.dumps({"@context": {"title": "http://example.org/SECRET-TERM"}}))
    assert linked_data()["ld"].status == "ok"
    before = stored_graphs(settings)

    runs = linked_data(document_context=[secret.as_uri(), {"note": {"@context": secret.as_uri()}}])

    assert runs["ld"].status == "failed"
    assert f"JSON-LD context {secret.as_uri()} is remote" in runs["ld"].error
    assert "SECRET-TERM" not in runs["ld"].error and "SECRET-TERM" not in str(stored_graphs(settings))
    assert runs["mfr"].status == "unchanged" and stored_graphs(settings) == before


def test_control_characters_are_stripped_with_a_warning_and_the_catalogue_stays_xml(settings, sources):
    csv = sources.folder / "table" / "mfr-variabler.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("Fødselsvekt;", "Føds\x0bels\x00vekt;", 1),
                   encoding="utf-8")

    runs = sources()

    assert runs["mfr"].status == "ok", runs["mfr"].error
    [warning] = [w for w in runs["mfr"].warnings if "XML 1.0" in w.message]
    assert "FODSELSVEKT" in warning.record and warning.path == "skos:prefLabel"
    assert "U+0000" in warning.message and "U+000B" in warning.message
    assert "U+0000" in warning.messages["nb"]
    labels = {str(o) for o in stored(settings, "mfr").objects(None, SKOS.prefLabel)}
    assert "Fødselsvekt" in labels
    answer = TestClient(create_app(settings)).get("/catalog", params={"format": "rdf"})
    assert answer.status_code == 200
    fromstring(answer.content)  # well-formed XML, with the variable in it
    assert "Fødselsvekt".encode() in answer.content
    assert stored_graphs(settings)["dar"] == sources.before["dar"]


def test_an_iri_with_a_control_character_holds_its_record_back(settings, sources):
    csv = sources.folder / "table" / "mfr-variabler.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("gram;;", "gram;https://example.org/kode\x01liste;", 1)
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")

    runs = sources()

    held = [h for h in runs["mfr"].held_back if "FODSELSVEKT" in h.record]
    assert held and "U+0001" in held[0].message and "XML 1.0" in held[0].message
    assert "disco:representation" in held[0].message
    assert stored_graphs(settings)["dar"] == sources.before["dar"]


@pytest.mark.parametrize("link, path", [
    ("dcat:landingPage <javascript:alert(1)>", "dcat:landingPage"),
    ("foaf:page <data:text/html;base64,PHNjcmlwdD4=>", "foaf:page"),
])
def test_a_script_or_data_iri_where_dcat_expects_a_web_page_is_refused(settings, sources, link, path):
    katalog = sources.folder / "dcat" / "katalog.ttl"
    katalog.write_text(katalog.read_text(encoding="utf-8").replace(
        'dct:identifier "dar" ;', f'dct:identifier "dar" ; {link} ;', 1), encoding="utf-8")

    runs = sources()

    [held] = [h for h in runs["dar"].held_back if h.path == path]
    assert held.record == f"dataset {DATASET}"
    assert "http(s)" in held.messages["en"] and "http(s)" in held.messages["nb"]
    assert held.messages["nb"] != held.messages["en"]
    assert stored_graphs(settings) == sources.before  # the dataset's last good version is kept
