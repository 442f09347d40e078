"""What changed, as the catalogue observed it: the harvest runs of each source (with what each
added, changed, removed and held back), and the recent changes of the whole catalogue, one
source or one register, as pages, JSON and an Atom feed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, HTTPException, Path as PathParam, Query as Param, Request
from fastapi.responses import JSONResponse, Response

from catalogue.search import Query
from catalogue.services import Services
from catalogue.site.changes import Linker, atom, shown
from catalogue.site.i18n import language, words
from catalogue.site.pages import Pages, url_with
from catalogue.site.params import HTML, PAGE_NO, answers
from catalogue.storage.history import moment, stamp

CHANGES_SHOWN = 1000  # of one run: a first harvest of a large registry adds every record
CHANGES_PER_PAGE = 100
CHANGES_DEFAULT_DAYS = 30  # /changes without `since`
RUNS_SHOWN = 200
RUN_ID = PathParam(max_length=200)  # '<time>-<source>': a file name, so never longer than a file name may be
FEED_FORMATS = ("html", "json", "atom")


def change_routes(services: Services, pages: Pages) -> APIRouter:
    app = APIRouter()

    @pages.twin(app, "/harvests", "harvests.html")
    def harvests(source: str | None = Param(None, max_length=100)) -> dict[str, Any]:
        runs = services.runs.runs(source, limit=RUNS_SHOWN)
        return {"source": source, "runs": [r.model_dump(mode="json", exclude={"held_back", "warnings", "fetched"})
                                           for r in runs]}

    @pages.twin(app, "/harvests/{run_id}", "harvest_run.html")
    def run(run_id: str = RUN_ID) -> dict[str, Any]:
        found = services.runs.get(run_id)
        if found is None:
            raise HTTPException(404, detail=f"no harvest run with id {run_id!r}")
        return {"run": found.model_dump(mode="json"), "changes_shown": CHANGES_SHOWN,
                "changes": [c.model_dump(mode="json") for c in services.runs.changes(run_id, CHANGES_SHOWN)]}

    def feed(request: Request, **params: Any) -> Response | None:
        """`format=json|atom` (or Accept) on the page's own URL, for feed readers."""
        asked = request.query_params.get("format")
        if asked is not None and asked not in FEED_FORMATS:
            raise HTTPException(422, detail=[{"field": "format", "message": f"one of {', '.join(FEED_FORMATS)}"}])
        accept = request.headers.get("accept", "")
        chosen = asked or ("atom" if "application/atom+xml" in accept else "html" if "text/html" in accept else "json")
        if chosen == "html":
            return None
        context = changes(request, **params)
        if chosen == "json":
            return JSONResponse(context)
        lang = language(request)
        title = words(lang)["recent_changes"] + "".join(f" – {v}" for v in (params["source"], params["dataset"]) if v)
        body = atom(context["items"], title, feed_id=str(request.url.include_query_params(page=params["page_no"])),
                    self_url=str(request.url), site=services.settings.base_uri, lang=lang,
                    updated=stamp(datetime.now(timezone.utc)))
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    @pages.twin(app, "/changes", "changes.html", alternate=feed,
                responses=answers(HTML, "application/json", "application/atom+xml"))
    def changes(request: Request, since: str | None = Param(None, max_length=40),
                source: str | None = Param(None, max_length=100),
                dataset: str | None = Param(None, max_length=300),
                page_no: int = PAGE_NO) -> dict[str, Any]:
        """Changes since `since` (30 days by default), of one source or one register if asked."""
        view = services.view
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
            docs = services.search.matching(Query(filters={"dataset": (dataset,)}))
            subjects = [view.datasets[dataset][0], *sorted({d.code_list for d in docs if d.code_list})]
        events = services.history.since(start, sources=[source] if source else (), subjects=subjects,
                                        limit=CHANGES_PER_PAGE + 1, offset=(page_no - 1) * CHANGES_PER_PAGE)
        return {"since": start, "source": source, "dataset": dataset, "page": page_no,
                "items": shown(events[:CHANGES_PER_PAGE], Linker(view, services.search)),
                "previous_url": url_with(request, page=page_no - 1) if page_no > 1 else None,
                "next_url": url_with(request, page=page_no + 1) if len(events) > CHANGES_PER_PAGE else None,
                "atom_url": url_with(request, path="/changes", format="atom", page=None)}

    return app
