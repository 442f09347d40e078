"""Shared state in PostgreSQL (CATALOGUE_DATABASE_URL), on a real server the tests start: the
same migrations and SQL as the SQLite files, and two `catalogue serve` processes that share
one database share lists, shares and logins."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from catalogue.access.accounts import MAX_FAILURES_PER_ACCOUNT_ADDRESS, Accounts, TooManyFailures
from catalogue.access.audit import Audit
from catalogue.curation import mappings
from catalogue.curation.mappings import Curation
from catalogue.lists import _MIGRATIONS as LIST_MIGRATIONS
from catalogue.lists import Lists
from catalogue.search import EmbeddedBackend
from catalogue.settings import DEMO_SOURCES, Settings
from catalogue.storage.database import PostgreSQL, open_database
from catalogue.storage.sqlite import SchemaTooNew
from catalogue.storage.store import Store
from support import BASE_URI, DCAT_SOURCE, free_port, log_in, serving, settings_in, write_config
from test_search_conformance import DOCS

PASSWORD = "correct horse battery staple"
FODSELSVEKT = "https://helsevariabler.no/vocabulary/standard-variables/fodselsvekt"


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as db:
        return db.execute(sql).fetchall()


def test_state_lives_in_the_database_and_not_in_the_data_directory(tmp_path, database_url):
    settings = replace(settings_in(tmp_path), database_url=database_url)
    database = open_database(settings)
    accounts = Accounts(database)
    accounts.add("kari", "admin", password=PASSWORD)
    token = accounts.new_token("kari", "robot")
    secret, principal = accounts.login("kari", PASSWORD, "10.0.0.1")
    Audit(database).record("kari", "admin", "account.create", "account:kari", after={"note": "50 % ? 'quoted'"})
    lists = Lists(database)
    lists.add("a-list", "mfr/mfr/VEKT", 2010, 2020)
    shared = lists.share("a-list")

    again = open_database(settings)  # another process's view of the same database
    assert Accounts(again).session(secret) == principal and Accounts(again).bearer(token).account == "kari"
    assert Audit(again).entries(actor="kari")[1][0].after == {"note": "50 % ? 'quoted'"}
    assert [(i.variable, i.wanted_from) for i in Lists(again).shared(shared.code).items] == [("mfr/mfr/VEKT", 2010)]
    assert not tmp_path.joinpath("data").exists() or not list(tmp_path.joinpath("data").glob("*.sqlite"))
    # one schema per owner, each at its code's version
    assert sorted(rows(database_url, "SELECT owner, version FROM catalogue.versions")) == \
        [("accounts", 2), ("audit", 2), ("lists", len(LIST_MIGRATIONS))]


def test_timestamps_compare_as_time_and_ids_are_numbered(database_url):
    audit = Audit(PostgreSQL(database_url))
    for n in range(3):
        audit.record("ola", "curator", f"step.{n}", "x")
    total, entries = audit.entries(actor="ola", limit=2)
    assert total == 3 and [e.action for e in entries] == ["step.2", "step.1"]
    assert [e.id for e in audit.entries(actor="ola", limit=2, offset=2)[1]] == [1]
    collations = rows(database_url, "SELECT DISTINCT collation_name FROM information_schema.columns "
                                    "WHERE table_schema IN ('accounts', 'audit', 'lists') AND data_type = 'text'")
    assert collations == [("C",)]  # byte order, as SQLite's: ISO times compare as time in any locale


def test_parallel_guesses_check_at_most_the_limit_of_passwords(database_url):
    accounts = Accounts(PostgreSQL(database_url))
    accounts.add("kari", "curator", password=PASSWORD)

    def guess(n: int):
        try:
            return accounts.verify("kari", f"wrong guess {n}", "10.0.0.9")
        except TooManyFailures:
            return "refused"

    with ThreadPoolExecutor(4) as pool:  # threads: each with a connection of its own
        answers = list(pool.map(guess, range(MAX_FAILURES_PER_ACCOUNT_ADDRESS + 3)))
    assert answers.count(False) == MAX_FAILURES_PER_ACCOUNT_ADDRESS and answers.count("refused") == 3
    with pytest.raises(TooManyFailures):
        accounts.verify("kari", PASSWORD, "10.0.0.9")
    assert accounts.verify("kari", PASSWORD, "10.0.0.10")  # from elsewhere the owner still gets in


def test_a_later_migration_reaches_the_schema_and_a_newer_schema_is_refused(database_url):
    database = PostgreSQL(database_url)
    Lists(database).add("a-list", "kpr/kpr/alder")
    Lists(database).update("a-list", Lists(database).items("a-list")[0].model_copy(update={"note": "alder"}))

    def count_the_notes(db):  # a step SQL alone could not take
        assert db.dialect == "postgresql"
        for variable, note in db.execute("SELECT variable, note FROM items").fetchall():
            db.execute("UPDATE items SET note_length = ? WHERE variable = ?", (len(note), variable))

    later = (*LIST_MIGRATIONS, "ALTER TABLE items ADD COLUMN note_length INTEGER;", count_the_notes)
    with database.transaction("lists", later) as db:
        assert db.execute("SELECT variable, note_length FROM items").fetchall() == [("kpr/kpr/alder", 5)]

    with pytest.raises(SchemaTooNew) as refused:
        Lists(PostgreSQL(database_url)).items("a-list")
    message = str(refused.value)
    assert "schema lists" in message and f"version {len(later)}" in message and f"up to {len(LIST_MIGRATIONS)}" in message
    assert urlsplit(database_url).path in message and urlsplit(database_url).password not in message


def test_a_failing_migration_leaves_the_schema_as_it_was(database_url):
    database = PostgreSQL(database_url)
    Lists(database).add("a-list", "kpr/kpr/alder")
    failing = (*LIST_MIGRATIONS, "CREATE TABLE kept_apart (x TEXT); CREATE TABLE items (x TEXT);")  # items exists
    with pytest.raises(psycopg.errors.DuplicateTable):
        with database.transaction("lists", failing):
            pass
    assert rows(database_url, "SELECT version FROM catalogue.versions WHERE owner = 'lists'") == [(len(LIST_MIGRATIONS),)]
    assert rows(database_url, "SELECT to_regclass('lists.kept_apart')") == [(None,)]
    assert [i.variable for i in Lists(database).items("a-list")] == ["kpr/kpr/alder"]


def test_a_connection_the_server_ended_is_replaced(database_url):
    lists = Lists(PostgreSQL(database_url))
    lists.add("a-list", "kpr/kpr/alder")
    with psycopg.connect(database_url, autocommit=True) as admin:  # e.g. a restart of the server
        admin.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "  # waits until it has ended
                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    assert [i.variable for i in lists.items("a-list")] == ["kpr/kpr/alder"]


def test_the_setting_names_postgresql_and_messages_keep_its_password(tmp_path):
    with pytest.raises(ValueError, match="CATALOGUE_DATABASE_URL starts 'mysql'") as refused:
        Settings.from_env({"CATALOGUE_DATABASE_URL": "mysql://user:s3cret@db/catalogue"})
    assert "s3cret" not in str(refused.value)
    assert str(PostgreSQL("postgresql://user:s3cret@db.example:5433/catalogue")) == "postgresql://db.example:5433/catalogue"


def catalogue(*args: str, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "catalogue.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, **kwargs)


def test_a_database_out_of_reach_is_named_without_its_password(tmp_path, postgresql):
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(tmp_path / "data"),
           "CATALOGUE_DATABASE_URL": f"postgresql://catalogue:s3cret@127.0.0.1:{free_port()}/catalogue"}
    refused = catalogue("accounts", "list", env=env)
    assert refused.returncode == 2 and "s3cret" not in refused.stderr
    assert refused.stderr.startswith("error: postgresql://127.0.0.1:") and "/catalogue: connection" in refused.stderr
    wrong = {**env, "CATALOGUE_DATABASE_URL": postgresql.url("postgres").replace(postgresql.password, "s3cret")}
    refused = catalogue("accounts", "list", env=wrong)
    assert refused.returncode == 2 and "s3cret" not in refused.stderr and "password authentication failed" in refused.stderr


def test_two_servers_sharing_a_database_share_lists_logins_harvests_and_curation(tmp_path, database_url, make_config,
                                                                                 served, store_server):
    """... and the graph store server: the graphs a harvest or a curator publishes are read
    from it by both."""
    data = tmp_path / "data"
    EmbeddedBackend(data / "index").rebuild(DOCS)
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(data), "CATALOGUE_SOURCES": str(DEMO_SOURCES),
           "CATALOGUE_BASE_URI": BASE_URI, "CATALOGUE_SEARCH": "embedded", "CATALOGUE_DATABASE_URL": database_url,
           "CATALOGUE_STORE_URL": store_server}
    made = catalogue("accounts", "add", "kari", "--role", "curator", "--password-stdin", env=env, input=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr

    settings = Settings(data_dir=data, sources_file=DEMO_SOURCES, base_uri=BASE_URI)
    with ExitStack() as servers:
        bases = [servers.enter_context(serving(settings, tmp_path / f"serve-{n}.log", CATALOGUE_DATABASE_URL=database_url,
                                               CATALOGUE_STORE_URL=store_server)).url for n in range(2)]
        one, other = (httpx.Client(base_url=base, timeout=30) for base in bases)

        # a list made on one opens on the other, and so does its share code
        for variable_id in ("mfr/mfr/VEKT", "npr/somatikk/HDIAG"):
            assert one.post("/list/items", data={"variable": variable_id}).status_code == 303
        other.cookies.set("variable_list", one.cookies["variable_list"])
        assert [(i["variable"], i["found"]) for i in other.get("/api/list").json()["items"]] == \
            [("mfr/mfr/VEKT", True), ("npr/somatikk/HDIAG", True)]
        code = other.post("/list/share").headers["location"].rsplit("/", 1)[1]
        assert [i["variable"] for i in one.get(f"/api/lists/{code}").json()["items"]] == ["mfr/mfr/VEKT", "npr/somatikk/HDIAG"]

        # a login on one is a session on the other, and a logout on the other ends it on both
        csrf = log_in(one, "kari", PASSWORD)
        other.cookies.set("session", one.cookies["session"])
        assert other.get("/api/account").json()["account"]["name"] == "kari"
        assert other.post("/logout", data={"csrf": csrf}, headers={"Accept": "text/html"}).status_code == 303
        assert one.get("/api/account").status_code == 401
        assert {"account.create", "login"} <= {e.action for e in Audit(PostgreSQL(database_url)).entries()[1]}

        # a harvest by a separate `catalogue harvest` is seen by both
        def place_of_death(client: httpx.Client) -> bool:
            found = client.get("/api/variables", params={"q": "dødssted"}).json()["items"]
            return "DODSSTED" in {hit["name"] for hit in found}
        assert not place_of_death(one) and not place_of_death(other)
        config = make_config(DCAT_SOURCE.format(url=served[1]))
        harvested = catalogue("harvest", env={**env, "CATALOGUE_SOURCES": str(config.path)})
        assert harvested.returncode == 0, harvested.stdout + harvested.stderr
        assert place_of_death(one) and place_of_death(other)
        # ... with its history on the variable's page and its run in the harvest log
        [hit] = [h for h in one.get("/api/variables", params={"q": "dødssted"}).json()["items"]
                 if h["name"] == "DODSSTED"]
        [run] = one.get("/api/harvests", params={"source": "dar"}).json()["runs"]
        for client in (one, other):
            history = client.get(f"/api/variables/{hit['id']}").json()["history"]
            assert [(e["change"], e["source"], e["run"]) for e in history] == [("added", "dar", run["id"])]
            shown = client.get(f"/api/harvests/{run['id']}").json()
            assert (shown["run"]["status"], shown["run"]["added"]) == ("ok", run["added"]) and run["added"] > 0

        # a mapping a curator approves on one is listed, and shown on the variable's page, by the other
        token = catalogue("accounts", "token", "kari", env=env)
        assert token.returncode == 0, token.stderr
        curator = {"Authorization": f"Bearer {token.stdout.strip()}", "Accept": "application/json"}
        made = one.post("/curation/mappings", data={"subject": hit["id"], "object": FODSELSVEKT}, headers=curator)
        assert made.status_code == 200, made.text
        assert one.post(f"/curation/mappings/{made.json()['id']}", data={"state": "approved"},
                        headers=curator).json()["state"] == "approved"
        listed = other.get("/api/curation", params={"state": "approved"}, headers=curator).json()["mappings"]
        assert [(m["object"], m["reviewed_by"]) for m in listed] == [(FODSELSVEKT, "kari")]
        same = other.get(f"/api/variables/{hit['id']}").json()["same_variables"]
        assert [(s["kind"], s["label"]["nb"]) for s in same] == [("standard_variable", "Fødselsvekt")]
        assert not list(data.glob("*.sqlite*"))  # all of it in PostgreSQL
        assert not (data / "store").exists()  # and the graphs on the store server


def test_owners_write_sqlite_sql_and_a_transaction_inside_another_is_refused(database_url):
    database = PostgreSQL(database_url)
    with database.transaction("lists", LIST_MIGRATIONS) as db:
        assert db.execute("SELECT 'a ? and 100 %', ?", ("b",)).fetchone() == ("a ? and 100 %", "b")
        db.execute("INSERT INTO items (list, position, variable) VALUES (?, ?, ?)", ("a-list", 1, "kpr/kpr/alder"))
        with pytest.raises(RuntimeError, match="inside another"):  # its commit would commit this one's writes
            Lists(database).items("a-list")
    assert [i.variable for i in Lists(database).items("a-list")] == ["kpr/kpr/alder"]


def test_curation_keeps_a_pair_once_either_way_round_and_scores_whole(database_url, tmp_path):
    """What SQLite's schema means holds in PostgreSQL's words: the mapping index's min/max of
    a pair, and REAL as eight bytes (a candidate's score comes back as it was proposed)."""
    curation = Curation(PostgreSQL(database_url), Store(tmp_path / "data", BASE_URI))  # the store: for writes
    with curation.read() as db:
        made = mappings.propose(db, "https://a.test/x", "https://a.test/y", "closeMatch", "kari", "a", "a",
                                score=0.8712345678)
        assert mappings.get(db, made.id).score == 0.8712345678
    with pytest.raises(psycopg.errors.UniqueViolation), curation.read() as db:
        db.execute("INSERT INTO mappings (subject, object, relation, state, subject_source, object_source, "
                   "proposed_by, proposed_at) VALUES (?, ?, 'closeMatch', 'proposed', 'a', 'a', 'kari', '')",
                   ("https://a.test/y", "https://a.test/x"))


def test_of_two_scheduling_servers_one_harvests_until_it_stops(tmp_path, database_url, fixture_server):
    """Each server has a data directory of its own here, as if the data directory's locks did
    not reach across their hosts: only the database's lock keeps the second from harvesting."""
    config = write_config(tmp_path, DCAT_SOURCE.replace('id = "dar"', 'id = "dar"\ninterval = "1h"')
                          .format(url=fixture_server.url))
    with ExitStack() as stack:
        servers = [stack.enter_context(serving(replace(settings_in(tmp_path / name), sources_file=config.path),
                                               tmp_path / f"{name}.log", "--schedule", "--check-every", "1",
                                               CATALOGUE_DATABASE_URL=database_url)) for name in ("a", "b")]

        def harvested() -> list[int]:
            return [len(httpx.get(f"{s.url}/api/harvests").json()["runs"]) for s in servers]

        def until(done, seconds: float = 120) -> list[int]:
            deadline = time.monotonic() + seconds  # against a hang only
            while not done(counts := harvested()) and time.monotonic() < deadline:
                time.sleep(0.5)
            return counts

        first = until(any)
        assert sorted(first) == [0, 1], first
        leader, follower = (servers[0], servers[1]) if first[0] else (servers[1], servers[0])
        for _ in range(6):  # the follower checks every second: three seconds of checks, none harvesting
            assert harvested() == first
            time.sleep(0.5)

        leader.process.terminate()
        leader.process.wait(timeout=30)
        servers.remove(leader)
        assert until(all) == [1]  # the follower took the lock over, and harvested
