"""Search as the explorer and its API serve it: facets as parameters, sorting, marked
matches that stay text, and suggestions while typing."""
from __future__ import annotations

import pytest

from catalogue.search import EmbeddedBackend
from catalogue.site.app import create_app
from support import settings_in
from test_search_conformance import DOCS, variable

HOSTILE = variable("mfr/mfr/X", "X", "<script>alert(1)</script> vekt", "<img src=x onerror=alert(1)> vekt i gram")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings = settings_in(tmp_path_factory.mktemp("site"))
    EmbeddedBackend(settings.data_dir / "index").rebuild([*DOCS, HOSTILE])
    return create_app(settings)


def test_facets_sorting_and_paging_are_parameters(client):
    body = client.get("/api/variables", params=[("source", "mfr"), ("source", "npr"),
                                                ("has_code_list", "yes"), ("sort", "name")]).json()
    assert [item["name"] for item in body["items"]] == ["HOVEDDIAGNOSE", "ROYK"]
    assert body["query"]["sort"] == "name"
    assert {v["value"]: v["count"] for v in body["facets"]["has_code_list"]} == {"yes": 2, "no": 9}
    bad = client.get("/api/variables", params={"sort": "random"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "sort"


def test_matches_are_marked_and_harvested_markup_stays_text(client):
    page = client.get("/", params={"q": "vekt"}, headers={"accept": "text/html"}).text
    assert "<mark>Fødselsvekt</mark>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>vekt</mark>" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    item = next(i for i in client.get("/api/variables", params={"q": "vekt"}).json()["items"] if i["id"] == "mfr/mfr/X")
    assert item["highlight"]["label"]["nb"] == [["<script>alert(1)</script> ", False], ["vekt", True]]


def test_a_variable_found_by_its_codes_is_sent_without_them(client):
    # a variable coded with ICD-10 holds 2,000 of them: in each hit, 90 kB of every search for a diagnosis
    [item] = [i for i in client.get("/api/variables", params={"q": "hjerteinfarkt"}).json()["items"]
              if i["name"] == "HOVEDDIAGNOSE"]
    assert "codes" not in item and item["code_list"] and item["label"]


def test_the_explorer_offers_sorting_and_the_new_facets(client):
    page = client.get("/", params={"q": "vekt", "lang": "en"}, headers={"accept": "text/html"}).text
    assert '<option value="-first_year">Latest start first</option>' in page
    assert "Has a code list" in page and "2020s" in page and "Restricted" in page
    assert 'data-suggest="/api/suggest"' in page and '<script src="/static/suggest.js" defer></script>' in page


def test_one_search_box_for_variables_datasets_and_sources(client):
    page = client.get("/", params={"q": "medisinsk"}, headers={"accept": "text/html"}).text
    matches = page[page.index('class="named-matches"'):page.index("</nav>", page.index('class="named-matches"'))]
    assert '<a href="/datasets/mfr/mfr">Medisinsk fødselsregister</a>' in matches
    assert '<a href="/sources/mfr">Medisinsk fødselsregister</a>' in matches
    holders = page[page.index('class="holders"'):]
    assert holders.index('<span class="holder-name">Folkehelseinstituttet</span>') < holders.index('data-value="mfr"')


def test_a_code_list_found_by_name_lists_the_variables_that_use_it(client):
    page = client.get("/", params={"q": "diagnoser", "lang": "nb"}, headers={"accept": "text/html"}).text
    assert '<a href="/?code_list=https%3A%2F%2Fexample.test%2Fcodelist%2Ficd10">ICD-10 diagnoser</a>' in page
    filtered = client.get("/", params={"code_list": "https://example.test/codelist/icd10", "lang": "nb"},
                          headers={"accept": "text/html"}).text
    assert '<p class="active-filter">Kodeliste: ICD-10 diagnoser' in filtered and 'data-variable="npr/somatikk/HDIAG"' in filtered


def test_suggestions_while_typing(client):
    body = client.get("/api/suggest", params={"q": "fød"}).json()
    kinds = {(s["kind"], s["text"], s["url"]) for s in body["suggestions"]}
    assert ("variable", "Fødselsvekt", "/variables/mfr/mfr/VEKT") in kinds
    assert ("dataset", "Medisinsk fødselsregister", "/datasets/mfr/mfr") in kinds
    assert client.get("/api/suggest").status_code == 422
    assert client.get("/api/suggest", params={"q": "x" * 101}).status_code == 422


@pytest.mark.parametrize("params, field, said", [
    ({"from": "2010", "to": "2000"}, "to", ("Til-året er før fra-året.", "The year to is before the year from.")),
    ({"from": "snart"}, "from", ("«snart» er ikke et årstall mellom 1000 og 3000.",
                                 "“snart” is not a year between 1000 and 3000.")),
    ({"from": "1800", "period": "cover"}, "to", ("«Data i alle årene» kan spenne over høyst 150 år.",
                                                 "“Data in every year” spans at most 150 years.")),
])
def test_a_search_that_cannot_be_read_keeps_the_page_and_says_why_by_the_field(client, params, field, said):
    response = client.get("/", params={"q": "vekt", "source": "mfr", **params}, headers={"accept": "text/html"})
    assert response.status_code == 422
    page = response.text
    assert said[0] in page and f'aria-describedby="search-{field}-problem"' in page
    # the words, the filter and what was typed stay; the results of what could be read are shown
    assert 'value="vekt"' in page and 'name="source" value="mfr"' in page and f'value="{params["from"]}"' in page
    assert 'href="/variables/mfr/mfr/VEKT"' in page
    english = client.get("/", params={"lang": "en", **params}, headers={"accept": "text/html"})
    assert said[1] in english.text
    api = client.get("/api/variables", params=params)
    assert api.status_code == 422 and api.json()["detail"][0]["field"] == field
