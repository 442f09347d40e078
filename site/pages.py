"""Pages and their JSON twins.

A page is one context function: its parameters are the request's (as FastAPI reads them), its
answer a dict. `Pages.twin` registers it twice: at its path, rendered by a template for people,
and under /api, the same dict as JSON for programs. Neither can show what the other lacks.
"""
from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from catalogue.model.models import Period
from catalogue.search import FACETS
from catalogue.search.query import SORTS
from catalogue.site.auth import Access
from catalogue.site.i18n import FIELD_NAMES, LANGUAGES, VALUE_TYPES, access_name, facet_label, language, pick, words
from catalogue.site.timeline import timeline

TEMPLATES = Path(__file__).parent / "templates"


class Elsewhere(Exception):
    """What a context function raises when the thing asked for is shown at another path (one
    register, one page): the page redirects there, its twin to the same path under /api."""

    def __init__(self, path: str):
        self.path = path


class Pages:
    def __init__(self, access: Access):
        self.access = access
        self.templates = Jinja2Templates(directory=TEMPLATES)
        self.templates.env.globals.update(
            pick=pick, value_types=VALUE_TYPES, facets=FACETS, field_names=FIELD_NAMES, facet_label=facet_label,
            sorts=SORTS, access_name=access_name,
            # a variable's periods drawn as a timeline: for people only, its twin has the periods
            timeline=lambda periods: timeline([Period.model_validate(p) for p in periods]),
            # this page's URL with some parameters changed: url_with(page=2)
            url_with=pass_context(lambda context, **changes: url_with(context["request"], **changes)))
        # Harvested URLs are untrusted: only http(s) ones become links (no javascript: and the like).
        self.templates.env.tests["web_link"] = lambda url: str(url).lower().startswith(("http://", "https://"))

    def render(self, request: Request, template: str, context: dict[str, Any], json_url: str,
               status_code: int = 200) -> HTMLResponse:
        """The page, in the reader's language, with a link to its JSON twin."""
        lang = language(request)
        response = self.templates.TemplateResponse(request, template, {
            **context, "lang": lang, "t": words(lang), "json_url": json_url, "user": self.access.principal(request),
            "switch_url": url_with(request, lang="en" if lang == "nb" else "nb")}, status_code=status_code)
        response.headers["Link"] = f'<{json_url}>; rel="alternate"; type="application/json"'
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="lax")
        return response

    def twin(self, router: APIRouter, path: str, template: str, *, api: str | None = None,
             alternate: Callable[..., Response | None] | None = None, **route: Any) -> Callable:
        """Registers the decorated context function as the page at `path` and as its JSON twin
        at `api` (by default /api + path; path parameters are filled in from the request).
        `alternate`, given the page's request and parameters, may answer instead (RDF asked
        for by a suffix, an Atom feed); `route` goes to the page's registration (the media types it may answer in, ...)."""
        api = api or "/api" + path
        api_url = re.sub(r"\{(\w+):\w+\}", r"{\1}", api)  # "{id:path}" -> "{id}", to be filled in

        def register(context: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
            signature = inspect.signature(context)
            takes_request = "request" in signature.parameters
            own = [p for p in signature.parameters.values() if p.name != "request"]
            with_request = signature.replace(parameters=[
                inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request), *own])

            def answer(request: Request, params: dict[str, Any]) -> dict[str, Any]:
                return context(request=request, **params) if takes_request else context(**params)

            def as_page(request: Request, **params: Any) -> Response:
                if alternate and (other := alternate(request, **params)) is not None:
                    return other
                try:
                    found = answer(request, params)
                except Elsewhere as moved:
                    return RedirectResponse(url_with(request, path=moved.path), status_code=308)
                return self.render(request, template, found,
                                   json_url=url_with(request, path=api_url.format(**request.path_params)))

            def as_json(request: Request, **params: Any):
                try:
                    return answer(request, params)
                except Elsewhere as moved:
                    return RedirectResponse(url_with(request, path="/api" + moved.path), status_code=308)

            # what FastAPI reads the request's parameters (and the twin's answer) from
            as_page.__signature__ = with_request.replace(return_annotation=inspect.Signature.empty)
            as_json.__signature__ = with_request
            for handler, name in ((as_page, context.__name__ + "_page"), (as_json, "api_" + context.__name__)):
                handler.__name__ = name
                handler.__doc__ = context.__doc__
            router.add_api_route(path, as_page, methods=["GET"], response_class=HTMLResponse, **route)
            router.add_api_route(api, as_json, methods=["GET"])
            return context
        return register

    def error(self, request: Request, exc: HTTPException) -> Response:
        """A refusal: JSON for programs, a page for people (a login first where one is needed)."""
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        if exc.status_code == 401 and request.method == "GET":
            return RedirectResponse("/login?" + urlencode({"next": str(request.url.path)}), status_code=303)
        response = self.render(request, "error.html", {"status": exc.status_code, "detail": exc.detail},
                               json_url=request.url.path, status_code=exc.status_code)
        response.headers.update(exc.headers or {})
        return response


def url_with(request: Request, path: str | None = None, **changes: Any) -> str:
    """This request's URL with some parameters changed (None removes one)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, v) for k, v in changes.items() if v is not None]
    query = urlencode(params)
    return (path or request.url.path) + (f"?{query}" if query else "")
