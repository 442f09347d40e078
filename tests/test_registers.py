"""One register, one identity: a dataset a source declares owl:sameAs another source's dataset
is one dataset in the explorer (facets, pages, exports), each source's part named, and a
variable both sources describe links to its twin. The demo's Reseptregisteret and
Kreftregisteret incidence data are each described by two sources."""
from __future__ import annotations

import csv
import io

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL

from catalogue.model import ids
from catalogue.model.models import Dataset
from catalogue.pipeline.harvest import harvest
from catalogue.profiles.dcat_ap_no_3 import from_graph, to_graph
from catalogue.site.app import create_app
from support import FIXTURES, search
from test_official_shapes import _violations, official_shapes, our_dataset  # noqa: F401 (a fixture)

RESEPT = "helsedata/reseptregisteret"      # the DCAT catalogue's dataset: the register's id
RESEPT_ALSO = "helsedata-variabelsok/RESEPT"  # the variable search's, declared the same


@pytest.fixture(scope="module")
def app(tmp_path_factory, demo_data):
    return create_app(demo_data(tmp_path_factory.mktemp("registers")))


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_dataset_facet_names_no_register_twice(client, lang):
    facet = client.get("/api/variables", params={"size": 1}).json()["facets"]["dataset"]
    names = [value["label"].get(lang, value["label"]["nb"]) for value in facet]  # Munin's ALS: nb only
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    values = {value["value"] for value in facet}
    assert RESEPT in values and RESEPT_ALSO not in values
    assert "helsedata/insidens" in values and "kreftregisteret/kreftregisteret-insidens" not in values
    assert "helsedata/msis" in values and "msis/msis" not in values


def test_the_register_page_names_both_sources_and_shows_their_variables(client):
    body = client.get(f"/api/datasets/{RESEPT}", params={"page_no": 1}).json()
    parts = {c["source"]: c for c in body["contributions"]}
    assert set(parts) == {"helsedata", "helsedata-variabelsok"}
    assert parts["helsedata-variabelsok"]["dataset_id"] == RESEPT_ALSO
    assert all(c["harvested"] and c["variables"] > 0 for c in parts.values())
    assert {v["source"] for v in body["variables"]} == set(parts)
    assert body["total"] == sum(c["variables"] for c in parts.values())
    page = client.get(f"/datasets/{RESEPT}", params={"lang": "en"}).text
    assert "Sources describing this register" in page
    assert "Helsedata – DCAT-katalog" in page and "Helsedata – variabelsøk" in page
    # the other source's own dataset id leads to the register's page
    moved = client.get(f"/datasets/{RESEPT_ALSO}", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == f"/datasets/{RESEPT}"
    assert client.get(f"/api/datasets/{RESEPT_ALSO}").json()["dataset"]["id"] == RESEPT
    csv_moved = client.get(f"/datasets/{RESEPT_ALSO}/availability.csv", params={"lang": "en"}, follow_redirects=False)
    assert csv_moved.headers["location"] == f"/datasets/{RESEPT}/availability.csv?lang=en"
    # its RDF stays its own description, which says what it is the same as
    graph = Graph().parse(data=client.get(f"/datasets/{RESEPT_ALSO}.ttl").text, format="turtle")
    assert (None, OWL.sameAs, URIRef("https://data.fhi.no/datasett/reseptregisteret")) in graph


def test_a_variable_from_both_sources_is_linked_to_its_twin(client):
    found = client.get("/api/variables", params={"q": "ATC_KODE", "dataset": RESEPT}).json()["items"]
    atc = {item["id"]: item for item in found if item["name"] == "ATC_KODE"}
    assert set(atc) == {f"{RESEPT}/ATC_KODE", f"{RESEPT_ALSO}/ATC_KODE"}
    for variable_id, item in atc.items():
        (twin,) = set(atc) - {variable_id}
        assert set(item["same_as"]) == {twin}
        body = client.get(f"/api/variables/{variable_id}").json()
        assert [(s["id"], s["relation"]) for s in body["same_variables"]] == [(twin, "same_register")]
        assert twin not in [s["id"] for s in body["similar"]]  # not offered again as a look-alike
        assert body["variable"]["dataset_id"] == RESEPT
    page = client.get(f"/variables/{RESEPT}/ATC_KODE", params={"lang": "en"}).text
    assert "the same variable of the same register, from another source" in page
    assert f'href="/variables/{RESEPT_ALSO}/ATC_KODE"' in page
    # a variable only one source has links to nothing
    only = client.get(f"/api/variables/{RESEPT}/ATC_HOVEDGRUPPE").json()
    assert only["same_variables"] == [] and only["variable"]["same_as"] == {}


def test_a_saved_list_item_still_resolves_and_exports_under_the_register(client):
    saved = f"{RESEPT_ALSO}/ATC_KODE"  # the id a list saved before the two were one
    assert client.get(f"/variables/{saved}").status_code == 200
    client.post("/list/items", data={"variable": saved, "back": "/"}, follow_redirects=False)
    header, row = list(csv.reader(io.StringIO(client.get("/list/export.csv", params={"lang": "en"}).text)))[:2]
    row = dict(zip(header, row))
    assert row["Variable id"] == saved and row["Short name"] == "ATC_KODE"
    assert row["Dataset"] == "Norwegian Prescription Database"


def test_a_same_as_chain_ends_at_its_register_and_a_loop_changes_nothing():
    same = {"a": "b", "b": "c", "x": "y", "y": "x", "p": "elsewhere"}
    known = {"a", "b", "c", "x", "y", "p"}
    assert ids.register("a", same.get, known) == "c"
    assert ids.register("x", same.get, known) == "x"
    assert ids.register("p", same.get, known) == "p"  # not a dataset of the catalogue


def test_same_as_is_published_with_owl_and_conforms_to_the_official_shapes(official_shapes):  # noqa: F811
    graph = our_dataset()
    uri = "https://data.fhi.no/datasett/mfr"
    dataset = from_graph(Dataset, graph, uri).model_copy(update={"same_as": "https://example.org/datasett/mfr"})
    graph = to_graph(dataset, graph)
    assert (URIRef(uri), OWL.sameAs, URIRef("https://example.org/datasett/mfr")) in graph
    assert from_graph(Dataset, graph, uri).same_as == "https://example.org/datasett/mfr"
    assert _violations(graph, official_shapes) == []


def test_an_owl_same_as_a_dcat_source_states_itself_joins_its_dataset_to_the_register(
        settings, make_config, serve, tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    first = (FIXTURES / "dcat" / "katalog.ttl").read_text(encoding="utf-8")
    (folder / "a.ttl").write_text(first, encoding="utf-8")
    second = first.replace("https://data.fhi.no/datasett/dar", "https://data.example.no/dar-kopi")
    second = second.replace('dct:identifier "dar" ;', 'dct:identifier "dar-kopi" ;\n'
                            '    <http://www.w3.org/2002/07/owl#sameAs> <https://data.fhi.no/datasett/dar> ;')
    (folder / "b.ttl").write_text(second, encoding="utf-8")
    url = serve(folder).url
    harvest(settings, make_config(f"""
        [[source]]
        id = "a"
        name = "Katalog A"
        publisher = "fhi"
        kind = "dcat"
        url = "{url}/a.ttl"

        [[source]]
        id = "b"
        name = "Katalog B"
        publisher = "fhi"
        kind = "dcat"
        url = "{url}/b.ttl"
        """))
    docs = {doc.id: doc for doc in search(settings)}
    assert set(docs) == {"a/dar/UNDERLIGGENDE", "a/dar/DODSSTED", "b/dar-kopi/UNDERLIGGENDE", "b/dar-kopi/DODSSTED"}
    assert {doc.dataset for doc in docs.values()} == {"a/dar"}
    assert docs["b/dar-kopi/DODSSTED"].same_as == {"a/dar/DODSSTED": "Katalog A"}
    assert docs["a/dar/DODSSTED"].same_as == {"b/dar-kopi/DODSSTED": "Katalog B"}
