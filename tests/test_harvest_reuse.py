"""A changed record costs that record: a re-harvest makes only the records whose input
changed. A record made from the same rows, with the same configuration, publisher and code,
as its stored version is taken as stored; the source's graph is what a harvest into an
empty data directory makes of the same file."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from catalogue.pipeline import harvest as harvesting
from catalogue.pipeline.harvest import harvest
from catalogue.settings import DEMO_SOURCES
from catalogue.site.app import create_app
from support import CONFIG_HEAD, graph_lines, settings_in

DEMO_FILES = DEMO_SOURCES.parent / "files"
XSD = "http://www.w3.org/2001/XMLSchema#"
LIST = "mfr-variabelliste.csv"  # the MFR variable list, from the codebook of a real extract


def mfr_source(url: str) -> str:
    """The demo's MFR source, read from `url`."""
    text = DEMO_SOURCES.read_text(encoding="utf-8")
    start = text.index('[[source]]\nid = "mfr"')
    return text[start:text.index("[[source]]", start + 1)].replace("{demo}", url)


@pytest.fixture
def mfr(tmp_path, serve):
    folder = tmp_path / "served"
    folder.mkdir()
    shutil.copy(DEMO_FILES / LIST, folder / LIST)
    return folder, serve(folder).url


def fresh(tmp_path, name: str, config) -> list[str]:
    """The graph a harvest into an empty data directory makes of what is served now."""
    settings = settings_in(tmp_path / name)
    assert [r.status for r in harvest(settings, config)] == ["ok"]
    return graph_lines(settings, "mfr")


def edit(folder, change) -> None:
    """Change the served list's rows (lists of cells, the header first)."""
    path = folder / LIST
    rows = [line.split(";") for line in path.read_text(encoding="utf-8").splitlines()]
    change(rows)
    path.write_text("".join(";".join(cells) + "\n" for cells in rows), encoding="utf-8")


def relabel(rows: list[list[str]], name: str, label: str) -> None:
    next(cells for cells in rows if cells[0] == name)[1] = label


def test_a_changed_row_makes_its_records_and_the_rest_are_taken_as_stored(tmp_path, settings, make_config, mfr):
    folder, url = mfr
    config = make_config(mfr_source(url))
    first = harvest(settings, config)[0]
    assert (first.status, first.reused) == ("ok", 0)
    # FSTART (initiation of delivery) has its codes inline: a variable and a code list titled by its label.
    edit(folder, lambda rows: relabel(rows, "FSTART", "Fødselsstart (igangsetting)"))
    again = harvest(settings, config)[0]
    assert (again.status, again.changed, again.added, again.removed) == ("ok", 2, 0, 0)
    # Made: the variable, its code list, and the dataset, whose coverage reads every variable.
    assert (again.seen, again.reused) == (first.seen, first.seen - 3)
    assert graph_lines(settings, "mfr") == fresh(tmp_path, "fresh", config)
    assert any('"Fødselsstart (igangsetting)"@nb' in line for line in graph_lines(settings, "mfr"))
    # The run's page says so, to the registry holder who changed the row.
    page = TestClient(create_app(settings)).get(f"/harvests/{again.id}", params={"lang": "en"}).text
    assert re.search(rf"<dt>Unchanged, taken as stored \(the same input\)</dt><dd>{again.reused}</dd>", page)
    # Taken as stored, a version keeps its fingerprint: the next change costs its record again.
    edit(folder, lambda rows: relabel(rows, "VEKT", "Barnets vekt (gram)"))
    third = harvest(settings, config)[0]
    assert (third.changed, third.reused) == (1, first.seen - 2)
    assert graph_lines(settings, "mfr") == fresh(tmp_path, "fresh-again", config)


def test_a_changed_configuration_makes_every_record_again(tmp_path, settings, make_config, mfr):
    folder, url = mfr
    harvest(settings, make_config(mfr_source(url)))
    # The same file, its whole numbers ("Heltall") now read as decimals: the rows' cells are
    # the same, what is made of them is not.
    config = make_config(mfr_source(url).replace(
        'delimiter = ";"', f'delimiter = ";"\nvalue_types = {{ heltall = "{XSD}decimal" }}'))
    again = harvest(settings, config)[0]
    assert (again.status, again.reused) == ("ok", 0)
    assert again.changed > 0
    assert graph_lines(settings, "mfr") == fresh(tmp_path, "fresh", config)
    assert not any(f"<{XSD}integer>" in line for line in graph_lines(settings, "mfr"))


def test_other_code_makes_every_record_again(settings, make_config, mfr, monkeypatch):
    folder, url = mfr
    config = make_config(mfr_source(url))
    harvest(settings, config)
    edit(folder, lambda rows: relabel(rows, "VEKT", "Barnets vekt (gram)"))
    monkeypatch.setattr(harvesting, "_making_code", lambda: "a later version of the code")
    again = harvest(settings, config)[0]
    assert (again.status, again.changed, again.reused) == ("ok", 1, 0)


def stripped(run) -> set[str]:
    """The records the run warns of for characters it removed."""
    return {w.record for w in run.warnings if "removed U+0007" in w.message}


def test_a_record_whose_characters_were_stripped_is_made_and_warned_of_on_every_harvest(
        tmp_path, settings, make_config, mfr):
    folder, url = mfr
    config = make_config(mfr_source(url))
    edit(folder, lambda rows: relabel(rows, "VEKT", "Barnets vekt\x07"))
    first = harvest(settings, config)[0]
    assert stripped(first) == {"variable mfr/VEKT"}
    edit(folder, lambda rows: relabel(rows, "FSTART", "Fødselsstart (igangsetting)"))
    again = harvest(settings, config)[0]
    assert stripped(again) == {"variable mfr/VEKT"}
    # FSTART's two records, the dataset, and VEKT, which is made each time to be warned of.
    assert again.reused == first.seen - 4
    assert graph_lines(settings, "mfr") == fresh(tmp_path, "fresh", config)



def test_a_harvest_in_another_process_takes_as_stored_what_the_last_one_made(tmp_path, mfr):
    """As `catalogue harvest` runs from cron: each run a process of its own, with its own
    order of sets and dicts (PYTHONHASHSEED), must make the same fingerprints."""
    folder, url = mfr
    (tmp_path / "sources.toml").write_text(CONFIG_HEAD + "\n" + mfr_source(url), encoding="utf-8")
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(tmp_path / "data"),
           "CATALOGUE_SOURCES": str(tmp_path / "sources.toml")}

    def made_and_stored(seed: int) -> tuple[int, int]:
        done = subprocess.run([sys.executable, "-m", "catalogue.cli", "harvest"], capture_output=True, text=True,
                              env={**env, "PYTHONHASHSEED": str(seed)}, timeout=300)
        assert done.returncode == 0, done.stderr
        made, stored = re.search(r"(\d+) made, (\d+) taken as stored", done.stderr).groups()
        return int(made), int(stored)

    made, stored = made_and_stored(1)
    assert stored == 0
    edit(folder, lambda rows: relabel(rows, "VEKT", "Barnets vekt (gram)"))
    assert made_and_stored(2) == (2, made - 2)
