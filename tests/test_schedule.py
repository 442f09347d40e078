"""`catalogue serve --schedule` as an operator runs it: a real process harvesting real HTTP
sources in the background while it serves."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from support import DCAT_SOURCE, free_port, settings_in, wait_for, write_config

DUE_WITHIN = 180  # seconds: the shortest interval (1m) and a harvest, with room for a busy machine


@pytest.fixture
def scheduled_server(tmp_path, fixture_server):
    """`catalogue serve --schedule` checking every second over two sources: `dar` (every
    minute) and `broken` (hourly, a file its server does not have); its base URL."""
    every_minute = DCAT_SOURCE.replace('id = "dar"', 'id = "dar"\ninterval = "1m"')
    broken = DCAT_SOURCE.replace('id = "dar"', 'id = "broken"\ninterval = "1h"').replace("katalog.ttl", "gone.ttl")
    config = write_config(tmp_path, (every_minute + broken).format(url=fixture_server.url))
    settings, port = settings_in(tmp_path), free_port()
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(settings.data_dir), "CATALOGUE_SOURCES": str(config.path),
           "CATALOGUE_BASE_URI": settings.base_uri, "CATALOGUE_SEARCH": "embedded"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "catalogue.cli", "serve", "--host", "127.0.0.1",
                                   "--port", str(port), "--schedule", "--check-every", "1"],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/api/harvests")
        yield base, log
    finally:
        server.terminate()
        server.wait(timeout=30)


def runs_of(base: str, source: str) -> list[dict]:
    return httpx.get(f"{base}/api/harvests", params={"source": source}).json()["runs"]


def poll(what, until, log, timeout: float = DUE_WITHIN):
    """`what()` once `until` holds of it (checked twice a second), or fail showing the server's log."""
    deadline = time.monotonic() + timeout
    while not until(found := what()):
        if time.monotonic() > deadline:
            pytest.fail(f"not so after {timeout} s: {found}\nserver log:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    return found


def test_the_scheduler_reharvests_a_due_source_and_backs_off_a_failing_one(scheduled_server):
    base, log = scheduled_server

    first = poll(lambda: runs_of(base, "dar"), lambda runs: len(runs) == 1, log)
    assert first[0]["status"] == "ok"
    poll(lambda: httpx.get(f"{base}/api/variables", params={"size": 1}).json()["total"], bool, log)  # then served
    [failed] = poll(lambda: runs_of(base, "broken"), lambda runs: len(runs) == 1, log)
    assert failed["status"] == "failed" and "404" in failed["error"]

    # A minute on, dar is due again and harvested again (unchanged: the same file).
    runs = poll(lambda: runs_of(base, "dar"), lambda runs: len(runs) == 2, log)
    assert runs[0]["id"] != runs[1]["id"] and {r["status"] for r in runs} <= {"ok", "unchanged"}
    # The failing source was not tried again at each of the sixty checks in between: it waits
    # (five minutes after a first failure), and its last good state and error are shown.
    assert runs_of(base, "broken") == [failed]
    source = httpx.get(f"{base}/api/sources/broken").json()["source"]
    assert source["failures"] == 1 and "404" in source["error"]
