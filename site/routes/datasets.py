"""Datasets (registers) and sources: what each holds, one page of its variables, their
coverage and availability matrix (also as CSV), who holds it and who decides access. A
register described by several sources is one page, with each source's contribution."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from catalogue.model import ontology
from catalogue.search import Query
from catalogue.services import Services
from catalogue.site.i18n import language
from catalogue.site.negotiation import RDF_MEDIA, rdf_response, split_format
from catalogue.site.pages import Elsewhere, Pages, url_with
from catalogue.site.params import HTML, PAGE_NO, answers
from catalogue.site.routes.registers import access_of, configured
from catalogue.site.timeline import availability, availability_csv, coverage, matrix_years
from catalogue.storage.store import SourceState

VARIABLES_PER_PAGE = 100  # on dataset and source pages, and so rows in their availability matrix


def dataset_routes(services: Services, pages: Pages) -> APIRouter:
    app = APIRouter()

    def shown_as(dataset_id: str) -> str:
        """The id a dataset's page is at: its register's, when it is the same as another source's."""
        if dataset_id not in services.view.datasets:
            raise HTTPException(404, detail=f"no dataset with id {dataset_id!r}")
        return services.view.register_id(dataset_id)

    def contributions(dataset_id: str) -> list[dict[str, Any]]:
        """Each source that describes the register: its variables in it and when it was harvested."""
        view, harvested = services.view, harvested_sources(services)
        counts = {f.value: f.count for f in services.search.search(
            Query(filters={"dataset": (dataset_id,)}, size=1)).facets.get("source", [])}
        own = sorted((of, own_id) for own_id, (_, of) in view.datasets.items()
                     if of in harvested and view.register_id(own_id) == dataset_id)
        return [{"source": of, "source_name": harvested[of].name, "harvested": harvested[of].harvested,
                 "dataset_id": own_id, "variables": counts.get(of, 0)} for of, own_id in own]

    @app.get("/datasets/{dataset_id:path}/availability.csv", responses=answers("text/csv"))
    def dataset_availability(request: Request, dataset_id: str):
        if (register := shown_as(dataset_id)) != dataset_id:
            return RedirectResponse(url_with(request, path=f"/datasets/{register}/availability.csv"), status_code=308)
        return availability_response(services, request, "dataset", dataset_id)

    def as_rdf(request: Request, dataset_id: str, page_no: int = 1):
        base, fmt = split_format(dataset_id)
        found = services.view.datasets.get(base) if fmt else None
        if fmt and found is None:
            raise HTTPException(404, detail=f"no dataset with id {base!r}")
        return rdf_response(services.view.snapshot.describe(found[0]), fmt) if fmt else None

    @pages.twin(app, "/datasets/{dataset_id:path}", "dataset.html", alternate=as_rdf,
                responses=answers(HTML, *RDF_MEDIA))
    def dataset(dataset_id: str, page_no: int = PAGE_NO) -> dict[str, Any]:
        if (register := shown_as(dataset_id)) != dataset_id:  # one register, one page
            raise Elsewhere(f"/datasets/{register}")
        view = services.view
        uri, source_id = view.datasets[dataset_id]
        dataset = view.dataset(uri)
        if dataset is None:
            raise HTTPException(404, detail=f"no dataset with id {dataset_id!r}")
        return {
            "contributions": contributions(dataset_id),
            "dataset": {**dataset.model_dump(mode="json"), "id": dataset_id, "source": source_id,
                        "publisher_name": view.name_of(dataset.publisher),
                        "theme_names": {t: view.name_of(t) or ontology.labels("themes.ttl").get(t)
                                        or {"nb": t.rstrip("/").rsplit("/", 1)[-1]} for t in dataset.themes},
                        **access_of(view, configured(services), dataset_id)},
            # Versions that are datasets of the catalogue link to their pages.
            "version_pages": {uri: f"/datasets/{view.dataset_ids[uri]}"
                              for uri in [dataset.previous, *dataset.versions] if uri in view.dataset_ids},
            **variables_summary(services, "dataset", dataset_id, page_no),
            "rdf_url": f"/datasets/{dataset_id}.ttl",
            "csv_url": f"/datasets/{dataset_id}/availability.csv",
        }

    return app


def source_routes(services: Services, pages: Pages) -> APIRouter:
    app = APIRouter()

    @pages.twin(app, "/sources", "sources.html")
    def sources() -> dict[str, Any]:
        return {"sources": [{**s.model_dump(mode="json"),
                             "coverage": [p.model_dump(mode="json") for p in services.search.coverage("source", s.id)],
                             "quality_score": services.quality.score(s)}
                            for s in harvested_sources(services).values()]}

    @app.get("/sources/{source_id}/availability.csv", responses=answers("text/csv"))
    def source_availability(request: Request, source_id: str):
        if source_id not in harvested_sources(services):
            raise HTTPException(404, detail=f"no source with id {source_id!r}")
        return availability_response(services, request, "source", source_id)

    @pages.twin(app, "/sources/{source_id}", "source.html")
    def source(source_id: str, page_no: int = PAGE_NO) -> dict[str, Any]:
        found = harvested_sources(services).get(source_id)
        if found is None:
            raise HTTPException(404, detail=f"no source with id {source_id!r}")
        view = services.view
        datasets = sorted((dataset_id, uri) for dataset_id, (uri, of) in view.datasets.items() if of == source_id)
        summary = variables_summary(services, "source", source_id, page_no)
        holder = next((v["publisher_name"] for v in summary["variables"] if v["publisher_name"]), {})
        return {"source": found.model_dump(mode="json"), "holder": holder,
                "quality_score": services.quality.score(found),
                "datasets": [{"id": dataset_id, "title": view.name_of(uri)} for dataset_id, uri in datasets],
                **summary, "csv_url": f"/sources/{source_id}/availability.csv"}

    return app


def harvested_sources(services: Services) -> dict[str, SourceState]:
    state = services.view.snapshot.state
    return {s.id: s for s in state.sources.values() if s.is_source}


def variables_summary(services: Services, facet: str, value: str, page_no: int) -> dict[str, Any]:
    """A dataset's or source's variables (one page), their coverage and availability matrix."""
    covered = services.search.coverage(facet, value)
    found = services.search.search(Query(filters={facet: (value,)}, page=page_no, size=VARIABLES_PER_PAGE))
    return {"coverage": [p.model_dump(mode="json") for p in covered],
            "variables": [doc.model_dump(mode="json", exclude={"highlight"}) for doc in found.items],
            "total": found.total, "page": page_no, "size": VARIABLES_PER_PAGE,
            "availability": availability(found.items, matrix_years(covered))}


def availability_response(services: Services, request: Request, facet: str, value: str) -> Response:
    docs = services.search.matching(Query(filters={facet: (value,)}))
    body = availability_csv(availability(docs, matrix_years(coverage(docs))), language(request))
    return Response(body, media_type="text/csv; charset=utf-8")
