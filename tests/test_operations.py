"""What an operator's load balancer, Prometheus and log collector read: /healthz, /readyz
naming the store that is down, /metrics with request latency by route and each source's last
harvest, and a log of one JSON object a line."""
from __future__ import annotations

import dataclasses
import json

import httpx
from fastapi.testclient import TestClient

from catalogue.pipeline.harvest import harvest
from catalogue.site.app import create_app
from catalogue.storage.store import Store
from support import DCAT_SOURCE, free_port, metric, serving


def test_health_readiness_and_metrics_follow_the_stores_and_the_harvests(settings, make_config, served):
    _, url = served
    config = make_config(DCAT_SOURCE.format(url=url))
    harvest(settings, config)
    client = TestClient(create_app(settings))

    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"store": "up", "search": "up", "database": "up"}

    for _ in range(3):
        assert client.get("/api/variables", params={"q": "dødsårsak"}).status_code == 200
    client.get("/datasets/no-such-dataset")
    scraped = client.get("/metrics")
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    # one series per route template and status class, never one per path asked
    assert metric(text, "catalogue_http_request_duration_seconds_count",
                  method="GET", route="/api/variables", status="2xx") == 3
    assert "no-such-dataset" not in text
    generation = Store(settings.data_dir, settings.base_uri).state().generation
    assert metric(text, "catalogue_generation") == generation
    assert metric(text, "catalogue_search_index_generation") == generation
    assert metric(text, "catalogue_source_up", source="dar") == 1
    assert metric(text, "catalogue_harvest_runs_total", source="dar") == 1

    # the source fails: its last harvest is down, its earlier graph still served
    config.get("dar").url = f"http://127.0.0.1:{free_port()}/katalog.ttl"
    harvest(settings, config)
    text = client.get("/metrics").text
    assert metric(text, "catalogue_source_up", source="dar") == 0
    assert metric(text, "catalogue_source_failures", source="dar") == 1
    assert metric(text, "catalogue_harvest_runs_total", source="dar") == 2
    assert client.get("/readyz").status_code == 200


def test_readiness_names_the_store_that_is_down_and_why(settings, make_config, served):
    _, url = served
    harvest(settings, make_config(DCAT_SOURCE.format(url=url)))
    # the search cluster does not answer
    unreachable = dataclasses.replace(settings, search="elasticsearch", es_url=f"http://127.0.0.1:{free_port()}")
    answer = TestClient(create_app(unreachable)).get("/readyz")
    assert answer.status_code == 503 and answer.json()["status"] == "not ready"
    assert set(answer.json()["down"]) == {"search"} and "Connection" in answer.json()["down"]["search"]

    # the graph store server does not answer
    answer = TestClient(create_app(dataclasses.replace(settings, store_url=f"http://127.0.0.1:{free_port()}"))).get("/readyz")
    assert answer.status_code == 503 and set(answer.json()["down"]) == {"store"}
    assert "the store server http://127.0.0.1:" in answer.json()["down"]["store"]

    # the PostgreSQL server does not answer
    away = dataclasses.replace(settings, database_url=f"postgresql://catalogue@127.0.0.1:{free_port()}/catalogue")
    answer = TestClient(create_app(away)).get("/readyz")
    assert answer.status_code == 503 and set(answer.json()["down"]) == {"database"}

    # the accounts file cannot be opened
    accounts = settings.data_dir / "accounts.sqlite"
    accounts.unlink(missing_ok=True)
    accounts.mkdir()
    answer = TestClient(create_app(settings)).get("/readyz")
    assert answer.status_code == 503 and set(answer.json()["down"]) == {"database"}
    assert TestClient(create_app(settings)).get("/healthz").status_code == 200


def test_a_server_logs_each_request_as_one_json_object_a_line(settings, make_config, served, tmp_path):
    _, url = served
    harvest(settings, make_config(DCAT_SOURCE.format(url=url)))
    log = tmp_path / "serve.log"
    with serving(settings, log, CATALOGUE_LOG_FORMAT="json", CATALOGUE_LOG_LEVEL="info") as served:
        assert httpx.get(f"{served.url}/api/variables", params={"q": "dødsårsak"}).status_code == 200
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    [search] = [line for line in lines if line.get("route") == "/api/variables"]
    assert search["logger"] == "catalogue.access" and search["level"] == "info" and search["status"] == 200
    assert search["method"] == "GET" and search["seconds"] >= 0 and search["time"].endswith("+00:00")
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # the server's own lines too
    assert all(line.startswith("{") for line in log.read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("serving "))
