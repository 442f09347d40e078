"""The catalogue as linked data, for partners' harvesters and programs: the whole DCAT
catalogue (or pages of it, or what changed since a time) in the profile and syntax asked for,
every URI it mints dereferenced, and the SPARQL 1.1 endpoint."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pyoxigraph as ox
from fastapi import APIRouter, HTTPException, Query as Param, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, XSD
from starlette.concurrency import run_in_threadpool

from catalogue.model.namespaces import DCAT, DISCO, HYDRA, PREFIXES
from catalogue.profiles import healthdcat_ap_r8
from catalogue.services import Services
from catalogue.site.bodies import at_most
from catalogue.site.negotiation import (RDF_FORMAT, RDF_FORMATS, RDF_MEDIA, browser, preferences, rdf_format,
                                        rdf_response)
from catalogue.site.pages import Pages
from catalogue.site.params import HTML, answers
from catalogue.site.routes.code_lists import code_list_page
from catalogue.site.streaming import SYNTAXES, stream
from catalogue.sparql import SparqlError, service_description
from catalogue.storage.history import moment
from catalogue.view import View

MAX_QUERY = 100_000  # characters of a SPARQL query
CATALOG_PAGE, MAX_CATALOG_PAGE = 100, 1000  # datasets per page of /catalog
# The profiles the catalogue conforms to (tested against their official shapes), by name.
# DCAT-AP-NO and DCAT-AP are one graph; HealthDCAT-AP adds its own (catalogue.profiles.healthdcat_ap_r8).
PROFILES_OFFERED = {"dcat-ap-no": "https://data.norge.no/specification/dcat-ap-no",
                    "dcat-ap": "http://data.europa.eu/r5r/",
                    "healthdcat-ap": healthdcat_ap_r8.PROFILE}


def linked_data_routes(services: Services, pages: Pages) -> APIRouter:
    app = APIRouter()
    settings = services.settings

    @app.api_route("/sparql", methods=["GET", "POST"])
    async def sparql_endpoint(request: Request):
        """SPARQL 1.1 Protocol: `query` (GET, a form's body, or an application/sparql-query
        body), `default-graph-uri` and `named-graph-uri`; the answer's format by `format=`
        (or `output=`, `results=`: a name or a media type, as clients send them) or Accept.
        Without a query: the endpoint's service description."""
        params = await _sparql_params(request)
        query = (params.get("query") or [None])[0]
        if not query:
            if request.method == "POST":
                raise HTTPException(400, detail="give a SPARQL query in the body or as ?query=")
            fmt = rdf_format(request) or "ttl"
            return rdf_response(service_description(f"{settings.base_uri}sparql", services.view), fmt)
        if len(query) > MAX_QUERY:
            raise HTTPException(413, detail=f"a SPARQL query may hold at most {MAX_QUERY:,} characters")
        wanted = [v.strip().lower() for key in ("format", "output", "results") for v in params.get(key, []) if v.strip()]
        wanted += preferences(request.headers.get("accept", ""))
        try:
            answer = await run_in_threadpool(services.sparql.answer, query, wanted, params.get("default-graph-uri", []),
                                             params.get("named-graph-uri", []))
        except SparqlError as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)
        return Response(answer.body, media_type=answer.media_type)

    @app.get("/catalog", responses=answers(*RDF_MEDIA))
    def catalog(request: Request, format: str | None = RDF_FORMAT,
                profile: str | None = Param(None, max_length=200),
                access: str | None = Param(None, max_length=20),
                page_no: int | None = Param(None, alias="page", ge=1),
                size: int | None = Param(None, ge=1, le=MAX_CATALOG_PAGE),
                modified_since: str | None = Param(None, alias="modifiedSince", max_length=40)):
        """The whole catalogue, or with `page`/`size` one page of it with Hydra links to the
        others, or with `modifiedSince` only what changed since; in the syntax `format=` or
        else Accept asks for (Turtle by default). A browser is shown the page for harvesters."""
        if browser(request, format):
            return RedirectResponse("/partners", status_code=303)
        fmt = format or rdf_format(request) or "ttl"
        chosen = _profile(request, profile)
        if access is not None and (chosen != healthdcat_ap_r8.PROFILE or access not in healthdcat_ap_r8.LEVELS):
            message = (f"access= is the HealthDCAT-AP level to export, with profile=healthdcat-ap: one of "
                       f"{', '.join(healthdcat_ap_r8.LEVELS)}")
            raise HTTPException(422, detail=[{"field": "access", "message": message}])
        view = services.view
        try:
            since = moment(modified_since, end_of_day=False) if modified_since else None
        except ValueError as exc:
            raise HTTPException(422, detail=[{"field": "modifiedSince", "message": str(exc)}]) from None
        if page_no is None and size is None:
            if since:
                subjects = view.catalogue_subjects_since(since, chosen, access)
                return _profiled(_rdf(view.part(subjects, chosen, access), fmt), chosen)
            return _profiled(StreamingResponse(stream(view.snapshot.store, view.additions(chosen), fmt,
                                                      view.selection(chosen, access)),
                                               media_type=f"{RDF_FORMATS[fmt][1]}; charset=utf-8"), chosen)
        # Pages are counted in datasets, each dataset whole on its page (see View.reach).
        datasets = view.datasets_changed_since(since, chosen, access) if since else view.dataset_order(chosen, access)
        page_no, size = page_no or 1, size or CATALOG_PAGE
        last = max(1, -(-len(datasets) // size))
        if page_no > last:
            raise HTTPException(404, detail=f"the catalogue has {last} pages of {size} datasets")
        triples = view.dataset_page(datasets[(page_no - 1) * size:page_no * size], chosen, access)
        return _profiled(_rdf([*triples, *_paging(request, page_no, size, last, len(datasets))], fmt), chosen)

    @app.get("/partners", response_class=HTMLResponse)
    def partners(request: Request):
        return pages.render(request, "partners.html", {"base": settings.base_uri}, json_url="/catalog?format=jsonld")

    @app.get("/id/{path:path}", responses=answers(HTML, *RDF_MEDIA))
    def dereference(request: Request, path: str, format: str | None = RDF_FORMAT):
        """Every URI the catalogue mints answers: a browser is sent to the resource's page
        (or, for one without a page of its own, such as a code or an agent, gets its
        description as a page), an RDF client gets its description in the syntax it asks
        for (Turtle by default)."""
        view = services.view
        uri = _iri(f"{settings.base_uri}id/{path}")
        if browser(request, format) and (page_url := page_of(view, uri)):
            return RedirectResponse(page_url, status_code=303)
        # as the catalogue gives it (with the dates it observed), a variable with its dataset's link
        graph = view.with_dataset_link(view.catalogue_part([uri]), uri)
        return described(request, uri, graph, format)

    @app.get("/.well-known/genid/{key}", responses=answers(HTML, *RDF_MEDIA))
    def skolem(request: Request, key: str, format: str | None = RDF_FORMAT):
        """Nodes that were blank at the source have IRIs minted from their content (a
        period, a contact point): they answer like the others."""
        uri = _iri(f"{settings.base_uri}.well-known/genid/{key}")
        return described(request, uri, services.view.snapshot.describe(uri), format)

    def described(request: Request, uri: str, graph: Graph, format: str | None) -> Response:
        """The resource's description: a page for a browser, else RDF as asked."""
        if not len(graph):
            raise HTTPException(404, detail=f"the catalogue does not describe {uri}")
        if browser(request, format):
            response = pages.render(request, "resource.html",
                                    {"uri": uri, "rows": _rows(graph, uri, settings.base_uri)},
                                    json_url=f"{request.url.path}?format=jsonld")
        else:
            response = rdf_response(graph, format or rdf_format(request) or "ttl")
        response.headers["Vary"] = "Accept"
        return response

    def page_of(view: View, uri: str) -> str | None:
        if uri in view.dataset_ids:
            return f"/datasets/{view.dataset_ids[uri]}"
        if found := code_list_page(view, uri):
            return found
        if "/id/variable/" not in uri:
            return None
        # a declared version is shown on its variable's page, among the variable's versions
        owner = next(view.snapshot.store.quads_for_pattern(None, ox.NamedNode(str(DCAT.hasVersion)),
                                                            ox.NamedNode(uri), None), None)
        target = owner.subject.value if owner else uri
        if next(view.snapshot.store.quads_for_pattern(ox.NamedNode(target), ox.NamedNode(str(RDF.type)),
                                                      ox.NamedNode(str(DISCO.Variable)), None), None) is None:
            return None
        variable = view.variable(target)
        variable_id = view.variable_id(variable) if variable else None
        return (f"/variables/{variable_id}" + ("#versions" if owner else "")) if variable_id else None

    return app


def _paging(request: Request, page_no: int, size: int, last: int, total: int) -> Iterator[ox.Triple]:
    """The page's Hydra description, in the current terms (a hydra:PartialCollectionView with
    first/previous/next/last) and in the older ones harvesters still read (a
    hydra:PagedCollection with firstPage/previousPage/nextPage/lastPage and itemsPerPage)."""
    def page(number: int) -> ox.NamedNode:
        return ox.NamedNode(str(request.url.include_query_params(page=number, size=size)))
    here, integer = page(page_no), ox.NamedNode(str(XSD.integer))
    yield ox.Triple(here, _ox(RDF.type), _ox(HYDRA.PartialCollectionView))
    yield ox.Triple(here, _ox(RDF.type), _ox(HYDRA.PagedCollection))
    yield ox.Triple(here, _ox(HYDRA.totalItems), ox.Literal(str(total), datatype=integer))
    yield ox.Triple(here, _ox(HYDRA.itemsPerPage), ox.Literal(str(size), datatype=integer))
    for relations, number in (((HYDRA.first, HYDRA.firstPage), 1), ((HYDRA.last, HYDRA.lastPage), last),
                              ((HYDRA.previous, HYDRA.previousPage), page_no - 1),
                              ((HYDRA.next, HYDRA.nextPage), page_no + 1)):
        if 1 <= number <= last:
            for relation in relations:
                yield ox.Triple(here, _ox(relation), page(number))


def _rdf(triples: list[ox.Triple], fmt: str) -> Response:
    """Triples in syntax `fmt`, written by oxigraph (as the whole catalogue is; rdflib took
    seconds for a page of a few thousand variables)."""
    body = ox.serialize(triples, format=SYNTAXES[fmt], prefixes={k: str(v) for k, v in PREFIXES.items()})
    return Response(body, media_type=f"{RDF_FORMATS[fmt][1]}; charset=utf-8")


def _ox(term: URIRef) -> ox.NamedNode:
    return ox.NamedNode(str(term))


async def _sparql_params(request: Request) -> dict[str, list[str]]:
    """The protocol's parameters: the URL's, and a POST's (a form, or an application/sparql-query
    body as `query`); a body larger than a query may be is refused before it is read whole."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    if request.method == "POST":
        limit = MAX_QUERY * 4  # UTF-8, and a form's percent-encoding
        body = await at_most(request, limit)
        if len(body) > limit:
            raise HTTPException(413, detail=f"a SPARQL request body may hold at most {limit:,} bytes")
        text = body.decode("utf-8", "replace")
        if request.headers.get("content-type", "").startswith("application/sparql-query"):
            params["query"] = [text]
        else:
            for key, values in parse_qs(text).items():
                params.setdefault(key, []).extend(values)
    return params


def _profile(request: Request, asked: str | None) -> str:
    """The profile the catalogue is served in: ?profile= (a name or URI) or else the first
    offered one Accept-Profile names (W3C content negotiation by profile); DCAT-AP-NO by
    default. One not offered is refused (406), naming those that are."""
    wanted = [asked] if asked else preferences(request.headers.get("accept-profile", ""))
    for candidate in wanted:
        for name, uri in PROFILES_OFFERED.items():
            if candidate in (name, uri):
                return uri
    if asked:
        offered = ", ".join(f"{name} ({uri})" for name, uri in PROFILES_OFFERED.items())
        raise HTTPException(406, detail=f"profile {asked!r} is not offered; offered: {offered}")
    return PROFILES_OFFERED["dcat-ap-no"]


def _profiled(response: Response, profile: str) -> Response:
    response.headers["Content-Profile"] = f"<{profile}>"
    response.headers["Link"] = f'<{profile}>; rel="profile"'
    response.headers["Vary"] = "Accept, Accept-Profile"
    return response


def _rows(graph: Graph, uri: str, base: str) -> list[dict[str, Any]]:
    """A resource's own statements for its page: property, value, and a link where the
    value is a resource this catalogue answers for (never a link to anywhere else)."""
    rows = []
    for predicate, value in sorted(graph.predicate_objects(URIRef(uri))):
        text = str(value)
        local = "/" + text[len(base):] if isinstance(value, URIRef) and text.startswith(base) else None
        rows.append({"property": graph.namespace_manager.normalizeUri(predicate), "value": text,
                     "language": getattr(value, "language", None), "link": local})
    return rows


def _iri(uri: str) -> str:
    """The URI a request names; one that is no IRI (a space, a control character) the
    catalogue cannot describe: 404, before it reaches the store."""
    try:
        ox.NamedNode(uri)
    except ValueError:
        raise HTTPException(404, detail=f"the catalogue does not describe {uri!r}: it is not an IRI") from None
    return uri
