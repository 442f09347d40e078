"""Logging in and out, one's own account and API tokens, and the admin's pages: accounts
and the audit log (viewable, and exportable as CSV or JSON lines)."""
from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query as Param, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from catalogue.access.accounts import ROLES, SESSION_HOURS, AccountError, Principal, TooManyFailures
from catalogue.access.audit import AuditEntry
from catalogue.services import Services
from catalogue.site.auth import SESSION_COOKIE, Access, answer, local, same_origin, wants_json
from catalogue.site.pages import Pages
from catalogue.site.params import HTML, PAGE_NO, answers
from catalogue.site.sheets import to_csv

LOGIN_COOKIE = "login_csrf"  # the login form's CSRF token (double submit: no session exists yet)
AUDIT_PER_PAGE = 100
AUDIT_EXPORT_MAX = 100_000
AUDIT_COLUMNS = ("id", "at", "actor", "role", "organisation", "action", "target", "before", "after")


def account_routes(access: Access, services: Services, pages: Pages) -> APIRouter:
    app = APIRouter()
    accounts = access.accounts
    admin = Depends(access.role("admin"))
    anyone = Depends(access.role(*ROLES))

    def login_form(request: Request, next: str, error: str | None = None) -> HTMLResponse:
        """The login page, with a new token for its form (kept in a cookie as well)."""
        token = secrets.token_urlsafe(24)
        response = pages.render(request, "login.html", {"next": local(next, "/account"), "login_csrf": token,
                                                "error": error}, json_url="/api/account")
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request))
        return response

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = Param("/account", max_length=2000)):
        return login_form(request, next)

    @app.post("/login")
    def login(request: Request, name: str = Form(..., max_length=64), password: str = Form(..., max_length=1000),
              csrf: str = Form("", max_length=100), next: str = Form("/account", max_length=2000)):
        same_origin(request)
        if not hmac.compare_digest(csrf.encode(), request.cookies.get(LOGIN_COOKIE, "-").encode()):
            raise HTTPException(403, detail="the login form is out of date: reload it and try again")
        with _limited():
            session = accounts.login(name.strip(), password, _address(request))
        if session is None:
            response = login_form(request, next, error="wrong_login")
            response.status_code = 401
            return response
        secret, user = session
        access.log(user, "login", f"account:{user.account}")
        response = RedirectResponse(local(next, "/account"), status_code=303)
        response.set_cookie(SESSION_COOKIE, secret, max_age=SESSION_HOURS * 3600, httponly=True,
                            samesite="lax", secure=_secure(request))
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.post("/logout")
    def logout(request: Request, user: Principal = anyone):
        if user.via == "session":
            accounts.logout(request.cookies[SESSION_COOKIE])
        access.log(user, "logout", f"account:{user.account}")
        response = answer(request, "/", {"logged_out": user.account})
        response.delete_cookie(SESSION_COOKIE)
        return response

    def account_context(user: Principal, new_token: str | None = None) -> dict:
        return {"account": {"name": user.account, "role": user.role, "organisation": user.organisation,
                            "via": user.via},
                "tokens": [asdict(t) for t in accounts.tokens(user.account)], "new_token": new_token}

    @pages.twin(app, "/account", "account.html")
    def account(user: Principal = anyone) -> dict:
        """One's own account and API tokens."""
        return account_context(user)

    @app.post("/account/tokens")
    def new_token(request: Request, label: str = Form("token", max_length=100), user: Principal = anyone):
        token = accounts.new_token(user.account, label)
        access.log(user, "token.create", f"account:{user.account}", after={"label": label})
        context = account_context(user, new_token=token)
        if wants_json(request):
            return JSONResponse(context)
        return pages.render(request, "account.html", context, json_url="/api/account")  # shown this once

    @app.post("/account/tokens/{token_id}/revoke")
    def revoke_token(request: Request, token_id: int, user: Principal = anyone):
        if not accounts.revoke(user.account, token_id):
            raise HTTPException(404, detail=f"{user.account} has no token {token_id}")
        access.log(user, "token.revoke", f"account:{user.account}", before={"token": token_id})
        return answer(request, "/account", {"revoked": token_id})

    @app.post("/account/password")
    def change_password(request: Request, current: str = Form(..., max_length=1000),
                        new: str = Form(..., max_length=1000), user: Principal = anyone):
        with _limited():
            if not accounts.verify(user.account, current, _address(request)):
                raise HTTPException(403, detail="the current password is wrong")
        try:
            accounts.set_password(user.account, new)
        except AccountError as exc:
            raise HTTPException(422, detail=[{"field": "new", "message": str(exc)}]) from None
        access.log(user, "password.change", f"account:{user.account}")
        response = answer(request, "/login", {"changed": True})
        response.delete_cookie(SESSION_COOKIE)  # every session of the account ended: log in again
        return response

    # Admin: accounts

    def accounts_context() -> dict:
        return {"accounts": [asdict(a) for a in accounts.all()], "roles": ROLES,
                "organisations": sorted(services.config().publishers)}

    @pages.twin(app, "/admin/accounts", "admin_accounts.html")
    def admin_accounts(user: Principal = admin) -> dict:
        """Every account, for the admin."""
        return accounts_context()

    @app.post("/admin/accounts")
    def add_account(request: Request, name: str = Form(..., max_length=64), role: str = Form(..., max_length=20),
                    organisation: str = Form("", max_length=100), password: str = Form("", max_length=1000),
                    user: Principal = admin):
        if organisation and organisation not in services.config().publishers:
            raise HTTPException(422, detail=[{"field": "organisation",
                                              "message": f"{organisation!r} is not a publisher of the configuration"}])
        try:
            made = accounts.add(name.strip(), role, organisation or None, password or None)
        except AccountError as exc:
            raise HTTPException(422, detail=[{"field": "account", "message": str(exc)}]) from None
        access.log(user, "account.create", f"account:{made.name}",
                   after={"role": made.role, "organisation": made.organisation}, organisation=made.organisation)
        return answer(request, "/admin/accounts", asdict(made))

    @app.post("/admin/accounts/{name}/disabled")
    def disable_account(request: Request, name: str, disabled: bool = Form(...), user: Principal = admin):
        before = accounts.get(name)
        if before is None:
            raise HTTPException(404, detail=f"no account {name!r}")
        accounts.set_disabled(name, disabled)
        access.log(user, "account.disable" if disabled else "account.enable", f"account:{name}",
                   before={"disabled": before.disabled}, after={"disabled": disabled},
                   organisation=before.organisation)
        return answer(request, "/admin/accounts", {"name": name, "disabled": disabled})

    @app.post("/admin/accounts/{name}/tokens")
    def account_token(request: Request, name: str, label: str = Form("token", max_length=100),
                      user: Principal = admin):
        """A token for another account, e.g. a machine's that has no password."""
        target = accounts.get(name)
        if target is None:
            raise HTTPException(404, detail=f"no account {name!r}")
        token = accounts.new_token(name, label)
        access.log(user, "token.create", f"account:{name}", after={"label": label}, organisation=target.organisation)
        context = {**accounts_context(), "new_token": token, "token_for": name}
        if wants_json(request):
            return JSONResponse({"account": name, "token": token})
        return pages.render(request, "admin_accounts.html", context, json_url="/api/admin/accounts")

    # Admin: the audit log

    def audit_query(since: str | None, actor: str | None, action: str | None, page_no: int,
                    size: int) -> tuple[int, list[AuditEntry]]:
        return access.audit.entries(since=since, actor=actor, action=action, limit=size,
                                    offset=(page_no - 1) * size)

    @app.get("/admin/audit", responses=answers(HTML, "text/csv", "application/x-ndjson"))
    def audit_page(request: Request, since: str | None = Param(None, max_length=40),
                   actor: str | None = Param(None, max_length=64), action: str | None = Param(None, max_length=50),
                   page_no: int = PAGE_NO,
                   format: str | None = Param(None, pattern="^(csv|jsonl)$"), user: Principal = admin):
        if format:
            _, entries = audit_query(since, actor, action, 1, AUDIT_EXPORT_MAX)
            return _export(entries, format)
        total, entries = audit_query(since, actor, action, page_no, AUDIT_PER_PAGE)
        context = {"total": total, "page": page_no, "pages": max(1, -(-total // AUDIT_PER_PAGE)),
                   "entries": [{**e.model_dump(), "before_text": _text(e.before), "after_text": _text(e.after)}
                               for e in entries],
                   "filters": {"since": since, "actor": actor, "action": action},
                   "filter_query": urlencode({k: v for k, v in (("since", since), ("actor", actor),
                                                                ("action", action)) if v})}
        if "text/html" not in request.headers.get("accept", ""):
            return context
        return pages.render(request, "audit.html", context, json_url=str(request.url.include_query_params(format="jsonl")))

    return app


def _export(entries: list[AuditEntry], fmt: str) -> Response:
    if fmt == "jsonl":
        body = "".join(e.model_dump_json() + "\n" for e in entries)
        return Response(body, media_type="application/x-ndjson; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'})
    rows = [[_text(v) if k in ("before", "after") else "" if v is None else str(v)
             for k, v in e.model_dump().items()] for e in entries]
    return Response(to_csv(list(AUDIT_COLUMNS), rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="audit.csv"'})


def _text(state) -> str:
    return "" if state is None else json.dumps(state, ensure_ascii=False)


@contextmanager
def _limited() -> Iterator[None]:
    """Failed logins past their limit, as 429 with when to try again."""
    try:
        yield
    except TooManyFailures as exc:
        raise HTTPException(429, detail=str(exc), headers={"Retry-After": str(exc.retry_after)}) from None


def _address(request: Request) -> str:
    return request.client.host if request.client else "?"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"
