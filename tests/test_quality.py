"""The metadata quality page of a source: scores, what to fix first, held-back records, the
cache refreshed by a harvest, and harvested text shown as text."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from catalogue.curation import quality as scores
from catalogue.curation.quality import score_source
from catalogue.pipeline.fileserver import FileServer
from catalogue.pipeline.harvest import harvest
from catalogue.site.app import create_app
from postgresql_server import with_backend
from support import EU_HEALTH, harvest_demo, settings_in, write_config

HEADER = "Variabelnavn;Variabel;Variable (English);Beskrivelse;Datatype;Enhet;Fra;Til\n"
ROWS = {
    "VEKT": "VEKT;Fødselsvekt;Birth weight;Barnets vekt ved fødselen.;Heltall;gram;1967;\n",
    "LENGDE": "LENGDE;Lengde;{en};Barnets lengde ved fødselen.;Heltall;cm;1967;\n",
    "HODE": "HODE;Hodeomkrets;{en};Hodeomkrets ved fødselen.;Heltall;cm;1970;\n",
    "XSS": "XSS;<script>alert('x')</script>;Hostile;Tekst fra kilden.;Tekst;;2000;\n",
    "FEIL": "FEIL;Feil dato;Bad date;Startet en dag som ikke finnes.;Heltall;;31.02.2001;\n",  # held back
}
SOURCE = f"""
[[source]]
id = "fodsel"
name = "Fødselsvariabler"
publisher = "fhi"
kind = "table"
url = "{{url}}/fodsel.csv"
[source.columns]
name = "Variabelnavn"
label = "Variabel"
label_en = "Variable (English)"
description = "Beskrivelse"
value_type = "Datatype"
unit = "Enhet"
start = "Fra"
end = "Til"
[[source.dataset]]
id = "fodsel"
title = {{{{ nb = "Fødsler", en = "Births" }}}}
description = {{{{ nb = "Alle fødsler." }}}}
themes = ["{EU_HEALTH}"]
keywords = ["fødsel"]
access_rights = "http://publications.europa.eu/resource/authority/access-right/RESTRICTED"
landing_page = "https://www.fhi.no/mfr"
contact = {{{{ name = {{{{ nb = "MFR" }}}}, email = "mfr@example.no" }}}}
"""


def write_csv(folder, english: str = "") -> None:
    """The variable list; LENGDE and HODE have an English label only when `english` is given."""
    rows = "".join(row.format(en=english) for row in ROWS.values())
    (folder / "fodsel.csv").write_text(HEADER + rows, encoding="utf-8")


def harvest_fodsel(folder, settings, url: str) -> None:
    (summary,) = harvest(settings, write_config(folder, SOURCE.format(url=url)))
    assert summary.status == "ok", summary.error


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(request, tmp_path_factory):
    """The list above harvested, and the demo's DCAT source (its one broken variable held back);
    the scores kept in the data directory or in PostgreSQL."""
    folder = tmp_path_factory.mktemp("quality")
    settings = with_backend(request, settings_in(folder))
    served = folder / "served"
    served.mkdir()
    write_csv(served)
    with FileServer(served) as server:
        harvest_fodsel(folder, settings, server.url)
    harvest_demo(settings, "helsedata")
    return create_app(settings)


def quality(client: TestClient, source: str = "fodsel") -> dict:
    response = client.get(f"/api/sources/{source}/quality")
    assert response.status_code == 200
    return response.json()


def by_name(body: dict) -> dict[str, dict]:
    return {item["name"]: item for item in body["items"]}


def fix(body: dict, check: str) -> dict | None:
    return next((f for f in body["fix_first"] if f["check"] == check), None)


def test_a_complete_variable_scores_100(client):
    vekt = by_name(quality(client))["VEKT"]
    assert vekt["score"] == 100 and vekt["failed"] == []
    assert vekt["url"] == "/variables/fodsel/fodsel/VEKT"
    assert client.get(vekt["url"]).status_code == 200


def test_missing_english_labels_lose_points_and_lead_the_fix_list(client):
    body = quality(client)
    items = by_name(body)
    for name in ("LENGDE", "HODE"):
        assert items[name]["score"] < 100 and items[name]["failed"] == ["variable_label_en"]
    english = fix(body, "variable_label_en")
    assert english["records"] == 2 and english["weight"] == 2
    assert {e["name"] for e in english["examples"]} == {"LENGDE", "HODE"}
    page = client.get("/sources/fodsel/quality", params={"lang": "nb"}).text
    assert "Legg til engelsk navn</strong> – 2 poster" in page
    assert 'href="/variables/fodsel/fodsel/LENGDE"' in page
    assert "Add an English label" in client.get("/sources/fodsel/quality", params={"lang": "en"}).text


def test_a_held_back_record_counts_as_failing(client):
    body = quality(client)
    held = [item for item in body["items"] if item["kind"] == "held_back"]
    assert len(held) == 1 and held[0]["score"] == 0 and "FEIL" in held[0]["name"]
    assert body["kinds"]["held_back"]["records"] == 1
    assert fix(body, "held_back")["records"] == 1
    assert body["items"][0] == held[0], "worst first"
    assert body["score"] < body["kinds"]["variable"]["score"]
    page = client.get("/sources/fodsel/quality", params={"lang": "nb"}).text
    assert "Rett det som holder posten tilbake" in page and "31.02.2001" in page


def test_the_demo_source_shows_its_held_back_variable(client):
    body = quality(client, "helsedata")
    held = [item for item in body["items"] if item["kind"] == "held_back"]
    assert [h["name"].split()[1] for h in held] == ["MSIS_UGYLDIG_EKSEMPEL"]
    assert held[0]["url"].startswith("/harvests/") and client.get(held[0]["url"]).status_code == 200
    assert {"dataset", "variable", "code_list"} <= set(body["kinds"])
    # The gate's message, in the page's language.
    assert "En variabel må ha et navn med språkkode" in client.get("/sources/helsedata/quality", params={"lang": "nb"}).text
    assert "A variable needs a name with a language tag" in client.get("/sources/helsedata/quality",
                                                                      params={"lang": "en"}).text


def test_sources_are_scored_when_harvested(tmp_path):
    """The list of sources shows each source's score without its quality page opened first."""
    settings = settings_in(tmp_path)
    harvest_demo(settings, "helsedata", "mfr")
    listed = {s["id"]: s["quality_score"] for s in TestClient(create_app(settings)).get("/api/sources").json()["sources"]}
    assert set(listed) == {"helsedata", "mfr"} and all(0 < score < 100 for score in listed.values()), listed


def test_the_json_twin_has_what_the_page_shows(client):
    page = client.get("/sources/fodsel/quality", params={"lang": "en"})
    assert page.headers["link"].startswith("</api/sources/fodsel/quality?lang=en>")  # the same URL under /api
    body = quality(client)
    assert f"<strong>{body['score']}</strong> / 100" in page.text
    for f in body["fix_first"]:
        count = "1 record" if f["records"] == 1 else f"{f['records']} records"
        assert f"{f['text']['en']}</strong> – {count}" in page.text
    assert page.text.count("<tr>") == len(body["items"]) + 1  # and the header row


def test_sources_show_a_score_once_it_is_computed(client):
    """The list of sources never scores a source itself: it shows the cached score."""
    quality(client)
    sources = {s["id"]: s for s in client.get("/api/sources").json()["sources"]}
    assert sources["fodsel"]["quality_score"] == quality(client)["score"]
    page = client.get("/sources/fodsel", params={"lang": "nb"}).text
    assert f'<a href="/sources/fodsel/quality">Kvalitetspoeng: {quality(client)["score"]} / 100</a>' in page


def test_an_unknown_source_is_404(client):
    for path in ("/sources/nope/quality", "/api/sources/nope/quality", "/api/sources/catalogue/quality"):
        assert client.get(path).status_code == 404


def test_harvested_text_is_escaped(client):
    page = client.get("/sources/fodsel/quality").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_a_harvest_that_changes_the_graph_refreshes_the_scores(tmp_path, serve, monkeypatch):
    settings = settings_in(tmp_path)
    served = tmp_path / "served"
    served.mkdir()
    write_csv(served)
    url = serve(served).url
    scored = []  # the sources scored, as they are scored
    monkeypatch.setattr(scores, "score_source", lambda store, source: scored.append(source.id) or
                        score_source(store, source))
    harvest_fodsel(tmp_path, settings, url)
    client = TestClient(create_app(settings))
    before = quality(client)
    assert fix(before, "variable_label_en")["records"] == 2
    quality(client)
    assert scored == ["fodsel"], "scored once per harvest, not per request"

    write_csv(served, english="Given in English")
    harvest_fodsel(tmp_path, settings, url)
    after = quality(client)
    assert fix(after, "variable_label_en") is None
    assert by_name(after)["LENGDE"]["score"] == 100
    assert after["score"] > before["score"] and scored == ["fodsel", "fodsel"]
