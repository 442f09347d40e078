"""Relevance on the bundled demo, over HTTP: what applicants type the registers' own words do not
say, and the judged sets of bench/relevance.py naming real variables."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from catalogue.search import open_backend
from catalogue.site.app import create_app

BENCH = Path(__file__).parents[1] / "bench"


@pytest.fixture(scope="module")
def settings(tmp_path_factory, demo_data):
    return demo_data(tmp_path_factory.mktemp("relevance"))


@pytest.fixture(scope="module")
def client(settings):
    return TestClient(create_app(settings))


def first_page(client, words: str) -> list[dict]:
    return client.get("/api/variables", params={"q": words, "size": 10}).json()["items"]


@pytest.mark.parametrize("words, expected", [
    ("hvor lang var babyen ved fødsel", "mfr/mfr/LENGDE"),  # "lang" asks for "Barnets lengde"
    ("sjukmelding", "microdata/microdata/SYKEPENGER_SYKMELDT_DAGER"),  # nynorsk; "sykmeldt" in its name
    ("NCSP", "npr/npr-somatikk/prosedyreKode"),  # the name of its code list, which its label does not say
    ("epelepsi", "kpr/kpr/diagnoseICPC2"),  # misspelt, respelt to reach ICPC-2 N88 Epilepsi
    ("insulin", "helsedata/reseptregisteret/ATC_KODE"),  # ATC A10A "Insuliner og analoger"
])
def test_words_registers_do_not_use_find_their_variables_on_the_first_page(client, words, expected):
    assert expected in [hit["id"] for hit in first_page(client, words)]


@pytest.mark.parametrize("typed, code", [("I21.9", "I219"), ("E11", "E110")])
def test_an_icd_10_code_with_its_dot_or_its_category_finds_the_diagnoses_coded_with_it(client, typed, code):
    hits = first_page(client, typed)
    main = next(hit for hit in hits if hit["id"] == "npr/npr-somatikk/hovedtilstand")
    assert [v["notation"] for v in main["via"]] == [code]


def test_the_judged_sets_name_only_variables_of_the_demo(settings):
    backend = open_backend(settings)
    for name in ("relevance_judgments.toml", "relevance_heldout.toml"):
        judged = tomllib.loads((BENCH / name).read_text(encoding="utf-8"))["query"]
        missing = {r for q in judged for r in q["relevant"] if backend.get(r) is None}
        assert not missing, f"{name} names variables the demo does not have: {sorted(missing)}"
