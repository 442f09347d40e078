"""Who a request acts for, and whether it may: the one check every write route makes.

A request carries either `Authorization: Bearer <token>` (machines) or the `session`
cookie set at login (people). Forms sent with a session must also carry the session's
CSRF token (a hidden `csrf` field or an `X-CSRF-Token` header) and, when the browser
names one, this site as their Origin: a cookie is sent by the browser whatever page
made the request, a token only by a client that holds it.
"""
from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from catalogue.access.accounts import Accounts, Principal
from catalogue.access.audit import Audit

SESSION_COOKIE = "session"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class Access:
    def __init__(self, accounts: Accounts, audit: Audit):
        self.accounts, self.audit = accounts, audit

    def principal(self, request: Request) -> Principal | None:
        """Who the request's token or session is for (None: nobody, or not valid)."""
        authorization = request.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            return self.accounts.bearer(authorization[7:].strip())
        secret = request.cookies.get(SESSION_COOKIE)
        return self.accounts.session(secret) if secret else None

    async def current(self, request: Request) -> Principal | None:
        """The principal, with a session's writes checked for their CSRF token and origin."""
        user = self.principal(request)
        if user is not None and user.via == "session" and request.method not in SAFE_METHODS:
            same_origin(request)
            sent = request.headers.get("x-csrf-token")
            if sent is None and _is_form(request):
                sent = (await request.form()).get("csrf")
            if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), (user.csrf or "").encode()):
                raise HTTPException(403, detail="the form's CSRF token is missing or out of date: "
                                                "reload the page and send it again")
        return user

    def role(self, *roles: str) -> Callable[[Request], Awaitable[Principal]]:
        """A route dependency: the principal, who must hold one of `roles` (admins hold all).
        No valid credentials: 401; credentials without the role: 403."""

        async def dependency(request: Request) -> Principal:
            user = await self.current(request)
            if user is None:
                raise HTTPException(401, detail="log in, or send an API token (Authorization: Bearer ...)",
                                    headers={"WWW-Authenticate": "Bearer"})
            if not user.may(*roles):
                raise HTTPException(403, detail=f"this needs the role {' or '.join(roles)}; "
                                                f"{user.account} is {user.role}")
            return user

        return dependency

    @staticmethod
    def for_organisation(user: Principal, organisation: str) -> None:
        """A publisher acts only for their own organisation."""
        if not user.speaks_for(organisation):
            raise HTTPException(403, detail=f"{user.account} does not publish for {organisation!r}")

    def log(self, user: Principal, action: str, target: str, before=None, after=None,
            organisation: str | None = None) -> None:
        self.audit.record(user.account, user.role, action, target, before, after,
                          organisation or user.organisation)


def answer(request: Request, back: str, body: dict) -> Response:
    """What a write route answers: JSON to an API client (a token, or Accept: JSON), and
    to a browser's form a redirect back to a page of this site."""
    if wants_json(request):
        return JSONResponse(body)
    return RedirectResponse(local(back), status_code=303)


def wants_json(request: Request) -> bool:
    """An API client (a token, or Accept: JSON), not a browser's form."""
    return bool(request.headers.get("authorization")) or "application/json" in request.headers.get("accept", "")


def local(url: str | None, default: str = "/") -> str:
    """`url` if it is a path on this site (never another site: no open redirects)."""
    return url if url and url.startswith("/") and not url.startswith("//") and "\\" not in url else default


def same_origin(request: Request) -> None:
    """Refuse a request another site's page made (when the browser says so)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and urlsplit(origin).netloc != request.url.netloc:
        raise HTTPException(403, detail="changes are only accepted from this site's pages")


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
