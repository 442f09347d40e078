"""The registers page: every register the explorer shows, by holder (data controller), with
what it covers, its periods, its number of variables, who decides access to it, the law it is
kept under where the source says so, and where to apply. Dataset pages say the same of one.

Who decides access follows the rule of the HealthDCAT-AP export (catalogue.profiles.
healthdcat_ap_r8): the access body a source names for its dataset (FHI's Munin names one per
source), else the health data access body that publishes this catalogue (its configured
publisher, with the catalogue's contact). The page says which of the two it is."""
from __future__ import annotations

from typing import Any

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from rdflib import URIRef

from catalogue.model.namespaces import CV, DCATAP, HEALTHDCATAP
from catalogue.search import Query
from catalogue.services import Services
from catalogue.site.i18n import access_name, language, pick
from catalogue.site.pages import Pages
from catalogue.sources import Config, ConfigError
from catalogue.view import View


def register_routes(services: Services, pages: Pages) -> APIRouter:
    app = APIRouter()

    @pages.twin(app, "/registers", "registers.html")
    def registers(request: Request) -> dict[str, Any]:
        """Every register, by holder, in the reader's language (holders are sorted by name)."""
        lang, view, config = language(request), services.view, configured(services)
        holders: dict[str, list[dict[str, Any]]] = {}
        for dataset_id, (uri, _) in sorted(view.datasets.items()):
            if view.register_id(dataset_id) != dataset_id or (dataset := view.dataset(uri)) is None:
                continue
            variables = services.search.search(Query(filters={"dataset": (dataset_id,)}, size=1)).total
            if not variables:
                continue  # a dataset with no variables is not a register one applies for
            holder = pick(view.name_of(dataset.publisher), lang) or dataset.publisher
            holders.setdefault(holder, []).append({
                "id": dataset_id, "title": dataset.title, "description": dataset.description,
                "coverage": [p.model_dump(mode="json") for p in services.search.coverage("dataset", dataset_id)],
                "variables": variables,
                "access_rights": access_name(dataset.access_rights, lang) if dataset.access_rights else None,
                **access_of(view, config, dataset_id)})
        return {"holders": [{"name": name, "registers": registers} for name, registers in sorted(holders.items())]}

    @app.get("/datasets", include_in_schema=False)
    def datasets():
        return RedirectResponse("/registers", status_code=308)

    return app


def configured(services: Services) -> Config | None:
    """The sources configuration, or None where the site runs without one (a copied data directory)."""
    try:
        return services.config()
    except ConfigError:
        return None


def access_of(view: View, config: Config | None, dataset_id: str) -> dict[str, Any]:
    """Who decides access to a register, whether its source says so, its legislation, and
    where to apply (the body's contact page or address, else the dataset's landing page)."""
    members = [uri for own_id, (uri, _) in view.datasets.items() if view.register_id(own_id) == dataset_id]
    stated = [q.object.value for uri in members for q in view.snapshot.store.quads_for_pattern(
        ox.NamedNode(uri), ox.NamedNode(str(HEALTHDCATAP.hdab)), None, None)]
    laws = sorted({q.object.value for uri in members for q in view.snapshot.store.quads_for_pattern(
        ox.NamedNode(uri), ox.NamedNode(str(DCATAP.applicableLegislation)), None, None)})
    if stated:
        body = stated[0]
        name, page_url, email = view.name_of(body), *_contact(view, body)
    elif config is not None:
        publisher = config.agent(config.catalogue.publisher)
        contact = config.catalogue.contact
        name, page_url, email = publisher.name, contact.url, contact.email
    else:
        name, page_url, email = {}, None, None
    dataset = view.dataset(view.datasets[dataset_id][0])
    return {"access_body": name, "access_body_stated": bool(stated), "legislation": laws,
            "apply_url": page_url or (dataset.landing_page if dataset else None), "apply_email": email}


def _contact(view: View, agent: str) -> tuple[str | None, str | None]:
    """An agent's contact page and e-mail, from its cv:contactPoint."""
    graph = view.snapshot.describe(agent)
    for point in graph.objects(predicate=CV.contactPoint):
        described = view.snapshot.describe(str(point)) if isinstance(point, URIRef) else graph
        page = next(described.objects(point, CV.contactPage), None)
        email = next(described.objects(point, CV.email), None)
        return (str(page) if page else None), (str(email).removeprefix("mailto:") if email else None)
    return None, None
