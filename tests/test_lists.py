"""The applicant's variable list, without JavaScript: add, note, reorder, remove, export,
share by code, open in another browser and copy."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS

from catalogue.lists import Lists
from catalogue.model.namespaces import DCAT
from catalogue.search import EmbeddedBackend
from catalogue.site.app import create_app
from catalogue.storage.database import open_database
from postgresql_server import with_backend
from support import BASE_URI, settings_in
from test_search_conformance import DOCS, variable

FORMULA = variable("mfr/mfr/F", "F", "=HYPERLINK(\"http://x\")", "Ond etikett")
CHOSEN = ["mfr/mfr/VEKT", "npr/somatikk/HDIAG", "mfr/mfr/SVLEN"]  # from two registries


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def settings(request, tmp_path_factory):
    """Lists in the data directory or in PostgreSQL."""
    settings = with_backend(request, settings_in(tmp_path_factory.mktemp("lists")))
    EmbeddedBackend(settings.data_dir / "index").rebuild([*DOCS, FORMULA])
    return settings


@pytest.fixture
def browser(settings):
    """A fresh browser: its own cookies, so its own list."""
    return TestClient(create_app(settings), base_url="http://testserver")


def add(browser, variable_id: str, back: str = "/?q=vekt"):
    return browser.post("/list/items", data={"variable": variable_id, "back": back}, follow_redirects=False)


def update(browser, variable_id: str, action: str, **fields):
    return browser.post("/list/update", data={"variable": variable_id, "action": action, **fields},
                        follow_redirects=False)


def listed(browser, path: str = "/api/list") -> list[str]:
    return [item["variable"] for item in browser.get(path).json()["items"]]


def test_add_note_reorder_and_remove(browser):
    response = add(browser, CHOSEN[0])
    assert response.status_code == 303 and response.headers["location"] == "/?q=vekt"
    assert "httponly" in response.headers["set-cookie"].lower() and "samesite=lax" in response.headers["set-cookie"].lower()
    for variable_id in CHOSEN[1:]:
        add(browser, variable_id)
    add(browser, CHOSEN[0])  # a second time changes nothing
    assert listed(browser) == CHOSEN
    assert update(browser, CHOSEN[1], "save", note="Hoveddiagnose for alle innleggelser", **{"from": "2010", "to": "2015"}).status_code == 303
    update(browser, CHOSEN[2], "up")
    assert listed(browser) == [CHOSEN[0], CHOSEN[2], CHOSEN[1]]
    update(browser, CHOSEN[0], "up")  # already first
    update(browser, CHOSEN[0], "remove")
    body = browser.get("/api/list").json()
    assert [i["variable"] for i in body["items"]] == [CHOSEN[2], CHOSEN[1]]
    assert body["items"][1] | {"doc": None} == {"variable": CHOSEN[1], "note": "Hoveddiagnose for alle innleggelser",
                                               "wanted_from": 2010, "wanted_to": 2015, "found": True, "doc": None,
                                               "warnings": [], "code_changes": None, "versions_in_years": []}
    page = browser.get("/list", headers={"accept": "text/html"}).text
    assert 'data-variable="npr/somatikk/HDIAG"' in page and "Hoveddiagnose for alle innleggelser</textarea>" in page


def test_every_button_saves_everything_typed_and_a_bad_year_keeps_the_page(browser):
    five = ["mfr/mfr/VEKT", "npr/somatikk/HDIAG", "mfr/mfr/SVLEN", "mfr/mfr/TID", "hus/2024/GAP"]
    for variable_id in five:
        add(browser, variable_id)
    notes = [f"Merknad {n}" for n in range(5)]
    moved = browser.post("/list/update", data={"variable": five, "note": notes, "from": [""] * 5, "to": [""] * 5,
                                               "action": f"down:{five[0]}"}, follow_redirects=False)
    assert moved.status_code == 303
    items = browser.get("/api/list").json()["items"]
    assert [i["variable"] for i in items] == [five[1], five[0], *five[2:]]
    assert {i["variable"]: i["note"] for i in items} == dict(zip(five, notes))
    # an unreadable year: the rest is saved, and the page shows what was typed with the problem by its field
    page = browser.post("/list/update", data={"variable": five, "note": [f"Ny {n}" for n in range(5)],
                                              "from": ["2010", "snart", "", "", ""], "to": [""] * 5, "action": "save"},
                        headers={"accept": "text/html"})
    assert page.status_code == 422
    assert "«snart» er ikke et årstall." in page.text and 'value="snart"' in page.text and ">Ny 1</textarea>" in page.text
    saved = {i["variable"]: i for i in browser.get("/api/list").json()["items"]}
    assert (saved[five[0]]["note"], saved[five[0]]["wanted_from"]) == ("Ny 0", 2010)
    assert saved[five[2]]["note"] == "Ny 2" and saved[five[1]]["note"] == "Merknad 1"


@pytest.mark.parametrize("variable_id, wanted, warning", [
    ("mfr/mfr/TID", ("2005", "2010"), None),
    ("mfr/mfr/TID", ("2011", "2005"), "Fra-året 2011 er etter til-året 2005."),
    ("mfr/mfr/TID", ("2005", "2015"), "Variabelen har ikke data for 2012–2015."),
    ("mfr/mfr/TID", ("2013", "2020"), "Variabelen har ingen data i de ønskede årene (2013–2020)."),
    ("hus/2024/GAP", ("1975", "2010"), "De ønskede årene krysser et opphold uten data: 1976–2007."),
    ("hus/2024/UTEN", ("2000", ""), "Variabelen oppgir ingen perioder med data."),
])
def test_years_come_from_the_search_and_are_checked_against_the_periods(browser, variable_id, wanted, warning):
    browser.post("/list/items", data={"variable": variable_id, "from": wanted[0], "to": wanted[1]})
    [item] = browser.get("/api/list").json()["items"]
    assert (item["wanted_from"], item["wanted_to"]) == tuple(int(y) if y else None for y in wanted)
    assert [w["nb"] for w in item["warnings"]] == ([warning] if warning else [])
    # saved as typed by a script, the answer says the same
    answer = browser.post("/list/update", data={"variable": variable_id, "from": wanted[0], "to": wanted[1]},
                          headers={"accept": "application/json"}).json()
    assert answer["warnings"] == {variable_id: [warning] if warning else []}
    page = browser.get("/list", headers={"accept": "text/html"}).text
    assert warning is None or warning in page


def test_a_fetch_gets_json_and_bad_input_is_refused(browser):
    assert browser.post("/list/items", data={"variable": CHOSEN[0]}, headers={"accept": "application/json"}).json() == {"count": 1}
    assert browser.post("/list/items", data={"variable": "nope"}).status_code == 404
    assert update(browser, CHOSEN[0], "save", **{"from": "soon"}).status_code == 422
    assert update(browser, CHOSEN[0], "save", note="x" * 2001).status_code == 422
    assert update(browser, CHOSEN[0], "explode").status_code == 422
    # another site's page cannot change the list (the cookie is SameSite=Lax as well)
    hostile = browser.post("/list/items", data={"variable": CHOSEN[1]}, headers={"origin": "https://evil.example"})
    assert hostile.status_code == 403 and listed(browser) == [CHOSEN[0]]
    # only this site's own pages are gone back to
    assert add(browser, CHOSEN[1], back="https://evil.example/").headers["location"] == "/list"
    assert add(browser, CHOSEN[2], back="//evil.example/").headers["location"] == "/list"


def test_exports_are_shaped_for_an_application(browser):
    for variable_id in [*CHOSEN, FORMULA.id]:
        add(browser, variable_id)
    update(browser, CHOSEN[0], "save", note="=1+1 vekt for alle barn", **{"from": "2010", "to": "2015"})
    update(browser, CHOSEN[1], "save", **{"from": "2005", "to": "2010"})
    rows = list(csv.reader(io.StringIO(browser.get("/list/export.csv").text)))
    assert rows[0][:6] == ["Dataansvarlig", "Register", "Datasett", "Variabel-ID", "Kortnavn", "Navn"]
    row = dict(zip(rows[0], rows[1]))
    assert row | {"Lenke": ""} == {
        "Dataansvarlig": "Folkehelseinstituttet", "Register": "Medisinsk fødselsregister",
        "Datasett": "Medisinsk fødselsregister", "Variabel-ID": "mfr/mfr/VEKT", "Kortnavn": "VEKT",
        "Navn": "Fødselsvekt", "Beskrivelse": "Barnets vekt i gram ved fødselen.", "Perioder med data": "1967–",
        "Ønsket fra år": "2010", "Ønsket til år": "2015", "Begrunnelse og merknad": "'=1+1 vekt for alle barn",
        "Tilgangsnivå": "Ikke-offentlig", "Kodeverk": "", "Kodeverksversjoner i årene": "",
        "Advarsler om årene": "", "Kodeendringer i årene": "", "Lenke": "",
        "Datasettets URI": "https://example.test/dataset/mfr/mfr"}
    assert row["Lenke"] == f"{BASE_URI}variables/mfr/mfr/VEKT"
    # the period warning is carried into the export
    assert dict(zip(rows[0], rows[2]))["Advarsler om årene"] == "Variabelen har ikke data for 2005–2007."
    assert rows[4][5] == "'=HYPERLINK(\"http://x\")"  # harvested text is not a formula either
    english = TestClient(browser.app, cookies=browser.cookies)
    assert next(csv.reader(io.StringIO(english.get("/list/export.csv?lang=en").text)))[:3] == [
        "Data controller", "Register", "Dataset"]
    # for Norwegian Excel: a BOM, then semicolons
    excel = browser.get("/list/export.excel.csv")
    assert excel.content.startswith("\ufeff".encode()) and "excel.csv" in excel.headers["content-disposition"]
    assert list(csv.reader(io.StringIO(excel.text.lstrip("\ufeff")), delimiter=";"))[1:] == rows[1:]
    response = browser.get("/list/export.xlsx")
    assert response.headers["content-disposition"] == 'attachment; filename="variabelliste.xlsx"'
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Alle variabler", "Medisinsk fødselsregister", "Norsk pasientregister"]
    values = [[c.value for c in row] for row in book.active.iter_rows()]
    assert values[1][3:6] == ["mfr/mfr/VEKT", "VEKT", "Fødselsvekt"] and len(values) == 5
    assert values[1][8:11] == [2010, 2015, "'=1+1 vekt for alle barn"]
    assert [r[3] for r in book["Norsk pasientregister"].iter_rows(min_row=2, values_only=True)] == [CHOSEN[1]]
    assert [v["variable"] for v in json.loads(browser.get("/list/export.json").content)["variables"]] == [*CHOSEN, FORMULA.id]
    graph = Graph().parse(data=browser.get("/list/export.ttl").text, format="turtle")
    wanted = {str(graph.value(r, DCTERMS.identifier)): r for r in graph.subjects(DCTERMS.relation, None)}
    assert set(wanted) == {*CHOSEN, FORMULA.id}
    assert graph.value(wanted["mfr/mfr/VEKT"], DCTERMS.relation) == URIRef("https://example.test/variable/mfr/mfr/VEKT")
    assert str(graph.value(wanted["mfr/mfr/VEKT"], DCTERMS.description)) == "=1+1 vekt for alle barn"
    assert len(set(graph.subjects(DCAT.resource, None))) == 1
    assert set(graph.objects(None, DCAT.dataset)) == {URIRef("https://example.test/dataset/mfr/mfr"),
                                                      URIRef("https://example.test/dataset/npr/somatikk")}
    assert browser.get("/list/export.exe").status_code == 404


def test_share_by_code_open_elsewhere_and_copy(settings, browser):
    for variable_id in CHOSEN:
        add(browser, variable_id)
    update(browser, CHOSEN[1], "save", note="Diagnoser 2010–2015")
    shared = browser.post("/list/share", follow_redirects=False)
    code = shared.headers["location"].rsplit("/", 1)[1]
    assert shared.status_code == 303 and len(code) == 8 and code.isupper()
    other = TestClient(create_app(settings))  # someone else, with no cookie
    page = other.get(f"/lists/{code}", headers={"accept": "text/html"}).text
    assert all(f'data-variable="{v}"' in page for v in CHOSEN) and "Diagnoser 2010–2015" in page
    assert other.get(f"/lists/{code.lower()}").status_code == 200  # codes are read case-blind
    assert other.get("/lists/open", params={"code": f" {code.lower()} "}, follow_redirects=False).headers["location"] == f"/lists/{code}"
    copied = other.post(f"/lists/{code}/copy", follow_redirects=False)
    assert copied.status_code == 303 and listed(other) == CHOSEN
    assert other.get("/api/list").json()["items"][1]["note"] == "Diagnoser 2010–2015"
    # the owner's later changes do not change what was shared
    update(browser, CHOSEN[0], "remove")
    assert listed(other, f"/api/lists/{code}") == CHOSEN
    assert other.get("/lists/NOSUCH99").status_code == 404


def test_a_shared_list_lasts_ninety_days(settings):
    lists = Lists(open_database(settings))
    lists.add("someone", CHOSEN[0])
    then = datetime.now(timezone.utc) - timedelta(days=91)
    old = lists.share("someone", now=then)
    assert lists.shared(old.code, now=then + timedelta(days=89)) is not None
    assert lists.shared(old.code) is None
    client = TestClient(create_app(settings))
    assert client.get(f"/lists/{old.code}").status_code == 404
