"""Our DCAT endpoint as a partner harvests it: /catalog page by page (Hydra), read with our
own `dcat` harvester into a fresh instance, gives back the same graph."""
from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlencode

import httpx
import pyshacl
import pytest
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF
from rdflib.compare import isomorphic

from catalogue.model.namespaces import DCAT, DISCO, HYDRA
from catalogue.model.rdf import GENID, closure
from catalogue.pipeline.harvest import harvest
from catalogue.storage.store import Store
from support import BASE_URI, corpus, free_port, harvest_demo, settings_in, wait_for, write_config

SOURCES = ["mfr", "vardef", "klass", "helsedata"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The demo's instance, served on loopback: its base URL."""
    settings = settings_in(tmp_path_factory.mktemp("origin"))
    harvest_demo(settings, *SOURCES)
    port = free_port()
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(settings.data_dir), "CATALOGUE_BASE_URI": BASE_URI}
    server = subprocess.Popen([sys.executable, "-m", "catalogue.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/api/variables")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _pages(served: str, size: int, kind=HYDRA.PartialCollectionView, next_term=HYDRA.next,
           **params) -> list[Graph]:
    """Every page, each parsed on its own, found as a harvester finds them: from page 1, by
    the page node of `kind` and its `next_term`."""
    pages, url = [], f"{served}/catalog?" + urlencode({"page": 1, "size": size, **params})
    while url:
        page = Graph().parse(data=httpx.get(url).text, format="turtle")
        pages.append(page)
        node = next(page.subjects(RDF.type, kind))
        url = page.value(node, next_term)
    return pages


def _without_paging(page: Graph) -> Graph:
    out = Graph()
    out += page
    for node in set(page.subjects(RDF.type, HYDRA.PartialCollectionView)):
        out.remove((node, None, None))
    return out


def _named(graph: Graph) -> set:
    """The triples without blank or skolem nodes: those two graphs can be compared by."""
    plain = lambda t: not isinstance(t, BNode) and GENID not in str(t)  # noqa: E731
    return {(s, p, o) for s, p, o in graph if plain(s) and plain(o)}


def test_pages_are_counted_in_datasets_and_hold_each_dataset_whole(served):
    whole = Graph().parse(data=httpx.get(f"{served}/catalog").text, format="turtle")
    datasets = set(whole.subjects(RDF.type, DCAT.Dataset))
    pages = _pages(served, size=2)
    assert len(pages) == -(-len(datasets) // 2) > 1
    on_pages = [d for page in pages for d in page.subjects(RDF.type, DCAT.Dataset)]
    assert sorted(on_pages) == sorted(datasets)  # each dataset on one page, none left out
    everything = _named(whole)
    for page in pages:
        node = next(page.subjects(RDF.type, HYDRA.PartialCollectionView))
        assert (int(page.value(node, HYDRA.totalItems)), int(page.value(node, HYDRA.itemsPerPage))) == (len(datasets), 2)
        assert _named(_without_paging(page)) <= everything
        for dataset in page.subjects(RDF.type, DCAT.Dataset):
            # whole on its page: its own statements, its publisher's name, its variables' and
            # distributions' statements (so a harvester cutting it out of the page has it all)
            held = [dataset, whole.value(dataset, DCTERMS.publisher), *whole.objects(dataset, DISCO.variable),
                    *whole.objects(dataset, DCAT.distribution)]
            for subject in filter(None, held):
                assert _named(whole.triples((subject, None, None))) <= _named(page), (dataset, subject)
    # left out of pages: what datasets do not point to, as the codes of code lists (named by
    # their lists' URIs, which answer, and in the catalogue without pages)
    left = {s for s, _, _ in everything - set().union(*(_named(p) for p in pages))}
    assert not left & (datasets | set(whole.subjects(RDF.type, DISCO.Variable)))
    assert httpx.get(f"{served}/catalog", params={"page": len(pages) + 1, "size": 2}).status_code == 404


@pytest.mark.parametrize("profile", ["dcat-ap-no", "healthdcat-ap"])
def test_every_resource_on_a_page_is_described_as_in_the_whole_catalogue(served, profile):
    """A page is made for its datasets alone, not cut from the whole catalogue: each resource on
    it (but the catalogue, which lists only the page's datasets) has the same description, with
    what the catalogue adds (observed dates, range types, HealthDCAT-AP's tables of variables and
    concept schemes) and the blank nodes it holds, as in the whole catalogue in that profile."""
    whole = Graph().parse(data=httpx.get(f"{served}/catalog", params={"profile": profile}).text, format="turtle")
    catalogue = URIRef(f"{BASE_URI}catalog")
    compared = set()
    for page in map(_without_paging, _pages(served, size=3, profile=profile)):
        for subject in {s for s in page.subjects() if isinstance(s, URIRef) and GENID not in s} - {catalogue}:
            assert isomorphic(closure(page, subject), closure(whole, subject)), subject
            compared.add(subject)
    assert set(whole.subjects(RDF.type, DISCO.Variable)) <= compared


def test_a_harvester_reading_only_the_older_hydra_terms_gets_every_dataset_with_its_publisher(served):
    """As ckanext-dcat before 2.1 reads a catalogue: each page alone, its paging node found as a
    hydra:PagedCollection and followed by hydra:nextPage; each dataset's publisher is named on
    the same page."""
    whole = Graph().parse(data=httpx.get(f"{served}/catalog").text, format="turtle")
    expected = {d: set(whole.objects(whole.value(d, DCTERMS.publisher), FOAF.name))
                for d in whole.subjects(RDF.type, DCAT.Dataset)}
    found = {}
    for page in _pages(served, size=3, kind=HYDRA.PagedCollection, next_term=HYDRA.nextPage):
        for dataset in page.subjects(RDF.type, DCAT.Dataset):
            found[dataset] = set(page.objects(page.value(dataset, DCTERMS.publisher), FOAF.name))
    assert found == expected and all(found.values())


def test_our_own_harvester_reads_the_paged_catalogue_back_whole(served, tmp_path):
    settings = settings_in(tmp_path)
    config = write_config(tmp_path, f"""
        [[source]]
        id = "ourselves"
        name = "Helsevariabler"
        publisher = "fhi"
        kind = "dcat"
        url = "{served}/catalog?page=1&size=2"
        """)
    run, = harvest(settings, config)
    assert run.status == "ok" and run.held_back == [], run.held_back[:3]
    assert len(run.fetched) > 2  # page by page
    store = Store(settings.data_dir, settings.base_uri)
    harvested = Graph().parse(store.graphs_dir / store.state().sources["ourselves"].graph_file, format="nt")
    pages = Graph()
    for page in _pages(served, size=2):
        pages += _without_paging(page)
    # (compared by their named triples: a node blank in our pages, such as the catalogue's
    # contact point, is on every page, and is one node again once harvested)
    assert _named(harvested) == _named(pages)


def test_modified_since_gives_what_changed(served):
    everything = Graph().parse(data=httpx.get(f"{served}/catalog").text, format="turtle")
    modified = sorted(str(m) for m in everything.objects(None, DCTERMS.modified))
    assert modified  # the catalogue dates what it has seen change
    latest = modified[-1]
    recent = Graph().parse(data=httpx.get(f"{served}/catalog", params={"modifiedSince": latest}).text, format="turtle")
    assert 0 < len(recent) < len(everything) / 2
    assert all(str(m) >= latest for s, m in recent.subject_objects(DCTERMS.modified)
               if s != URIRef(f"{BASE_URI}catalog"))
    none = Graph().parse(data=httpx.get(f"{served}/catalog", params={"modifiedSince": "2999-01-01"}).text, format="turtle")
    assert set(none.subjects()) <= {URIRef(f"{BASE_URI}catalog")} | {s for s in none.subjects() if isinstance(s, BNode) or GENID in s}
    assert httpx.get(f"{served}/catalog", params={"modifiedSince": "yesterday"}).status_code == 422


def test_the_whole_catalogue_streams_in_every_syntax(served):
    turtle = Graph().parse(data=httpx.get(f"{served}/catalog").text, format="turtle")
    for fmt, syntax, media in (("nt", "nt", "application/n-triples"), ("jsonld", "json-ld", "application/ld+json"),
                               ("rdf", "xml", "application/rdf+xml")):
        response = httpx.get(f"{served}/catalog", headers={"accept": media})
        assert response.headers["content-type"].startswith(media)
        assert isomorphic(Graph().parse(data=response.text, format=syntax), turtle), fmt


def test_profiles_by_parameter_or_accept_profile(served):
    default = httpx.get(f"{served}/catalog", params={"page": 1, "size": 10})
    assert default.headers["content-profile"] == "<https://data.norge.no/specification/dcat-ap-no>"
    asked = httpx.get(f"{served}/catalog", params={"page": 1, "size": 10},
                      headers={"accept-profile": '<http://example.org/other>, <http://data.europa.eu/r5r/>;q=0.9'})
    assert asked.headers["content-profile"] == "<http://data.europa.eu/r5r/>"
    assert httpx.get(f"{served}/catalog", params={"profile": "dcat-ap", "page": 1, "size": 10}).headers["content-profile"] == "<http://data.europa.eu/r5r/>"
    refused = httpx.get(f"{served}/catalog", params={"profile": "geodcat-ap"})
    assert refused.status_code == 406 and "dcat-ap-no" in refused.json()["detail"]


def test_weights_of_accept_and_accept_profile_are_honoured(served):
    page = {"page": 1, "size": 10}
    weighed = httpx.get(f"{served}/catalog", params=page,
                        headers={"accept-profile": "<https://data.norge.no/specification/dcat-ap-no>;q=0.2, "
                                                   "<http://data.europa.eu/r5r/>;q=0.8"})
    assert weighed.headers["content-profile"] == "<http://data.europa.eu/r5r/>"
    syntax = httpx.get(f"{served}/catalog", params=page,
                       headers={"accept": "text/turtle;q=0.3, application/n-triples;q=0.9, text/html;q=0.1"})
    assert syntax.headers["content-type"].startswith("application/n-triples")


def test_a_harvester_revalidates_and_any_site_may_read(served):
    first = httpx.get(f"{served}/catalog", params={"page": 1, "size": 2})
    tag, modified = first.headers["etag"], first.headers["last-modified"]
    assert first.headers["access-control-allow-origin"] == "*"
    again = httpx.get(f"{served}/catalog", params={"page": 1, "size": 2}, headers={"if-none-match": tag})
    assert again.status_code == 304 and not again.content and again.headers["etag"] == tag
    assert httpx.get(f"{served}/catalog", params={"page": 1, "size": 2},
                     headers={"if-modified-since": modified}).status_code == 304
    # another page, syntax or profile is another answer
    assert httpx.get(f"{served}/catalog", params={"page": 2, "size": 2}, headers={"if-none-match": tag}).status_code == 200
    assert httpx.get(f"{served}/catalog", params={"page": 1, "size": 2},
                     headers={"if-none-match": tag, "accept": "application/ld+json"}).status_code == 200
    head = httpx.head(f"{served}/catalog", params={"page": 1, "size": 2})
    assert head.status_code == 200 and head.headers["etag"] == tag and not head.content
    variable = httpx.get(f"{served}/id/variable/mfr/mfr/VEKT", headers={"accept": "text/turtle"})
    assert variable.status_code == 200 and httpx.get(
        f"{served}/id/variable/mfr/mfr/VEKT", headers={"accept": "text/turtle", "if-none-match": variable.headers["etag"]}
    ).status_code == 304
    preflight = httpx.options(f"{served}/sparql", headers={"origin": "https://data.europa.eu",
                                                           "access-control-request-method": "POST"})
    assert preflight.status_code == 204 and "POST" in preflight.headers["access-control-allow-methods"]
    assert httpx.get(f"{served}/api/variables").headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in httpx.get(f"{served}/api/list").headers  # someone's own
    # a signed-in person's answer is never taken from a copy made without them
    from catalogue.site.auth import SESSION_COOKIE
    signed_in = httpx.get(f"{served}/catalog", params={"page": 1, "size": 2},
                          headers={"if-none-match": tag, "cookie": f"{SESSION_COOKIE}=someone"})
    assert signed_in.status_code == 200 and "etag" not in signed_in.headers


def test_a_new_commit_is_a_new_answer(tmp_path):
    settings = settings_in(tmp_path)
    harvest_demo(settings, "mfr")
    from fastapi.testclient import TestClient
    from catalogue.site.app import create_app
    client = TestClient(create_app(settings))
    tag = client.get("/catalog", params={"page": 1, "size": 5}).headers["etag"]
    harvest_demo(settings, "vardef")
    answer = client.get("/catalog", params={"page": 1, "size": 5}, headers={"if-none-match": tag})
    assert answer.status_code == 200 and answer.headers["etag"] != tag


def test_ddi_discovery_as_specified_and_the_catalogue_identified(served):
    from rdflib.namespace import RDF, SKOS
    disco = "http://rdf-vocabulary.ddialliance.org/discovery#"
    graph = Graph().parse(data=httpx.get(f"{served}/catalog").text, format="turtle")
    variables = set(graph.subjects(RDF.type, URIRef(disco + "Variable")))
    assert len(variables) > 100
    unnamed = [v for v in variables if graph.value(v, SKOS.notation) != graph.value(v, DCTERMS.identifier)]
    assert not unnamed, unnamed[:5]
    with_variables = set(graph.subjects(URIRef(disco + "variable"), None))
    assert with_variables and with_variables <= set(graph.subjects(RDF.type, URIRef(disco + "LogicalDataSet")))
    ours = URIRef(f"{BASE_URI}catalog")
    assert str(graph.value(ours, DCTERMS.identifier)) == str(ours)


def test_partners_still_on_dcat_ap_no_2_take_the_catalogue_whole_and_by_page(served):
    """The official DCAT-AP-NO 2.0 shapes find no violation in the catalogue, whole or read page by page."""
    shapes = Graph().parse(corpus("shapes", "dcat-ap-no", "v2", "DCAT-AP-NO-shacl_shapes_2.00.ttl"))
    whole = Graph().parse(data=httpx.get(f"{served}/catalog").text, format="turtle")
    pages = Graph()
    for page in _pages(served, size=2):
        pages += _without_paging(page)
    for graph in (whole, pages):
        conforms, _, text = pyshacl.validate(graph, shacl_graph=shapes, inference="none")
        assert conforms, text[:3000]
