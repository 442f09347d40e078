"""Accounts, logging in, API tokens, CSRF, failed-login limits and the audit log, as the
people who use them meet them: through the login form, the account page and the API."""
from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from catalogue.access.accounts import _MIGRATIONS as ACCOUNT_MIGRATIONS
from catalogue.access.accounts import MAX_FAILURES_PER_ACCOUNT_ADDRESS, Accounts
from catalogue.settings import DEMO_SOURCES, Settings
from catalogue.site.app import create_app
from catalogue.storage.database import open_database
from postgresql_server import with_backend
from support import account, bearer, log_in

PASSWORD = "correct horse battery staple"
HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request, tmp_path):
    """The site with its accounts in the data directory or in PostgreSQL."""
    settings = with_backend(request, Settings(data_dir=tmp_path / "data", sources_file=DEMO_SOURCES,
                                              base_uri="http://catalogue.test/"))
    return settings, TestClient(create_app(settings))


def stored(settings: Settings) -> str:
    """Everything the accounts' store holds, as text: the SQLite file's bytes and its dump, or
    every row of the accounts' schema in PostgreSQL."""
    if settings.database_url:
        import psycopg
        with psycopg.connect(settings.database_url) as db:
            return "\n".join(str(row) for table in ("accounts", "tokens", "sessions", "failures")
                             for row in db.execute(f"SELECT * FROM accounts.{table}"))
    path = settings.data_dir / "accounts.sqlite"
    with sqlite3.connect(path) as db:
        return path.read_bytes().decode("latin-1") + "\n".join(db.iterdump())


def sessions(settings: Settings) -> int:
    with open_database(settings).transaction("accounts", ACCOUNT_MIGRATIONS) as db:
        return db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]


def test_a_person_logs_in_sees_their_account_and_logs_out(site):
    settings, client = site
    account(settings, "kari", "curator", password=PASSWORD)
    assert "Logg inn" in client.get("/?lang=nb", headers=HTML).text
    csrf = log_in(client, "kari", PASSWORD)
    page = client.get("/account?lang=nb", headers=HTML).text
    assert "Konto: kari" in page and "Kurator" in page
    assert client.get("/api/account").json()["account"] == {"name": "kari", "role": "curator",
                                                            "organisation": None, "via": "session"}
    out = client.post("/logout", data={"csrf": csrf}, headers=HTML, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/api/account").status_code == 401


def test_a_wrong_password_is_refused_and_pages_send_browsers_to_log_in(site):
    settings, client = site
    account(settings, "kari", "curator", password=PASSWORD)
    form = client.get("/login", headers=HTML).text
    token = form.split('name="csrf" value="')[1].split('"')[0]
    wrong = client.post("/login", data={"name": "kari", "password": "not it at all", "csrf": token},
                        headers=HTML)
    assert wrong.status_code == 401 and "Feil brukernavn eller passord" in wrong.text
    assert "session" not in client.cookies
    redirect = client.get("/account", headers=HTML, follow_redirects=False)
    assert redirect.status_code == 303 and redirect.headers["location"] == "/login?next=%2Faccount"


def test_login_needs_its_form_token_and_never_redirects_off_site(site):
    settings, client = site
    account(settings, "kari", "curator", password=PASSWORD)
    forged = client.post("/login", data={"name": "kari", "password": PASSWORD, "csrf": "guessed"})
    assert forged.status_code == 403
    other_site = client.post("/login", data={"name": "kari", "password": PASSWORD, "csrf": "x"},
                             headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403
    form = client.get("/login", params={"next": "//evil.example/x"}, headers=HTML).text
    token = form.split('name="csrf" value="')[1].split('"')[0]
    answer = client.post("/login", data={"name": "kari", "password": PASSWORD, "csrf": token,
                                         "next": "//evil.example/x"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/account"


def test_a_session_write_without_its_csrf_token_is_refused(site):
    settings, client = site
    account(settings, "kari", "curator", password=PASSWORD)
    csrf = log_in(client, "kari", PASSWORD)
    assert client.post("/account/tokens", data={"label": "x"}).status_code == 403
    assert client.post("/account/tokens", data={"label": "x", "csrf": "wrong"}).status_code == 403
    from_elsewhere = client.post("/account/tokens", data={"label": "x", "csrf": csrf},
                                 headers={"Origin": "https://evil.example"})
    assert from_elsewhere.status_code == 403
    made = client.post("/account/tokens", data={"label": "laptop", "csrf": csrf}, headers=HTML)
    assert made.status_code == 200 and "hv_" in made.text  # shown once, on the page that made it
    assert [t["label"] for t in client.get("/api/account").json()["tokens"]] == ["test", "laptop"]


def test_failed_logins_are_limited_even_when_the_password_is_then_right(site):
    settings, client = site
    account(settings, "kari", "curator", password=PASSWORD)
    for _ in range(MAX_FAILURES_PER_ACCOUNT_ADDRESS):  # from the address TestClient sends from
        assert Accounts(open_database(settings)).login("kari", "wrong password!", "testclient") is None
    form = client.get("/login", headers=HTML).text
    token = form.split('name="csrf" value="')[1].split('"')[0]
    locked = client.post("/login", data={"name": "kari", "password": PASSWORD, "csrf": token})
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert "session" not in client.cookies
    # Another account from another address is not locked out by these failures.
    account(settings, "ola", "curator", password=PASSWORD)
    assert Accounts(open_database(settings)).login("ola", PASSWORD, "10.0.0.2") is not None


def test_machines_use_tokens_that_are_stored_only_as_hashes_and_can_be_revoked(site):
    settings, client = site
    token = account(settings, "npr-robot", "publisher", "fhi")
    me = client.get("/api/account", headers=bearer(token)).json()
    assert me["account"]["via"] == "token" and me["account"]["organisation"] == "fhi"
    assert me["tokens"][0]["last_used"]
    Accounts(open_database(settings)).add("kari", "admin", password=PASSWORD)
    kept = stored(settings)
    assert token not in kept and PASSWORD not in kept and "scrypt$" in kept
    revoked = client.post(f"/account/tokens/{me['tokens'][0]['id']}/revoke", headers=bearer(token))
    assert revoked.status_code == 200
    assert client.get("/api/account", headers=bearer(token)).status_code == 401


def test_an_admin_makes_and_disables_accounts_and_reads_the_audit_log(site):
    settings, client = site
    admin = account(settings, "admin", "admin")
    made = client.post("/admin/accounts", data={"name": "fhi-robot", "role": "publisher", "organisation": "fhi"},
                       headers=bearer(admin))
    assert made.status_code == 200 and made.json()["organisation"] == "fhi"
    unknown_org = client.post("/admin/accounts", data={"name": "x-robot", "role": "publisher", "organisation": "nope"},
                              headers=bearer(admin))
    assert unknown_org.status_code == 422 and unknown_org.json()["detail"][0]["field"] == "organisation"
    robot = client.post("/admin/accounts/fhi-robot/tokens", data={"label": "ci"}, headers=bearer(admin)).json()["token"]
    assert client.get("/api/account", headers=bearer(robot)).status_code == 200
    client.post("/admin/accounts/fhi-robot/disabled", data={"disabled": "true"}, headers=bearer(admin))
    assert client.get("/api/account", headers=bearer(robot)).status_code == 401

    log = client.get("/admin/audit", headers=bearer(admin)).json()
    actions = [(e["actor"], e["action"], e["target"]) for e in log["entries"]]
    assert actions == [("admin", "account.disable", "account:fhi-robot"),
                       ("admin", "token.create", "account:fhi-robot"),
                       ("admin", "account.create", "account:fhi-robot")]
    disabled = log["entries"][0]
    assert disabled["before"] == {"disabled": False} and disabled["after"] == {"disabled": True}
    assert disabled["organisation"] == "fhi" and disabled["at"]
    exported = client.get("/admin/audit", params={"format": "csv", "action": "account.create"}, headers=bearer(admin))
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["actor"], r["target"], json.loads(r["after"])["role"]) for r in rows] == [
        ("admin", "account:fhi-robot", "publisher")]
    lines = client.get("/admin/audit", params={"format": "jsonl"}, headers=bearer(admin)).text.splitlines()
    assert [json.loads(line)["action"] for line in lines][-1] == "account.create"
    page = client.get("/admin/audit?lang=nb", headers={**bearer(admin), **HTML})
    assert "account.disable" in page.text and "Endringslogg" in page.text


def test_the_audit_log_keeps_hostile_text_as_text(site):
    settings, client = site
    admin = account(settings, "admin", "admin")
    client.post("/account/tokens", data={"label": "<script>alert(1)</script>"}, headers=bearer(admin))
    page = client.get("/admin/audit", headers={**bearer(admin), **HTML}).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_the_command_line_makes_the_first_admin_and_its_token(tmp_path):
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(tmp_path / "data"), "CATALOGUE_SOURCES": str(DEMO_SOURCES)}
    cli = [sys.executable, "-m", "catalogue.cli", "accounts"]
    made = subprocess.run([*cli, "add", "root", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n",
                          env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    weak = subprocess.run([*cli, "add", "weak", "--role", "curator", "--password-stdin"], input="short\n",
                          env=env, capture_output=True, text=True)
    assert weak.returncode == 2 and "at least 12 characters" in weak.stderr
    bad_org = subprocess.run([*cli, "add", "p", "--role", "publisher", "--organisation", "nope", "--no-password"],
                             env=env, capture_output=True, text=True)
    assert bad_org.returncode == 2 and "'nope' is not a key of [publishers]" in bad_org.stderr
    token = subprocess.run([*cli, "token", "root"], env=env, capture_output=True, text=True).stdout.strip()
    settings = Settings(data_dir=tmp_path / "data", sources_file=DEMO_SOURCES, base_uri="http://catalogue.test/")
    client = TestClient(create_app(settings))
    assert client.get("/api/account", headers=bearer(token)).json()["account"]["role"] == "admin"
    listed = subprocess.run([*cli, "list"], env=env, capture_output=True, text=True).stdout
    assert listed.split() == ["root", "admin", "-", "active"]
    log = client.get("/admin/audit", headers=bearer(token)).json()["entries"]
    assert {e["action"] for e in log} == {"account.create", "token.create"}
    assert all(e["actor"].startswith("cli:") for e in log)


def test_a_person_changes_their_password_and_logs_in_with_the_new_one(site):
    settings, client = site
    account(settings, "kari", "curator", password=PASSWORD)
    csrf = log_in(client, "kari", PASSWORD)
    wrong = client.post("/account/password", data={"current": "not the password", "new": "x" * 12, "csrf": csrf})
    assert wrong.status_code == 403
    weak = client.post("/account/password", data={"current": PASSWORD, "new": "short", "csrf": csrf})
    assert weak.status_code == 422 and weak.json()["detail"][0]["field"] == "new"
    assert sessions(settings) == 1  # checking made no session
    changed = client.post("/account/password", data={"current": PASSWORD, "new": "a new long password", "csrf": csrf},
                          headers=HTML, follow_redirects=False)
    assert changed.status_code == 303 and changed.headers["location"] == "/login"
    assert client.get("/api/account").status_code == 401  # every session ended
    assert sessions(settings) == 0
    accounts = Accounts(open_database(settings))
    assert accounts.login("kari", PASSWORD, "10.0.0.3") is None
    assert accounts.login("kari", "a new long password", "10.0.0.3") is not None
