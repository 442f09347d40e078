"""Several app servers, one catalogue, no shared data directory: two `catalogue serve`
processes, each with a data directory of its own, share only PostgreSQL and the graph store
server with a separate `catalogue harvest`, whose data directory is the durable record and
which publishes what they read (catalogue.storage.published). Each server keeps its own
embedded search index, built from the store server in the background while it serves the
generation before (catalogue.pipeline.following): a search cluster would be shared instead,
and tests/test_search_conformance.py runs one."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import replace

import httpx

from catalogue.pipeline.following import Follower
from catalogue.pipeline.harvest import harvest, index_built_from, settle
from catalogue.storage.database import open_database
from catalogue.storage.published import Published
from catalogue.storage.remote_store import RemoteGraphStore
from catalogue.storage.runs import RunLog
from catalogue.storage.store import Store
from support import BASE_URI, DCAT_SOURCE, log_in, serving, settings_in

PASSWORD = "correct horse battery staple"
FODSELSVEKT = "https://helsevariabler.no/vocabulary/standard-variables/fodselsvekt"
# `catalogue harvest`, killed once its first commit is written to its data directory and
# before that commit is published: SIGKILL at the publication of a newer state than the
# settle it started with published.
KILLED_BEFORE_PUBLISHING = """
import os, signal
from catalogue.pipeline import harvest
from catalogue.settings import Settings
from catalogue.sources import load_config

publish, started = harvest._publish, []
def _publish(settings, store):
    if started and store.state().generation > started[0]:
        os.kill(os.getpid(), signal.SIGKILL)
    started.append(store.state().generation)
    publish(settings, store)
harvest._publish = _publish
settings = Settings.from_env(os.environ)
harvest.harvest(settings, load_config(settings.sources_file))
"""


def catalogue(*args: str, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "catalogue.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, **kwargs)


def place_of_death(client: httpx.Client) -> dict:
    """DODSSTED's page, found by searching."""
    found = client.get("/api/variables", params={"q": "dødssted"}).json()["items"]
    [hit] = [h for h in found if h["name"] == "DODSSTED"]
    return client.get(f"/api/variables/{hit['id']}").json() | {"id": hit["id"]}


def caught_up(client: httpx.Client) -> dict:
    """The follower's /readyz once it serves the published generation: it catches up in the
    background, serving the one before meanwhile."""
    deadline = time.monotonic() + 300
    while (ready := client.get("/readyz").json()).get("follower", {}).get("catching_up_to") is not None:
        assert time.monotonic() < deadline, ready
        time.sleep(0.1)
    return ready


def label_at(client: httpx.Client, variable_id: str, at: str) -> tuple[str, str]:
    then = client.get(f"/api/variables/{variable_id}", params={"at": at}).json()["then"]
    return then["basis"], then["label"]["nb"]


def test_app_servers_with_data_directories_of_their_own_follow_a_separate_writer(
        tmp_path, database_url, make_config, served, store_server):
    config = make_config(DCAT_SOURCE.format(url=served[1]))
    writer = tmp_path / "writer"
    shared = {"CATALOGUE_DATABASE_URL": database_url, "CATALOGUE_STORE_URL": store_server}
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(writer), "CATALOGUE_SOURCES": str(config.path),
           "CATALOGUE_BASE_URI": BASE_URI, "CATALOGUE_SEARCH": "embedded", **shared}
    env.pop("CATALOGUE_KILL_AT", None)
    made = catalogue("accounts", "add", "kari", "--role", "curator", "--password-stdin", env=env, input=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    first = catalogue("harvest", env=env)
    assert first.returncode == 0, first.stdout + first.stderr

    with ExitStack() as stack:
        apps = [replace(settings_in(tmp_path / f"app-{n}"), sources_file=config.path) for n in range(2)]
        one, other = (stack.enter_context(httpx.Client(base_url=stack.enter_context(
            serving(app, tmp_path / f"app-{n}.log", **shared)).url, timeout=60)) for n, app in enumerate(apps))

        # the harvest shows on both: found, with its history, its run and changes, /changes
        # and the version as of a moment
        [run] = one.get("/api/harvests", params={"source": "dar"}).json()["runs"]
        for client in (one, other):
            page = place_of_death(client)
            assert [(e["change"], e["run"]) for e in page["history"]] == [("added", run["id"])]
            shown = client.get(f"/api/harvests/{run['id']}").json()
            assert shown["run"]["status"] == "ok" and len(shown["changes"]) == run["added"] > 0
            changes = client.get("/api/changes", params={"source": "dar"}).json()["items"]
            assert changes and {c["run"] for c in changes} == {run["id"]}
            assert label_at(client, page["id"], run["ended"]) == ("harvested", "Dødssted")
            assert client.get("/metrics").text.count('catalogue_harvest_runs_total{source="dar"} 1.0') == 1

        # a list made on one opens on the other, and a login on one is a session on the other
        variable = place_of_death(one)["id"]
        assert one.post("/list/items", data={"variable": variable}).status_code == 303
        other.cookies.set("variable_list", one.cookies["variable_list"])
        assert [i["variable"] for i in other.get("/api/list").json()["items"]] == [variable]
        log_in(one, "kari", PASSWORD)
        other.cookies.set("session", one.cookies["session"])
        assert other.get("/api/account").json()["account"]["name"] == "kari"

        # a writer killed after committing a change, before publishing it, leaves both on the
        # state before; its next run publishes it
        katalog = served[0] / "dcat" / "katalog.ttl"
        katalog.write_text(katalog.read_text(encoding="utf-8").replace('"Dødssted"@nb', '"Stad for dødsfall"@nb'),
                           encoding="utf-8")
        killed = subprocess.run([sys.executable, "-c", KILLED_BEFORE_PUBLISHING], env=env, capture_output=True,
                                text=True, timeout=300)
        assert killed.returncode == -9, killed.stderr
        assert Store(writer, BASE_URI).state().sources["dar"].last_run != run["id"]  # committed there
        for client in (one, other):
            assert place_of_death(client)["variable"]["label"]["nb"] == "Dødssted"
            assert len(client.get("/api/harvests").json()["runs"]) == 1
        healed = catalogue("harvest", env=env)
        assert healed.returncode == 0, healed.stdout + healed.stderr
        for client in (one, other):
            caught_up(client)
            page = place_of_death(client)
            assert page["variable"]["label"]["nb"] == "Stad for dødsfall"
            assert [e["change"] for e in page["history"]] == ["changed", "added"]
            assert [r["status"] for r in client.get("/api/harvests").json()["runs"]] == ["unchanged", "ok", "ok"]
            assert label_at(client, page["id"], run["ended"]) == ("harvested", "Dødssted")

        # a curation (or a publication) is written to the writer's data directory: a follower,
        # which has none, says so and changes nothing, ...
        token = catalogue("accounts", "token", "kari", env=env).stdout.strip()
        refused = one.post("/curation/mappings", data={"subject": page["id"], "object": FODSELSVEKT},
                           headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        assert refused.status_code == 503 and "writer's data directory" in refused.json()["detail"]
        assert other.get("/api/curation", headers={"Authorization": f"Bearer {token}"}).json()["total"] == 0
        # ... by a server on it, whose commit both serve once they have caught up with it
        editor = stack.enter_context(httpx.Client(base_url=stack.enter_context(serving(
            replace(settings_in(tmp_path), data_dir=writer, sources_file=config.path), tmp_path / "editor.log",
            **shared)).url, timeout=60))
        curator = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        made = editor.post("/curation/mappings", data={"subject": page["id"], "object": FODSELSVEKT}, headers=curator)
        assert made.status_code == 200, made.text
        assert editor.post(f"/curation/mappings/{made.json()['id']}", data={"state": "approved"},
                           headers=curator).json()["state"] == "approved"
        for client in (one, other):
            caught_up(client)
            same = place_of_death(client)["same_variables"]
            assert [(s["kind"], s["label"]["nb"]) for s in same] == [("standard_variable", "Fødselsvekt")]

    for app in apps:  # each server kept only its own indexes
        assert sorted(p.name for p in app.data_dir.iterdir() if not p.name.startswith(".")) == ["concepts", "index",
                                                                                              "indexed.json"]


def test_a_follower_beside_a_search_cluster_builds_only_its_concepts_and_publishing_again_changes_nothing(
        tmp_path, database_url, make_config, fixture_server, store_server):
    shared = {"database_url": database_url, "store_url": store_server}
    config = make_config(DCAT_SOURCE.format(url=fixture_server.url))
    writer = replace(settings_in(tmp_path / "writer"), sources_file=config.path, **shared)
    assert [r.status for r in harvest(writer, config)] == ["ok"]
    store = Store(writer.data_dir, BASE_URI, store_server)
    with store.lock():  # a second settle publishes what is published already: nothing twice
        settle(writer, store, index=False)
    published = Published(open_database(writer))
    assert published.state() == store.state()
    assert published.runs(limit=None) == RunLog(writer.data_dir).runs(limit=None)

    # the cluster's index is the writer's to update; the concepts' index is the follower's own
    follower = replace(settings_in(tmp_path / "app"), sources_file=config.path, search="opensearch",
                       es_url="http://127.0.0.1:9", **shared)
    Follower(follower, Store(follower.data_dir, BASE_URI, store_server, published)).catch_up()
    assert index_built_from(follower)["graphs"] == {s.id: s.graph_file for s in store.state().sources.values()
                                                    if s.graph_file}
    assert sorted(p.name for p in follower.data_dir.iterdir() if not p.name.startswith(".")) == ["concepts", "indexed.json"]


def test_a_harvest_on_a_data_directory_that_is_not_the_writers_is_refused(tmp_path, database_url, make_config,
                                                                          fixture_server, store_server):
    """... and an index rebuilt there publishes nothing: what app servers read stays the writer's."""
    config = make_config(DCAT_SOURCE.format(url=fixture_server.url))
    env = {**os.environ, "CATALOGUE_SOURCES": str(config.path), "CATALOGUE_BASE_URI": BASE_URI,
           "CATALOGUE_SEARCH": "embedded", "CATALOGUE_DATABASE_URL": database_url, "CATALOGUE_STORE_URL": store_server}
    env.pop("CATALOGUE_KILL_AT", None)
    assert catalogue("harvest", env={**env, "CATALOGUE_DATA_DIR": str(tmp_path / "writer")}).returncode == 0
    published = Published(open_database(replace(settings_in(tmp_path), database_url=database_url)))
    before = published.state()
    elsewhere = {**env, "CATALOGUE_DATA_DIR": str(tmp_path / "elsewhere")}
    refused = catalogue("harvest", env=elsewhere)
    assert refused.returncode == 2 and "holds no catalogue" in refused.stderr and "CATALOGUE_DATA_DIR" in refused.stderr
    assert catalogue("index", env=elsewhere).returncode == 0
    assert published.state() == before and before.sources["dar"].graph_file


def found(client: httpx.Client, name: str = "DODSSTED") -> tuple[str, str]:
    """The variable's label as its search hit and as its page show it."""
    [hit] = [h for h in client.get("/api/variables", params={"q": name}).json()["items"] if h["name"] == name]
    return hit["label"]["nb"], client.get(f"/api/variables/{hit['id']}").json()["variable"]["label"]["nb"]


def test_a_follower_answers_from_the_generation_it_has_whole_while_it_catches_up_in_the_background(
        tmp_path, database_url, make_config, served, store_server):
    config = make_config(DCAT_SOURCE.format(url=served[1]))
    shared = {"CATALOGUE_DATABASE_URL": database_url, "CATALOGUE_STORE_URL": store_server}
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(tmp_path / "writer"), "CATALOGUE_SOURCES": str(config.path),
           "CATALOGUE_BASE_URI": BASE_URI, "CATALOGUE_SEARCH": "embedded", **shared}
    env.pop("CATALOGUE_KILL_AT", None)
    katalog = served[0] / "dcat" / "katalog.ttl"

    def harvest_relabelled(old: str, new: str) -> int:
        """The writer's harvest of DODSSTED labelled `new`: the generation it published."""
        katalog.write_text(katalog.read_text(encoding="utf-8").replace(f'"{old}"@nb', f'"{new}"@nb'), encoding="utf-8")
        done = catalogue("harvest", env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        return published.generation()

    assert catalogue("harvest", env=env).returncode == 0
    published = Published(open_database(replace(settings_in(tmp_path), database_url=database_url)))
    first = published.state()
    hold = tmp_path / "hold"  # while it exists, every catch-up of the follower waits, holding its index lock
    app = replace(settings_in(tmp_path / "app"), sources_file=config.path)
    with serving(app, tmp_path / "app.log", CATALOGUE_HOLD_CATCH_UP=str(hold), **shared) as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        assert caught_up(client)["follower"]["serving"] == first.generation
        assert found(client) == ("Dødssted", "Dødssted")

        hold.touch()
        harvest_relabelled("Dødssted", "Stad for dødsfall")
        assert found(client) == ("Dødssted", "Dødssted")  # and its catch-up starts, and waits
        # a second harvest: the writer keeps its newest two checkpoints, and the one the follower serves
        newest = harvest_relabelled("Stad for dødsfall", "Dødsstad")
        assert RemoteGraphStore(store_server, BASE_URI).has(first.checkpoint)
        # asked during the catch-up, it answers from the generation it has whole: search and page agree
        assert found(client) == ("Dødssted", "Dødssted")
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["follower"] == {"serving": first.generation, "catching_up_to": newest, "last_failure": None}
        assert f"catalogue_follower_catching_up_to {float(newest)}" in client.get("/metrics").text

        hold.unlink()
        assert caught_up(client)["follower"]["serving"] == newest
        assert found(client) == ("Dødsstad", "Dødsstad")

        # a catch-up that fails (its checkpoint gone from the store server) is logged, and the
        # follower goes on serving what it has; after the writer's next harvest, it catches up
        hold.touch()
        lost = harvest_relabelled("Dødsstad", "Dødssted")
        assert found(client) == ("Dødsstad", "Dødsstad")
        httpx.post(f"{store_server}/update", data={
            "update": f"DROP GRAPH <{BASE_URI}store/checkpoint/{published.state().checkpoint}>"}).raise_for_status()
        hold.unlink()
        deadline = time.monotonic() + 300
        while 'catalogue_follower_catch_ups_total{outcome="failed"} 1.0' not in client.get("/metrics").text:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert found(client) == ("Dødsstad", "Dødsstad")
        assert f"catching up with generation {lost} failed" in (tmp_path / "app.log").read_text()
        healed = catalogue("harvest", env=env)
        assert healed.returncode == 0, healed.stdout + healed.stderr
        assert caught_up(client)["follower"] == {"serving": published.generation(), "catching_up_to": None,
                                                 "last_failure": None}
        assert found(client) == ("Dødssted", "Dødssted")


def test_a_follower_whose_generation_lost_its_graphs_serves_the_published_one_once_indexed(
        tmp_path, database_url, make_config, served, store_server):
    """... rather than that generation's pages with no graphs behind them (a follower stopped
    for longer than the writer keeps what it read)."""
    config = make_config(DCAT_SOURCE.format(url=served[1]))
    shared = {"database_url": database_url, "store_url": store_server}
    writer = replace(settings_in(tmp_path / "writer"), sources_file=config.path, **shared)
    assert [r.status for r in harvest(writer, config)] == ["ok"]
    app = replace(settings_in(tmp_path / "app"), sources_file=config.path, **shared)
    published = Published(open_database(writer))

    def follower() -> Follower:  # as a server starts
        return Follower(app, Store(app.data_dir, BASE_URI, store_server, published))

    before = published.state()
    assert follower().state() == before
    katalog = served[0] / "dcat" / "katalog.ttl"
    katalog.write_text(katalog.read_text(encoding="utf-8").replace('"Dødssted"@nb', '"Stad for dødsfall"@nb'),
                       encoding="utf-8")
    assert [r.status for r in harvest(writer, config)] == ["ok"]
    httpx.post(f"{store_server}/update", data={
        "update": f"DROP GRAPH <{BASE_URI}store/checkpoint/{before.checkpoint}>"}).raise_for_status()

    again = follower()
    assert again.served() is None
    assert again.state() == published.state() != before  # built first, in this call
    assert index_built_from(app)["generation"] == published.generation()
