"""The metadata quality page of a source, for its registry holder: its score, what to fix
first and its records worst first (see catalogue.curation.quality), and the page's JSON twin."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from catalogue.curation.quality import CHECKS, quality
from catalogue.site.params import PAGE_NO
from catalogue.services import Services

RECORDS_PER_PAGE = 100
PAGES = {"variable": "/variables/", "dataset": "/datasets/", "held_back": "/harvests/"}  # + the record's id


def quality_routes(services: Services, page: Callable[..., HTMLResponse]) -> APIRouter:
    app = APIRouter()

    def quality_context(source_id: str, page_no: int) -> dict[str, Any]:
        source = services.store.state().sources.get(source_id)
        if source is None or not source.is_source:
            raise HTTPException(404, detail=f"no source with id {source_id!r}")
        summary, records = quality(services.store, source, (page_no - 1) * RECORDS_PER_PAGE, RECORDS_PER_PAGE)
        return {
            "source": {"id": source.id, "name": source.name, "harvested": source.harvested},
            "score": summary["score"], "kinds": summary["kinds"],
            "fix_first": [{**fix, "examples": [_linked(e) for e in fix["examples"]]} for fix in summary["fix_first"]],
            "checks": {c.id: {"kind": c.kind, "weight": c.weight, "text": {"nb": c.nb, "en": c.en}} for c in CHECKS},
            "items": [_linked(r) for r in records],
            "total": summary["records"], "page": page_no, "size": RECORDS_PER_PAGE,
        }

    @app.get("/sources/{source_id}/quality", response_class=HTMLResponse)
    def quality_page(request: Request, source_id: str, page_no: int = PAGE_NO):
        return page(request, "quality.html", quality_context(source_id, page_no),
                    json_url=f"/api/sources/{source_id}/quality" + (f"?page={page_no}" if page_no > 1 else ""))

    @app.get("/api/sources/{source_id}/quality")
    def api_quality(source_id: str, page_no: int = PAGE_NO):
        return quality_context(source_id, page_no)

    return app


def _linked(record: dict[str, Any]) -> dict[str, Any]:
    """The record with the address of its page: a variable's or dataset's, a code list's
    variables, a held-back record's harvest run; None for a variable whose dataset is missing."""
    if record["kind"] == "code_list":
        url = "/?" + urlencode({"code_list": record["uri"]})
    else:
        url = PAGES[record["kind"]] + record["id"] if record["id"] else None
    return {**record, "url": url}
