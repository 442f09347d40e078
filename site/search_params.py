"""The explorer's query parameters, read into a Query. What cannot be read is said per field
in bokmål and English, so the search page can keep itself (the words, filters and results
of what could be read) and tell the applicant next to the field; the API answers 422."""
from __future__ import annotations

from typing import Any

from fastapi import Depends, HTTPException, Query as Param, Request
from pydantic import ValidationError

from catalogue.search import FILTERS, Query
from catalogue.search.query import MAX_COVER_YEARS

MAX_FACET_VALUES = 50  # chosen values per facet in one query
PARAMETERS = {"year_from": "from", "year_to": "to", "text": "q", "page": "page", "size": "size"}
CROSS_FIELD = ("year_from", "year_to", "period")  # what a rule over several fields is about

# The rules of Query that span fields, by their (English) message: what to say, and where.
RULES = {
    "'to' is before 'from'": ("to", {"nb": "Til-året er før fra-året.", "en": "The year to is before the year from."}),
    "period=cover needs a 'from' year": ("from", {
        "nb": "«Data i alle årene» trenger et fra-år.", "en": "“Data in every year” needs a year from."}),
    "period=cover with no 'to' runs to this year, and 'from' is after it": ("from", {
        "nb": "Uten til-år går «alle årene» til i år, og fra-året er senere.",
        "en": "With no year to, “every year” runs to this year, and the year from is later."}),
    f"period=cover spans at most {MAX_COVER_YEARS} years": ("to", {
        "nb": f"«Data i alle årene» kan spenne over høyst {MAX_COVER_YEARS} år.",
        "en": f"“Data in every year” spans at most {MAX_COVER_YEARS} years."}),
}


Problems = list[dict[str, Any]]  # {field, value, message: {nb, en}} per parameter that could not be read


async def read_query(request: Request, q: str = Param("", max_length=500),
               year_from: str = Param("", alias="from", max_length=10),
               year_to: str = Param("", alias="to", max_length=10),
               period: str = Param("overlap", max_length=20),
               sort: str = Param("relevance", max_length=20),
               page_no: int = Param(1, alias="page"), size: int = Param(20)) -> tuple[Query, Problems]:
    """The explorer's query parameters as a Query; each facet (FACETS) is a parameter of its
    own that may repeat: ?source=a&source=b. What cannot be read is left out of the query and
    said in its problems. (Async only so that it runs on the event loop: parsing needs no
    worker thread of its own.)"""
    filters = {f: tuple(v[:MAX_FACET_VALUES]) for f in FILTERS if (v := request.query_params.getlist(f))}
    # A form with its year boxes left empty sends from=&to=: no year, not an error.
    fields = {"text": q, "filters": filters, "year_from": year_from.strip() or None,
              "year_to": year_to.strip() or None, "period": period, "sort": sort, "page": page_no, "size": size}
    try:
        return Query(**fields), []
    except ValidationError as exc:
        errors = exc.errors()
    problems, wrong = [], set()
    for error in errors:
        name = str(error["loc"][0]) if error["loc"] else None
        wrong.update([name] if name else CROSS_FIELD)
        problems.append(_problem(name, fields.get(name) if name else None, error["msg"]))
    return Query(**{k: v for k, v in fields.items() if k not in wrong}), problems


async def search_query(read: tuple[Query, Problems] = Depends(read_query)) -> Query:
    """The query of the API: one that cannot be read whole is refused (422), per field."""
    query, problems = read
    if problems:
        raise HTTPException(422, detail=[{"field": p["field"], "message": p["message"]["en"]} for p in problems])
    return query


def _problem(name: str | None, value: Any, message: str) -> dict[str, Any]:
    if name is None:
        rule = message.removeprefix("Value error, ")
        field, said = RULES.get(rule, ("from", {"nb": rule, "en": rule}))
        return {"field": field, "value": None, "message": said}
    field = PARAMETERS.get(name, name)
    shown = str(value)[:20]
    if name in ("year_from", "year_to"):
        return {"field": field, "value": value, "message": {
            "nb": f"«{shown}» er ikke et årstall mellom 1000 og 3000.",
            "en": f"“{shown}” is not a year between 1000 and 3000."}}
    return {"field": field, "value": value, "message": {
        "nb": f"«{shown}» kan ikke brukes som {field} ({message}).",
        "en": f"“{shown}” cannot be used as {field} ({message})."}}


