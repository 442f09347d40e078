"""The SHACL gate: what it refuses, where it points, and in which language it says so."""
from datetime import date

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import FOAF, RDF, SKOS

from catalogue.gate.shacl import validate
from catalogue.harvesters import Record
from catalogue.model.models import Agent, ContactPoint, Dataset, Period, Variable
from catalogue.model.namespaces import DCAT, DCT, DISCO, VCARD
from catalogue.pipeline.harvest import gate
from catalogue.profiles.dcat_ap_no_3 import to_graph

EX = "https://example.org/"
HEAL = "http://publications.europa.eu/resource/authority/data-theme/HEAL"
PUBLISHER = Agent(uri=EX + "fhi", name={"nb": "Folkehelseinstituttet"})
DATASET = Dataset(uri=EX + "mfr", identifier="mfr", title={"nb": "Fødselsregisteret"},
                  description={"nb": "Alle fødsler."}, publisher=PUBLISHER.uri,
                  contact=ContactPoint(uri=EX + "mfr/kontakt", name={"nb": "MFR"}, email="mfr@example.org"),
                  themes=[HEAL], periods=[Period(start=date(1967, 1, 1))])


def variable(name: str, **changes) -> Variable:
    fields = dict(uri=f"{EX}mfr/{name}", identifier=name, label={"nb": name.lower(), "en": name.lower()},
                  dataset=DATASET.uri, periods=[Period(start=date(1967, 1, 1), end=date(1998, 12, 31))])
    return Variable(**{**fields, **changes})


def valid_graph() -> Graph:
    graph = to_graph(DATASET)
    to_graph(PUBLISHER, graph)
    to_graph(variable("VEKT", representation="http://www.w3.org/2001/XMLSchema#integer", unit="gram"),
             graph)
    return graph


def test_valid_dataset_and_variable_conform():
    report = validate(valid_graph())

    assert report.conforms, [r.describe() for r in report.results]
    assert report.results == []


# Each case breaks the valid graph in one place: (focus node, expected path, change).
def _drop(subject, predicate):
    return lambda g: g.remove((URIRef(subject), predicate, None))


def _unlink_variable(g):
    g.remove((None, DISCO.variable, None))


def _reverse_period(g):
    period = next(g.objects(URIRef(DATASET.uri), DCT.temporal))
    g.set((period, DCAT.startDate, Literal(date(2001, 1, 1))))
    g.set((period, DCAT.endDate, Literal(date(2000, 12, 31))))


def _national_theme_only(g):
    g.remove((URIRef(DATASET.uri), DCAT.theme, None))
    g.add((URIRef(DATASET.uri), DCAT.theme, URIRef("https://psi.norge.no/los/tema/svangerskap")))


def _code_without_notation(g):
    scheme, code = URIRef(EX + "kodeliste/ja-nei"), URIRef(EX + "kodeliste/ja-nei/1")
    g.add((scheme, RDF.type, SKOS.ConceptScheme))
    g.add((scheme, DCT.title, Literal("Ja/nei", lang="nb")))
    g.add((code, RDF.type, SKOS.Concept))
    g.add((code, SKOS.inScheme, scheme))
    g.add((code, SKOS.prefLabel, Literal("Ja", lang="nb")))


INVALID = {
    "variable without name": (EX + "mfr/VEKT", "skos:prefLabel", _drop(EX + "mfr/VEKT", SKOS.prefLabel)),
    "variable without dataset": (EX + "mfr/VEKT", "^disco:variable", _unlink_variable),
    "period ending before it starts": (None, "dcat:startDate", _reverse_period),
    "dataset without description": (DATASET.uri, "dct:description", _drop(DATASET.uri, DCT.description)),
}
# What the official shapes do not require (DCAT-AP-NO 3 asks for the first three, DCAT-AP-NO 2
# does not): warned of, never refused. DCAT graphs also bring vocabulary concepts without
# notations, which must not hold their datasets back.
WARNED = {
    "dataset without EU theme": (DATASET.uri, "dcat:theme", _national_theme_only),
    "dataset without contact point": (DATASET.uri, "dcat:contactPoint", _drop(DATASET.uri, DCAT.contactPoint)),
    "title without language tag": (DATASET.uri, "dct:title",
                                   lambda g: g.set((URIRef(DATASET.uri), DCT.title, Literal("MFR")))),
    "publisher typed but without name": (PUBLISHER.uri, "foaf:name", _drop(PUBLISHER.uri, FOAF.name)),
    "code without notation": (EX + "kodeliste/ja-nei/1", "skos:notation", _code_without_notation),
}
FINDINGS = {**{name: (*case, "Violation") for name, case in INVALID.items()},
            **{name: (*case, "Warning") for name, case in WARNED.items()}}


@pytest.mark.parametrize("focus, path, spoil, severity", FINDINGS.values(), ids=FINDINGS.keys())
def test_finding_is_reported_at_its_path_with_its_severity(focus, path, spoil, severity):
    graph = valid_graph()
    spoil(graph)

    report = validate(graph)

    assert report.conforms == (severity == "Warning"), [r.describe() for r in report.violations]
    if focus is None:  # the period is a blank node: the dataset's one period
        focus = str(next(graph.objects(URIRef(DATASET.uri), DCT.temporal)))
    assert {(r.focus, r.severity) for r in report.results if r.path == path} == {(focus, severity)}


@pytest.mark.parametrize("focus, path, spoil", INVALID.values(), ids=INVALID.keys())
def test_messages_are_given_in_english_and_bokmal(focus, path, spoil):
    graph = valid_graph()
    spoil(graph)

    english = validate(graph, language="en").violations
    bokmal = validate(graph, language="nb").violations

    assert [(r.focus, r.path) for r in english] == [(r.focus, r.path) for r in bokmal]
    assert all(r.message for r in english + bokmal)
    assert {r.message for r in english}.isdisjoint({r.message for r in bokmal})


def test_contact_point_warning_says_what_is_missing():
    graph = valid_graph()
    graph.remove((URIRef(EX + "mfr/kontakt"), VCARD.hasEmail, None))

    report = validate(graph)

    assert report.conforms
    messages = " ".join(r.message for r in report.results)
    assert "e-mail" in messages and "vcard:hasEmail" in messages


@pytest.mark.parametrize("link, refused", [
    ("javascript:alert(1)", True), ("DATA:text/html,<script>x</script>", True),
    ("https:/example.org/side", False), ("ftp://example.org/fil.csv", False)])
def test_only_a_link_that_would_run_or_show_its_content_is_refused(link, refused):
    # The official shapes ask only for an IRI; the site makes only http(s) IRIs links.
    graph = valid_graph()
    graph.add((URIRef(DATASET.uri), DCAT.landingPage, URIRef(link)))

    report = validate(graph)

    assert [r.path for r in report.violations] == (["dcat:landingPage"] if refused else [])


# -- the gate ---------------------------------------------------------------------

def _record(key: str, *models) -> Record:
    record = Record(key=key)
    for model in models:
        to_graph(model, record.graph)
    return record


def test_gate_holds_back_only_the_invalid_record():
    good = variable("VEKT")
    bad = variable("ROYK", label={})  # no skos:prefLabel
    records = [_record("dataset mfr", DATASET, PUBLISHER),
               _record("variable VEKT", good),
               _record("variable ROYK", bad)]

    verdict = gate(records)
    accepted, held_back = verdict.accepted, verdict.held_back

    assert [(h.record, h.focus, h.path) for h in held_back] == [
        ("variable ROYK", bad.uri, "skos:prefLabel")]
    assert "skos:prefLabel" in held_back[0].message
    assert [r.key for r in accepted] == ["dataset mfr", "variable VEKT"]


def test_gate_holds_back_a_record_the_harvester_could_not_read():
    unreadable = Record(key="variable SVLEN (row 7)",
                        problems=["row 7: cannot read '31.02.2001' as a date"])
    records = [_record("dataset mfr", DATASET, PUBLISHER), _record("variable VEKT", variable("VEKT")),
               unreadable]

    verdict = gate(records)
    accepted, held_back = verdict.accepted, verdict.held_back

    assert [(h.record, h.message) for h in held_back] == [
        ("variable SVLEN (row 7)", "row 7: cannot read '31.02.2001' as a date")]
    assert [r.key for r in accepted] == ["dataset mfr", "variable VEKT"]


def test_gate_charges_a_blank_node_problem_to_the_record_holding_it():
    dataset = _record("dataset mfr", DATASET, PUBLISHER)
    _reverse_period(dataset.graph)  # the period is a blank node
    records = [dataset, _record("variable VEKT", variable("VEKT"))]

    held_back = gate(records).held_back

    assert held_back and {h.record for h in held_back} == {"dataset mfr"}


# -- period dates -------------------------------------------------------------------

XSD_NS = "http://www.w3.org/2001/XMLSchema#"


def _dated(start: Literal, end: Literal | None = None) -> list[Record]:
    """The dataset and a variable whose one period has these dates, as a source gave them."""
    record = _record("variable VEKT", variable("VEKT"))
    period = next(record.graph.objects(URIRef(EX + "mfr/VEKT"), DCT.temporal))
    record.graph.set((period, DCAT.startDate, start))
    record.graph.remove((period, DCAT.endDate, None))
    if end is not None:
        record.graph.add((period, DCAT.endDate, end))
    return [_record("dataset mfr", DATASET, PUBLISHER), record]


@pytest.mark.parametrize("start, end", [
    (Literal("1990", datatype=XSD_NS + "gYear"), Literal("1990-06-30", datatype=XSD_NS + "date")),
    (Literal("1990-06-01", datatype=XSD_NS + "date"), Literal("1990", datatype=XSD_NS + "gYear")),
    (Literal("1990-06-01T10:00:00+02:00", datatype=XSD_NS + "dateTime"), Literal("1990-06-30", datatype=XSD_NS + "date")),
    (Literal("1990", datatype=XSD_NS + "gYear"), Literal("1991", datatype=XSD_NS + "gYear")),
], ids=["year to a day of that year", "a day to the end of its year", "date and time to a later day", "two years"])
def test_a_period_given_by_year_date_or_date_and_time_passes(start, end):
    verdict = gate(_dated(start, end))

    assert verdict.held_back == []
    assert [r.key for r in verdict.accepted] == ["dataset mfr", "variable VEKT"]


@pytest.mark.parametrize("start, end, path", [
    (Literal("2020-13-45", datatype=XSD_NS + "date"), None, "dcat:startDate"),
    (Literal("2020-01-01"), None, "dcat:startDate"),  # a plain string
    (Literal("20x0", datatype=XSD_NS + "gYear"), None, "dcat:startDate"),
    (Literal("2020-01-01", datatype=XSD_NS + "date"), Literal("2020-02-30T00:00:00", datatype=XSD_NS + "dateTime"),
     "dcat:endDate"),
    (Literal("2001", datatype=XSD_NS + "gYear"), Literal("2000", datatype=XSD_NS + "gYear"), "dcat:startDate"),
], ids=["no such day", "a string", "no year", "no such date and time", "ends the year before it starts"])
def test_a_period_date_that_is_no_date_is_refused_naming_its_field(start, end, path):
    held_back = gate(_dated(start, end)).held_back

    assert {(h.record, h.path) for h in held_back} == {("variable VEKT", path)}
    assert all(path in h.messages["en"] and path in h.messages["nb"] and h.messages["en"] != h.messages["nb"]
               for h in held_back)
