"""Kreftregisteret's ELVIS harvested over HTTP from fixtures written to its documented shape
(tests/fixtures/elvis: no answer of the API has been published), served at the API's paths:
variables with periods, types, status and values, incremental harvests through
`:filtered?latestSearchTime=`, and what a missing detail or a server error does."""
import hashlib
import json
from datetime import date
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote, urlsplit

import pytest
from fastapi.testclient import TestClient

from catalogue.model.models import Period
from catalogue.pipeline.harvest import harvest
from catalogue.site.app import create_app
from catalogue.sources import load_config
from catalogue.storage.runs import RunLog
from support import CONFIG_HEAD, FIXTURES, by_name, search, serve_handler, snapshot, stop_server

API = "/rest/v1/variables"
CHANGED = f"{API}/:filtered?latestSearchTime="
FIRST_TIME = "2026-11-30 08:00:00.000"  # backendSearchTime of list.json

SOURCE = """
[[source]]
id = "kreftregisteret"
name = "Kreftregisteret – ELVIS"
publisher = "fhi"
kind = "elvis"
url = "{url}/rest/v1/variables"
retries = 0
{options}
[source.dataset]
id = "kreftregisteret"
title = {{ nb = "Kreftregisteret", en = "Cancer Registry of Norway" }}
description = {{ nb = "Variabler i Kreftregisteret, fra ELVIS." }}
themes = ["http://publications.europa.eu/resource/authority/data-theme/HEAL"]
contact = {{ name = {{ nb = "Kreftregisteret" }}, email = "kreftregisteret@fhi.no" }}
"""


class ElvisApi:
    """The fixtures at ELVIS's paths, with ETags; a test may replace an answer (`bodies`),
    take a variable away (`missing`: 404) or break a path (`failing`: 500)."""

    def __init__(self):
        folder = FIXTURES / "elvis"
        self.bodies = {f"{API}/:filtered": (folder / "list.json").read_bytes(),
                       CHANGED: (folder / "changed-none.json").read_bytes(),
                       **{f"{API}/{p.stem}": p.read_bytes() for p in folder.glob("[0-9]*.json")}}
        self.missing: set[str] = set()
        self.failing: set[str] = set()
        self.requests: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                api.requests.append(unquote(self.path))
                path = urlsplit(self.path).path
                # every latestSearchTime gets the same answer: what changed since the last harvest
                key = CHANGED if self.path.startswith(CHANGED) else path
                if key in api.failing:
                    return self.answer(500, b"")
                body = None if path in api.missing else api.bodies.get(key)
                if body is None:
                    return self.answer(404, b'{"message": "Not found"}')
                etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
                if self.headers.get("If-None-Match") == etag:
                    return self.answer(304, None, etag)
                self.answer(200, body, etag)

            def answer(self, status, body, etag=None):
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.http, self.url = serve_handler(Handler)

    def change(self, elvis_id: int, **fields) -> None:
        """Variable `elvis_id` changed: its details get `fields`, and `:filtered` lists it."""
        path = f"{API}/{elvis_id}"
        detail = {**json.loads(self.bodies[path]), **fields}
        self.bodies[path] = json.dumps(detail).encode()
        changed = json.loads(self.bodies[CHANGED])
        changed["variableList"].append(detail)
        self.bodies[CHANGED] = json.dumps(changed).encode()

    def close(self):
        stop_server(self.http)


@pytest.fixture
def elvis():
    api = ElvisApi()
    yield api
    api.close()


def run(settings, elvis, options: str = ""):
    """One harvest of the source; the requests it made are in `elvis.requests`."""
    settings.sources_file.write_text(CONFIG_HEAD + SOURCE.format(url=elvis.url, options=options),
                                     encoding="utf-8")
    elvis.requests.clear()
    [summary] = harvest(settings, load_config(settings.sources_file))
    return summary


def changed(settings, summary) -> list[str]:
    """The keys of the records a run added, changed or removed."""
    return [c.key for c in RunLog(settings.data_dir).changes(summary.id)]


def select(settings, query: str) -> list[tuple]:
    prefixes = """PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dct: <http://purl.org/dc/terms/>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        """
    return [tuple(term.value if term is not None else None for term in row)
            for row in snapshot(settings).query(prefixes + query)]


def test_every_variable_with_its_period_type_status_and_values(settings, elvis):
    summary = run(settings, elvis)
    assert summary.status == "ok" and summary.held_back == []
    variables = by_name(settings)
    assert set(variables) == {"diagnosens_sikkerhet", "morfologi_icdo3", "diagnosedato", "metastase_gammel"}
    certainty = variables["diagnosens_sikkerhet"]
    assert certainty.label == {"nb": "Diagnosens sikkerhet", "en": "Basis of diagnosis certainty"}
    assert certainty.dataset_title == {"nb": "Kreftregisteret", "en": "Cancer Registry of Norway"}
    assert certainty.periods == [Period(start=date(1953, 1, 1))]
    assert variables["diagnosedato"].value_type == "date"
    assert variables["morfologi_icdo3"].value_type == "string"
    # retired, and still shown, with its end
    retired = variables["metastase_gammel"]
    assert retired.periods == [Period(start=date(1993, 1, 1), end=date(2019, 12, 31))]
    assert retired.value_type == "integer"
    assert select(settings, f"""SELECT ?version WHERE {{ <{retired.uri}> dcat:hasVersion/dcat:version ?version }}""") \
        == [("2 (Retired)",)]
    assert select(settings, f"""SELECT ?version WHERE {{ <{certainty.uri}> dcat:hasVersion/dcat:version ?version }}""") \
        == [("3 (Active)",)]
    # its values as a code list, each code with its validity
    assert certainty.value_type == "code_list"
    codes = select(settings, f"""SELECT ?code ?end WHERE {{ ?c skos:inScheme <{certainty.code_list}> ;
        skos:notation ?code ; dct:temporal ?t . OPTIONAL {{ ?t dcat:endDate ?end }} }} ORDER BY ?code""")
    assert [code for code, _ in codes] == [str(n) for n in range(8)]
    assert dict(codes)["1"] == "2020-12-31" and dict(codes)["0"] is None
    # its category, under the category ELVIS names as its parent
    assert certainty.theme_labels[certainty.themes[0]] == {"nb": "Svulst", "en": "Tumour"}
    # searchable in both languages, and by a code's text
    assert [d.name for d in search(settings, "sikkerhet")] == ["diagnosens_sikkerhet"]
    assert [d.name for d in search(settings, "metastases")] == ["metastase_gammel"]
    assert "diagnosens_sikkerhet" in [d.name for d in search(settings, "premalign")]
    # read at the clients' paths
    assert elvis.requests[0] == f"{API}/:filtered"
    assert {f"{API}/8", f"{API}/13", f"{API}/21", f"{API}/42"} <= set(elvis.requests)


def test_a_retired_variable_s_page_shows_its_status_and_end(settings, elvis):
    run(settings, elvis)
    retired = by_name(settings)["metastase_gammel"]
    page = TestClient(create_app(settings)).get(f"/variables/{retired.id}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "2 (Retired)" in page.text and "2019" in page.text


def test_nothing_changed_since_the_last_harvest_keeps_every_record_without_reading_details(settings, elvis):
    first = run(settings, elvis)
    second = run(settings, elvis)
    # the list, then what changed since the first harvest's list was answered: nothing
    assert elvis.requests == [f"{API}/:filtered", CHANGED + FIRST_TIME]
    assert second.status in {"ok", "unchanged"}
    assert (second.added, second.changed, second.removed) == (0, 0, 0)
    assert second.accepted == first.accepted
    assert len(by_name(settings)) == 4
    assert run(settings, elvis).status == "unchanged"  # the same documents as the harvest before


def test_a_variable_changed_since_the_last_harvest_is_read_again_and_only_it_changes(settings, elvis):
    run(settings, elvis)
    elvis.change(13, version=2, nameEn="Morphology (ICD-O-3), tumour type",
                 updatedOn="2026-12-01 07:00:00.000")
    summary = run(settings, elvis)
    assert summary.status == "ok"
    assert changed(settings, summary) == ["variable morfologi_icdo3"]
    # made: that variable, the categories and the dataset; the other three taken as stored
    assert (summary.seen - summary.reused, summary.reused) == (3, 3)
    assert f"{API}/13" in elvis.requests
    assert not {f"{API}/8", f"{API}/21", f"{API}/42"} & set(elvis.requests)
    assert by_name(settings)["morfologi_icdo3"].label["en"] == "Morphology (ICD-O-3), tumour type"


def test_a_variable_whose_list_entry_moved_on_is_read_again_even_if_filtered_misses_it(settings, elvis):
    run(settings, elvis)
    listing = json.loads(elvis.bodies[f"{API}/:filtered"])
    listing["variableList"][2]["version"] = 2  # diagnosedato, listed with a new version only
    elvis.bodies[f"{API}/:filtered"] = json.dumps(listing).encode()
    run(settings, elvis)
    assert f"{API}/21" in elvis.requests and f"{API}/13" not in elvis.requests


def test_a_detail_the_api_does_not_have_holds_back_that_record_only(settings, elvis):
    elvis.missing.add(f"{API}/21")
    summary = run(settings, elvis)
    assert summary.status == "ok"
    problems = {h.record: h.message for h in summary.held_back}
    assert list(problems) == ["variable diagnosedato"]
    assert "HTTP 404" in problems["variable diagnosedato"] and f"{API}/21" in problems["variable diagnosedato"]
    assert set(by_name(settings)) == {"diagnosens_sikkerhet", "morfologi_icdo3", "metastase_gammel"}
    # once harvested, a variable whose details go missing keeps its last good version
    elvis.missing.clear()
    run(settings, elvis)
    elvis.missing.add(f"{API}/21")
    elvis.change(21, version=2)
    again = run(settings, elvis)
    assert again.kept == 1 and again.removed == 0
    assert by_name(settings)["diagnosedato"].periods == [Period(start=date(1953, 1, 1))]


def test_a_server_error_fails_the_source_and_keeps_its_last_good_graph(settings, elvis):
    run(settings, elvis)
    elvis.change(13, version=2, nameEn="Changed")
    elvis.failing.add(f"{API}/13")
    failed = run(settings, elvis)
    assert failed.status == "failed"
    assert "HTTP 500" in failed.error and f"{API}/13" in failed.error
    assert by_name(settings)["morfologi_icdo3"].label["en"] == "Morphology (ICD-O-3)"
    assert len(by_name(settings)) == 4
    # the next harvest asks again what changed since the last good one, and reads it
    elvis.failing.clear()
    assert run(settings, elvis).status == "ok"
    assert CHANGED + FIRST_TIME in elvis.requests
    assert by_name(settings)["morfologi_icdo3"].label["en"] == "Changed"


def test_an_answer_not_of_the_documented_shape_fails_the_source_naming_it(settings, elvis):
    elvis.bodies[f"{API}/:filtered"] = b'[{"id": 8}]'
    failed = run(settings, elvis)
    assert failed.status == "failed"
    assert f"{API}/:filtered" in failed.error and "variableList" in failed.error


def test_unreadable_variables_are_held_back_naming_the_field(settings, elvis):
    listing = json.loads(elvis.bodies[f"{API}/:filtered"])
    del listing["variableList"][1]["techName"]
    listing["variableList"].append({"id": "..", "techName": "up_a_level"})
    elvis.bodies[f"{API}/:filtered"] = json.dumps(listing).encode()
    detail = json.loads(elvis.bodies[f"{API}/21"])
    elvis.bodies[f"{API}/21"] = json.dumps({**detail, "validFrom": "31.12.1952"}).encode()
    detail = json.loads(elvis.bodies[f"{API}/42"])
    elvis.bodies[f"{API}/42"] = json.dumps({**detail, "dataType": {"name": "Bilde", "nameEn": "Image"}}).encode()
    summary = run(settings, elvis)
    problems = {h.record: h.message for h in summary.held_back}
    assert "item 2: field 'id' or 'techName' is missing" in problems[f"variable at {elvis.url}{API}/:filtered, item 2"]
    assert "field 'validFrom': cannot read '31.12.1952'" in problems["variable diagnosedato"]
    assert "unknown data type 'Bilde' / 'Image'" in problems["variable metastase_gammel"]
    assert "field 'id' is '..', not a number" in problems["variable up_a_level"]
    assert set(by_name(settings)) == {"diagnosens_sikkerhet"}


def test_data_types_option_names_a_type_elvis_uses(settings, elvis):
    detail = json.loads(elvis.bodies[f"{API}/42"])
    elvis.bodies[f"{API}/42"] = json.dumps({**detail, "dataType": {"name": "Bilde", "nameEn": "Image"}}).encode()
    run(settings, elvis, 'data_types = { Bilde = "http://www.w3.org/2001/XMLSchema#base64Binary" }')
    assert by_name(settings)["metastase_gammel"].value_type == "base64Binary"


def test_a_server_that_refuses_latest_search_time_has_every_detail_read_again(settings, elvis):
    run(settings, elvis)
    del elvis.bodies[CHANGED]  # 404
    summary = run(settings, elvis)
    assert summary.status in {"ok", "unchanged"} and summary.removed == 0
    assert {f"{API}/8", f"{API}/13", f"{API}/21", f"{API}/42"} <= set(elvis.requests)
