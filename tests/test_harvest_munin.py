"""FHI's Munin Explorer API harvested over HTTP from the responses captured from it
(shared corpus, variables/munin-api/), served at the API's paths: kilder as datasets with
their sub-sources, data collections and variable groups, variables with periods, versions
and code validity, and what a document the API does not have does to its record."""
import hashlib
import json
from datetime import date
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF

from catalogue.model.models import Period
from catalogue.model.namespaces import CV, DCATAP, DPV, HEALTHDCATAP
from catalogue.pipeline.harvest import harvest
from catalogue.site.app import create_app
from catalogue.sources import load_config
from support import (BASE_URI, CONFIG_HEAD, by_name, corpus, graph_lines, search, serve_handler, settings_in,
                     snapshot, stop_server)

API = "/api/explorer"
ALS, TROMSO = "8ec4c2c4-662d-47a5-a946-f1086a014070", "e358db40-0efa-47bb-893a-40ee00ccde12"
TALE = "bc8a6515-af36-44d0-aa10-b498813327b4"  # the variable whose detail was captured
INKLUSJON = "0c027ce6-2994-45bf-99ec-facad3d1703e"
FUNKSJONSSCORE = "6f649fb0-5181-485d-8b7c-2e70fba2f6f1"
STRUCTURE = BASE_URI + "id/structure/munin/"

SOURCE = """
[[source]]
id = "munin"
name = "Munin (FHI)"
publisher = "fhi"
kind = "munin"
url = "{url}/api/explorer"
"""


class MuninApi:
    """The captured answers at the paths FHI's client asks for; 404 for any other id. The
    variable list was captured as page 1 (of 9,145): later pages answer with no items, as a
    list that ends there."""

    def __init__(self, kilder: list | None = None):
        folder = corpus("variables", "munin-api")
        read = lambda name: (folder / name).read_bytes()  # noqa: E731
        self.answers = {
            f"{API}/kilder": json.dumps(kilder).encode() if kilder is not None else read("kilder.json"),
            f"{API}/kilder/{ALS}": read("kilde.json"),
            f"{API}/kilder/{TROMSO}": read("kilde-med-delkilder.json"),
            f"{API}/kilder/{TROMSO}/hierarchy": read("hierarchy.json"),
            f"{API}/datasamling/{INKLUSJON}": read("datasamling.json"),
            f"{API}/variables/{TALE}": read("variable.json"),
            f"{API}/variables/{TALE}/timeline": read("timeline.json"),
            f"{API}/variables/{TALE}/kodeverk/Kildekodeverk/2336/codes": read("kodeverk-codes.json"),
        }
        self.first_page = read("variables.json")
        self.later_pages: dict[int, bytes] = {}  # page number -> its answer, where a test sets one
        self.english: dict[str, bytes] = {}  # path -> its answer to Accept-Language: en, where a test sets one
        self.requests: list[tuple[str, str | None]] = []  # path, Accept-Language
        self.failing: set[str] = set()  # paths answered 500
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                api.requests.append((self.path, self.headers.get("Accept-Language")))
                if self.path in api.failing:
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = api.english.get(self.path) if self.headers.get("Accept-Language") == "en" else None
                body = body or api.answer(self.path)
                etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"' if body is not None else None
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200 if body is not None else 404)
                body = body if body is not None else b'{"title": "Not Found", "status": 404}'
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                if etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.http, self.url = serve_handler(Handler)

    def answer(self, target: str) -> bytes | None:
        path, query = urlsplit(target).path, parse_qs(urlsplit(target).query)
        if path == f"{API}/variables" and "size" in query:
            if query.get("page") == ["1"]:
                return self.first_page
            if int(query["page"][0]) in self.later_pages:
                return self.later_pages[int(query["page"][0])]
            return json.dumps({"items": [], "totalCount": 18289, "page": int(query["page"][0]),
                               "size": int(query["size"][0]), "totalPages": 9145}).encode()
        return self.answers.get(path)

    def close(self):
        stop_server(self.http)


@pytest.fixture
def munin():
    api = MuninApi()
    yield api
    api.close()


@pytest.fixture
def harvested(settings, munin):
    """The first harvest, from a configuration the site reads as well."""
    settings.sources_file.write_text(CONFIG_HEAD + SOURCE.format(url=munin.url), encoding="utf-8")
    [summary] = harvest(settings, load_config(settings.sources_file))
    return summary


def select(settings, query: str) -> list[tuple]:
    prefixes = """PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dct: <http://purl.org/dc/terms/>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#> PREFIX adms: <http://www.w3.org/ns/adms#>
        PREFIX disco: <http://rdf-vocabulary.ddialliance.org/discovery#> PREFIX foaf: <http://xmlns.com/foaf/0.1/>
        """
    return [tuple(term.value if term is not None else None for term in row)
            for row in snapshot(settings).query(prefixes + query)]


def test_variable_with_its_period_source_data_collection_and_group(settings, harvested):
    assert harvested.status == "ok"
    tale = by_name(settings)["V_ALS.F1.ALSFRSR1TALE"]
    assert tale.label == {"nb": "1. Tale"}
    assert tale.description == {"nb": 'Angir pasientens grad av utfall på "1. Tale" i ALSFRS-R.'}
    assert tale.periods == [Period(start=date(2010, 1, 1), end=date(2025, 6, 1))]
    assert tale.dataset_title == {"nb": "Als registeret"}
    assert tale.publisher_name == {"nb": "St. Olavs hospital HF"}  # the kilde's data controller
    assert tale.access_rights == "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC"
    data_collection = f"{STRUCTURE}K_ALS/datasamling/{INKLUSJON}"
    group = f"{STRUCTURE}K_ALS/variabelgruppe/{FUNKSJONSSCORE}"
    assert {data_collection, group} <= set(tale.themes)
    # the data collection as /datasamling/{id} describes it
    assert tale.theme_labels[data_collection] == {"nb": "Inklusjon"}
    assert select(settings, f"SELECT ?code WHERE {{ <{data_collection}> skos:notation ?code }}") == [
        ("K_ALS.INKLUSJON",)]
    assert [d.name for d in search(settings, "tale")] == ["V_ALS.F1.ALSFRSR1TALE"]


def test_versions_from_the_timeline_and_codes_with_their_validity(settings, harvested):
    tale = by_name(settings)["V_ALS.F1.ALSFRSR1TALE"]
    assert select(settings, f"""SELECT ?version ?label ?start ?end ?notes WHERE {{
        <{tale.uri}> dcat:hasVersion ?v . ?v dcat:version ?version ; skos:prefLabel ?label ;
        dct:temporal ?t ; adms:versionNotes ?notes . ?t dcat:startDate ?start .
        OPTIONAL {{ ?t dcat:endDate ?end }} }}""") == [
        ("2010-01-01 (Active)", "1. Tale", "2010-01-01", None, "Variabelen er gyldig fra 2019 og fremover.")]
    assert tale.value_type == "code_list"
    assert tale.code_list == BASE_URI + "id/codelist/munin/Kildekodeverk/2336"
    codes = select(settings, f"""SELECT ?code ?label ?start WHERE {{
        ?c skos:inScheme <{tale.code_list}> ; skos:notation ?code ; skos:prefLabel ?label ;
        dct:temporal/dcat:startDate ?start }} ORDER BY ?code""")
    assert len(codes) == 6
    assert codes[1] == ("1", "0: Tap av produktiv tale", "2010-01-01")
    assert "5 4: Normale taleprosesser" in tale.codes  # a search for a code's text finds it


def test_a_detail_the_api_does_not_have_holds_back_that_record_only(settings, harvested):
    assert harvested.status == "ok"
    problems = {h.record: h.message for h in harvested.held_back}
    # listed on the page, but /variables/{id} answers 404
    assert "HTTP 404" in problems["variable V_ALS.F2.OSALSFRSR1TALE"]
    assert "/variables/83ced574-6d32-447e-ad65-c54c63327476" in problems["variable V_ALS.F2.OSALSFRSR1TALE"]
    # kilder listed whose detail was not captured, and ALS's hierarchy
    assert "HTTP 404" in problems["dataset K_BDR"] and "HTTP 404" in problems["dataset K_BIV"]
    assert "hierarchy" in problems["structure of K_ALS"]
    assert set(by_name(settings)) == {"V_ALS.F1.ALSFRSR1TALE"}


CODES = f"{API}/variables/{TALE}/kodeverk/Kildekodeverk/2336/codes"


def test_requests_ask_for_norwegian_at_the_client_s_paths_and_codes_also_in_english(munin, harvested):
    paths = [path for path, _ in munin.requests]
    assert f"{API}/kilder" in paths
    assert f"{API}/variables?page=1&size=100" in paths
    assert f"{API}/variables/{TALE}/timeline" in paths
    assert f"{API}/kilder/{ALS}/hierarchy" in paths
    assert {language for path, language in munin.requests if path != CODES} == {"nb"}
    assert sorted(language for path, language in munin.requests if path == CODES) == ["en", "nb"]


def test_code_names_the_api_gives_in_english_are_kept_in_english(settings, make_config, munin):
    """No English answer was captured: this one is the captured codes with two names made
    English here, to show what is kept."""
    codes = json.loads(munin.answers[CODES])
    codes["koder"][1]["navn"], codes["koder"][5]["navn"] = "0: Loss of useful speech", "4: Normal speech processes"
    munin.english[CODES] = json.dumps(codes).encode()
    harvest(settings, make_config(SOURCE.format(url=munin.url)))
    tale = by_name(settings)["V_ALS.F1.ALSFRSR1TALE"]
    names = dict(((code, lang), name) for code, name, lang in select(settings, f"""SELECT ?code ?name (lang(?name) AS ?l)
        WHERE {{ ?c skos:inScheme <{tale.code_list}> ; skos:notation ?code ; skos:prefLabel ?name }}"""))
    assert names[("1", "en")] == "0: Loss of useful speech" and names[("1", "nb")] == "0: Tap av produktiv tale"
    assert ("2", "en") not in names  # the same name in both answers is no translation


def test_a_second_harvest_of_the_same_answers_is_unchanged(settings, make_config, munin, harvested):
    config = make_config(SOURCE.format(url=munin.url))
    [again] = harvest(settings, config)
    assert again.status == "unchanged"
    assert set(by_name(settings)) == {"V_ALS.F1.ALSFRSR1TALE"}


def test_a_changed_document_makes_its_records_again_and_the_rest_are_taken_as_stored(
        tmp_path, settings, make_config, munin, harvested):
    """Every document is asked for again (a 304 where it is the same), and a record whose
    documents are those its stored version was made from is taken as stored: a variable's
    detail changed makes the variable and its versions, a code list's codes that list."""
    config = make_config(SOURCE.format(url=munin.url))

    def made(run) -> int:
        return run.seen - run.held_back_records - run.reused

    def as_fresh(name: str) -> list[str]:
        """The graph a harvest into an empty data directory makes of what is answered now."""
        fresh = settings_in(tmp_path / name)
        assert [r.status for r in harvest(fresh, config)] == ["ok"]
        return graph_lines(fresh, "munin")

    # the kilde ALS, its one captured data collection, the variable, its version and its code list
    assert harvested.reused == 0 and made(harvested) == 5
    detail = json.loads(munin.answers[f"{API}/variables/{TALE}"])
    munin.answers[f"{API}/variables/{TALE}"] = json.dumps({**detail, "preferredTerm": "Tale (endret)"}).encode()
    [again] = harvest(settings, config)
    assert (again.status, again.changed, made(again)) == ("ok", 1, 2)  # the variable and its one version
    assert again.reused == harvested.seen - harvested.held_back_records - 2
    assert by_name(settings)["V_ALS.F1.ALSFRSR1TALE"].label["nb"] == "Tale (endret)"
    assert graph_lines(settings, "munin") == as_fresh("fresh")

    codes = json.loads(munin.answers[f"{API}/variables/{TALE}/kodeverk/Kildekodeverk/2336/codes"])
    codes["koder"][0]["navn"] = "0: Tap av all tale"
    munin.answers[f"{API}/variables/{TALE}/kodeverk/Kildekodeverk/2336/codes"] = json.dumps(codes).encode()
    [third] = harvest(settings, config)
    assert (third.status, third.changed, made(third)) == ("ok", 1, 1)  # the code list alone
    assert graph_lines(settings, "munin") == as_fresh("fresh-again")


def test_a_server_error_fails_the_source_and_keeps_what_it_had(settings, make_config, munin, harvested):
    munin.failing.add(f"{API}/variables/{TALE}")
    [again] = harvest(settings, make_config(SOURCE.format(url=munin.url) + "retries = 0\n"))
    assert again.status == "failed"
    assert f"/variables/{TALE}: HTTP 500" in again.error
    assert set(by_name(settings)) == {"V_ALS.F1.ALSFRSR1TALE"}


def test_a_variable_listed_again_on_a_later_page_is_held_back_there(settings, make_config, munin):
    """Paging a list that changes meanwhile can show a variable twice: the first one counts."""
    first = json.loads(munin.first_page)
    munin.later_pages[2] = json.dumps({**first, "items": first["items"][:1], "page": 2}).encode()
    [run] = harvest(settings, make_config(SOURCE.format(url=munin.url)))
    assert run.status == "ok"
    [again] = [h for h in run.held_back if h.record.startswith("variable V_ALS.F1.ALSFRSR1TALE again")]
    assert "page=2" in again.message and "listed again (first at" in again.message
    assert set(by_name(settings)) == {"V_ALS.F1.ALSFRSR1TALE"}


def test_sub_sources_data_collections_and_groups_of_a_kilde_with_delkilder(settings, make_config):
    """Tromsø is not in the captured /kilder list and none of its variables was captured
    (its detail and hierarchy were, separately): the list is served with a summary made from
    its detail's fields, and page 2 with the captured variable moved into the fifth study's
    first visit under a code of its own."""
    detail = json.loads(corpus("variables", "munin-api", "kilde-med-delkilder.json").read_text())
    summary = {"id": detail["id"], "code": detail["code"], "navn": detail["preferredTerm"],
               "kortNavn": detail["kortNavn"], "kildetype": detail["kildetype"],
               "additionalProperties": detail["additionalProperties"]}
    kilder = json.loads(corpus("variables", "munin-api", "kilder.json").read_text())
    api = MuninApi(kilder=[*kilder, summary])
    scheme, fifth_first = f"{STRUCTURE}K_TR", "faa93827-a828-431b-b69f-66a5da0e3553"
    moved_id = "00000000-0000-4000-8000-000000000005"
    moved = {**json.loads(api.answers[f"{API}/variables/{TALE}"]), "id": moved_id, "code": "V_TR5.TALE",
             "kildeId": TROMSO, "alleDatasamlinger": [{"id": fifth_first, "name": "Tromsø5 - first visit"}],
             "alleVariabelgrupper": [], "kodeverklinker": []}
    api.later_pages[2] = json.dumps({"items": [moved], "page": 2, "totalPages": 2}).encode()
    api.answers[f"{API}/variables/{moved_id}"] = json.dumps(moved).encode()
    api.answers[f"{API}/variables/{moved_id}/timeline"] = api.answers[f"{API}/variables/{TALE}/timeline"]
    try:
        [run] = harvest(settings, make_config(SOURCE.format(url=api.url)))
    finally:
        api.close()
    assert run.status == "ok"
    [(title_nb, title_en)] = select(settings, """SELECT ?nb ?en WHERE { ?d a dcat:Dataset ;
        dct:identifier "K_TR" ; dct:title ?nb, ?en FILTER(lang(?nb) = "nb" && lang(?en) = "en") }""")
    assert (title_nb, title_en) == ("The Tromsø study", "The Tromsø Study")
    fourth = f"{scheme}/delkilde/38f8f0f2-9b12-48e3-b24b-eeaa3a84a5a7"
    assert select(settings, f"SELECT ?label WHERE {{ <{fourth}> skos:inScheme <{scheme}> ; skos:prefLabel ?label }}") \
        == [("Tromsø4 - The Fourth Tromsø Study",)] * 2  # nb, and en from its NavnEngelsk
    # a variable group under the data collection it is in (the fifth study's first visit)
    blood = f"{scheme}/variabelgruppe/6324ee97-7374-4e74-be55-8de746bb8dda"
    assert select(settings, f"SELECT ?label ?in WHERE {{ <{blood}> skos:prefLabel ?label ; skos:broader ?in }}") \
        == [("BLOOD SAMPLES", f"{scheme}/datasamling/{fifth_first}")]
    problems = {h.record for h in run.held_back}
    assert "structure of K_TR" not in problems
    assert "dataset K_TR" not in problems
    # a variable of a data collection is in the sub-source that holds it, too
    variable = by_name(settings)["V_TR5.TALE"]
    fifth = f"{scheme}/delkilde/4f6d7094-8976-42e8-b2da-841394a88771"
    assert set(variable.themes) >= {f"{scheme}/datasamling/{fifth_first}", fifth}
    assert variable.theme_labels[fifth] == {"nb": "Tromsø5 - The Fifth Tromsø Study",
                                           "en": "Tromsø5 - The Fifth Tromsø Study"}
    assert variable.dataset_title == {"nb": "The Tromsø study", "en": "The Tromsø Study"}


def test_access_body_legislation_and_categories_of_a_kilde_feed_healthdcat_ap(settings, harvested):
    answer = TestClient(create_app(settings)).get("/catalog", params={"profile": "healthdcat-ap"})
    graph = Graph().parse(data=answer.text, format="turtle")
    als = URIRef(BASE_URI + "id/dataset/munin/K_ALS")
    [hdab] = graph.objects(als, HEALTHDCATAP.hdab)  # Munin's, not the catalogue's publisher
    assert graph.value(hdab, FOAF.name) == Literal("Helsedataservice", lang="nb")
    assert graph.value(graph.value(hdab, CV.contactPoint), CV.email) == Literal("service@helsedata.no")
    assert {URIRef("https://lovdata.no/eli/lov/2001-05-18-24"), URIRef("https://lovdata.no/eli/lov/2018-06-15-38"),
            URIRef("http://data.europa.eu/eli/reg/2025/327/oj")} <= set(graph.objects(als, DCATAP.applicableLegislation))
    # "ehds-cat:registries-quality-of-healthcare": a medical registry
    assert set(graph.objects(als, HEALTHDCATAP.healthCategory)) == {
        URIRef("https://hdeu-dcat.data.health.europa.eu/resource/authority/healthcategories/MRMR")}
    # its purpose (Formaal) and the population it holds (its inclusion and exclusion criteria)
    [purpose] = graph.objects(als, DPV.hasPurpose)
    assert (purpose, RDF.type, DPV.Purpose) in graph
    assert str(graph.value(purpose, DCTERMS.description)).startswith("ALS-registeret har som formål å måle/sikre kvalitet")
    [population] = graph.objects(als, HEALTHDCATAP.populationCoverage)
    assert population.language == "nb" and "G12.2 Sykdom i motoriske nevroner" in population


def test_the_registers_page_names_the_access_body_the_source_gives(settings, harvested):
    client = TestClient(create_app(settings))
    [holder] = client.get("/api/registers").json()["holders"]
    [als] = [r for r in holder["registers"] if r["id"] == "munin/K_ALS"]
    assert als["access_body"] == {"nb": "Helsedataservice"} and als["access_body_stated"]
    assert als["apply_email"] == "service@helsedata.no" and als["variables"] >= 1
    assert "https://lovdata.no/eli/lov/2001-05-18-24" in als["legislation"]
    page = client.get("/datasets/munin/K_ALS", headers={"accept": "text/html"}).text
    assert "Helsedataservice" in page and "service@helsedata.no" in page and "lovdata.no/eli/lov/2018-06-15-38" in page


def test_the_variable_page_shows_its_data_collection_and_versions(settings, harvested):
    tale = by_name(settings)["V_ALS.F1.ALSFRSR1TALE"]
    page = TestClient(create_app(settings)).get(f"/variables/{tale.id}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "Inklusjon" in page.text and "Als registeret" in page.text
    assert "2010-01-01 (Active)" in page.text
