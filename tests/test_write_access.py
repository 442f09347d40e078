"""Every route that writes refuses a request without credentials (401), with the wrong
role (403) and, where it acts for an organisation, another organisation's token (403).

WRITE_ROUTES lists each write route with who may use it; a write route the app has and
this table lacks fails the test, so no new route escapes the check."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from catalogue.settings import DEMO_SOURCES, Settings
from catalogue.site.app import create_app
from postgresql_server import with_backend
from support import account, bearer

# Writes anyone may make: an applicant's own variable list (no account; kept apart by a
# cookie), logging in, and SPARQL (POST only carries a query; updates are refused).
PUBLIC_WRITES = {("POST", "/list/items"), ("POST", "/list/update"), ("POST", "/list/share"),
                 ("POST", "/lists/{code}/copy"), ("POST", "/login"), ("POST", "/sparql")}

# (method, route path, a concrete path to call, roles allowed, the organisation it acts for or None)
ANYONE = ("publisher", "curator", "admin")
WRITE_ROUTES = [
    ("POST", "/logout", "/logout", ANYONE, None),
    ("POST", "/account/tokens", "/account/tokens", ANYONE, None),
    ("POST", "/account/tokens/{token_id}/revoke", "/account/tokens/1/revoke", ANYONE, None),
    ("POST", "/account/password", "/account/password", ANYONE, None),
    ("POST", "/admin/accounts", "/admin/accounts", ("admin",), None),
    ("POST", "/admin/accounts/{name}/disabled", "/admin/accounts/someone/disabled", ("admin",), None),
    ("POST", "/admin/accounts/{name}/tokens", "/admin/accounts/someone/tokens", ("admin",), None),
    ("PUT", "/api/vocabularies/{vocabulary_id}", "/api/vocabularies/standard-variables", ("curator", "admin"), None),
    ("POST", "/curation/vocabularies", "/curation/vocabularies", ("curator", "admin"), None),
    ("POST", "/curation/vocabularies/{vocabulary_id}/concepts", "/curation/vocabularies/standard-variables/concepts",
     ("curator", "admin"), None),
    ("POST", "/curation/candidates", "/curation/candidates", ("curator", "admin"), None),
    ("POST", "/curation/mappings", "/curation/mappings", ("curator", "admin"), None),
    ("POST", "/curation/mappings/{mapping_id}", "/curation/mappings/1", ("curator", "admin"), None),
    ("POST", "/sources/{source_id}/publish", "/sources/mfr/publish", ("publisher", "admin"), "fhi"),
    ("POST", "/sources/{source_id}/publish", "/sources/mfr/publish?dry_run=true", ("publisher", "admin"), "fhi"),
    ("POST", "/sources/{source_id}/withdraw", "/sources/mfr/withdraw", ("publisher", "admin"), "fhi"),
]
ROLE_TOKENS = {"publisher": "fhi-publisher", "curator": "curator", "admin": "admin"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    """An app over an empty data directory (refusals come before any data is read), with
    one account of each role, and a publisher of another organisation; accounts in the data
    directory or in PostgreSQL."""
    settings = with_backend(request, Settings(data_dir=tmp_path_factory.mktemp("data"), sources_file=DEMO_SOURCES,
                                              base_uri="http://catalogue.test/"))
    tokens = {"fhi-publisher": account(settings, "fhi-publisher", "publisher", "fhi"),
              "ssb-publisher": account(settings, "ssb-publisher", "publisher", "ssb"),
              "curator": account(settings, "curator", "curator"),
              "admin": account(settings, "admin", "admin")}
    return TestClient(create_app(settings)), tokens


def _write_routes(app) -> set[tuple[str, str]]:
    return {(method, route.path) for route in _routes(app.routes) for method in getattr(route, "methods", None) or ()
            if method in ("POST", "PUT", "PATCH", "DELETE")}


def _routes(routes):
    """The app's routes, with those of included routers (FastAPI keeps them apart;
    the routers here are included without a prefix)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _routes(included.routes) if included is not None else [route]


def test_every_write_route_is_checked(site):
    client, _ = site
    listed = {(method, path) for method, path, *_ in WRITE_ROUTES}
    assert _write_routes(client.app) - PUBLIC_WRITES - listed == set(), "add these routes to WRITE_ROUTES"
    assert listed - _write_routes(client.app) == set(), "WRITE_ROUTES lists routes the app does not have"


@pytest.mark.parametrize("method,route,path,roles,organisation", WRITE_ROUTES, ids=[f"{m} {r}" for m, r, *_ in WRITE_ROUTES])
def test_write_route_refuses_the_wrong_caller(site, method, route, path, roles, organisation):
    client, tokens = site
    nobody = client.request(method, path, headers={"Accept": "application/json"})
    assert nobody.status_code == 401, nobody.text
    assert nobody.headers["www-authenticate"] == "Bearer"
    forged = client.request(method, path, headers={**bearer("hv_not-a-token"), "Accept": "application/json"})
    assert forged.status_code == 401, forged.text
    for role, name in ROLE_TOKENS.items():
        if role not in roles:
            wrong = client.request(method, path, headers={**bearer(tokens[name]), "Accept": "application/json"})
            assert wrong.status_code == 403, (role, wrong.text)
    if organisation:
        other = "ssb-publisher" if organisation == "fhi" else "fhi-publisher"
        foreign = client.request(method, path, headers={**bearer(tokens[other]), "Accept": "application/json"})
        assert foreign.status_code == 403, foreign.text
        assert "does not publish for" in foreign.json()["detail"]
