"""Publishers check (dry run), publish and withdraw their organisation's metadata: a form
page per source, and the same routes for API clients sending the file as the request body.

Every route checks who asks (role, then organisation) before it reads the upload."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Depends, HTTPException, Query as Param, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from catalogue.access.accounts import Principal
from catalogue.pipeline import publishing
from catalogue.pipeline.publishing import (FORMATS, NAMES, NeedsConfirmation, NotPublishable, NothingPublished,
                                  PublishError, Report, TooDemanding, TooLarge, Unreadable, Unsupported)
from catalogue.services import Services
from catalogue.site.auth import Access, answer, wants_json
from catalogue.site.bodies import at_most
from catalogue.site.pages import Pages
from catalogue.sources import UPLOAD_URL, SourceConfig
from catalogue.storage.store import Busy, NotTheWriter

STATUS = {NotPublishable: 404, NothingPublished: 404, TooLarge: 413, Unsupported: 415, Unreadable: 422,
          TooDemanding: 422, NeedsConfirmation: 409}
FORM_OVERHEAD = 64 * 1024  # a form's other fields and part headers, beyond the file itself


def publish_routes(access: Access, services: Services, pages: Pages) -> APIRouter:
    app = APIRouter()
    settings, config = services.settings, services.config
    publisher = Depends(access.role("publisher"))

    def bounded(request: Request) -> None:
        """Refuse a body declared larger than the limit before anything reads it (a session's
        form is read for its CSRF token by the next dependency)."""
        if int(request.headers.get("content-length") or 0) > settings.max_upload_bytes + FORM_OVERHEAD:
            raise HTTPException(413, detail=f"the upload is larger than the limit of {settings.max_upload_bytes} "
                                            "bytes (CATALOGUE_MAX_UPLOAD_BYTES)")

    def source_for(user: Principal, source_id: str) -> SourceConfig:
        try:
            source = publishing.publishable(config(), source_id)
        except NotPublishable as exc:
            raise HTTPException(404, detail=str(exc)) from None
        access.for_organisation(user, source.publisher)
        return source

    def context(source: SourceConfig, report: Report | None = None) -> dict:
        active = services.uploads(source.id).active(services.store.state())
        return {"source": {"id": source.id, "name": source.name, "kind": source.kind,
                           "publisher": source.publisher, "upload_only": source.url == UPLOAD_URL},
                "publication": active.model_dump() if active else None,
                "accepts": sorted({NAMES[ext] for ext in FORMATS[source.kind].values()}),
                "extensions": ",".join(sorted(set(FORMATS[source.kind].values()))),
                "max_upload_bytes": settings.max_upload_bytes,
                "report": report.model_dump() if report else None}

    @pages.twin(app, "/sources/{source_id}/publish", "publish.html", api="/api/sources/{source_id}/publication")
    def publication(source_id: str, user: Principal = publisher) -> dict:
        """A source's active publication and what an upload for it may be."""
        return context(source_for(user, source_id))

    @app.post("/sources/{source_id}/publish")
    async def upload(request: Request, source_id: str, dry_run: bool = Param(False),
                     filename: str = Param("upload", max_length=200), confirm_shrink: bool = Param(False),
                     _: None = Depends(bounded), user: Principal = publisher):
        """A form's `file` field, or the request body with its Content-Type (and `?filename=`).
        `confirm_shrink` (or the form's field of that name): publish a file that removes much
        of the source."""
        source = source_for(user, source_id)
        name, content, declared, confirmed = await _received(request, filename, settings.max_upload_bytes)
        with _as_http():
            if services.store.follows():  # checked against, and written to, the writer's data directory
                raise NotTheWriter()
            if dry_run:
                report = await run_in_threadpool(publishing.dry_run, settings, config(), source.id, name,
                                                 content, declared)
            else:
                run, report = await run_in_threadpool(publishing.publish, settings, config(), source.id, name,
                                                      content, declared, user.account, user.organisation,
                                                      confirm_shrink or confirmed)
        if dry_run:  # changed nothing: no audit entry, and a page (not a redirect) for a form
            if wants_json(request):
                return JSONResponse(report.model_dump(mode="json"))
            return pages.render(request, "publish.html", context(source, report),
                        json_url=f"/api/sources/{source.id}/publication")
        access.log(user, "publication.publish", f"source:{source.id}",
                   before=report.replaced.model_dump() if report.replaced else None,
                   after={**report.publication.model_dump(), "added": len(report.added),
                          "changed": len(report.changed), "removed": len(report.removed),
                          "held_back": len(report.held_back)},
                   organisation=source.publisher)
        return answer(request, report.run_url, {"status": run.status, **report.model_dump(mode="json")})

    @app.post("/sources/{source_id}/withdraw")
    def withdraw(request: Request, source_id: str, user: Principal = publisher):
        source = source_for(user, source_id)
        with _as_http():
            if services.store.follows():
                raise NotTheWriter()
            run, withdrawn = publishing.withdraw(settings, config(), source.id)
        access.log(user, "publication.withdraw", f"source:{source.id}", before=withdrawn.model_dump(),
                   organisation=source.publisher)
        return answer(request, f"/sources/{source.id}/publish",
                      {"withdrawn": withdrawn.model_dump(), "run": run.id, "run_url": f"/harvests/{run.id}",
                       "removed": run.removed})

    return app


@contextmanager
def _as_http() -> Iterator[None]:
    """What publishing refuses, as the HTTP answer saying why."""
    try:
        yield
    except PublishError as exc:
        raise HTTPException(STATUS[type(exc)], detail=str(exc)) from None
    except Busy as exc:  # a harvest holds the store
        raise HTTPException(503, detail=str(exc), headers={"Retry-After": "60"}) from None


async def _received(request: Request, filename: str, limit: int) -> tuple[str, bytes, str | None, bool]:
    """The uploaded file's name, content (at most `limit` + 1 bytes: more is refused as too
    large), declared media type, and whether a form confirmed that it may shrink the source."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        form = await request.form()  # already read if a session's CSRF was checked
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise HTTPException(422, detail=[{"field": "file", "message": "choose a file to upload"}])
        return upload.filename, await upload.read(limit + 1), upload.content_type, bool(form.get("confirm_shrink"))
    return filename, await at_most(request, limit), kind, False
