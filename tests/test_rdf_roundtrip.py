"""Every model survives model -> RDF -> model -> RDF unchanged.

List fields are given in the order `from_graph` reads them back (RDF has no order):
URIs and keywords sorted, periods by start, concepts by notation.
"""
from datetime import date

import pytest
from rdflib.compare import isomorphic, to_isomorphic

from catalogue.model.models import (Agent, Catalogue, CodeList, Concept, ContactPoint, Dataset, Period,
                              Variable)
from catalogue.profiles.dcat_ap_no_3 import from_graph, to_graph

EU_THEME = "http://publications.europa.eu/resource/authority/data-theme/"
KLASS = "https://data.ssb.no/api/klass/v1/"
FHI = "https://organization-catalog.fellesdatakatalog.digdir.no/organizations/983744516"
MFR = "https://data.fhi.no/datasett/mfr"

CONTACT = ContactPoint(name={"nb": "Medisinsk fødselsregister", "en": "Medical Birth Registry"},
                       email="mfr@fhi.no")

MODELS = {
    "catalogue": Catalogue(
        uri="https://data.helsedata.no/katalog",
        title={"nb": "Variabelkatalog", "en": "Variable catalogue"},
        description={"nb": "Variabler i helseregistre.", "en": "Variables in health registries."},
        publisher=FHI,
        contact=ContactPoint(uri="https://data.helsedata.no/kontakt", name={"nb": "Helsedataservice"},
                             url="https://helsedata.no/kontakt"),
        datasets=[MFR, "https://data.fhi.no/datasett/msis"]),
    "dataset": Dataset(
        uri=MFR, identifier="mfr",
        title={"nb": "Medisinsk fødselsregister", "en": "Medical Birth Registry of Norway"},
        description={"nb": "Alle fødsler i Norge fra 1967.", "en": "All births in Norway since 1967."},
        publisher=FHI, contact=CONTACT,
        themes=[EU_THEME + "HEAL", "https://psi.norge.no/los/tema/svangerskap"],
        keywords=["fødsel", "nyfødte", "svangerskap"],
        # open start, a gap between 1998 and 2002, and an open end
        periods=[Period(end=date(1966, 12, 31)),
                 Period(start=date(1967, 1, 1), end=date(1998, 12, 31)),
                 Period(start=date(2002, 1, 1))],
        access_rights="http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC",
        landing_page="https://www.fhi.no/he/mfr/",
        language="http://publications.europa.eu/resource/authority/language/NOB",
        variables=[MFR + "/variabel/FODSELSVEKT", MFR + "/variabel/ROYK"]),
    "variable with code list": Variable(
        uri=MFR + "/variabel/BOSTED_FYLKE", identifier="BOSTED_FYLKE",
        label={"nb": "Mors bostedsfylke", "en": "Mother's county of residence"},
        description={"nb": "Fylket mor var bosatt i ved fødselen."},
        dataset=MFR, representation=KLASS + "classifications/104",
        themes=["https://psi.norge.no/los/tema/svangerskap"],
        periods=[Period(start=date(1967, 1, 1), end=date(2017, 12, 31)),
                 Period(start=date(2020, 1, 1))]),
    "variable with datatype and unit": Variable(
        uri=MFR + "/variabel/FODSELSVEKT", identifier="FODSELSVEKT",
        label={"nb": "Fødselsvekt", "en": "Birth weight"},
        dataset=MFR, representation="http://www.w3.org/2001/XMLSchema#integer", unit="gram",
        periods=[Period(start=date(1967, 1, 1))]),
    "code list": CodeList(
        uri=KLASS + "classifications/104", identifier="104",
        title={"nb": "Standard for fylkesinndeling"},
        description={"nb": "Fylkesinndelingen av Norge."},
        publisher="https://organization-catalog.fellesdatakatalog.digdir.no/organizations/971526920",
        periods=[Period(start=date(1842, 1, 1), end=date(2017, 12, 31)),
                 Period(start=date(2018, 1, 1))],
        versions=[KLASS + "versions/1158", KLASS + "versions/916"],
        version_label="Fylkesinndeling",
        concepts=[Concept(uri=KLASS + "classifications/104/codes/01", notation="01",
                          label={"nb": "Østfold", "en": "Østfold county"},
                          scheme=KLASS + "classifications/104"),
                  Concept(uri=KLASS + "classifications/104/codes/03", notation="03",
                          label={"nb": "Oslo"}, scheme=KLASS + "classifications/104")]),
    "agent": Agent(uri=FHI, name={"nb": "Folkehelseinstituttet", "en": "Norwegian Institute of Public Health"},
                   identifier="983744516"),
}


@pytest.mark.parametrize("model", MODELS.values(), ids=MODELS.keys())
def test_model_survives_a_round_trip_through_rdf(model):
    graph = to_graph(model)

    read = from_graph(type(model), graph, model.uri)
    again = to_graph(read)

    assert read == model
    assert isomorphic(graph, again), _difference(graph, again)


def test_round_trip_keeps_every_period_of_a_gapped_series():
    dataset = MODELS["dataset"]

    read = from_graph(Dataset, to_graph(dataset), dataset.uri)

    assert [p.label() for p in read.periods] == ["?–1966", "1967–1998", "2002–"]
    assert read.periods[-1].ongoing


def test_period_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="before it starts"):
        Period(start=date(2001, 1, 1), end=date(2000, 12, 31))


def _difference(a, b) -> str:
    only_a = to_isomorphic(a) - to_isomorphic(b)
    only_b = to_isomorphic(b) - to_isomorphic(a)
    return f"only before: {sorted(only_a)}\nonly after: {sorted(only_b)}"
