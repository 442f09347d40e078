"""The gate is never stricter than the official shapes of the profile a source declares:
every graph the official DCAT-AP-NO material calls valid is accepted whole under the default
profile, harvested over HTTP with nothing filled in by the harvester. What only DCAT-AP-NO 3
asks for shows as a warning in the run and in quality. (Skipped where the corpus is absent.)
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from catalogue.pipeline.fileserver import FileServer
from catalogue.pipeline.harvest import harvest
from catalogue.site.app import create_app
from support import corpus, settings_in, write_config
from test_harvest_corpus_dcat import SHACL_TESTS, _cases

# rdflib's TriG parser uses its own deprecated API
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib")

DIGDIR_2_0 = "dcat-ap-no/examples/DCAT-AP-NO2.0-examples.ttl"  # conforms to the v2 shapes
# The validator service's valid catalogue, in each of its syntaxes (conforms to the v2 shapes).
VALIDATOR = [f"dcat-ap-no-validator-service/valid/valid_catalog.{s}" for s in ("ttl", "json", "xml")]


def _valid_documents(into: Path) -> list[str]:
    """Every valid case of the DCAT-AP-NO SHACL test suite (merged with its base graphs, as
    its README says), Digdir's DCAT-AP-NO 2.0 example and the validator service's valid
    catalogue, written under `into`; their paths relative to it."""
    dcat = corpus("dcat")
    names = []
    for trig in sorted(corpus("dcat", SHACL_TESTS, "valid-graphs").glob("*/*.trig")):
        level = trig.parent.name
        folder = into / level / trig.stem
        folder.mkdir(parents=True)
        names += [f"{level}/{trig.stem}/{case}.ttl" for case in _cases(trig, level, trig.stem, folder)]
    for name in [DIGDIR_2_0, *VALIDATOR]:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dcat / name, into / name)
        names.append(name)
    return names


@pytest.fixture(scope="module")
def harvested(tmp_path_factory):
    """All valid documents harvested once, each as a `dcat` source of its own under the
    default profile (so each is gated alone), without a filled-in publisher or contact."""
    folder = tmp_path_factory.mktemp("official-valid")
    served = folder / "served"
    names = _valid_documents(served)
    settings = settings_in(folder)
    with FileServer(served) as server:
        config = write_config(folder, "".join(f'''
[[source]]
id = "s{i}"
name = "{name}"
publisher = "fhi"
kind = "dcat"
url = "{server.url}/{name}"
retries = 0
fill_publisher = false
''' for i, name in enumerate(names)))
        runs = harvest(settings, config)
    return settings, dict(zip(names, runs))


def test_every_officially_valid_graph_is_accepted_whole(harvested):
    _, runs = harvested

    assert len(runs) > 160  # the suite's valid cases are all there
    assert all(run.status == "ok" and run.seen for run in runs.values()), \
        {name: run.error for name, run in runs.items() if run.status != "ok" or not run.seen}
    refused = {name: [(h.record, h.path, h.message) for h in run.held_back]
               for name, run in runs.items() if run.held_back}
    assert not refused


def test_what_only_dcat_ap_no_3_asks_for_is_a_warning_in_the_run_and_in_quality(harvested):
    settings, runs = harvested
    run = runs[DIGDIR_2_0]
    client = TestClient(create_app(settings))

    assert run.accepted == run.seen
    assert {(w.record.split()[0], w.path) for w in run.warnings} >= {
        ("dataset", "dcat:contactPoint"), ("catalogue", "dcat:contactPoint")}
    page = client.get(f"/harvests/{run.id}", params={"lang": "en"}).text
    assert "A dataset should have a contact point (dcat:contactPoint)." in page
    quality = client.get(f"/sources/{run.source}/quality", params={"lang": "en"}).text
    assert "Give a contact point" in quality
    assert "https://examples.org/dcatno_Examples#dsBuildings" in client.get("/catalog").text
