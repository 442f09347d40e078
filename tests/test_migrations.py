"""Upgrading: a data directory made by an earlier release opens with this one, its SQLite
files brought to the current schema, and everything its users kept is still there."""
from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from rdflib.namespace import SKOS

from catalogue.access.audit import Audit
from catalogue.cli import main
from catalogue.lists import _MIGRATIONS as LIST_MIGRATIONS
from catalogue.lists import Lists
from catalogue.settings import DEMO_SOURCES, Settings
from catalogue.site.app import create_app
from catalogue.storage.sqlite import SchemaTooNew, transaction
from support import FIXTURES, log_in

# What the users of release 0.1.0 kept in tests/fixtures/datadir-0.1.0 (made with that
# release: kpr and microdata harvested from the demo, then this through the site).
RELEASE_0_1_0 = FIXTURES / "datadir-0.1.0"
BASE = "http://127.0.0.1:8000/"
CURATOR = ("kari", "kari's long password")
LIST_ID, SHARE_CODE = "bFYelETezcHch1fv8ND_s7GkalrgssgB", "CHZBN8G3"
SHARED_AT = datetime(2026, 12, 4, 20, 1, tzinfo=timezone.utc)
LISTED = ["microdata/microdata/BEFOLKNING_FOEDSELSAAR", "microdata/microdata/BEFOLKNING_KJOENN", "kpr/kpr/alder"]
SQLITE_FILES = ("accounts", "audit", "curation", "history", "lists")


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


@pytest.fixture
def old_data(tmp_path) -> Path:
    """A copy of release 0.1.0's data directory (the fixture itself stays as that release left it)."""
    return Path(shutil.copytree(RELEASE_0_1_0, tmp_path / "data"))


def test_a_data_directory_of_release_0_1_0_opens_with_all_its_users_kept(old_data):
    assert {user_version(old_data / f"{name}.sqlite") for name in SQLITE_FILES} == {0}  # before versions
    settings = Settings(data_dir=old_data, sources_file=DEMO_SOURCES, base_uri=BASE)
    client = TestClient(create_app(settings), base_url=BASE.rstrip("/"))

    csrf = log_in(client, *CURATOR)  # the account and its password
    account = client.get("/api/account").json()
    assert csrf and account["account"]["name"] == CURATOR[0] and [t["label"] for t in account["tokens"]] == ["fixture"]
    approved = client.get("/api/curation", params={"state": "approved"}).json()
    assert [(m["subject"], m["reviewed_by"]) for m in approved["mappings"]] == \
        [(f"{BASE}id/variable/kpr/kpr/kjonn", CURATOR[0])]
    catalog = Graph().parse(data=client.get("/catalog").text, format="turtle")
    assert (URIRef(f"{BASE}id/variable/kpr/kpr/kjonn"), SKOS.exactMatch,
            URIRef("https://helsevariabler.no/vocabulary/standard-variables/kjonn")) in catalog
    actions = [e.action for e in Audit(old_data).entries(actor=CURATOR[0])[1]]
    assert actions == ["login", "mapping.review", "mapping.propose"]  # today's login beside the old entries

    client.cookies.set("variable_list", LIST_ID)  # the applicant's browser still holds its list
    items = client.get("/api/list").json()["items"]
    assert [(i["variable"], i["found"]) for i in items] == [(v, True) for v in LISTED]
    assert (items[0]["note"], items[0]["wanted_from"], items[0]["wanted_to"]) == ("fødselsvekt per år", 2010, 2020)
    shared = Lists(old_data).shared(SHARE_CODE, now=SHARED_AT)
    assert [i.variable for i in shared.items] == LISTED

    history = client.get("/api/variables/kpr/kpr/alder").json()["history"]
    assert [(e["change"], e["source"]) for e in history] == [("added", "kpr")]
    assert client.get("/api/variables", params={"q": "fødselsår"}).json()["total"] >= 1

    # The new code writes to the old files, now at the current schema.
    assert client.post("/list/items", data={"variable": "kpr/kpr/kjonn"},
                       headers={"Origin": BASE.rstrip("/"), "Accept": "application/json"}).json()["count"] == 4
    assert user_version(old_data / "lists.sqlite") == len(LIST_MIGRATIONS)
    assert user_version(old_data / "audit.sqlite") == 2  # with the index the audit page's actor filter uses
    with sqlite3.connect(old_data / "audit.sqlite") as db:
        plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN SELECT id FROM entries WHERE actor = ? "
                                                     "ORDER BY id DESC", ("kari",)))
    assert "entries_actor" in plan


def test_a_migration_added_later_reaches_an_existing_file(old_data):
    path = old_data / "lists.sqlite"

    def number_the_notes(db: sqlite3.Connection) -> None:  # a step SQL alone could not take
        for rowid, note in db.execute("SELECT rowid, note FROM items").fetchall():
            db.execute("UPDATE items SET note_length = ? WHERE rowid = ?", (len(note), rowid))

    later = (*LIST_MIGRATIONS, "ALTER TABLE items ADD COLUMN note_length INTEGER;", number_the_notes)
    with transaction(path, later) as db:
        rows = db.execute("SELECT variable, note_length FROM items WHERE list = ? ORDER BY position",
                          (LIST_ID,)).fetchall()
    assert rows == [(LISTED[0], len("fødselsvekt per år")), (LISTED[1], 0), (LISTED[2], 0)]
    assert user_version(path) == len(later)

    # This release's code now meets a file from a later one: it refuses, naming both versions.
    with pytest.raises(SchemaTooNew) as refused:
        Lists(old_data).items(LIST_ID)
    assert str(path) in str(refused.value)
    assert f"version {len(later)}" in str(refused.value) and f"up to {len(LIST_MIGRATIONS)}" in str(refused.value)


def test_a_failing_migration_leaves_the_file_as_it_was(old_data):
    path = old_data / "lists.sqlite"
    failing = (*LIST_MIGRATIONS, "CREATE TABLE kept_apart (x); CREATE TABLE items (x);")  # items exists
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        with transaction(path, failing):
            pass
    assert user_version(path) == 0
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'kept_apart'").fetchone() is None
        assert db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == len(LISTED)


def test_a_new_file_starts_at_the_current_version(tmp_path):
    Lists(tmp_path).add("a-list", "kpr/kpr/alder")
    assert user_version(tmp_path / "lists.sqlite") == len(LIST_MIGRATIONS)
    with sqlite3.connect(tmp_path / "lists.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # readers go on while one writes


def test_the_command_refuses_a_data_directory_of_a_later_release(old_data, monkeypatch, capsys):
    with sqlite3.connect(old_data / "accounts.sqlite") as db:
        db.execute("PRAGMA user_version = 99")
    monkeypatch.setenv("CATALOGUE_DATA_DIR", str(old_data))
    assert main(["accounts", "list"]) == 2
    assert f"error: {old_data / 'accounts.sqlite'}: its schema is version 99" in capsys.readouterr().err
