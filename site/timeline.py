"""Periods shown to people: a variable's timeline (geometry for an inline SVG that a
template only places), a set of variables' merged coverage, and their availability
matrix (which years each variable has data) as rows for a table, JSON or CSV.

Everything here works in whole years, as the search index and the year filter do.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from catalogue.model.models import Period, merge_periods
from catalogue.search import VariableDoc
from catalogue.site.i18n import pick
from catalogue.site.sheets import to_csv

# SVG user units; the SVG scales to its box, so only proportions matter.
WIDTH, HEIGHT, PAD, ARROW = 640, 52, 12, 12
BAR_Y, BAR_HEIGHT, AXIS_Y = 6, 18, 32
TICK_STEPS = (1, 2, 5, 10, 20, 25, 50, 100)
MAX_TICKS = 10
MATRIX_YEARS = 100  # a matrix shows at most the last hundred years


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    label: str               # "1967–1990", "1980" for one year, "1967–" when ongoing
    arrow: str | None = None  # polygon points of the open end of an ongoing period


@dataclass(frozen=True)
class Tick:
    x: float
    year: int


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    axis_y: int
    axis: tuple[float, float]
    bar_y: int
    bar_height: int
    bars: list[Bar]
    ticks: list[Tick]


def timeline(periods: list[Period], this_year: int | None = None) -> Timeline | None:
    """One bar per merged period on an axis from the first year to this year; gaps show
    as space between bars, an ongoing period runs to this year and ends in an arrow."""
    if not periods:
        return None
    this_year = this_year or date.today().year
    merged = merge_periods(periods)
    spans = [p.years(this_year) for p in merged]
    first, stop = min(s.start for s in spans), max(this_year, *(s.stop - 1 for s in spans)) + 1
    scale = (WIDTH - 2 * PAD - ARROW) / (stop - first)

    def x(year: int) -> float:
        return round(PAD + (year - first) * scale, 2)

    bars = [Bar(x=x(s.start), width=round(x(s.stop) - x(s.start), 2), label=_label(s, p.ongoing),
                arrow=_arrow(x(s.stop)) if p.ongoing else None)
            for p, s in zip(merged, spans)]
    return Timeline(width=WIDTH, height=HEIGHT, axis_y=AXIS_Y, axis=(x(first), x(stop)),
                    bar_y=BAR_Y, bar_height=BAR_HEIGHT, bars=bars,
                    ticks=[Tick(x(year), year) for year in _tick_years(first, stop)])


def _label(years: range, ongoing: bool) -> str:
    if ongoing:
        return f"{years.start}–"
    return str(years.start) if len(years) == 1 else f"{years.start}–{years.stop - 1}"


def _arrow(at: float) -> str:
    """A right-pointing triangle just past `at`: the period goes on."""
    top, bottom = BAR_Y - 3, BAR_Y + BAR_HEIGHT + 3
    return f"{at},{top} {at + ARROW},{BAR_Y + BAR_HEIGHT / 2} {at},{bottom}"


def _tick_years(first: int, stop: int) -> range:
    step = next((s for s in TICK_STEPS if (stop - first) / s <= MAX_TICKS), TICK_STEPS[-1])
    return range(-(-first // step) * step, stop + 1, step)


def coverage(docs: Iterable[VariableDoc]) -> list[Period]:
    """When a set of variables has data: their periods merged, gaps kept."""
    return merge_periods([p for doc in docs for p in doc.periods])


def matrix_years(covered: list[Period], this_year: int | None = None) -> list[int]:
    """From the earliest year with data to this year, at most MATRIX_YEARS of them."""
    this_year = this_year or date.today().year
    if not covered:
        return []
    first = covered[0].years(this_year).start
    return list(range(max(first, this_year - MATRIX_YEARS + 1), this_year + 1))


def availability(docs: Iterable[VariableDoc], years: list[int]) -> dict[str, Any]:
    """Rows of 1/0 per year: does the variable have data that year?"""
    rows = []
    for doc in docs:
        has = set(doc.years())
        rows.append({"id": doc.id, "name": doc.name, "label": doc.label,
                     "cells": [int(year in has) for year in years]})
    return {"years": years, "rows": rows}


def availability_csv(matrix: dict[str, Any], lang: str) -> str:
    """`variable,label,YYYY,...` with one row per variable (its id) and 1/0 cells."""
    return to_csv(["variable", "label", *matrix["years"]],
                  ([row["id"], pick(row["label"], lang), *row["cells"]] for row in matrix["rows"]))
