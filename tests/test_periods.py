"""Periods across the site: the overlap/cover year filter, coverage derived from variables,
the variable timeline and the availability matrix (HTML, JSON, CSV)."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from fastapi.testclient import TestClient

from catalogue.model.models import Period, merge_periods
from catalogue.site.app import create_app
from catalogue.site.timeline import availability_csv, timeline

THIS_YEAR = date.today().year


@pytest.fixture(scope="module")
def app(tmp_path_factory, demo_data):
    return create_app(demo_data(tmp_path_factory.mktemp("periods"), light=True))


def _all(client, **params) -> list[dict]:
    items, page = [], 1
    while True:
        body = client.get("/api/variables", params={**params, "size": 100, "page": page}).json()
        items += body["items"]
        if page >= body["pages"]:
            return items
        page += 1


def _periods(item: dict) -> list[Period]:
    return [Period.model_validate(p) for p in item["periods"]]


def _years(item: dict) -> set[int]:
    return {y for p in _periods(item) for y in p.years(THIS_YEAR)}


@pytest.fixture(scope="module")
def gapped(app) -> dict:
    """A variable with at least a whole year missing between two of its periods."""
    return next(i for i in _all(TestClient(app)) if len(merge_periods(_periods(i))) > 1)


def _gap(item: dict) -> tuple[int, int]:
    """The last year before the first gap and the first year after it."""
    first, second = merge_periods(_periods(item))[:2]
    return first.end.year, second.start.year


def test_overlap_keeps_a_variable_with_a_gap_in_the_span_and_cover_drops_it(client, gapped):
    before, after = _gap(gapped)
    span = {"dataset": gapped["dataset"], "from": before, "to": after}
    overlap = {i["id"] for i in _all(client, **span)}
    cover = _all(client, **span, period="cover")
    assert gapped["id"] in overlap
    assert gapped["id"] not in {i["id"] for i in cover}
    assert {i["id"] for i in cover} <= overlap
    for item in cover:
        assert set(range(before, after + 1)) <= _years(item)


def test_cover_with_an_open_end_runs_to_this_year(client, gapped):
    last = merge_periods(_periods(gapped))[-1]
    found = _all(client, dataset=gapped["dataset"], period="cover", **{"from": last.start.year})
    assert (gapped["id"] in {i["id"] for i in found}) == last.ongoing
    for item in found:
        assert set(range(last.start.year, THIS_YEAR + 1)) <= _years(item)


@pytest.mark.parametrize("params, message", [
    ({"period": "cover"}, "needs a year from"),
    ({"period": "cover", "from": 1800}, "at most 150 years"),
    ({"period": "cover", "from": THIS_YEAR + 5}, "the year from is later"),
    ({"period": "sometimes", "from": 2000}, "'overlap' or 'cover'"),
    ({"period": "cover", "from": 2010, "to": 2000}, "before"),
])
def test_bad_period_spans_are_clear_422s(client, params, message):
    response = client.get("/api/variables", params=params)
    assert response.status_code == 422
    assert message in response.text


def test_explorer_offers_both_meanings_and_keeps_the_choice(client):
    page = client.get("/", params={"from": 2000, "period": "cover"}).text
    assert 'value="cover" checked' in page and 'value="overlap"' in page
    assert "data i hvert av årene" in page
    assert "data in some of the years" in client.get("/", params={"lang": "en"}).text


def test_dataset_coverage_is_its_variables_periods_merged(client, gapped):
    dataset = client.get(f"/api/datasets/{gapped['dataset']}").json()
    variables = _all(client, dataset=gapped["dataset"])
    expected = merge_periods([p for v in variables for p in _periods(v)])
    assert [Period.model_validate(p) for p in dataset["coverage"]] == expected
    assert dataset["total"] == len(variables)


def test_sources_show_coverage_from_their_variables(client, gapped):
    listed = {s["id"]: s for s in client.get("/api/sources").json()["sources"]}
    one = client.get(f"/api/sources/{gapped['source']}").json()
    expected = merge_periods([p for v in _all(client, source=gapped["source"]) for p in _periods(v)])
    assert [Period.model_validate(p) for p in one["coverage"]] == expected
    assert listed[gapped["source"]]["coverage"] == one["coverage"]
    assert one["source"]["harvested"]
    page = client.get(f"/sources/{gapped['source']}").text
    assert '<th scope="row">' in page and "<caption>" in page
    assert f'href="/sources/{gapped["source"]}"' in client.get("/sources").text


def test_unknown_sources_are_404(client):
    assert client.get("/api/sources/nope").status_code == 404
    assert client.get("/sources/nope", headers={"accept": "text/html"}).status_code == 404
    assert client.get("/sources/nope/availability.csv").status_code == 404
    assert client.get("/datasets/nope/nope/availability.csv").status_code == 404


def test_variable_page_draws_its_periods_as_a_timeline(client, gapped):
    html = client.get(f"/variables/{gapped['id']}", params={"lang": "en"}).text
    svg = html[html.index("<svg"):html.index("</svg>")]
    merged = merge_periods(_periods(gapped))
    assert 'role="img"' in svg and 'aria-label="Periods with data: ' in svg
    assert "<title>Timeline</title>" in svg and "<desc>Periods with data: " in svg
    assert svg.count('<rect class="bar') == len(merged)
    assert ("open-end" in svg) == merged[-1].ongoing
    assert f">{THIS_YEAR // 5 * 5}</text>" in svg or f">{THIS_YEAR // 10 * 10}</text>" in svg
    assert 'class="periods"' in html  # the periods as text, next to the drawing


def test_timeline_geometry_leaves_gaps_and_opens_ongoing_ends():
    drawn = timeline([Period(start=date(1990, 1, 1), end=date(1995, 12, 31)),
                      Period(start=date(2000, 1, 1))], this_year=2020)
    first, second = drawn.bars
    assert first.x + first.width < second.x
    assert first.arrow is None and second.arrow is not None
    assert [first.label, second.label] == ["1990–1995", "2000–"]
    assert [t.year for t in drawn.ticks] == [1990, 1995, 2000, 2005, 2010, 2015, 2020]
    assert timeline([]) is None


@pytest.mark.parametrize("kind", ["dataset", "source"])
def test_availability_csv_matches_the_variables_periods(client, gapped, kind):
    path = f"/{kind}s/{gapped[kind]}/availability.csv"
    response = client.get(path)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.text)))
    header, body = rows[0], rows[1:]
    years = [int(y) for y in header[2:]]
    assert header[:2] == ["variable", "label"]
    assert years == list(range(years[0], THIS_YEAR + 1))
    variables = {v["id"]: v for v in _all(client, **{kind: gapped[kind]})}
    assert [row[0] for row in body] == sorted(variables)
    for row in body:
        has = _years(variables[row[0]])
        assert row[2:] == ["1" if y in has else "0" for y in years]
    assert min(y for v in variables.values() for y in _years(v)) == years[0]


def test_dataset_page_shows_the_matrix_with_a_text_marker(client, gapped):
    html = client.get(f"/datasets/{gapped['dataset']}").text
    assert "<caption>" in html and '<th scope="col"' in html and '<td class="yes">✓</td>' in html
    assert f'href="/datasets/{gapped["dataset"]}/availability.csv"' in html
    data = client.get(f"/api/datasets/{gapped['dataset']}").json()["availability"]
    row = next(r for r in data["rows"] if r["id"] == gapped["id"])
    assert [y for y, c in zip(data["years"], row["cells"]) if c] == sorted(
        y for y in _years(gapped) if y >= data["years"][0])


def test_csv_does_not_let_a_harvested_label_become_a_formula():
    matrix = {"years": [2020], "rows": [{"id": "x/y/Z", "label": {"nb": '=HYPERLINK("http://evil")'},
                                         "cells": [1]}]}

    rows = list(csv.reader(io.StringIO(availability_csv(matrix, "nb"))))

    assert rows[1] == ["x/y/Z", "'=HYPERLINK(\"http://evil\")", "1"]
