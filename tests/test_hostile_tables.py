"""Hostile and unlucky spreadsheets and CSV files: too many rows or columns, a huge cell,
text in the wrong or in mixed encodings, and uploads whose check needs more memory or time
than it may have. Each fails cleanly, naming what to fix, and changes nothing stored: the
source keeps its last good graph and every other source's graph file stays byte for byte."""
from __future__ import annotations

import hashlib
import io
import re
import resource
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from catalogue.pipeline.harvest import harvest
from catalogue.site.app import create_app
from support import EU_HEALTH, account, bearer, by_name, settings_in, write_config

HEADER = "Variabelnavn;Variabel;Fra;Til\n"
GOOD = HEADER + "ROYK;Røykestatus;2015;\nVEKT;Fødselsvekt;1967;\n"

LIMITS = "max_rows = 20\nmax_columns = 8\nmax_cell_chars = 200\n"
SOURCES = """
[[source]]
id = "liste"
name = "Registeret – variabelliste"
publisher = "fhi"
kind = "table"
url = "{list_url}"
{extra}
columns = {{ name = "Variabelnavn", label = "Variabel", start = "Fra", end = "Til" }}

[[source.dataset]]
id = "liste"
title = {{ nb = "Registeret" }}
description = {{ nb = "Variabler i registeret." }}
themes = ["{theme}"]
contact = {{ name = {{ nb = "Registeret" }}, email = "register@example.no" }}

[[source]]
id = "annen"
name = "Et annet register"
publisher = "fhi"
kind = "table"
url = "{url}/annen.csv"
columns = {{ name = "Variabelnavn", label = "Variabel", start = "Fra", end = "Til" }}

[[source.dataset]]
id = "annen"
title = {{ nb = "Et annet register" }}
description = {{ nb = "Variabler i et annet register." }}
themes = ["{theme}"]
contact = {{ name = {{ nb = "Registeret" }}, email = "annet@example.no" }}
"""


@pytest.fixture
def catalogue(tmp_path, serve):
    """Both sources harvested once from good files; `again(file, extra)` serves `file` as
    the list's new edition, harvests it alone and returns its run."""
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "liste.csv").write_text(GOOD, encoding="utf-8")
    (folder / "annen.csv").write_text(HEADER + "ALDER;Alder;2000;\n", encoding="utf-8")
    url = serve(folder).url
    settings = settings_in(tmp_path)

    def configured(file: str = "liste.csv", extra: str = ""):
        return write_config(tmp_path, SOURCES.format(url=url, list_url=f"{url}/{file}", extra=LIMITS + extra,
                                                     theme=EU_HEALTH))

    assert {r.status for r in harvest(settings, configured())} == {"ok"}

    def again(file: str, content: bytes, extra: str = ""):
        (folder / file).write_bytes(content)
        [run] = harvest(settings, configured(file, extra), only=["liste"])
        return run

    return settings, again


def graphs(settings) -> dict[str, str]:
    """Every source's stored graph file, by content hash (the catalogue's own description
    is written again by every harvest)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((settings.data_dir / "graphs").glob("*.nt")) if not p.name.startswith("catalogue.")}


def workbook(rows: list[list], merged: list[str] = ()) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Variabler"
    for row in rows:
        sheet.append(row)
    for cells in merged:
        sheet.merge_cells(cells)
    saved = io.BytesIO()
    book.save(saved)
    return saved.getvalue()


def refused(again, file: str, content: bytes, extra: str = "") -> str:
    """The error of a harvest of this file, which must fail and change no graph."""
    run = again(file, content, extra)
    assert run.status == "failed", run
    return run.error


@pytest.mark.parametrize("file, content, message", [
    ("liste.xlsx", workbook([["Variabelnavn", "Variabel", "Fra", "Til"]]
                            + [[f"V{i}", f"Variabel {i}", 2000, None] for i in range(30)]),
     "sheet 'Variabler', row 21: more than 20 rows (the source's max_rows)"),
    ("liste.csv", (HEADER + "".join(f"V{i};Variabel {i};2000;\n" for i in range(30))).encode(),
     "row 21: more than 20 rows (the source's max_rows)"),
    ("liste.xlsx", workbook([["Variabelnavn", "Variabel", "Fra", "Til"], ["V1", "Variabel", 2000, None]
                             + [None] * 10 + ["stray"]]),
     "sheet 'Variabler', row 2: a value in column O, past the limit of 8 columns (the source's max_columns)"),
    ("liste.csv", (HEADER + f"V1;{'x' * 201};2000;\n").encode(),
     "row 2, column 2: a cell of 201 characters, more than the limit of 200 (the source's max_cell_chars)"),
    ("liste.csv", (HEADER + f"V1;{'x' * 200_000};2000;\n").encode(),  # past the CSV reader's own limit
     "row 2: a cell is longer than the limit of 200 characters (the source's max_cell_chars)"),
    ("liste.xlsx", workbook([["Variabelnavn", "Variabel", "Fra", "Til"], ["V1", "x" * 201, 2000, None]]),
     "sheet 'Variabler', row 2, column B: a cell of 201 characters, more than the limit of 200"),
    ("liste.xlsx", workbook([["Variabelnavn", "Variabel", "Fra", "Til"], ["V1", "Variabel", 2000, None]],
                            merged=[f"F{r}:G{r}" for r in range(1, 22)]),
     "sheet 'Variabler': more than 20 merged cells (the source's max_rows)"),
    ("liste.xlsx", workbook([["Variabelnavn", "Variabel", "Fra", "Til"], ["V1", "Variabel", 2000, None]],
                            merged=["A3:E4", "C3:G4"]),  # Excel makes no such thing
     "sheet 'Variabler', row 3: merged cells overlap"),
])
def test_a_list_past_a_limit_fails_naming_where_and_the_limit_and_changes_no_graph(catalogue, file, content,
                                                                                    message):
    settings, again = catalogue
    before = graphs(settings)

    error = refused(again, file, content)

    assert message in error and file in error
    assert graphs(settings) == before


def test_a_workbook_that_unpacks_past_its_limit_is_refused_before_it_is_read(catalogue):
    settings, again = catalogue
    before = graphs(settings)
    rows = [["Variabelnavn", "Variabel", "Fra", "Til"], ["V1", "Variabel", 2000, None]]

    error = refused(again, "liste.xlsx", workbook(rows), "max_unpacked_bytes = 2000")

    assert re.search(r"the workbook unpacks to \d+ bytes, more than the limit of 2000 "
                     r"\(the source's max_unpacked_bytes\)", error)
    assert graphs(settings) == before


def test_the_limits_apply_to_the_rows_read_so_a_huge_sheet_stops_early(catalogue):
    """A sheet far past the limit is refused at the first row past it, long before its end."""
    settings, again = catalogue
    rows = [["Variabelnavn", "Variabel", "Fra", "Til"]] + [[f"V{i}", "Variabel", 2000, None] for i in range(5000)]

    error = refused(again, "liste.xlsx", workbook(rows))

    assert "row 21: more than 20 rows" in error


def test_text_in_mixed_encodings_is_refused_naming_row_column_and_bytes(catalogue):
    settings, again = catalogue
    before = graphs(settings)
    mixed = GOOD.encode("utf-8") + "SVLEN;Svangerskapslengde i uker;1967;\nBMI;Kroppsmasseindeks ('kg/m²');1999;\n".encode("cp1252")

    error = refused(again, "liste.csv", mixed)

    assert "row 5, column 2: b'\\xb2' is not utf-8-sig text" in error
    assert "mixed encodings" in error
    assert graphs(settings) == before


def test_windows_1252_is_refused_naming_the_encoding_option_and_read_with_it(catalogue):
    settings, again = catalogue
    before = graphs(settings)
    windows = (GOOD + "SVLEN;Svangerskapslengde – uker;1967;\n").encode("cp1252")

    error = refused(again, "liste.csv", windows)

    assert "row 2, column 2: b'\\xf8' is not utf-8-sig text" in error
    assert 'the whole file reads as Windows-1252 (Latin-1): if that is what it is, set the source\'s option ' \
           'encoding = "cp1252"' in error
    assert graphs(settings) == before

    run = again("liste.csv", windows, 'encoding = "cp1252"')

    assert run.status == "ok" and run.added == 1  # SVLEN; ROYK and VEKT as before
    assert by_name(settings)["SVLEN"].label == {"nb": "Svangerskapslengde – uker"}
    assert by_name(settings)["ROYK"].label == {"nb": "Røykestatus"}


def test_a_byte_not_in_the_configured_encoding_is_refused_too(catalogue):
    _, again = catalogue

    error = refused(again, "liste.csv", GOOD.encode("cp1252") + b"X;Ugyldig \x81;2000;\n", 'encoding = "cp1252"')

    assert "row 4, column 2: b'\\x81' is not cp1252 text (is the source's encoding option right?)" in error


def test_a_utf8_file_with_a_byte_order_mark_is_read(catalogue):
    settings, again = catalogue

    run = again("liste.csv", GOOD.replace("VEKT", "VEKT2").encode("utf-8-sig"))

    assert run.status == "ok" and (run.added, run.removed) == (1, 1)


def test_an_unknown_encoding_fails_the_source_naming_the_option(catalogue):
    _, again = catalogue

    error = refused(again, "liste.csv", GOOD.encode(), 'encoding = "utf-9"')

    assert "encoding" in error and "unknown encoding 'utf-9'" in error


# -- Uploads, checked in a bounded process --------------------------------------------

@pytest.fixture
def site(tmp_path, serve):
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "annen.csv").write_text(HEADER + "ALDER;Alder;2000;\n", encoding="utf-8")
    # The list is published by upload, within the default limits.
    config = write_config(tmp_path, SOURCES.format(url=serve(folder).url, list_url="upload:", extra="",
                                                   theme=EU_HEALTH))
    settings = replace(settings_in(tmp_path), sources_file=config.path)
    token = account(settings, "robot", "publisher", "fhi")
    harvest(settings, config)
    return settings, config, token


def upload(settings, token: str, body: bytes, dry_run: bool = False):
    client = TestClient(create_app(settings))
    return client.post("/sources/liste/publish", content=body, params={"dry_run": str(dry_run).lower()},
                       headers={**bearer(token), "Content-Type": "text/csv"})


def stored(settings) -> dict[str, str]:
    return {str(p.relative_to(settings.data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(settings.data_dir.rglob("*"))
            if p.is_file() and not p.name.startswith(("accounts.sqlite", "audit.sqlite", ".lock"))}


@pytest.mark.parametrize("limits, setting, said", [
    # The time limit is only there so that a check stuck past its memory cannot hold the test.
    ({"upload_memory": 200 * 2**20, "upload_timeout": 120}, "CATALOGUE_UPLOAD_MEMORY",
     "the memory limit of 209,715,200 bytes"),
    ({"upload_timeout": 1.0}, "CATALOGUE_UPLOAD_TIMEOUT", "took longer than the limit of 1 s"),
])
def test_an_upload_whose_check_passes_a_limit_is_refused_and_the_server_answers_on(site, limits, setting, said):
    settings, _, token = site
    before, own_limit = stored(settings), resource.getrlimit(resource.RLIMIT_AS)
    # 100,000 variables (the most rows by default): far more than 200 MiB hold.
    body = (HEADER + "".join(f"V{i};Variabel {i};2000;\n" for i in range(99_999))).encode()

    for dry_run in (True, False):
        answer = upload(replace(settings, **limits), token, body, dry_run=dry_run)

        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"].startswith("source 'liste': checking 'upload' ")
        assert said in answer.json()["detail"] and setting in answer.json()["detail"]
    assert stored(settings) == before
    assert resource.getrlimit(resource.RLIMIT_AS) == own_limit  # the server's own process is not limited
    assert upload(settings, token, GOOD.encode(), dry_run=True).status_code == 200  # and answers on


def test_an_upload_is_checked_and_published_as_the_dry_run_reported(site):
    settings, config, token = site
    body = (GOOD + "SVLEN;Svangerskapslengde;31.02.2001;\n").encode()

    dry = upload(settings, token, body, dry_run=True)
    published = upload(settings, token, body)

    assert dry.status_code == published.status_code == 200, (dry.text, published.text)
    dry, published = dry.json(), published.json()
    assert dry["added"] == published["added"]
    assert sorted(published["added"]) == ["dataset liste", "variable liste/ROYK", "variable liste/VEKT"]
    assert dry["held_back"] == published["held_back"] == ["variable liste/SVLEN"]
    assert published["status"] == "ok"
    [run] = harvest(settings, config, only=["liste"])  # reads the publication: nothing new
    assert run.status == "unchanged"
