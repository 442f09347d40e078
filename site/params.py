"""What several route modules share: query parameters and the OpenAPI description of answers."""
from __future__ import annotations

from typing import Any

from fastapi import Query as Param
from pydantic import BaseModel

from catalogue.search.query import MAX_PAGE

# ?page= of any paged list; past MAX_PAGE a 422, never an offset the engine or SQLite cannot hold.
PAGE_NO = Param(1, alias="page", ge=1, le=MAX_PAGE)

HTML = "text/html"


class Problem(BaseModel):
    """A refused request's answer (as JSON): why, as a sentence or one entry per field."""

    detail: str | list[dict[str, Any]]


# Every route may refuse (4xx): as JSON, or as a page to a browser.
REFUSALS: dict[int | str, dict[str, Any]] = {"4XX": {
    "model": Problem, "description": "refused; `detail` says why",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}, HTML: {}}}}


def answers(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """The media types a route's 200 may come in, for /openapi.json."""
    return {200: {"content": {media: {} for media in media_types}}}
