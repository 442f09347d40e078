"""The web application: the services of one data directory, the pages, the routers of
site/routes (one per part of the site) and the middleware every answer passes through.

Each page's context is one object: rendered as HTML, and served as JSON by its twin under
/api (see site/pages.py), and as RDF where it is an RDF resource."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.staticfiles import StaticFiles

from catalogue.services import Services
from catalogue.settings import Settings
from catalogue.site.auth import Access
from catalogue.site.metrics import Metrics, RequestTimer
from catalogue.site.middleware import HeadAsGet, PublicReads, SecurityHeaders, server_error
from catalogue.site.pages import Pages
from catalogue.site.params import REFUSALS
from catalogue.site.routes.accounts import account_routes
from catalogue.site.routes.changes import change_routes
from catalogue.site.routes.code_lists import code_list_routes
from catalogue.site.routes.curation import curation_routes
from catalogue.site.routes.datasets import dataset_routes, source_routes
from catalogue.site.routes.explorer import explorer_routes
from catalogue.site.routes.linked_data import linked_data_routes
from catalogue.site.routes.lists import list_routes
from catalogue.site.routes.operations import operation_routes
from catalogue.site.routes.publishing import publish_routes
from catalogue.site.routes.quality import quality_routes
from catalogue.site.routes.registers import register_routes
from catalogue.site.routes.variables import variable_routes

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="Helsevariabler", description="Variable explorer for Norwegian health data",
                  responses=REFUSALS, docs_url=None, redoc_url=None)
    services = Services(settings)
    access = Access(services.accounts, services.audit)
    pages = Pages(access)
    metrics = Metrics(services)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Swagger UI's files from a pinned package: the CSP lets pages load scripts from this site alone.
    app.mount("/docs/assets", StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def api_docs(request: Request):
        """The API's operations, tried out in the browser (Swagger UI over /openapi.json)."""
        return pages.templates.TemplateResponse(request, "docs.html",
                                                {"title": app.title, "openapi_url": app.openapi_url})

    app.add_middleware(SecurityHeaders)
    app.add_middleware(PublicReads, committed=services.store.committed)
    app.add_middleware(HeadAsGet)
    app.add_middleware(RequestTimer, metrics=metrics)  # outermost: times what every other part adds
    app.add_exception_handler(Exception, server_error)
    app.add_exception_handler(HTTPException, pages.error)
    for router in (explorer_routes(services, pages), variable_routes(services, pages),
                   dataset_routes(services, pages), source_routes(services, pages),
                   change_routes(services, pages), linked_data_routes(services, pages),
                   list_routes(services, pages), register_routes(services, pages),
                   quality_routes(services, pages), code_list_routes(services, pages),
                   account_routes(access, services, pages), curation_routes(access, services, pages),
                   publish_routes(access, services, pages), operation_routes(services, metrics)):
        app.include_router(router)
    return app
