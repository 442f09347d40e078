"""/catalog in the HealthDCAT-AP profile (HealthData@EU): one export per access level (public,
restricted, non-public), each checked with pySHACL against that level's official release 8 set
as the HealthData@EU validator loads it (tests/official_sets.py; TopBraid: test_topbraid.py)."""
from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from catalogue.gate.shacl import validate
from catalogue.model.namespaces import CV, DCAT, DISCO, EU_THEME, HEALTHDCATAP, HYDRA, bind_prefixes
from catalogue.profiles.healthdcat_ap_r8 import LEVELS, PROFILE
from catalogue.site.app import create_app
from official_sets import MISSING, export, level_shapes, violations
from support import BASE_URI

LOS = "https://psi.norge.no/los/"


@pytest.fixture(scope="module")
def client(tmp_path_factory, demo_data):
    return TestClient(create_app(demo_data(tmp_path_factory.mktemp("healthdcat-ap"), light=True)))


@pytest.fixture(scope="module")
def catalog(client) -> Graph:
    return Graph().parse(data=client.get("/catalog", params={"profile": "healthdcat-ap"}).text, format="turtle")


@pytest.fixture(scope="module")
def exports(client) -> dict[str, Graph]:
    return {level: export(client, level) for level in LEVELS}


def check(graph: Graph, level: str) -> Counter:
    """Validate at `level` with pySHACL; print the results by severity and the violations by path."""
    report = validate(graph, level_shapes(level))
    found = violations(report.graph)
    names = Graph()
    bind_prefixes(names)
    names.bind("healthdcatap", HEALTHDCATAP)
    print(f"{level}: {len(set(graph.subjects(RDF.type, DCAT.Dataset)))} datasets, "
          f"results {dict(Counter(r.severity for r in report.results))}, "
          f"violations {({names.qname(path): n for path, n in found.items()})}")
    return found


def test_the_profile_is_chosen_by_name_or_uri_and_named_in_the_answer(client):
    for answer in (client.get("/catalog", params={"profile": "healthdcat-ap", "page": 1, "size": 10}),
                   client.get("/catalog", params={"page": 1, "size": 10}, headers={"accept-profile": f"<{PROFILE}>"}),
                   client.get("/catalog", params={"profile": PROFILE, "format": "nt"})):
        assert answer.status_code == 200 and answer.headers["content-profile"] == f"<{PROFILE}>"
    # and the default profile adds nothing of HealthDCAT-AP: only Munin states it of its kilde
    stated = [line for line in client.get("/catalog", params={"format": "nt"}).text.splitlines()
              if str(HEALTHDCATAP) in line]
    assert stated and all(line.startswith(f"<{BASE_URI}id/dataset/munin/") for line in stated)


@pytest.mark.parametrize("level", LEVELS)
def test_each_level_export_conforms_to_its_official_set_but_for_what_no_source_gives(exports, level):
    assert check(exports[level], level) == Counter(MISSING[level])


def test_a_level_export_holds_that_levels_datasets_only_and_their_variables(catalog, exports):
    datasets = {level: set(graph.subjects(RDF.type, DCAT.Dataset)) for level, graph in exports.items()}
    for level, graph in exports.items():
        assert datasets[level] and all((d, DCTERMS.accessRights, LEVELS[level]) in graph for d in datasets[level])
        assert set(graph.objects(URIRef(f"{BASE_URI}catalog"), DCAT.dataset)) == datasets[level]
    # together they are every dataset of the whole export, and one public dataset's variables
    # are where it is and nowhere else
    assert set().union(*datasets.values()) == set(catalog.subjects(RDF.type, DCAT.Dataset))
    vardef = URIRef(f"{BASE_URI}id/dataset/vardef/vardef-befolkning")
    variable = next(catalog.objects(vardef, DISCO.variable))
    assert (variable, None, None) in exports["public"] and (variable, None, None) not in exports["restricted"]


def test_themes_are_eu_data_themes_and_los_subjects_stay_as_dct_subject(catalog, exports):
    mfr = URIRef(f"{BASE_URI}id/dataset/mfr/mfr")
    themes = set(map(str, catalog.objects(mfr, DCAT.theme)))
    assert themes == {str(EU_THEME.HEAL)}
    assert any(str(s).startswith(LOS) for s in catalog.objects(mfr, DCTERMS.subject))
    assert all(str(t).startswith(str(EU_THEME)) for g in exports.values() for t in g.objects(None, DCAT.theme))


def test_code_lists_are_named_by_the_coding_systems_of_healthdcat_aps_vocabulary(exports):
    """Kreftregisteret's ICD-O-3 is the vocabulary's ICD-O (it has no code per edition)."""
    incidence = URIRef(f"{BASE_URI}id/dataset/kreftregisteret/kreftregisteret-insidens")
    systems = set(exports["non-public"].objects(incidence, HEALTHDCATAP.hasCodingSystem))
    assert systems == {URIRef("https://hdeu-dcat.data.health.europa.eu/resource/authority/coding-system/ICD-O")}


def test_what_the_configuration_states_and_the_one_contact_a_source_gives_are_said(exports):
    """Provenance and dataset type as the configuration states them per source; a publisher
    without a configured contact gets the one contact point its datasets give (Munin's ALS:
    St. Olavs hospital), and none where they give several."""
    graph = exports["non-public"]
    mfr = URIRef(f"{BASE_URI}id/dataset/mfr/mfr")
    authoritative = URIRef("http://data.brreg.no/datakatalog/provinens/nasjonal")
    assert set(graph.objects(mfr, DCTERMS.provenance)) == {authoritative}
    assert (authoritative, RDF.type, DCTERMS.ProvenanceStatement) in graph
    assert (authoritative, SKOS.prefLabel, Literal("Autoritativ kilde", lang="nb")) in graph
    statistical = URIRef("http://publications.europa.eu/resource/authority/dataset-type/STATISTICAL")
    assert set(graph.objects(mfr, DCTERMS.type)) == {statistical}
    assert (statistical, SKOS.inScheme, URIRef("http://publications.europa.eu/resource/authority/dataset-type")) in graph
    als = URIRef(f"{BASE_URI}id/dataset/munin/K_ALS")
    [holder] = graph.objects(als, DCTERMS.publisher)
    assert [str(e) for e in graph.objects(graph.value(holder, CV.contactPoint), CV.email)] == ["alsregister@stolav.no"]
    # Kreftregisteret's two datasets give two addresses: its contact is the configured one
    [registry] = set(graph.objects(URIRef("https://data.kreftregisteret.no/datasett/insidens"), DCTERMS.publisher))
    assert [str(e) for e in graph.objects(graph.value(registry, CV.contactPoint), CV.email)] == [
        "datautlevering@kreftregisteret.no"]


def test_an_unknown_access_level_or_one_without_the_profile_is_refused_with_the_levels(client):
    for params in ({"profile": "healthdcat-ap", "access": "secret"}, {"access": "public"}):
        answer = client.get("/catalog", params=params)
        assert answer.status_code == 422
        assert "public, restricted, non-public" in answer.json()["detail"][0]["message"]


def test_each_page_of_a_level_holds_its_datasets_whole_and_conforms_alone(client, exports):
    """Pages are counted in datasets, each whole on its page with what the profile adds (its
    distribution and table of variables, its publisher's contact point): read alone, as a
    harvester cutting a catalogue up by page does, each page conforms to the level's official
    set, and together they hold every dataset of the level."""
    datasets, page = [], 1
    while True:
        answer = client.get("/catalog", params={"profile": "healthdcat-ap", "access": "public", "page": page,
                                                "size": 1})
        assert answer.headers["content-profile"] == f"<{PROFILE}>"
        alone = Graph().parse(data=answer.text, format="turtle")
        view = next(alone.subjects(RDF.type, HYDRA.PartialCollectionView))
        more = (view, HYDRA.next, None) in alone
        alone.remove((view, None, None))
        assert not check(alone, "public")
        datasets += alone.subjects(RDF.type, DCAT.Dataset)
        if not more:
            break
        page += 1
    assert page > 1 and sorted(datasets) == sorted(exports["public"].subjects(RDF.type, DCAT.Dataset))
