"""What an operator's Prometheus scrapes from /metrics: the latency of the site's answers by
route, and, read from the committed state when scraped, the generations of the graph and of
the search index and each source's last harvest. The harvests run in other processes
(`catalogue harvest`, the scheduler), so their outcomes are read where they are committed,
not counted here."""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from catalogue.pipeline.harvest import index_built_from
from catalogue.services import Services

access = logging.getLogger("catalogue.access")
# seconds: a search answers in milliseconds, a whole /catalog export of a large store in minutes
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    """The registry of one app (each app its own, so that apps in one process do not mix)."""

    def __init__(self, services: Services):
        self.registry = CollectorRegistry()
        # Served by several worker processes (catalogue serve --workers), each records its
        # requests in the folder PROMETHEUS_MULTIPROC_DIR names, and each scrape sums them all.
        shared = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.latency = Histogram("catalogue_http_request_duration_seconds",
                                 "Time to answer a request, by method, route and status class",
                                 ["method", "route", "status"], buckets=LATENCY_BUCKETS,
                                 registry=None if shared else self.registry)
        if shared:
            MultiProcessCollector(self.registry)
        self.registry.register(CatalogueCollector(services))

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RequestTimer:
    """Times every HTTP answer into `metrics`, labelled by the route's path template (never
    the path itself: one series per route, whatever the ids asked), and logs it (at info)."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status, recorded = time.perf_counter(), 500, False

        def record() -> None:
            nonlocal recorded
            recorded = True
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            seconds = time.perf_counter() - started
            self.metrics.latency.labels(scope["method"], route, f"{status // 100}xx").observe(seconds)
            access.info("%s %s %s %.3f s", scope["method"], scope["path"], status, seconds, extra={
                "method": scope["method"], "path": scope["path"], "route": route, "status": status,
                "seconds": round(seconds, 4)})

        async def sending(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                record()  # before the client has the whole answer: a scrape after it counts it
            await send(message)
        try:
            await self.app(scope, receive, sending)
        finally:
            if not recorded:  # no whole answer was sent
                record()


class CatalogueCollector(Collector):
    """The committed state's figures, read when scraped."""

    def __init__(self, services: Services):
        self.services = services

    def collect(self) -> Iterator:
        state = self.services.store.state()
        yield GaugeMetricFamily("catalogue_generation", "Generation of the committed state of the graph",
                                value=state.generation)
        yield GaugeMetricFamily("catalogue_search_index_generation", "Generation the search index was built from",
                                value=index_built_from(self.services.settings).get("generation", 0))
        sources = [s for s in state.sources.values() if s.is_source]
        families = {
            "up": GaugeMetricFamily("catalogue_source_up", "1 if the source's last harvest succeeded, else 0",
                                    labels=["source"]),
            "failures": GaugeMetricFamily("catalogue_source_failures", "Failed harvests of the source in a row",
                                          labels=["source"]),
            "harvested": GaugeMetricFamily("catalogue_source_harvested_timestamp_seconds",
                                           "When the source's stored graph was last written", labels=["source"]),
            "attempted": GaugeMetricFamily("catalogue_source_attempted_timestamp_seconds",
                                           "When a harvest of the source was last tried", labels=["source"]),
            "records": GaugeMetricFamily("catalogue_source_records",
                                         "Records of the source's last harvest, accepted or held back",
                                         labels=["source", "outcome"]),
        }
        for source in sources:
            families["up"].add_metric([source.id], 0 if source.error else 1)
            families["failures"].add_metric([source.id], source.failures)
            for name, moment in (("harvested", source.harvested), ("attempted", source.attempted)):
                if moment:
                    families[name].add_metric([source.id], datetime.fromisoformat(moment).timestamp())
            families["records"].add_metric([source.id, "accepted"], source.accepted)
            families["records"].add_metric([source.id, "held_back"], len(source.held_back))
        yield from families.values()
        runs = CounterMetricFamily("catalogue_harvest_runs", "Harvest runs recorded in the run log, by source",
                                   labels=["source"])
        for source, count in self.services.runs.counts().items():
            runs.add_metric([source], count)
        yield runs
        if (follower := self.services.follower) is not None:
            status = follower.status()
            yield GaugeMetricFamily("catalogue_follower_generation", "Generation a follower serves (0 before its first)",
                                    value=status["serving"] or 0)
            yield GaugeMetricFamily("catalogue_follower_catching_up_to",
                                    "Published generation a follower is catching up with (0 when it serves it)",
                                    value=status["catching_up_to"] or 0)
            outcomes = CounterMetricFamily("catalogue_follower_catch_ups", "This process's catch-ups, by outcome",
                                           labels=["outcome"])
            for outcome in ("done", "failed"):
                outcomes.add_metric([outcome], follower.outcomes[outcome])
            yield outcomes
