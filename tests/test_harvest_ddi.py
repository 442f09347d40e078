"""DDI-Codebook 2.5 and DDI-Lifecycle 3.2/3.3 studies, read from single XML files and over
OAI-PMH, harvested over HTTP into the store and the index."""
from datetime import date

import pytest

from catalogue.model.models import CodeList, Dataset, Period
from catalogue.pipeline.fileserver import FileServer
from catalogue.pipeline.harvest import harvest
from catalogue.profiles.dcat_ap_no_3 import from_graph
from support import (harvest_demo, BASE_URI, EU_HEALTH, by_name, corpus, search, settings_in, snapshot,
                     write_config)

SOURCE = """
[[source]]
id = "{id}"
name = "DDI"
publisher = "fhi"
kind = "ddi"
url = "{url}"
{options}
"""

# The [[source]] table for catalogue/demo/sources.toml.
FSD_3307 = "ddi-codebook-2.5/valid/fsd-3307.xml"
# Every file of the DDI corpus, and what harvesting it alone gives: ("ok", variables) when
# all its records are accepted, else the words the failure or held-back message must hold.
CORPUS_FILES = {
    FSD_3307: ("ok", 78),
    "ddi-codebook-2.5/valid/fsd-3307-oaipmh.xml": ("ok", 78),
    "ddi-codebook-2.5/valid/gesis-2800.xml": ("ok", 0),
    "ddi-codebook-2.5/valid/oai-fsd_uta_fi-FSD3187.xml": ("ok", 0),
    "ddi-codebook-2.5/valid/synthetic_compliant_cmm.xml": ("ok", 0),
    "ddi-codebook-2.5/valid/ukds-2000.xml": ("ok", 0),
    "ddi-lifecycle-3.2/valid/gesis-2800.xml": ("ok", 0),
    "ddi-lifecycle-3.2/valid/synthetic_compliant_cmm_ddi3_2.xml": ("ok", 0),
    "ddi-lifecycle-3.3/valid/synthetic_compliant_cmm_ddi3_3.xml": ("ok", 0),
    "ddi-codebook-2.5/edge-cases/ddi_record_1031_deleted.xml": ("ok", 0),
    "ddi-codebook-2.5/invalid/ddi_record_WithError.xml": (
        "failed", "OAI-PMH error 'cannotDisseminateFormat'"),
    "ddi-codebook-2.5/invalid/ukds-7481-not-wellformed.xml": ("failed", "not well-formed XML at line 1"),
    "ddi-codebook-2.5/invalid/oaipmh-missing-metadata.xml": (
        "held back", "OAI record 'oai:fsd.uta.fi:FSD3307': no <metadata>"),
    "profiles/cdc25_profile.xml": ("failed", "root element <DDIProfile> is not a DDI-Codebook codeBook"),
}


def source(url: str, id: str = "ddi", **options: str) -> str:
    return SOURCE.format(id=id, url=url, options="\n".join(f"{k} = {v}" for k, v in options.items()))


def dataset(settings, uri: str) -> Dataset:
    return from_graph(Dataset, snapshot(settings).to_graph(), uri)


def codes(settings, code_list: str) -> list[tuple[str, dict[str, str]]]:
    model = from_graph(CodeList, snapshot(settings).to_graph(), code_list)
    return [(c.notation, c.label) for c in model.concepts]


# -- the corpus -------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus_url():
    with FileServer(corpus("variables", "ddi")) as server:
        yield server.url


def test_every_corpus_file_has_an_expected_outcome():
    folder = corpus("variables", "ddi")

    assert {str(p.relative_to(folder)) for p in folder.rglob("*.xml")} == set(CORPUS_FILES)


@pytest.mark.parametrize("path", sorted(CORPUS_FILES))
def test_corpus_file_is_harvested_or_refused_clearly(settings, make_config, corpus_url, path):
    expected, detail = CORPUS_FILES[path]
    url = f"{corpus_url}/{path}"

    [summary] = harvest(settings, make_config(source(url, language='"en"')))

    if expected == "ok":
        assert (summary.status, summary.held_back) == ("ok", [])
        assert summary.accepted == summary.seen
        assert len(by_name(settings)) == detail
    elif expected == "failed":
        assert summary.status == "failed"
        assert url in summary.error and detail in summary.error
    else:
        [held] = summary.held_back
        assert url in held.message and detail in held.message
        assert summary.accepted == 0


@pytest.fixture(scope="module")
def fsd(tmp_path_factory, corpus_url):
    folder = tmp_path_factory.mktemp("fsd")
    settings = settings_in(folder)
    [summary] = harvest(settings, write_config(folder, source(f"{corpus_url}/{FSD_3307}", id="fsd")))
    assert summary.status == "ok"
    return settings


def test_codebook_variable_has_labels_question_and_the_collection_period(fsd):
    t1 = by_name(fsd)["T1"]

    assert t1.label == {"fi": "[T1] Haastateltavan lapsen sukupuoli",
                        "en": "[t1] Gender of the child (from population register)"}
    assert t1.description["en"] == "Gender of the child (from population register)"
    # No timePrd in FSD3307: the collection dates, given in Finnish and English, count once.
    assert t1.periods == [Period(start=date(2018, 2, 9), end=date(2018, 5, 7))]
    assert t1.dataset_title == {"en": "Child Barometer 2018", "fi": "Lapsibarometri 2018"}


def test_codebook_categories_become_a_code_list_named_by_category_id(fsd):
    t1 = by_name(fsd)["T1"]

    assert t1.value_type == "code_list"
    assert codes(fsd, t1.code_list) == [("FSD3307-T1-cat_0", {"fi": "Tyttö (nainen)", "en": "Female"}),
                                        ("FSD3307-T1-cat_1", {"fi": "Poika (mies)", "en": "Male"})]


def test_codebook_study_becomes_a_dataset_with_default_theme_and_contact(fsd):
    study = dataset(fsd, f"{BASE_URI}id/dataset/fsd/FSD3307")

    assert study.identifier == "FSD3307"
    assert study.description["en"].startswith("The study charted how 6-year-old Finnish children")
    assert study.themes == [EU_HEALTH]
    assert study.landing_page == "http://urn.fi/urn:nbn:fi:fsd:T-FSD3307"
    # No contact in the codebook: the publisher, reachable at the study's page.
    assert (study.contact.name, study.contact.url) == ({"nb": "Folkehelseinstituttet"}, study.landing_page)
    assert study.keywords == []  # keywords are kept in the configured language (nb) only


@pytest.mark.parametrize("path, identifier, title, periods", [
    ("ddi-codebook-2.5/valid/ukds-2000.xml", "2000", "Family Life and Work Experience Before 1918, 1870-1973",
     [Period(start=date(1870, 1, 1), end=date(1973, 1, 1))]),
    ("ddi-lifecycle-3.2/valid/gesis-2800.xml", "ZA2800", None,
     [Period(start=date(1996, 3, 1), end=date(1996, 6, 30))]),
    ("ddi-lifecycle-3.3/valid/synthetic_compliant_cmm_ddi3_3.xml", "ZA0004",
     "International Outlooks of Political Leaders (USA)",
     [Period(start=date(1958, 2, 1), end=date(1958, 4, 30))]),
])
def test_study_time_coverage_becomes_its_periods(settings, make_config, corpus_url, path, identifier,
                                                 title, periods):
    harvest(settings, make_config(source(f"{corpus_url}/{path}", language='"en"')))

    study = dataset(settings, f"{BASE_URI}id/dataset/ddi/{identifier}")

    assert study.periods == periods
    if title:
        assert study.title["en"] == title


def test_study_with_an_unreadable_date_is_held_back_naming_the_field(tmp_path, serve):
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "study.xml").write_text(
        '<codeBook xmlns="ddi:codebook:2_5"><stdyDscr><citation><titlStmt><titl>T</titl>'
        '<IDNo>S9</IDNo></titlStmt></citation><stdyInfo><abstract>A</abstract><sumDscr>'
        '<timePrd event="start" date="2019-13"/></sumDscr></stdyInfo></stdyDscr></codeBook>',
        encoding="utf-8")
    url = serve(tmp_path / "served").url

    [summary] = harvest(settings_in(tmp_path), write_config(tmp_path, source(f"{url}/study.xml")))

    [held] = summary.held_back
    assert held.record == "study S9"
    assert "field stdyDscr/stdyInfo/sumDscr/timePrd: cannot read '2019-13'" in held.message


# -- DDI-Lifecycle 3.3 with variables ---------------------------------------------

@pytest.fixture
def lifecycle(settings, make_config, fixture_server):
    [summary] = harvest(settings, make_config(source(f"{fixture_server.url}/ddi/lifecycle-3.3.xml")))
    return settings, summary


def test_lifecycle_variables_have_labels_periods_and_representations(lifecycle):
    settings, _ = lifecycle
    docs = by_name(settings)
    periods = [Period(start=date(2021, 2, 1), end=date(2021, 5, 31)),
               Period(start=date(2022, 1, 1), end=date(2022, 12, 31))]

    assert docs["TRENING"].label == {"nb": "Trener til du blir andpusten",
                                     "en": "Exercise until out of breath"}
    assert docs["TRENING"].periods == periods and docs["SOVN_TIMER"].periods == periods
    assert docs["SOVN_TIMER"].value_type == "integer"
    assert docs["SOVN_TIMER"].description == {"nb": "Hvor mange timer sov du i natt?"}  # its question
    assert docs["TRENING"].code_list_title == {"nb": "Hyppighet"}
    assert codes(settings, docs["TRENING"].code_list) == [("1", {"nb": "Daglig", "en": "Daily"}),
                                                          ("2", {"nb": "Sjelden eller aldri"})]


def test_lifecycle_variable_with_a_dangling_code_list_reference_is_held_back(lifecycle):
    settings, summary = lifecycle

    [held] = summary.held_back
    assert held.record == "variable UNGHELSE-2021/SKJERMTID"
    assert "r:CodeListReference 'cl-finnes-ikke'" in held.message
    assert "SKJERMTID" not in by_name(settings)


def test_lifecycle_study_keeps_keywords_in_the_configured_language(lifecycle):
    settings, _ = lifecycle

    study = dataset(settings, f"{BASE_URI}id/dataset/ddi/UNGHELSE-2021")

    assert study.keywords == ["søvn", "ungdom"]
    assert study.landing_page == "https://example.no/studier/unghelse-2021"


# -- OAI-PMH ----------------------------------------------------------------------

def test_oai_set_is_listed_and_a_record_without_metadata_or_label_is_held_back(settings, make_config,
                                                                                fixture_server):
    config = make_config(source(f"{fixture_server.url}/ddi/sets/oai", mode='"oai"',
                                metadata_prefix='"ddi_c"', set='"helse"'))

    [summary] = harvest(settings, config)

    assert summary.status == "ok"
    assert {h.record: h.message for h in summary.held_back}.keys() == {
        "OAI record oai:example.no:S2", "variable S1/B"}
    messages = " ".join(h.message for h in summary.held_back)
    assert "OAI record 'oai:example.no:S2': no <metadata>" in messages
    assert "study S1, variable B: no label (var/labl)" in messages
    assert by_name(settings)["A"].periods == [Period(start=date(2020, 1, 1), end=date(2020, 12, 31))]


def test_oai_repository_that_repeats_a_resumption_token_fails(settings, make_config, fixture_server):
    url = f"{fixture_server.url}/ddi/loop/oai"

    [summary] = harvest(settings, make_config(source(url, mode='"oai"')))

    assert summary.status == "failed"
    assert "resumptionToken 'a' was already followed" in summary.error
    assert f"{url}?verb=ListRecords&resumptionToken=b" in summary.error


def test_entity_bomb_is_refused(settings, make_config, fixture_server):
    url = f"{fixture_server.url}/ddi/bomb.xml"

    [summary] = harvest(settings, make_config(source(url)))

    assert summary.status == "failed"
    assert url in summary.error and "refused" in summary.error


def test_unknown_option_fails_the_source_naming_it(settings, make_config, fixture_server):
    [summary] = harvest(settings, make_config(source(f"{fixture_server.url}/ddi/lifecycle-3.3.xml",
                                                     metadataPrefix='"x"')))

    assert summary.status == "failed" and "metadataPrefix" in summary.error


# -- the demo ---------------------------------------------------------------------

def test_demo_source_harvests_both_pages_of_the_health_survey(settings):
    [summary] = harvest_demo(settings, "helseundersokelsen")

    assert (summary.status, summary.held_back) == ("ok", [])
    docs = search(settings)
    by_study = {s: {d.name: d for d in docs if d.dataset == f"helseundersokelsen/{s}"}
                for s in ("HUS2024", "HUS2019")}
    assert len(by_study["HUS2024"]) == 16 and len(by_study["HUS2019"]) == 6  # page 1 and page 2
    smoking = by_study["HUS2024"]["ROYK"]
    assert smoking.label == {"nb": "Røyking", "en": "Smoking"}
    assert smoking.periods == [Period(start=date(2024, 1, 15), end=date(2024, 6, 30))]
    assert by_study["HUS2019"]["ROYK"].periods == [Period(start=date(2019, 2, 1), end=date(2019, 11, 30))]
    assert codes(settings, smoking.code_list)[0] == ("1", {"nb": "Ja, daglig", "en": "Yes, daily"})
    assert (by_study["HUS2024"]["BMI"].value_type, by_study["HUS2024"]["ALDER"].value_type) == (
        "decimal", "integer")
    assert "HELSE_EGEN" in [d.name for d in search(settings, "self-rated health")]
    study = dataset(settings, f"{BASE_URI}id/dataset/helseundersokelsen/HUS2024")
    assert study.contact.email == "helseundersokelsen@fhi.example.no"
    assert study.keywords == ["folkehelse", "helseundersøkelse", "levevaner"]
