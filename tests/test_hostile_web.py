"""The web service under hostile requests: every operation of /openapi.json under generated
input (schemathesis), as anyone and with each role's token; the inputs that once made it
answer 500; headers on every answer; and logins under parallel guessing."""
from __future__ import annotations

import io
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from xml.etree import ElementTree

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from catalogue.access.accounts import (MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ACCOUNT_ADDRESS, MAX_FAILURES_PER_ADDRESS,
                                 Accounts, TooManyFailures)
from catalogue.settings import DEMO_SOURCES, Settings
from catalogue.site.app import create_app
from catalogue.storage.history import Event, History

ROLES = {"publisher": "fhi", "curator": None, "admin": None}
EXAMPLES = 8  # per operation: enough to reach each operation's odd corners, few enough for 2 cores
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_data) -> Settings:
    """The harvested demo, with an account (no password) for each role."""
    settings = demo_data(tmp_path_factory.mktemp("hostile-web"), light=True)
    for role, organisation in ROLES.items():
        Accounts(settings.data_dir).add(f"{role}-robot", role, organisation)
    return settings


def test_no_operation_answers_500_or_outside_its_schema(demo, tmp_path):
    """Each operation (but /sparql, which its own tests cover) with valid and with invalid
    input; every failure is listed, not only the first."""
    # A copy of the demo's data: the admin's examples write to it.
    shutil.copytree(demo.data_dir, tmp_path / "data")
    settings = replace(demo, data_dir=tmp_path / "data")
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(settings)).exclude(path="/sparql")
    accounts = Accounts(settings.data_dir)
    failures = []

    def call(case):
        # A fresh token per role and example: an example may well revoke the one before.
        for role in (None, *ROLES):
            headers = {"Authorization": f"Bearer {accounts.new_token(f'{role}-robot', 'fuzz')}"} if role else {}
            case.call_and_validate(headers=headers, checks=CHECKS)

    for operation in (result.ok() for result in schema.get_all_operations()):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run = hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                                      phases=[Phase.explicit, Phase.generate],
                                      suppress_health_check=list(HealthCheck))(
                given(case=operation.as_strategy(generation_mode=mode))(call))
            try:
                run()
            except Unsatisfiable:  # nothing of this operation can be made invalid
                continue
            except (Exception, BaseExceptionGroup) as exc:  # each is listed, and the next operation runs
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)


@pytest.fixture(scope="module")
def client(demo) -> TestClient:
    return TestClient(create_app(demo), raise_server_exceptions=False)


LONG_RUN_ID = "20260101T000000000000-" + "a" * 5000


@pytest.mark.parametrize("url, status", [
    ("/?q=-", 200), ("/?q=!!!", 200), ("/?q=😀", 200), ("/?q=%22%28", 200),
    ("/api/variables?q=-", 200),
    ("/?page=99999999999999999999", 422), ("/api/changes?page=99999999999999999999", 422),
    ("/api/datasets/npr?page=99999999999999999999", 422), ("/api/sources/npr?page=99999999999999999999", 422),
    ("/api/sources/npr/quality?page=99999999999999999999", 422),
    ("/id/a%20b", 404), ("/id/%00", 404), ("/id/variable/%3C%3E", 404),
    ("/.well-known/genid/a%20b", 404), ("/.well-known/genid/%00", 404),
    (f"/harvests/{LONG_RUN_ID}", 422), (f"/api/harvests/{LONG_RUN_ID}", 422), ("/api/harvests/a%00b", 404),
])
def test_inputs_that_once_failed_get_a_clean_answer(client, url, status):
    assert client.get(url).status_code == status


def test_a_login_form_token_in_any_characters_is_refused_as_out_of_date(client):
    client.get("/login")
    refused = client.post("/login", data={"name": "admin-robot", "password": "x", "csrf": "æøå😀"})
    assert refused.status_code == 403 and "out of date" in refused.json()["detail"]


@pytest.mark.parametrize("url", ["/", "/api/variables", "/nowhere", "/api/variables?page=0", "/catalog?format=x"])
def test_security_headers_on_every_answer(client, url):
    answer = client.get(url)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_a_server_error_still_carries_the_security_headers(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", sources_file=DEMO_SOURCES, base_uri="http://catalogue.test/")
    runs = settings.data_dir / "runs"
    runs.mkdir(parents=True)
    (runs / "20260101T000000000000-broken.json").write_text("{not json", encoding="utf-8")  # a damaged file
    failed = TestClient(create_app(settings), raise_server_exceptions=False).get(
        "/api/harvests/20260101T000000000000-broken")
    assert failed.status_code == 500 and "traceback" not in failed.text.lower()
    assert failed.headers["x-content-type-options"] == "nosniff"
    assert failed.headers["content-security-policy"] and failed.headers["cache-control"] == "no-store"


def test_personal_pages_are_never_stored_by_caches(client, demo):
    token = {"Authorization": f"Bearer {Accounts(demo.data_dir).new_token('admin-robot', 'cache')}"}
    for url in ["/account", "/api/account", "/admin/accounts", "/api/admin/accounts", "/admin/audit"]:
        answer = client.get(url, headers=token)
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store", url
    for url in ["/login", "/list", "/api/list", "/list/export.csv", "/lists/NOSUCH"]:
        assert client.get(url).headers["cache-control"] == "no-store", url
    # Public pages may be cached, but not as shown to someone logged in (the menu names them).
    assert "cache-control" not in client.get("/api/variables").headers
    assert client.get("/api/variables", headers=token).headers["cache-control"] == "no-store"


@pytest.mark.parametrize("url", ["/", "/api/variables?q=vekt", "/catalog", "/sources", "/static/style.css", "/nowhere"])
def test_head_is_answered_wherever_get_is(client, url):
    got, head = client.get(url), client.head(url)
    assert head.status_code == got.status_code and head.content == b""
    for name in ("content-type", "content-security-policy", "link", "cache-control"):
        assert head.headers.get(name) == got.headers.get(name), name
    if "content-length" in got.headers:
        assert head.headers["content-length"] == got.headers["content-length"]


def test_head_is_not_a_way_around_a_write_route(client):
    assert client.head("/logout").status_code == 405


def test_control_characters_stored_before_do_not_break_the_xlsx_export(client):
    browser = TestClient(client.app, raise_server_exceptions=False)
    variable = client.get("/api/variables").json()["items"][0]["id"]
    browser.post("/list/items", data={"variable": variable})
    browser.post("/list/update", data={"variable": variable, "action": "save", "note": "=1+1\x00 vekt\x0b ved fødsel"})
    exported = browser.get("/list/export.xlsx")
    assert exported.status_code == 200
    from openpyxl import load_workbook
    rows = list(load_workbook(io.BytesIO(exported.content)).active.iter_rows(values_only=True))
    assert "'=1+1 vekt ved fødsel" in rows[1]  # stripped, then kept from running as a formula


def test_control_characters_stored_before_do_not_break_the_atom_feed(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", sources_file=DEMO_SOURCES, base_uri="http://catalogue.test/")
    now = datetime.now(timezone.utc).isoformat()
    History(settings.data_dir).add("20260101T000000000000-old", [Event(
        at=now, run="20260101T000000000000-old", source="old", record="r", subject="http://catalogue.test/id/x\x01",
        kind="variable", change="added", label={"nb": "Fødsels\x00vekt\x1b"}, name="VEKT")])
    feed = TestClient(create_app(settings)).get("/changes", params={"format": "atom", "lang": "nb"})
    assert feed.status_code == 200
    titles = [e.text for e in ElementTree.fromstring(feed.content).iter("{http://www.w3.org/2005/Atom}title")]
    assert any(t.startswith("Fødselsvekt: ") for t in titles), titles


PASSWORD = "correct horse battery staple"
GUESSES = 50


def _login_form(client: TestClient) -> str:
    return client.get("/login", headers={"Accept": "text/html"}).text.split('name="csrf" value="')[1].split('"')[0]


def test_parallel_guesses_check_at_most_the_limit_and_the_owner_still_logs_in(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", sources_file=DEMO_SOURCES, base_uri="http://catalogue.test/")
    Accounts(settings.data_dir).add("kari", "curator", password=PASSWORD)
    app = create_app(settings)
    # One client each (a wrong login renews the form's cookie), all from the attacker's address.
    attackers = [TestClient(app, client=("203.0.113.7", 40000 + i)) for i in range(GUESSES)]
    forms = [_login_form(attacker) for attacker in attackers]
    start = threading.Barrier(GUESSES)

    def guess(i: int) -> int:
        start.wait(timeout=60)
        return attackers[i].post("/login", data={"name": "kari", "password": f"guess number {i}", "csrf": forms[i]},
                                 follow_redirects=False).status_code

    with ThreadPoolExecutor(GUESSES) as pool:
        answers = list(pool.map(guess, range(GUESSES)))
    assert set(answers) <= {401, 429}
    assert answers.count(401) <= MAX_FAILURES_PER_ACCOUNT_ADDRESS  # a 401 is a password checked
    right = attackers[0].post("/login", data={"name": "kari", "password": PASSWORD, "csrf": _login_form(attackers[0])},
                              follow_redirects=False)
    assert right.status_code == 429 and "session" not in attackers[0].cookies
    owner = TestClient(app, client=("198.51.100.2", 50000))
    assert owner.post("/login", data={"name": "kari", "password": PASSWORD, "csrf": _login_form(owner)},
                      follow_redirects=False).status_code == 303


def test_one_address_guessing_many_accounts_is_stopped(tmp_path):
    accounts = Accounts(tmp_path / "data")
    accounts.add("kari", "curator", password=PASSWORD)
    for i in range(MAX_FAILURES_PER_ADDRESS):
        assert not accounts.verify(f"name-{i}", PASSWORD, "203.0.113.7")
    with pytest.raises(TooManyFailures):
        accounts.verify("kari", PASSWORD, "203.0.113.7")
    assert accounts.verify("kari", PASSWORD, "198.51.100.2")


def test_guesses_spread_over_many_addresses_lock_the_account_only_past_a_higher_limit(tmp_path):
    accounts = Accounts(tmp_path / "data")
    accounts.add("kari", "curator", password=PASSWORD)
    per_address = MAX_FAILURES_PER_ACCOUNT_ADDRESS
    for i in range(MAX_FAILURES_PER_ACCOUNT):
        assert not accounts.verify("kari", "wrong password", f"203.0.113.{i // per_address}")
    with pytest.raises(TooManyFailures):
        accounts.verify("kari", PASSWORD, "198.51.100.2")
