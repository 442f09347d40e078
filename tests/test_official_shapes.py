"""What our profile writes meets the official DCAT-AP-NO 3 shapes, and our validator
reports the official shapes' findings (read from the shared corpus; skipped without it)."""
from datetime import date

import pyshacl
import pytest
from rdflib import Dataset as Quads
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SH, SKOS

from catalogue.gate.shacl import validate
from catalogue.model.models import Agent, ContactPoint, Dataset, Period
from catalogue.profiles.dcat_ap_no_3 import to_graph
from support import corpus

HEAL = URIRef("http://publications.europa.eu/resource/authority/data-theme/HEAL")
SHAPE_FILES = ("dcatapno3-core-shapes.ttl", "dcatapno3-range-shapes.ttl")
TESTS = ("dcat", "dcat-ap-no-shacl-tests")

# rdflib's TriG parser uses its own deprecated API
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib")


@pytest.fixture(scope="module")
def official_shapes() -> Graph:
    folder = corpus("shapes", "dcat-ap-no", "v3-draft")
    shapes = Graph()
    for name in SHAPE_FILES:
        shapes.parse(folder / name, format="turtle")
    return shapes


def our_dataset() -> Graph:
    publisher = Agent(uri="https://organization-catalog.fellesdatakatalog.digdir.no/organizations/983744516",
                      name={"nb": "Folkehelseinstituttet", "en": "Norwegian Institute of Public Health"},
                      identifier="983744516")
    dataset = Dataset(
        uri="https://data.fhi.no/datasett/mfr", identifier="mfr",
        title={"nb": "Medisinsk fødselsregister", "en": "Medical Birth Registry of Norway"},
        description={"nb": "Alle fødsler i Norge fra 1967.", "en": "All births in Norway since 1967."},
        publisher=publisher.uri,
        contact=ContactPoint(name={"nb": "Medisinsk fødselsregister"}, email="mfr@fhi.no"),
        themes=[str(HEAL)], keywords=["fødsel", "svangerskap"],
        periods=[Period(start=date(1967, 1, 1), end=date(1998, 12, 31)), Period(start=date(2002, 1, 1))],
        access_rights="http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC",
        landing_page="https://www.fhi.no/he/mfr/")
    graph = to_graph(dataset)
    to_graph(publisher, graph)
    graph.add((HEAL, RDF.type, SKOS.Concept))
    graph.add((HEAL, SKOS.prefLabel, Literal("Health", lang="en")))
    graph.add((HEAL, SKOS.inScheme, URIRef("http://publications.europa.eu/resource/authority/data-theme")))
    return graph


def _violations(data: Graph, shapes: Graph) -> list[str]:
    _, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none")
    return [str(report.value(r, SH.resultMessage)) for r in report.subjects(SH.resultSeverity, SH.Violation)]


def test_our_dataset_has_no_violation_of_the_official_shapes(official_shapes):
    assert _violations(our_dataset(), official_shapes) == []


def test_the_official_shapes_do_check_our_dataset(official_shapes):
    """The check above is not empty: without a title the same dataset is refused."""
    graph = our_dataset()
    graph.remove((None, DCTERMS.title, None))

    assert _violations(graph, official_shapes)


@pytest.fixture(scope="module")
def invalid_dataset_cases() -> Quads:
    """The suite's invalid dataset descriptions: one named graph per case, each to be
    merged with base-graphs/dataset.base.ttl (as in the SOURCES.md of the corpus)."""
    cases = Quads()
    cases.parse(corpus(*TESTS, "invalid-graphs", "core", "dataset.trig"), format="trig")
    return cases


@pytest.mark.parametrize("case, path", [
    ("title-4", "dct:title"),              # a title without a language tag
    ("description-2", "dct:description"),  # a description that is an IRI
])
def test_official_invalid_case_is_reported_at_its_path(official_shapes, invalid_dataset_cases,
                                                       case, path):
    graph = Graph().parse(corpus(*TESTS, "base-graphs", "dataset.base.ttl"), format="turtle")
    named = invalid_dataset_cases.graph(URIRef(f"http://example.com/test-graphs/invalid/datasets/{case}"))
    assert len(named), f"no test graph {case} in dataset.trig"
    graph += named

    report = validate(graph, shapes=official_shapes)

    assert not report.conforms
    failing = [r for r in report.violations if r.path == path]
    assert failing, [r.describe() for r in report.results]
    assert {r.focus for r in failing} == {"http://example.com/test-datasets/validDatasetBase"}


def test_official_base_dataset_conforms_through_our_validator(official_shapes):
    base = Graph().parse(corpus(*TESTS, "base-graphs", "dataset.base.ttl"), format="turtle")

    assert validate(base, shapes=official_shapes).conforms
