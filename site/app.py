"""The explorer's routes. Each page's context is one object: rendered as HTML,
and served as JSON by its twin under /api (and as RDF where it is an RDF resource)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import pyoxigraph as ox
from fastapi import Depends, FastAPI, HTTPException, Path as PathParam, Query as Param, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from catalogue import ontology
from catalogue.accounts import Accounts
from catalogue.audit import Audit
from catalogue.history import History, moment, stamp
from catalogue.namespaces import DCAT, DISCO, HYDRA
from catalogue.profiles import healthdcat_ap_r8
from catalogue.models import CodeList, Period, Variable
from catalogue.quality import cached_score
from catalogue.records import RecordStore
from catalogue.runs import RunLog
from catalogue.search import FACETS, FacetValue, Hit, Query, VariableDoc, open_concepts
from catalogue.search.query import SORTS, Code
from catalogue.settings import Settings
from catalogue.sources import ConfigError
from catalogue.store import SourceState
from catalogue.site.account_pages import account_routes
from catalogue.site.as_of import variable_as_of
from catalogue.site.auth import Access
from catalogue.site.bodies import at_most
from catalogue.site.curation_pages import curation_routes, same_variables
from catalogue.site.changes import Linker, atom, shown
from catalogue.site.code_lists import code_list_page, code_list_routes, for_variable, page_url as code_list_url
from catalogue.site.i18n import (FIELD_NAMES, LANGUAGES, VALUE_TYPES, access_name, facet_label, language, pick,
                                 words)
from catalogue.site.list_pages import LIST_COOKIE, list_routes
from catalogue.site.middleware import HeadAsGet, PublicReads, SecurityHeaders, server_error
from catalogue.site.negotiation import RDF_FORMATS, RDF_MEDIA, browser, preferences, rdf_format
from catalogue.site.registers import access_of, configured, register_routes
from catalogue.site.params import HTML, PAGE_NO, REFUSALS, answers
from catalogue.site.search_params import Problems, read_query, search_query
from catalogue.site.publish_pages import publish_routes
from catalogue.site.lists import Lists
from catalogue.site.quality_pages import quality_routes
from catalogue.site.reader import Reader, View
from catalogue.site.sparql import Sparql, SparqlError, service_description
from catalogue.site.streaming import stream
from catalogue.site.timeline import availability, availability_csv, coverage, matrix_years, timeline

HERE = Path(__file__).parent
RDF_FORMAT = Param(None, pattern="^(ttl|jsonld|rdf|nt)$")  # ?format=, for clients that cannot set Accept
CHANGES_SHOWN = 1000  # a first harvest of a large registry adds every record
HISTORY_SHOWN = 200  # events on a variable page
CHANGES_PER_PAGE = 100
CHANGES_DEFAULT_DAYS = 30  # /changes without `since`
SIMILAR = 5  # variables of other registries offered on a variable page
NAMED_MATCHES = 3  # datasets, sources and code lists offered above the results
MAX_QUERY = 100_000  # characters of a SPARQL query
CATALOG_PAGE, MAX_CATALOG_PAGE = 1000, 10_000  # resources per page of /catalog
RUN_ID = PathParam(max_length=200)  # '<time>-<source>': a file name, so never longer than a file name may be
# The profiles the catalogue conforms to (tested against their official shapes), by name.
# DCAT-AP-NO and DCAT-AP are one graph; HealthDCAT-AP adds its own (catalogue.profiles.healthdcat_ap_r8).
PROFILES_OFFERED = {"dcat-ap-no": "https://data.norge.no/specification/dcat-ap-no",
                    "dcat-ap": "http://data.europa.eu/r5r/",
                    "healthdcat-ap": healthdcat_ap_r8.PROFILE}
# The explorer's result columns (`cols=name,source,...`; unknown ones are ignored).
COLUMNS = ("name", "description", "source", "dataset", "period", "value_type", "unit", "code_list",
           "publisher", "theme")
DEFAULT_COLUMNS = ("name", "description", "source", "dataset", "period")
# Harvested text is shown as text; this keeps any that slipped through from running.
# The start page: searches that show what the explorer understands, and the last changes.
EXAMPLE_SEARCHES = ("fødselsvekt", "røyking i svangerskapet", "diabetes", "smittested", "hoveddiagnose ICD-10",
                    "smoking pregnancy")
NEWEST_SHOWN = 5
VARIABLES_PER_PAGE = 100  # on dataset and source pages, and so rows in their availability matrix


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="Helsevariabler", description="Variable explorer for Norwegian health data",
                  responses=REFUSALS, docs_url=None, redoc_url=None)
    reader = Reader(settings)
    concepts = open_concepts(settings)
    lists = Lists(settings.data_dir)
    history = History(settings.data_dir)
    access = Access(Accounts(settings.data_dir), Audit(settings.data_dir))
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(pick=pick, value_types=VALUE_TYPES, facets=FACETS, field_names=FIELD_NAMES,
                                 facet_label=facet_label, sorts=SORTS,
                                 access_name=access_name)
    # Harvested URLs are untrusted: only http(s) ones become links (no javascript: and the like).
    templates.env.tests["web_link"] = lambda url: str(url).lower().startswith(("http://", "https://"))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # Swagger UI's files from a pinned package: the CSP lets pages load scripts from this site alone.
    app.mount("/docs/assets", StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def api_docs(request: Request):
        """The API's operations, tried out in the browser (Swagger UI over /openapi.json)."""
        return templates.TemplateResponse(request, "docs.html", {"title": app.title, "openapi_url": app.openapi_url})

    app.add_middleware(SecurityHeaders)
    app.add_middleware(PublicReads, state_file=settings.data_dir / "state.json")
    app.add_middleware(HeadAsGet)
    app.add_exception_handler(Exception, server_error)

    def page(request: Request, template: str, context: dict[str, Any], json_url: str) -> HTMLResponse:
        lang = language(request)
        response = templates.TemplateResponse(request, template, {
            **context, "lang": lang, "t": words(lang), "json_url": json_url, "user": access.principal(request),
            "switch_url": _with(request, lang="en" if lang == "nb" else "nb")})
        response.headers["Link"] = f'<{json_url}>; rel="alternate"; type="application/json"'
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="lax")
        return response

    def search_result(query: Query) -> SearchResult:
        typed = query.text.strip()
        if typed:  # the variables coded with a list whose concepts the words name are found too
            query = query.model_copy(update={"via": concepts.via(typed)})
        result = reader.search.search(query)
        return SearchResult(
            help=found_nothing(typed) if typed and not result.total else None,
            query={"q": query.text, "filters": {k: list(v) for k, v in query.filters.items()},
                   "from": query.year_from, "to": query.year_to, "period": query.period,
                   "sort": query.sort},
            total=result.total, page=query.page, size=query.size,
            pages=max(1, -(-result.total // query.size)), items=result.items, facets=result.facets)

    def found_nothing(typed: str) -> Help:
        try:
            contact = reader.config().catalogue.contact
        except ConfigError:  # a site serving a data directory without its configuration
            contact = None
        return Help(spellings=concepts.spellings(typed), concepts=concepts.nearest(typed),
                    registers=[{"id": r.id, "title": r.title} for r in concepts.registers(typed)],
                    ask=contact and (f"mailto:{contact.email}" if contact.email else contact.url))

    @app.get("/", response_class=HTMLResponse)
    def explorer(request: Request, read: tuple[Query, Problems] = Depends(read_query)):
        # What could not be read is said by its field; the rest is searched and shown (422).
        query, problems = read
        # cols=a,b from a link, or cols=a&cols=b from the column form without JavaScript
        cols = ",".join(request.query_params.getlist("cols"))[:500]
        response = page(request, "explorer.html",
                    {**(context := search_result(query).model_dump(mode="json")),
                     "problems": {p["field"]: p for p in problems},
                     "facet_counts": context["facets"],
                     "columns": _columns(cols), "all_columns": COLUMNS,
                     "list_count": len(lists.items(request.cookies.get(LIST_COOKIE, ""))),
                     # one search box for all: datasets and sources whose names match are offered too
                     "named_matches": [{**s.model_dump(), "url": _suggestion_url(s)}
                                       for s in (reader.search.named(query.text, NAMED_MATCHES) if query.text.strip() else [])],
                     "url_with": lambda **kw: _with(request, **kw),
                     "toggle": lambda f, v: _toggle(request, f, v),
                     # the start page: example searches and what changed last
                     "examples": EXAMPLE_SEARCHES,
                     "newest": shown(history.since("", limit=NEWEST_SHOWN), linker(reader.view))
                     if not query.text.strip() and not query.filters else []},
                    json_url=_with(request, path="/api/variables"))
        response.status_code = 422 if problems else 200
        return response

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():  # for browsers that ask before reading the page's icon link
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.get("/api/suggest")
    def api_suggest(q: str = Param(..., min_length=1, max_length=100),
                    size: int = Param(10, ge=1, le=20)):
        return {"q": q, "suggestions": [{**s.model_dump(), "url": _suggestion_url(s)}
                                        for s in reader.search.suggest(q, size)]}

    @app.get("/api/variables")
    def api_variables(query: Query = Depends(search_query)):
        # Serialised by pydantic in one step: the generic encoder costs more than the search.
        return Response(search_result(query).model_dump_json(), media_type="application/json")

    def found_variable(variable_id: str) -> tuple[VariableDoc, Variable, View]:
        doc = reader.search.get(variable_id)
        view = reader.view
        variable = view.variable(doc.uri) if doc else None
        if doc is None or variable is None:
            raise HTTPException(404, detail=f"no variable with id {variable_id!r}")
        return doc, variable, view

    def variable_context(variable_id: str) -> tuple[dict[str, Any], View]:
        doc, variable, view = found_variable(variable_id)
        code_list, versions, code_counts = for_variable(view, doc.code_list)
        events = history.of([variable.uri, *filter(None, [doc.code_list])], owners=[variable.uri],
                            limit=HISTORY_SHOWN)
        return {
            "variable": {**doc.model_dump(mode="json"), **variable.model_dump(mode="json"),
                         "id": doc.id, "dataset_id": doc.dataset},
            "code_list": code_list.model_dump(mode="json") if code_list else None,
            "code_list_versions": [v.model_dump(mode="json") for v in versions],
            "code_names": code_names(versions),
            "code_counts": code_counts,
            "code_list_url": code_list_url(code_list.uri) if code_list else None,
            "versions": [v.model_dump(mode="json") for v in reversed(view.variable_versions(variable.uri))],
            # the same variable of the register from its other sources, then the curated, approved ones
            "same_variables": [*twins(doc), *same_variables(reader, settings, variable.uri)],
            "similar": similar(doc),
            "history": shown(events, linker(view)),
            "rdf_url": f"/variables/{doc.id}.ttl",
        }, view

    def twins(doc: VariableDoc) -> list[dict[str, Any]]:
        found = [reader.search.get(twin) for twin in doc.same_as]
        return [{"mapping": None, "relation": "same_register", "uri": d.uri, "kind": "variable", "id": d.id,
                 "label": d.label, "name": d.name, "source": d.source, "source_name": d.source_name,
                 "url": f"/variables/{d.id}"} for d in found if d]

    def code_names(versions: list[CodeList]) -> dict[str, dict[str, Any]]:
        """The codes that old->new code links between a classification's versions point at."""
        linked = {uri for v in versions for c in v.concepts for uri in (*c.replaces, *c.replaced_by)}
        return {c.uri: {"notation": c.notation, "label": c.label, "version": v.title}
                for v in versions for c in v.concepts if c.uri in linked}

    def similar(doc: VariableDoc) -> list[dict[str, Any]]:
        """Variables of other registries like this one (found, not curated), each with why:
        the words of its name or description its name matched (function words never do),
        or the code list both are coded with."""
        text = doc.label.get("nb") or next(iter(doc.label.values()), doc.name)
        by_words = reader.search.search(Query(text=text[:500], size=SIMILAR * 4)).items
        by_list = reader.search.search(Query(filters={"code_list": (doc.code_list,)}, size=SIMILAR * 4)).items \
            if doc.code_list else []
        found: dict[str, dict[str, Any]] = {}
        for hit in [*by_words, *by_list]:
            if hit.source == doc.source or hit.id in doc.same_as:
                continue
            words = sorted({word.lower() for field in ("label", "description")
                            for segments in hit.highlight.get(field, {}).values()
                            for word, matched in segments if matched})
            same_list = doc.code_list is not None and hit.code_list == doc.code_list
            if (words or same_list) and hit.id not in found:
                found[hit.id] = {"id": hit.id, "label": hit.label, "name": hit.name, "source_name": hit.source_name,
                                 "words": words, "code_list": hit.code_list_title if same_list else None}
        return list(found.values())[:SIMILAR]

    def linker(view: View) -> Linker:
        return Linker(view, lambda variable_id: reader.search.get(variable_id) is not None)

    @app.get("/variables/{variable_id:path}", responses=answers(HTML, *RDF_MEDIA))
    def variable_page(request: Request, variable_id: str, at: str | None = Param(None, max_length=40)):
        base, fmt = _split_format(variable_id)
        if fmt:
            context, view = variable_context(base)
            return _rdf(view.variable_graph(context["variable"]["uri"]), fmt)
        context, _ = variable_context(variable_id)
        # Only the page gets the drawing: its JSON twin already has the periods.
        drawn = timeline([Period.model_validate(p) for p in context["variable"]["periods"]])
        then = as_of(variable_id, at) if at else None
        return page(request, "variable.html", {**context, "timeline": drawn, "then": then},
                    json_url=f"/api/variables/{variable_id}" + (f"?{urlencode({'at': at})}" if at else ""))

    @app.get("/api/variables/{variable_id:path}")
    def api_variable(variable_id: str, at: str | None = Param(None, max_length=40)):
        if at is None:
            return variable_context(variable_id)[0]
        return as_of(variable_id, at)

    def as_of(variable_id: str, at: str) -> dict[str, Any]:
        _, variable, view = found_variable(variable_id)
        try:
            return variable_as_of(view, history, RecordStore(settings.data_dir), variable, at)
        except ValueError as exc:
            raise HTTPException(422, detail=[{"field": "at", "message": str(exc)}]) from None

    def shown_as(dataset_id: str) -> str:
        """The id a dataset's page is at: its register's, when it is the same as another source's."""
        if dataset_id not in reader.view.datasets:
            raise HTTPException(404, detail=f"no dataset with id {dataset_id!r}")
        return reader.view.register_id(dataset_id)

    def contributions(dataset_id: str) -> list[dict[str, Any]]:
        """Each source that describes the register: its variables in it and when it was harvested."""
        view, harvested = reader.view, harvested_sources()
        counts = {f.value: f.count for f in reader.search.search(
            Query(filters={"dataset": (dataset_id,)}, size=1)).facets.get("source", [])}
        own = sorted((of, own_id) for own_id, (_, of) in view.datasets.items()
                     if of in harvested and view.register_id(own_id) == dataset_id)
        return [{"source": of, "source_name": harvested[of].name, "harvested": harvested[of].harvested,
                 "dataset_id": own_id, "variables": counts.get(of, 0)} for of, own_id in own]

    def dataset_context(dataset_id: str, page_no: int = 1) -> tuple[dict[str, Any], View]:
        view = reader.view
        found = view.datasets.get(dataset_id)
        dataset = view.dataset(found[0]) if found else None
        if dataset is None:
            raise HTTPException(404, detail=f"no dataset with id {dataset_id!r}")
        return {
            "contributions": contributions(dataset_id),
            "dataset": {**dataset.model_dump(mode="json"), "id": dataset_id, "source": found[1],
                        "publisher_name": view.name_of(dataset.publisher),
                        "theme_names": {t: view.name_of(t) or ontology.labels("themes.ttl").get(t)
                                        or {"nb": t.rstrip("/").rsplit("/", 1)[-1]} for t in dataset.themes},
                        **access_of(view, configured(reader), dataset_id)},
            # Versions that are datasets of the catalogue link to their pages.
            "version_pages": {uri: f"/datasets/{view.dataset_ids[uri]}"
                              for uri in [dataset.previous, *dataset.versions] if uri in view.dataset_ids},
            **variables_summary("dataset", dataset_id, page_no),
            "rdf_url": f"/datasets/{dataset_id}.ttl",
            "csv_url": f"/datasets/{dataset_id}/availability.csv",
        }, view

    def variables_summary(facet: str, value: str, page_no: int) -> dict[str, Any]:
        """A dataset's or source's variables (one page), their coverage and availability matrix."""
        covered = reader.search.coverage(facet, value)
        found = reader.search.search(Query(filters={facet: (value,)}, page=page_no, size=VARIABLES_PER_PAGE))
        shown = found.items
        return {"coverage": [p.model_dump(mode="json") for p in covered],
                "variables": [doc.model_dump(mode="json", exclude={"highlight"}) for doc in shown],
                "total": found.total, "page": page_no, "size": VARIABLES_PER_PAGE,
                "availability": availability(shown, matrix_years(covered))}

    def availability_response(request: Request, facet: str, value: str) -> Response:
        docs = reader.search.matching(Query(filters={facet: (value,)}))
        body = availability_csv(availability(docs, matrix_years(coverage(docs))), language(request))
        return Response(body, media_type="text/csv; charset=utf-8")

    @app.get("/datasets/{dataset_id:path}/availability.csv", responses=answers("text/csv"))
    def dataset_availability(request: Request, dataset_id: str):
        if (register := shown_as(dataset_id)) != dataset_id:
            return RedirectResponse(_with(request, path=f"/datasets/{register}/availability.csv"), status_code=308)
        return availability_response(request, "dataset", dataset_id)

    @app.get("/datasets/{dataset_id:path}", responses=answers(HTML, *RDF_MEDIA))
    def dataset_page(request: Request, dataset_id: str, page_no: int = PAGE_NO):
        base, fmt = _split_format(dataset_id)
        if fmt:
            context, view = dataset_context(base)
            return _rdf(view.snapshot.describe(context["dataset"]["uri"]), fmt)
        if (register := shown_as(dataset_id)) != dataset_id:  # one register, one page
            return RedirectResponse(_with(request, path=f"/datasets/{register}"), status_code=308)
        context, _ = dataset_context(dataset_id, page_no)
        return page(request, "dataset.html", context, json_url=f"/api/datasets/{dataset_id}")

    @app.get("/api/datasets/{dataset_id:path}")
    def api_dataset(request: Request, dataset_id: str, page_no: int = PAGE_NO):
        if (register := shown_as(dataset_id)) != dataset_id:
            return RedirectResponse(_with(request, path=f"/api/datasets/{register}"), status_code=308)
        return dataset_context(dataset_id, page_no)[0]

    def harvested_sources() -> dict[str, SourceState]:
        state = reader.view.snapshot.state
        return {s.id: s for s in state.sources.values() if s.is_source}

    def sources_context() -> dict[str, Any]:
        return {"sources": [{**s.model_dump(mode="json"),
                             "coverage": [p.model_dump(mode="json") for p in reader.search.coverage("source", s.id)],
                             "quality_score": cached_score(reader.store, s)}
                            for s in harvested_sources().values()]}

    def source_context(source_id: str, page_no: int = 1) -> dict[str, Any]:
        source = harvested_sources().get(source_id)
        if source is None:
            raise HTTPException(404, detail=f"no source with id {source_id!r}")
        view = reader.view
        datasets = sorted((dataset_id, uri) for dataset_id, (uri, of) in view.datasets.items() if of == source_id)
        summary = variables_summary("source", source_id, page_no)
        holder = next((v["publisher_name"] for v in summary["variables"] if v["publisher_name"]), {})
        return {"source": source.model_dump(mode="json"), "holder": holder,
                "quality_score": cached_score(reader.store, source),
                "datasets": [{"id": dataset_id, "title": view.name_of(uri)} for dataset_id, uri in datasets],
                **summary, "csv_url": f"/sources/{source_id}/availability.csv"}

    @app.get("/sources", response_class=HTMLResponse)
    def sources_page(request: Request):
        return page(request, "sources.html", sources_context(), json_url="/api/sources")

    @app.get("/api/sources")
    def api_sources():
        return sources_context()

    @app.get("/sources/{source_id}/availability.csv", responses=answers("text/csv"))
    def source_availability(request: Request, source_id: str):
        if source_id not in harvested_sources():
            raise HTTPException(404, detail=f"no source with id {source_id!r}")
        return availability_response(request, "source", source_id)

    @app.get("/sources/{source_id}", response_class=HTMLResponse)
    def source_page(request: Request, source_id: str, page_no: int = PAGE_NO):
        return page(request, "source.html", source_context(source_id, page_no),
                    json_url=f"/api/sources/{source_id}")

    @app.get("/api/sources/{source_id}")
    def api_source(source_id: str, page_no: int = PAGE_NO):
        return source_context(source_id, page_no)

    def harvests_context(source: str | None) -> dict[str, Any]:
        runs = RunLog(settings.data_dir).runs(source, limit=200)
        return {"source": source, "runs": [r.model_dump(mode="json", exclude={"held_back", "warnings", "fetched"})
                                           for r in runs]}

    @app.get("/harvests", response_class=HTMLResponse)
    def harvests_page(request: Request, source: str | None = Param(None, max_length=100)):
        return page(request, "harvests.html", harvests_context(source),
                    json_url=_with(request, path="/api/harvests"))

    @app.get("/api/harvests")
    def api_harvests(source: str | None = Param(None, max_length=100)):
        return harvests_context(source)

    def run_context(run_id: str) -> dict[str, Any]:
        log = RunLog(settings.data_dir)
        run = log.get(run_id)
        if run is None:
            raise HTTPException(404, detail=f"no harvest run with id {run_id!r}")
        return {"run": run.model_dump(mode="json"), "changes_shown": CHANGES_SHOWN,
                "changes": [c.model_dump(mode="json") for c in log.changes(run_id, CHANGES_SHOWN)]}

    @app.get("/harvests/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: str = RUN_ID):
        return page(request, "harvest_run.html", run_context(run_id), json_url=f"/api/harvests/{run_id}")

    @app.get("/api/harvests/{run_id}")
    def api_run(run_id: str = RUN_ID):
        return run_context(run_id)

    def changes_context(request: Request, since: str | None, source: str | None,
                        dataset: str | None, page_no: int) -> dict[str, Any]:
        view = reader.view
        try:
            start = moment(since, end_of_day=False) if since else stamp(
                datetime.now(timezone.utc) - timedelta(days=CHANGES_DEFAULT_DAYS))
        except ValueError as exc:
            raise HTTPException(422, detail=[{"field": "since", "message": str(exc)}]) from None
        subjects: list[str] = []
        if dataset:
            if dataset not in view.datasets:
                raise HTTPException(404, detail=f"no dataset with id {dataset!r}")
            # The dataset, its variables (they name it as their owner) and their code lists.
            docs = reader.search.matching(Query(filters={"dataset": (dataset,)}))
            subjects = [view.datasets[dataset][0], *sorted({d.code_list for d in docs if d.code_list})]
        events = history.since(start, sources=[source] if source else (), subjects=subjects,
                               limit=CHANGES_PER_PAGE + 1, offset=(page_no - 1) * CHANGES_PER_PAGE)
        return {"since": start, "source": source, "dataset": dataset, "page": page_no,
                "items": shown(events[:CHANGES_PER_PAGE], linker(view)),
                "previous_url": _with(request, page=page_no - 1) if page_no > 1 else None,
                "next_url": _with(request, page=page_no + 1) if len(events) > CHANGES_PER_PAGE else None,
                "atom_url": _with(request, path="/changes", format="atom", page=None)}

    @app.get("/changes", responses=answers(HTML, "application/atom+xml"))
    def changes_page(request: Request, since: str | None = Param(None, max_length=40),
                     source: str | None = Param(None, max_length=100),
                     dataset: str | None = Param(None, max_length=300),
                     format: str | None = Param(None, pattern="^(html|json|atom)$"),
                     page_no: int = PAGE_NO):
        context = changes_context(request, since, source, dataset, page_no)
        accept = request.headers.get("accept", "")
        chosen = format or ("atom" if "application/atom+xml" in accept else
                            "html" if "text/html" in accept else "json")
        if chosen == "json":
            return JSONResponse(context)
        if chosen == "atom":
            lang = language(request)
            title = words(lang)["recent_changes"] + "".join(f" – {v}" for v in (source, dataset) if v)
            body = atom(context["items"], title, feed_id=str(request.url.include_query_params(page=page_no)),
                        self_url=str(request.url), site=settings.base_uri, lang=lang, updated=stamp(datetime.now(timezone.utc)))
            return Response(body, media_type="application/atom+xml; charset=utf-8")
        return page(request, "changes.html", context, json_url=_with(request, path="/api/changes"))

    @app.get("/api/changes")
    def api_changes(request: Request, since: str | None = Param(None, max_length=40),
                    source: str | None = Param(None, max_length=100),
                    dataset: str | None = Param(None, max_length=300),
                    page_no: int = PAGE_NO):
        return changes_context(request, since, source, dataset, page_no)

    app.include_router(list_routes(reader, settings, page))
    app.include_router(register_routes(reader, page))
    app.include_router(quality_routes(reader, page))
    app.include_router(code_list_routes(reader, page))
    app.include_router(account_routes(access, reader.config, page))
    app.include_router(curation_routes(access, reader, settings, page))
    app.include_router(publish_routes(access, reader.config, settings, page))

    sparql = Sparql(settings.data_dir, settings.base_uri, settings.sparql_timeout, settings.sparql_max_bytes,
                    settings.sparql_workers)

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
            return _rdf(service_description(f"{settings.base_uri}sparql", reader.view), fmt)
        if len(query) > MAX_QUERY:
            raise HTTPException(413, detail=f"a SPARQL query may hold at most {MAX_QUERY:,} characters")
        wanted = [v.strip().lower() for key in ("format", "output", "results") for v in params.get(key, []) if v.strip()]
        wanted += preferences(request.headers.get("accept", ""))
        try:
            answer = await run_in_threadpool(sparql.answer, query, wanted, params.get("default-graph-uri", []),
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
        view = reader.view
        subjects = view.catalogue_subjects(chosen, access)
        if modified_since:
            try:
                subjects = view.catalogue_subjects_since(moment(modified_since, end_of_day=False), chosen, access)
            except ValueError as exc:
                raise HTTPException(422, detail=[{"field": "modifiedSince", "message": str(exc)}]) from None
        if page_no is None and size is None:
            if modified_since:
                return _profiled(_rdf(view.catalogue_part(subjects, chosen, access), fmt), chosen)
            return _profiled(StreamingResponse(stream(view.snapshot.store, view.additions(chosen), fmt,
                                                      view.selection(chosen, access)),
                                               media_type=f"{RDF_FORMATS[fmt][1]}; charset=utf-8"), chosen)
        page_no, size = page_no or 1, size or CATALOG_PAGE
        total = len(subjects)
        last = max(1, -(-total // size))
        if page_no > last:
            raise HTTPException(404, detail=f"the catalogue has {last} pages of {size}")
        graph = view.catalogue_part(subjects[(page_no - 1) * size:page_no * size], chosen, access)
        here = URIRef(str(request.url.include_query_params(page=page_no, size=size)))
        graph.add((here, RDF.type, HYDRA.PartialCollectionView))
        graph.add((here, HYDRA.totalItems, Literal(total)))
        for relation, number in ((HYDRA.first, 1), (HYDRA.last, last), (HYDRA.previous, page_no - 1),
                                 (HYDRA.next, page_no + 1)):
            if 1 <= number <= last:
                graph.add((here, relation, URIRef(str(request.url.include_query_params(page=number, size=size)))))
        return _profiled(_rdf(graph, fmt), chosen)

    @app.get("/partners", response_class=HTMLResponse)
    def partners(request: Request):
        return page(request, "partners.html", {"base": settings.base_uri}, json_url="/catalog?format=jsonld")

    @app.get("/id/{path:path}", responses=answers(HTML, *RDF_MEDIA))
    def dereference(request: Request, path: str, format: str | None = RDF_FORMAT):
        """Every URI the catalogue mints answers: a browser is sent to the resource's page
        (or, for one without a page of its own, such as a code or an agent, gets its
        description as a page), an RDF client gets its description in the syntax it asks
        for (Turtle by default)."""
        view = reader.view
        uri = _iri(f"{settings.base_uri}id/{path}")
        if browser(request, format) and (page_url := page_of(view, uri)):
            return RedirectResponse(page_url, status_code=303)
        graph = view.variable_graph(uri) if path.startswith("variable/") else view.snapshot.describe(uri)
        return described(request, uri, graph, format)

    @app.get("/.well-known/genid/{key}", responses=answers(HTML, *RDF_MEDIA))
    def skolem(request: Request, key: str, format: str | None = RDF_FORMAT):
        """Nodes that were blank at the source have IRIs minted from their content (a
        period, a contact point): they answer like the others."""
        uri = _iri(f"{settings.base_uri}.well-known/genid/{key}")
        return described(request, uri, reader.view.snapshot.describe(uri), format)

    def described(request: Request, uri: str, graph: Graph, format: str | None) -> Response:
        """The resource's description: a page for a browser, else RDF as asked."""
        if not len(graph):
            raise HTTPException(404, detail=f"the catalogue does not describe {uri}")
        if browser(request, format):
            response = page(request, "resource.html", {"uri": uri, "rows": _rows(graph, uri, settings.base_uri)},
                            json_url=f"{request.url.path}?format=jsonld")
        else:
            response = _rdf(graph, format or rdf_format(request) or "ttl")
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

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException):
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        if exc.status_code == 401 and request.method == "GET":  # a browser is sent to log in first
            return RedirectResponse("/login?" + urlencode({"next": str(request.url.path)}), status_code=303)
        lang = language(request)
        return templates.TemplateResponse(request, "error.html", {
            "lang": lang, "t": words(lang), "status": exc.status_code, "detail": exc.detail,
            "json_url": request.url.path, "switch_url": _with(request, lang="en" if lang == "nb" else "nb"),
            "user": access.principal(request)}, status_code=exc.status_code, headers=exc.headers)

    return app


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


def _columns(cols: str | None) -> list[str]:
    """The chosen result columns, in the explorer's order; the defaults when none is known."""
    chosen = set((cols or "").split(","))
    return [c for c in COLUMNS if c in chosen] or list(DEFAULT_COLUMNS)


SUGGESTION_PAGES = {"variable": "/variables/", "dataset": "/datasets/", "source": "/sources/"}


def _suggestion_url(suggestion) -> str:
    if suggestion.kind == "code_list":  # the variables that use it
        return "/?" + urlencode({"code_list": suggestion.id})
    return SUGGESTION_PAGES[suggestion.kind] + suggestion.id


def _with(request: Request, path: str | None = None, **changes: Any) -> str:
    """This request's URL with some parameters changed (None removes one)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, v) for k, v in changes.items() if v is not None]
    query = urlencode(params)
    return (path or request.url.path) + (f"?{query}" if query else "")


def _toggle(request: Request, facet: str, value: str) -> str:
    """The explorer URL with one facet value switched on or off, back on page 1."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    if (facet, value) in params:
        params.remove((facet, value))
    else:
        params.append((facet, value))
    return request.url.path + "?" + urlencode(params)


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


def _split_format(path: str) -> tuple[str, str | None]:
    base, dot, suffix = path.rpartition(".")
    return (base, suffix) if dot and suffix in RDF_FORMATS else (path, None)


def _rdf(graph: Graph, fmt: str) -> Response:
    syntax, media = RDF_FORMATS[fmt]
    return Response(graph.serialize(format=syntax), media_type=f"{media}; charset=utf-8")
