"""What every answer of the site gets on its way out, as plain ASGI middleware: security
headers, HEAD wherever GET is served, and for the read-only endpoints partners harvest, CORS
and revalidation (ETag, Last-Modified, 304) without building the answer again."""
from __future__ import annotations

import hashlib
import re
from email.utils import formatdate, parsedate_to_datetime
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser

from catalogue.site.auth import SESSION_COOKIE

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class SecurityHeaders:
    """Headers every response carries (a plain ASGI middleware: it adds nothing per request
    but the headers), and `Cache-Control: no-store` on what is someone's own: answers to a
    request with credentials, the account, admin, login and variable list pages (the list is
    the one a cookie names), and any answer that sets a cookie."""

    HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
               "Referrer-Policy": "same-origin"}
    PERSONAL = re.compile(r"^/(api/)?(login|logout|account|admin|list|lists)(/|\.|$)")

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        asked = Headers(scope=scope)
        is_personal = bool(self.PERSONAL.match(scope["path"]) or personal(asked))

        async def sending(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.HEADERS.items():
                    headers.setdefault(name, value)
                if is_personal or "set-cookie" in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)
        await self.app(scope, receive, sending)


class HeadAsGet:
    """HEAD wherever GET is served, once for all routes (FastAPI's own routes answer HEAD
    with 405): routed as GET, answered with its status and headers and no body."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def headers_only(message):
            if message["type"] == "http.response.body":
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)
        await self.app({**scope, "method": "GET"}, receive, headers_only)


def server_error(request: Request, exc: Exception) -> Response:
    """The 500 answer. Starlette sends it from outside every middleware (and then logs the
    error), so it carries the security headers itself."""
    return JSONResponse({"detail": "the server failed to answer; the error is logged"}, status_code=500,
                        headers={**SecurityHeaders.HEADERS, "Cache-Control": "no-store"})


class PublicReads:
    """The read-only endpoints partners and scripts use (the catalogue, every minted IRI,
    SPARQL, the search API): any site may read them (CORS, without credentials), and the
    RDF ones carry an ETag and Last-Modified from the state's last commit, so a harvester
    that has the current answer gets 304 before anything is built."""

    PUBLIC = re.compile(r"^/(catalog|sparql|id/|\.well-known/genid/|api/(variables|datasets|registers|code-lists|"
                        r"suggest|changes|sources))")
    REVALIDATED = re.compile(r"^/(catalog|id/|\.well-known/genid/)")
    CORS = [(b"access-control-allow-origin", b"*"), (b"access-control-expose-headers",
                                                      b"Content-Profile, Link, ETag, Last-Modified")]

    def __init__(self, app, committed: Callable[[], int]):
        self.app, self.committed = app, committed  # when the state last changed, in ns

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.PUBLIC.match(scope["path"]):
            return await self.app(scope, receive, send)
        if scope["method"] == "OPTIONS":  # a preflight: a POST of a SPARQL query, say
            await send({"type": "http.response.start", "status": 204, "headers": [
                *self.CORS, (b"access-control-allow-methods", b"GET, HEAD, POST"),
                (b"access-control-allow-headers", b"Accept, Accept-Profile, Content-Type"),
                (b"access-control-max-age", b"86400")]})
            return await send({"type": "http.response.body", "body": b""})
        validators: list[tuple[bytes, bytes]] = []
        asked = Headers(scope=scope)
        # a signed-in person's page names them: never answered from a copy made without them
        if scope["method"] in ("GET", "HEAD") and self.REVALIDATED.match(scope["path"]) and not personal(asked):
            stamp = self.committed()
            # The answer depends on the state, the URL and what was asked for (syntax, profile, language).
            variant = "\n".join([scope["path"], scope.get("query_string", b"").decode("latin-1"),
                                  asked.get("accept", ""), asked.get("accept-profile", ""),
                                  cookie_parser(asked.get("cookie", "")).get("lang", "")])
            tag = f'W/"{stamp:x}-{hashlib.sha256(variant.encode()).hexdigest()[:16]}"'
            modified = formatdate(stamp // 1_000_000_000, usegmt=True)
            validators = [(b"etag", tag.encode()), (b"last-modified", modified.encode())]
            if _fresh(asked, tag, stamp // 1_000_000_000):
                await send({"type": "http.response.start", "status": 304, "headers": [*self.CORS, *validators]})
                return await send({"type": "http.response.body", "body": b""})

        async def sending(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.CORS:
                    headers[name.decode()] = value.decode()
                if message["status"] == 200:
                    for name, value in validators:
                        headers[name.decode()] = value.decode()
            await send(message)
        await self.app(scope, receive, sending)


def personal(asked: Headers) -> bool:
    """Whether a request comes with credentials (a token, or a signed-in session)."""
    return bool(asked.get("authorization") or SESSION_COOKIE in cookie_parser(asked.get("cookie", "")))


def _fresh(asked: Headers, tag: str, seconds: int) -> bool:
    """Whether the client's copy is the current one: If-None-Match names the tag, or (only
    when that header is absent) If-Modified-Since is not before the last commit."""
    if (match := asked.get("if-none-match")) is not None:
        return match.strip() == "*" or tag in (t.strip() for t in match.split(","))
    if since := asked.get("if-modified-since"):
        try:
            return parsedate_to_datetime(since).timestamp() >= seconds
        except (TypeError, ValueError):
            return False
    return False
