"""/catalog in the HealthDCAT-AP profile (HealthData@EU), checked against the official release 8
shapes: each dataset at the level its dct:accessRights names (public, restricted, non-public)."""
from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, RDF, SH, SKOS

from catalogue.gate.shacl import validate
from catalogue.model.namespaces import CSVW, DCAT, DCATAP, DISCO, HEALTHDCATAP, HYDRA, bind_prefixes
from catalogue.model.rdf import closure
from catalogue.profiles.healthdcat_ap_r8 import LEVELS, PROFILE
from catalogue.site.app import create_app
from support import BASE_URI, corpus

# What the demo misses at each level, by path (counts of violations). Restricted: a variable
# group of Munin's ALS that only ALS's hierarchy names (not captured) has no label, at every level.
# Public: Vardef gives no value type for three variables, and a CSVW column needs a datatype.
# Non-public: dct:type and dct:provenance are mandatory and no source gives them; besides, 64
# variables have no description (14 of the variable search API, and the 50 of MFR, SYSVAK and
# MSIS: their codebooks give none), three datasets have no landing page (so no distribution),
# Kreftregisteret's two datasets and Munin's ALS name a publisher the configuration has no contact
# for, three laws Munin names for ALS are not typed as eli:LegalResource, and Fastlegeregisteret
# has no health category configured.
UNLABELLED_GROUP = {SKOS.prefLabel: 1}
MISSING = {
    "restricted": UNLABELLED_GROUP,
    "public": {CSVW.datatype: 3, CSVW.column: 3, **UNLABELLED_GROUP},
    "non-public": {DCTERMS.type: 18, DCTERMS.provenance: 18, DCTERMS.description: 64, CSVW.column: 64,
                   DCAT.distribution: 3, DCTERMS.publisher: 3, HEALTHDCATAP.healthCategory: 1,
                   DCATAP.applicableLegislation: 3, **UNLABELLED_GROUP},
}


@pytest.fixture(scope="module")
def client(tmp_path_factory, demo_data):
    return TestClient(create_app(demo_data(tmp_path_factory.mktemp("healthdcat-ap"), light=True)))


@pytest.fixture(scope="module")
def catalog(client) -> Graph:
    return Graph().parse(data=client.get("/catalog", params={"profile": "healthdcat-ap"}).text, format="turtle")


def level_shapes(level: str) -> Graph:
    """The level's official shapes with the class ranges, and DCAT-AP 3.0.1's shapes, which
    HealthDCAT-AP's owl:imports (the HealthData@EU validator loads them with it)."""
    folder = corpus("shapes", "healthdcat-ap-r8")
    shapes = Graph().parse(folder / "shapes" / f"{level}-shapes.ttl")
    # pySHACL refuses the level file as published: "hasStructuredData true needs hasVariables" is
    # written as `sh:property [ sh:or (...) ]` without sh:path, not a well-formed property shape.
    # The rule is about the dataset itself, so that one node is attached as a node shape
    # (sh:node) instead: still checked, on the same datasets.
    pathless = [(shape, node) for shape, node in shapes.subject_objects(SH.property)
                if (node, SH.path, None) not in shapes]
    assert len(pathless) == 1 and (pathless[0][1], SH["or"], None) in shapes
    shape, node = pathless[0]
    shapes.remove((shape, SH.property, node))
    shapes.add((shape, SH.node, node))
    shapes.parse(folder / "ranges" / "range.ttl")
    return shapes.parse(corpus("shapes", "dcat-ap-3.0.1", "dcat-ap-SHACL.ttl"))


def at_level(catalog: Graph, level: str) -> Graph:
    """The catalogue as it would be sent to the validator at `level`: without the datasets of
    the other levels, their variables and the nodes they hold."""
    graph = Graph()
    graph += catalog
    for dataset in set(catalog.subjects(RDF.type, DCAT.Dataset)):
        if (dataset, DCTERMS.accessRights, LEVELS[level]) not in catalog:
            for resource in (dataset, *catalog.objects(dataset, DISCO.variable)):
                graph -= closure(catalog, resource)
            graph.remove((None, DCAT.dataset, dataset))
    return graph


def check(graph: Graph, level: str) -> Counter:
    """Validate at `level`; print the results by severity and the violations by path."""
    report = validate(at_level(graph, level), level_shapes(level))
    datasets = sum(1 for d in graph.subjects(DCTERMS.accessRights, LEVELS[level])
                   if (d, RDF.type, DCAT.Dataset) in graph)
    violations = Counter(report.graph.value(r, SH.resultPath) for r in report.graph.objects(None, SH.result)
                         if report.graph.value(r, SH.resultSeverity) == SH.Violation)
    names = Graph()
    bind_prefixes(names)
    names.bind("healthdcatap", HEALTHDCATAP)
    print(f"{level}: {datasets} datasets, results {dict(Counter(r.severity for r in report.results))}, "
          f"violations {({names.qname(path): n for path, n in violations.items()})}")
    return violations


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
def test_the_catalogue_conforms_at_the_restricted_level_and_misses_only_what_no_source_gives(catalog, level):
    assert check(catalog, level) == Counter(MISSING[level])


def test_the_paged_catalogue_is_the_whole_one_and_conforms_as_well(client, catalog):
    """Pages carry the profile's additions for the resources on them (a dataset's distribution
    and table of variables, an agent's contact point): read page by page, as a harvester does,
    the catalogue is the same graph and checks out the same."""
    merged, page = Graph(), 1
    while True:
        answer = client.get("/catalog", params={"profile": "healthdcat-ap", "page": page, "size": 100})
        assert answer.headers["content-profile"] == f"<{PROFILE}>"
        merged.parse(data=answer.text, format="turtle")
        view = next(merged.subjects(RDF.type, HYDRA.PartialCollectionView))
        if (view, HYDRA.next, None) not in merged:
            break
        merged.remove((view, None, None))
        page += 1
    merged.remove((view, None, None))
    assert page > 1 and isomorphic(merged, catalog)
    assert check(merged, "restricted") == Counter(MISSING["restricted"])
