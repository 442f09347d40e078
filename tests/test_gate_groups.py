"""The gate checks a source's records in groups on several processes, and its verdicts are
those of one graph of all of them: the same results, charged to the same records, with the
same messages in bokmål and English."""
from __future__ import annotations

from datetime import date

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import FOAF, RDF

from catalogue.gate.groups import check, groups
from catalogue.gate.shacl import profile_shapes
from catalogue.harvesters.dcat import records as dcat_records
from catalogue.model.models import Agent, ContactPoint, Dataset, Period, Variable
from catalogue.model.namespaces import DCAT, DCT, DISCO, VCARD
from catalogue.model.rdf import stable_skolemize
from catalogue.profiles.dcat_ap_no_3 import to_graph
from support import CORPUS

EX = "https://example.org/"
BASE = "http://gate.test/"
HEAL = "http://publications.europa.eu/resource/authority/data-theme/HEAL"


def _dataset(name: str, **changes) -> Graph:
    graph = to_graph(Dataset(**{**dict(
        uri=EX + name, identifier=name, title={"nb": name}, description={"nb": "Et register."},
        publisher=EX + "fhi", contact=ContactPoint(name={"nb": name}, email="post@example.org"),
        themes=[HEAL], periods=[Period(start=date(1967, 1, 1))]), **changes}))
    return graph


def _variable(dataset: str, name: str, **changes) -> Graph:
    return to_graph(Variable(**{**dict(
        uri=f"{EX}{dataset}/{name}", identifier=name, label={"nb": name}, dataset=EX + dataset,
        periods=[Period(start=date(1990, 1, 1), end=date(1999, 12, 31))]), **changes}))


def _crossing() -> list[Graph]:
    """Records whose verdicts depend on other records: what a split that ignored them would get wrong."""
    named = _dataset("named")  # describes the publisher with a name ...
    to_graph(Agent(uri=EX + "fhi", name={"nb": "FHI"}), named)
    unnamed = _dataset("unnamed")  # ... which this one types without: one graph has the name
    unnamed.add((URIRef(EX + "fhi"), RDF.type, FOAF.Agent))
    blank_variable = Graph()  # a variable as a blank node, listed by a dataset of another record
    variable = BNode()
    blank_variable.add((URIRef(EX + "named"), DISCO.variable, variable))
    blank_variable.add((variable, RDF.type, DISCO.Variable))
    # Time coverage given by IRI and typed in another record: once right, once wrongly
    period, agent = URIRef(EX + "periode/1"), URIRef(EX + "aktor/1")
    covered = _dataset("covered")
    covered.add((URIRef(EX + "covered"), DCT.temporal, period))
    miscovered = _dataset("miscovered")
    miscovered.add((URIRef(EX + "miscovered"), DCT.temporal, agent))
    typed = Graph()
    typed.add((period, RDF.type, DCT.PeriodOfTime))
    typed.add((period, DCAT.startDate, Literal(date(2001, 1, 1))))
    typed.add((agent, RDF.type, FOAF.Agent))
    typed.add((agent, FOAF.name, Literal("Noen", lang="nb")))
    # A contact point described in a record of its own, with no way to reach it
    contact = URIRef(EX + "kontakt/1")
    reached = _dataset("reached")
    reached.set((URIRef(EX + "reached"), DCAT.contactPoint, contact))
    card = Graph()
    card.add((contact, RDF.type, VCARD.Organization))
    card.add((contact, VCARD.fn, Literal("Kontakt", lang="nb")))
    return [named, unnamed, blank_variable, covered, miscovered, typed, reached, card,
            _variable("named", "VEKT"), _variable("named", "ROYK", label={}),
            _variable("unnamed", "LENGDE", periods=[]), _variable("elsewhere", "PARITET")]


def _corpus() -> list[Graph]:
    """The records the dcat harvester makes of every Turtle file of the shared corpus."""
    graphs = []
    for path in sorted((CORPUS / "dcat").rglob("*.ttl")):
        try:
            source = Graph().parse(path, format="turtle")
        except Exception:  # the corpus's files that do not parse are the harvest tests' business
            continue
        graphs += [record.graph for record in dcat_records(source)]
    return graphs


@pytest.fixture(scope="module")
def graphs() -> list[Graph]:
    return [stable_skolemize(g, BASE) for g in _crossing() + _corpus()]


def _verdicts(found) -> list[tuple]:
    return [(index, r.focus, r.path, r.severity, r.message, r.value, r.messages) for index, r in found]


@pytest.mark.parametrize("profile", ["dcat-ap-no", "dcat-ap"])
def test_records_checked_in_groups_on_two_processes_get_the_verdicts_of_one_graph(graphs, profile):
    shapes = profile_shapes(profile)
    assert len(groups(graphs, shapes)) > len(graphs) // 4  # the records do split

    whole = check(graphs, shapes, processes=1, batch_triples=10**9)
    split = check(graphs, shapes, processes=2, batch_triples=1)

    assert _verdicts(split) == _verdicts(whole)
    findings = {(r.path, r.severity) for _, r in whole if r.node is not None and str(r.node).startswith(EX)}
    # the crossing records' findings, each of which needs another record to be found or not
    assert {("skos:prefLabel", "Violation"), ("dct:temporal", "Violation"), ("disco:variable", "Violation"),
            ("dcat:contactPoint", "Warning"), ("dct:temporal", "Warning")} <= findings
    assert ("foaf:name", "Warning") not in findings  # the publisher is named in one of its records


def test_a_source_with_shapes_of_its_own_is_checked_alike(graphs):
    own = Graph()
    own += profile_shapes()
    own.parse(data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix dct: <http://purl.org/dc/terms/> .
        @prefix dcat: <http://www.w3.org/ns/dcat#> .
        [] a sh:NodeShape ; sh:targetClass dcat:Dataset ;
           sh:property [ sh:path dct:identifier ; sh:minCount 1 ] .""", format="turtle")

    whole = check(graphs, own, processes=1, batch_triples=10**9)
    split = check(graphs, own, processes=2, batch_triples=1)

    assert _verdicts(split) == _verdicts(whole)
    assert any(r.path == "dct:identifier" for _, r in whole)
