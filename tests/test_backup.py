"""`catalogue backup DEST`: a copy of a live data directory that, restored into a fresh one,
serves the same catalogue with everything its users kept."""
from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from catalogue.cli import main
from catalogue.settings import DEMO_SOURCES, Settings
from catalogue.site.app import create_app
from support import FIXTURES, log_in

BASE = "http://127.0.0.1:8000/"
ORIGIN = {"Origin": BASE.rstrip("/"), "Accept": "application/json"}
CURATOR = ("kari", "kari's long password")  # what tests/fixtures/datadir-0.1.0 holds
LIST_ID = "bFYelETezcHch1fv8ND_s7GkalrgssgB"


def site(data_dir: Path) -> TestClient:
    settings = Settings(data_dir=data_dir, sources_file=DEMO_SOURCES, base_uri=BASE)
    return TestClient(create_app(settings), base_url=BASE.rstrip("/"))


def catalogue(client: TestClient) -> tuple[list[str], dict]:
    """What an applicant sees: every variable found, and one variable's page with its history."""
    found = client.get("/api/variables", params={"size": 100}).json()
    return sorted(item["id"] for item in found["items"]), client.get("/api/variables/kpr/kpr/alder").json()


@pytest.fixture
def live(tmp_path, monkeypatch) -> Path:
    data = Path(shutil.copytree(FIXTURES / "datadir-0.1.0", tmp_path / "live"))
    monkeypatch.setenv("CATALOGUE_DATA_DIR", str(data))
    monkeypatch.setenv("CATALOGUE_BASE_URI", BASE)
    return data


def test_a_backup_restored_into_a_fresh_directory_serves_the_same_catalogue(live, tmp_path, capsys):
    before = site(live)
    before.cookies.set("variable_list", LIST_ID)
    variables, page = catalogue(before)
    assert variables and page["history"]
    # The site is running: a reader keeps the list file open, so the item added now is still
    # in its write-ahead log, not in lists.sqlite itself; copying that file alone would lose it.
    with closing(sqlite3.connect(live / "lists.sqlite")) as reader:
        reader.execute("SELECT COUNT(*) FROM items").fetchone()
        assert before.post("/list/items", data={"variable": "kpr/kpr/kjonn"}, headers=ORIGIN).json()["count"] == 4
        assert (live / "lists.sqlite-wal").stat().st_size > 0

        assert main(["backup", str(tmp_path / "backup")]) == 0
    assert "backed up generation" in capsys.readouterr().out
    assert not (tmp_path / "backup" / "index").exists()  # rebuilt from the graphs, not copied

    restored = site(Path(shutil.copytree(tmp_path / "backup", tmp_path / "restored")))
    restored.cookies.set("variable_list", LIST_ID)
    assert catalogue(restored) == (variables, page)
    assert [i["variable"] for i in restored.get("/api/list").json()["items"]][-1] == "kpr/kpr/kjonn"
    assert log_in(restored, *CURATOR)  # accounts and passwords come along
    approved = restored.get("/api/curation", params={"state": "approved"}).json()["mappings"]
    assert [m["subject"] for m in approved] == [f"{BASE}id/variable/kpr/kpr/kjonn"]


def test_a_backup_goes_into_a_new_folder_outside_the_data_directory(live, tmp_path, capsys):
    kept = tmp_path / "elsewhere"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")

    assert main(["backup", str(kept)]) == 2
    assert "already exists and is not an empty folder" in capsys.readouterr().err
    assert [p.name for p in kept.iterdir()] == ["notes.txt"]
    assert main(["backup", str(live / "backups")]) == 2
    assert "inside the data directory" in capsys.readouterr().err and not (live / "backups").exists()


def test_a_folder_without_a_catalogue_is_not_backed_up(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CATALOGUE_DATA_DIR", str(tmp_path / "empty"))

    assert main(["backup", str(tmp_path / "backup")]) == 2
    assert "no state.json" in capsys.readouterr().err and not (tmp_path / "backup").exists()
