"""The explorer: one search box over every variable, its facets and columns, suggestions as
one types, and a way on when a search finds nothing. Its JSON twin is /api/variables, the
search result alone (the page adds what a person needs to refine it)."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query as Param, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from catalogue.search import FacetValue, Hit, Query
from catalogue.search.query import Code
from catalogue.services import Services
from catalogue.site.changes import Linker, shown
from catalogue.site.pages import Pages, url_with
from catalogue.site.routes.lists import LIST_COOKIE
from catalogue.site.search_params import Problems, read_query, search_query
from catalogue.sources import ConfigError

NAMED_MATCHES = 3  # datasets, sources and code lists offered above the results
# The explorer's result columns (`cols=name,source,...`; unknown ones are ignored).
COLUMNS = ("name", "description", "source", "dataset", "period", "value_type", "unit", "code_list",
           "publisher", "theme")
DEFAULT_COLUMNS = ("name", "description", "source", "dataset", "period")
# The start page: searches that show what the explorer understands, and the last changes.
EXAMPLE_SEARCHES = ("fødselsvekt", "røyking i svangerskapet", "diabetes", "smittested", "hoveddiagnose ICD-10",
                    "smoking pregnancy")
NEWEST_SHOWN = 5
SUGGESTION_PAGES = {"variable": "/variables/", "dataset": "/datasets/", "source": "/sources/"}


class Help(BaseModel):
    """Ways on from a search that found nothing: near spellings of its words in the
    catalogue, the code lists' nearest concepts, registers whose descriptions have its
    words, and where to ask."""

    spellings: list[str]
    concepts: list[Code]
    registers: list[dict[str, Any]]  # {"id": dataset id, "title": Text}
    ask: str | None = None  # the catalogue's contact: a mailto: or a web address


class SearchResult(BaseModel):
    """The explorer's answer: the query as understood, one page of hits, and the facets;
    `help` when it found nothing."""

    query: dict[str, Any]
    total: int
    page: int
    size: int
    pages: int
    items: list[Hit]
    facets: dict[str, list[FacetValue]]
    help: Help | None = None


def explorer_routes(services: Services, pages: Pages) -> APIRouter:
    app = APIRouter()
    concepts = services.concepts

    def search_result(query: Query) -> SearchResult:
        typed = query.text.strip()
        if typed:  # the variables coded with a list whose concepts the words name are found too
            query = query.model_copy(update={"via": concepts.via(typed)})
        result = services.search.search(query)
        return SearchResult(
            help=found_nothing(typed) if typed and not result.total else None,
            query={"q": query.text, "filters": {k: list(v) for k, v in query.filters.items()},
                   "from": query.year_from, "to": query.year_to, "period": query.period,
                   "sort": query.sort},
            total=result.total, page=query.page, size=query.size,
            pages=max(1, -(-result.total // query.size)), items=result.items, facets=result.facets)

    def found_nothing(typed: str) -> Help:
        try:
            contact = services.config().catalogue.contact
        except ConfigError:  # a site serving a data directory without its configuration
            contact = None
        return Help(spellings=concepts.spellings(typed), concepts=concepts.nearest(typed),
                    registers=[{"id": r.id, "title": r.title} for r in concepts.registers(typed)],
                    ask=contact and (f"mailto:{contact.email}" if contact.email else contact.url))

    @app.get("/", response_class=HTMLResponse)
    async def explorer(request: Request, read: tuple[Query, Problems] = Depends(read_query)):
        return await services.searches.run(lambda: explorer_page(request, *read))

    def explorer_page(request: Request, query: Query, problems: Problems) -> Response:
        # What could not be read is said by its field; the rest is searched and shown (422).
        # cols=a,b from a link, or cols=a&cols=b from the column form without JavaScript
        cols = ",".join(request.query_params.getlist("cols"))[:500]
        found = services.search.named(query.text, NAMED_MATCHES) if query.text.strip() else []
        return pages.render(request, "explorer.html", {
            **(context := search_result(query).model_dump(mode="json")),
            "problems": {p["field"]: p for p in problems},
            "facet_counts": context["facets"],
            "columns": _columns(cols), "all_columns": COLUMNS,
            "list_count": len(services.lists.items(request.cookies.get(LIST_COOKIE, ""))),
            # one search box for all: datasets and sources whose names match are offered too
            "named_matches": [{**s.model_dump(), "url": _suggestion_url(s)} for s in found],
            "toggle": lambda f, v: _toggle(request, f, v),
            # the start page: example searches and what changed last
            "examples": EXAMPLE_SEARCHES,
            "newest": shown(services.history.since("", limit=NEWEST_SHOWN), Linker(services.view, services.search))
            if not query.text.strip() and not query.filters else []},
            json_url=url_with(request, path="/api/variables"), status_code=422 if problems else 200)

    @app.get("/api/variables")
    async def api_variables(query: Query = Depends(search_query)):
        # Serialised by pydantic in one step: the generic encoder costs more than the search.
        return Response(await services.searches.run(lambda: search_result(query).model_dump_json()),
                        media_type="application/json")

    @app.get("/api/suggest")
    def api_suggest(q: str = Param(..., min_length=1, max_length=100),
                    size: int = Param(10, ge=1, le=20)):
        return {"q": q, "suggestions": [{**s.model_dump(), "url": _suggestion_url(s)}
                                        for s in services.search.suggest(q, size)]}

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():  # for browsers that ask before reading the page's icon link
        return RedirectResponse("/static/favicon.svg", status_code=301)

    return app


def _columns(cols: str | None) -> list[str]:
    """The chosen result columns, in the explorer's order; the defaults when none is known."""
    chosen = set((cols or "").split(","))
    return [c for c in COLUMNS if c in chosen] or list(DEFAULT_COLUMNS)


def _suggestion_url(suggestion) -> str:
    if suggestion.kind == "code_list":  # the variables that use it
        return "/?" + urlencode({"code_list": suggestion.id})
    return SUGGESTION_PAGES[suggestion.kind] + suggestion.id


def _toggle(request: Request, facet: str, value: str) -> str:
    """The explorer URL with one facet value switched on or off, back on page 1."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    if (facet, value) in params:
        params.remove((facet, value))
    else:
        params.append((facet, value))
    return request.url.path + "?" + urlencode(params)
