"""SSB KLASS over HTTP: versions per validity period, texts per language, codes with their
own validity and hierarchy, and which code replaced which between versions."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from catalogue.model.models import CodeList, Concept, Period
from catalogue.pipeline.harvest import harvest
from catalogue.profiles.dcat_ap_no_3 import from_graph
from support import KLASS_SOURCE, harvest_demo, corpus, snapshot

KLASS = "https://data.ssb.no/api/klass/v1/"


# The [[source]] proposed for catalogue/demo/sources.toml.
def code_list(graph, uri: str) -> CodeList:
    return from_graph(CodeList, graph, uri)


def codes(graph, version: str) -> dict[str, Concept]:
    return {c.notation: c for c in code_list(graph, KLASS + "versions/" + version).concepts}


# -- languages and code validity (tests/fixtures/klass: classification 77) -------------

@pytest.fixture
def sivilstand(settings, fixture_server, make_config):
    [summary] = harvest(settings, make_config(KLASS_SOURCE.format(url=fixture_server.url,
                                                            classifications='["77"]')))
    assert (summary.status, summary.held_back) == ("ok", [])
    return snapshot(settings).to_graph()


def test_texts_are_merged_from_each_language_klass_has(sivilstand):
    # 701 is published in nb and en, 702 in nb, nn and en, but KLASS answers 404 for 702 in
    # English and for the classification in nn and en: those texts are simply missing.
    assert code_list(sivilstand, KLASS + "versions/701").title == {
        "nb": "Sivilstand 1993", "en": "Marital status 1993"}
    assert code_list(sivilstand, KLASS + "versions/702").description == {
        "nb": "Gjeldende versjon.", "nn": "Gjeldande versjon."}
    assert codes(sivilstand, "701")["6"].label == {"nb": "Registrert partner", "en": "Registered partner"}
    assert codes(sivilstand, "701")["6"].notes["en"].startswith("Partnerships could be entered")


def test_language_a_version_is_not_published_in_is_not_asked_for(sivilstand):
    # The server would answer 701 in nn with the Bokmål text; KLASS does not list nn for 701.
    assert all("nn" not in c.label for c in codes(sivilstand, "701").values())


def test_code_validity_narrower_than_its_version_is_kept(sivilstand):
    version = codes(sivilstand, "701")

    assert version["6"].valid == [Period(start=date(1993, 8, 1), end=date(2008, 12, 31))]
    assert version["1"].valid == []  # valid as long as its version
    assert version["6"].replaced_by == []  # it ended without a successor


def test_unknown_language_is_refused_naming_the_option(settings, fixture_server, make_config):
    [summary] = harvest(settings, make_config(
        KLASS_SOURCE.format(url=fixture_server.url, classifications='["77"]') + 'languages = ["nb", "se"]\n'))

    assert summary.status == "failed"
    assert "languages.1" in summary.error


def test_version_with_impossible_validity_is_held_back_alone(settings, fixture_copy, serve,
                                                            make_config):
    folder = fixture_copy("klass").parent
    version = folder / "klass" / "versions" / "702@language=nb.json"
    version.write_text(version.read_text(encoding="utf-8").replace(
        '"validTo": null', '"validTo": "2010-01-01"'), encoding="utf-8")

    [summary] = harvest(settings, make_config(KLASS_SOURCE.format(url=serve(folder).url,
                                                            classifications='["77"]')))

    assert summary.status == "ok"
    [held] = summary.held_back
    assert held.record == "classification 77 version 702"
    assert "validFrom/validTo" in held.message and "before it starts" in held.message
    assert code_list(snapshot(settings).to_graph(), KLASS + "versions/701").concepts


def test_a_changed_version_is_made_again_and_the_rest_taken_as_stored(settings, fixture_copy, serve, make_config):
    """Each record is made from its code list alone: after one version's answer changed, a
    harvest makes that version and takes the classification and the other version as stored."""
    folder = fixture_copy("klass").parent
    config = make_config(KLASS_SOURCE.format(url=serve(folder).url, classifications='["77"]'))
    [first] = harvest(settings, config)
    version = folder / "klass" / "versions" / "702@language=nb.json"
    answer = json.loads(version.read_text(encoding="utf-8"))
    answer["classificationItems"][0]["name"] = "Ugift (endret)"
    version.write_text(json.dumps(answer, ensure_ascii=False), encoding="utf-8")
    [again] = harvest(settings, config)
    assert (first.reused, again.status, again.changed, again.seen - again.reused) == (0, "ok", 1, 1)
    assert codes(snapshot(settings).to_graph(), "702")[answer["classificationItems"][0]["code"]].label["nb"] \
        == "Ugift (endret)"


# -- the demo: fylke (104) across the 2018, 2020 and 2024 reforms ------------------------

@pytest.fixture
def demo_graph(settings):
    [summary] = harvest_demo(settings, "klass")
    assert (summary.status, summary.held_back) == ("ok", [])
    return snapshot(settings).to_graph()


def test_demo_fylke_has_a_version_per_period(demo_graph):
    fylke = code_list(demo_graph, KLASS + "classifications/104")

    assert fylke.title["en"] == "Classification of counties"
    assert fylke.periods == [Period(start=date(1842, 1, 1), end=date(2017, 12, 31)),
                             Period(start=date(2018, 1, 1), end=date(2019, 12, 31)),
                             Period(start=date(2020, 1, 1), end=date(2023, 12, 31)),
                             Period(start=date(2024, 1, 1))]
    assert "54" in codes(demo_graph, "1603") and "54" not in codes(demo_graph, "1920")


@pytest.mark.parametrize("old, new", [
    ("916/16", "1158/50"), ("1158/01", "1603/30"), ("1158/06", "1603/30"),
    ("1603/30", "1920/31"), ("1603/30", "1920/33"), ("1603/54", "1920/56"),
])
def test_demo_fylke_codes_link_to_the_codes_that_replaced_them(demo_graph, old, new):
    old_version, old_code = old.split("/")
    new_version, new_code = new.split("/")

    assert codes(demo_graph, old_version)[old_code].replaced_by.count(code_uri(new)) == 1
    assert codes(demo_graph, new_version)[new_code].replaces.count(code_uri(old)) == 1


def code_uri(version_and_code: str) -> str:
    version, code = version_and_code.split("/")
    return f"{KLASS}versions/{version}/codes/{code}"


def test_demo_codes_unchanged_across_a_reform_are_not_linked(demo_graph):
    oslo = codes(demo_graph, "1603")["03"]

    assert (oslo.replaces, oslo.replaced_by) == ([], [])
    assert oslo.notes == {"nb": "Oslo er både fylke og kommune."}


def test_demo_texts_in_three_languages_and_partner_codes_from_august_1993(demo_graph):
    assert codes(demo_graph, "26")["2"].label == {"nb": "Kvinne", "nn": "Kvinne", "en": "Female"}
    partner = codes(demo_graph, "33")["6"]  # 33 is published in nb and en only
    assert partner.label == {"nb": "Registrert partner", "en": "Registered partner"}
    assert partner.valid == [Period(start=date(1993, 8, 1), end=date(2008, 12, 31))]


# -- real KLASS `codes` answers (shared corpus) ----------------------------------------

@pytest.fixture
def corpus_api(tmp_path):
    """A KLASS API whose `codes` answers are the corpus files themselves (linked, not copied),
    each behind a one-version classification valid from 2020."""
    files = sorted(corpus("variables", "ssb-klass").glob("klass-codes-*.json"))
    assert files
    root = tmp_path / "api" / "klass"
    for file in files:
        class_id = file.stem.removeprefix("klass-codes-")
        write(root / "classifications" / f"{class_id}@language=nb.json", {
            "name": f"KLASS {class_id}",
            "versions": [{"id": f"9{class_id}", "published": ["nb"],
                          "_links": {"self": {"href": f"../versions/9{class_id}"}}}]})
        write(root / "versions" / f"9{class_id}@language=nb.json", {
            "id": f"9{class_id}", "name": f"KLASS {class_id} fra 2020", "validFrom": "2020-01-01",
            "classificationItems": []})
        link = root / "classifications" / class_id / "codes@from=2020-01-01&language=nb.json"
        link.parent.mkdir(parents=True)
        link.symlink_to(file)
    return tmp_path / "api", [f.stem.removeprefix("klass-codes-") for f in files]


def write(path: Path, body: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body), encoding="utf-8")


def test_every_real_codes_answer_is_harvested(settings, serve, make_config, corpus_api):
    folder, ids = corpus_api

    [summary] = harvest(settings, make_config(KLASS_SOURCE.format(
        url=serve(folder).url, classifications=json.dumps(ids))))

    assert (summary.status, summary.held_back) == ("ok", [])
    assert summary.accepted == 2 * len(ids)
    graph = snapshot(settings).to_graph()
    for class_id in ids:
        assert codes(graph, f"9{class_id}"), f"classification {class_id} has codes"
    countries = codes(graph, "991")
    assert len(countries) == 245
    assert countries["000"].label == {"nb": "Norge"}
    assert countries["103"].notes["nb"].startswith("Vær oppmerksom på at Åland")


def test_real_codes_keep_hierarchy_and_own_validity(settings, serve, make_config, corpus_api):
    folder, ids = corpus_api
    harvest(settings, make_config(KLASS_SOURCE.format(url=serve(folder).url,
                                                classifications=json.dumps(ids))))
    graph = snapshot(settings).to_graph()

    subjects = codes(graph, "9618")  # 87 level-2 subject areas under 21 of level 1
    assert subjects["al03"].broader == code_uri("9618/al")
    assert subjects["al"].broader is None
    assert sum(1 for c in subjects.values() if c.broader) == 87
    address = codes(graph, "9702")["01"]  # valid from 2023-09-01 in a version from 2020
    assert address.valid == [Period(start=date(2023, 9, 1))]
