"""The metadata quality page of a source, for its registry holder: its score, what to fix
first and its records worst first (see catalogue.curation.quality), and the page's JSON twin."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException

from catalogue.curation.quality import CHECKS
from catalogue.services import Services
from catalogue.site.pages import Pages
from catalogue.site.params import PAGE_NO

RECORDS_PER_PAGE = 100
PAGES = {"variable": "/variables/", "dataset": "/datasets/", "held_back": "/harvests/"}  # + the record's id


def quality_routes(services: Services, pages: Pages) -> APIRouter:
    app = APIRouter()

    @pages.twin(app, "/sources/{source_id}/quality", "quality.html")
    def quality_report(source_id: str, page_no: int = PAGE_NO) -> dict[str, Any]:
        source = services.store.state().sources.get(source_id)
        if source is None or not source.is_source:
            raise HTTPException(404, detail=f"no source with id {source_id!r}")
        summary, records = services.quality.report(source, (page_no - 1) * RECORDS_PER_PAGE, RECORDS_PER_PAGE)
        return {
            "source": {"id": source.id, "name": source.name, "harvested": source.harvested},
            "score": summary["score"], "kinds": summary["kinds"],
            "fix_first": [{**fix, "examples": [_linked(e) for e in fix["examples"]]} for fix in summary["fix_first"]],
            "checks": {c.id: {"kind": c.kind, "weight": c.weight, "text": {"nb": c.nb, "en": c.en}} for c in CHECKS},
            "items": [_linked(r) for r in records],
            "total": summary["records"], "page": page_no, "size": RECORDS_PER_PAGE,
        }

    return app


def _linked(record: dict[str, Any]) -> dict[str, Any]:
    """The record with the address of its page: a variable's or dataset's, a code list's
    variables, a held-back record's harvest run; None for a variable whose dataset is missing."""
    if record["kind"] == "code_list":
        url = "/?" + urlencode({"code_list": record["uri"]})
    else:
        url = PAGES[record["kind"]] + record["id"] if record["id"] else None
    return {**record, "url": url}
