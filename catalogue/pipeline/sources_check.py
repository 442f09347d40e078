"""`catalogue sources check`: does each configured source answer, and in the shape its kind reads?

Each source is asked what its harvester's `probe(ctx) -> str` asks (one or a few requests: a
first page, a list, each configured classification), which returns a short description of
what it found or raises when the answer is not of the kind's shape. Nothing is stored. Requests have short timeouts
and no retries, and all sources are checked at once, so a check of unreachable hosts ends
within CHECK_DEADLINE.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from catalogue.harvesters import FetchError, HarvestContext, SourceError, for_kind
from catalogue.pipeline.harvest import describe, fetcher, serve_demo
from catalogue.settings import Settings
from catalogue.sources import DEMO_PLACEHOLDER, UPLOAD_URL, Config, SourceConfig

CHECK_TIMEOUT = 10.0   # seconds to connect, and between reads, per request (or the source's, if less)
CHECK_DEADLINE = 20.0  # seconds all requests of one source's check may take together
CHECK_REQUESTS = 20    # requests one source's check may make
CHECK_WORKERS = 8      # sources checked at once

# How a failed connection reads in httpx's messages -> what the check says.
_CONNECT_FAILURES = {
    "Name or service not known": "name not resolved",
    "Temporary failure in name resolution": "name not resolved",
    "nodename nor servname": "name not resolved",
    "No address associated with hostname": "name not resolved",
    "Connection refused": "could not connect (connection refused)",
    "Network is unreachable": "could not connect (network unreachable)",
    "No route to host": "could not connect (no route to host)",
}


@dataclass(frozen=True)
class Check:
    source: str
    kind: str
    url: str
    state: str  # "ok", "upload", "no answer", "HTTP error", "refused", "wrong shape", "unknown kind"
    detail: str          # what was found, or why not
    status: int | None = None  # of the last answer, if any
    seconds: float = 0.0

    @property
    def fine(self) -> bool:
        return self.state in ("ok", "upload")

    def line(self) -> str:
        status = f"HTTP {self.status}" if self.status else "-"
        return (f"{self.source:<22} {self.kind:<9} {self.state:<12} {status:<8} "
                f"{self.seconds:>5.1f}s  {self.detail}")


def check_sources(settings: Settings, config: Config) -> list[Check]:
    """Every source of `config` checked, in its order; the bundled demo's `{demo}` URLs are
    served as a harvest serves them."""
    with serve_demo(config, 1) as demo_url:
        with ThreadPoolExecutor(max_workers=min(CHECK_WORKERS, max(1, len(config.source)))) as pool:
            return list(pool.map(lambda s: check_source(settings, config, s, demo_url), config.source))


def check_source(settings: Settings, config: Config, source: SourceConfig, demo_url: str | None) -> Check:
    if source.url == UPLOAD_URL:
        return Check(source.id, source.kind, source.url, "upload",
                     "published by upload: nothing to ask (publications are checked when published)")
    url = source.url.replace(DEMO_PLACEHOLDER, demo_url or DEMO_PLACEHOLDER)
    quick = source.model_copy(update={
        "timeout": min(source.timeout, CHECK_TIMEOUT), "retries": 0,
        "request_deadline": CHECK_DEADLINE, "source_deadline": CHECK_DEADLINE,
        "max_requests": CHECK_REQUESTS})
    statuses: list[int] = []  # of every answer, redirects too
    started = time.perf_counter()

    def result(state: str, detail: str) -> Check:
        return Check(source.id, source.kind, url, state, detail, statuses[-1] if statuses else None,
                     time.perf_counter() - started)

    try:
        harvester = for_kind(source.kind)
    except SourceError as exc:
        return result("unknown kind", str(exc))
    http = fetcher(quick, None, origin=url)
    http.client.event_hooks["response"].append(lambda response: statuses.append(response.status_code))
    try:
        with http:
            ctx = HarvestContext(source=quick, url=url, publisher=config.agent(source.publisher),
                                 base_uri=settings.base_uri, http=http)
            return result("ok", harvester.probe(ctx))
    except FetchError as exc:
        if statuses and statuses[-1] >= 400:
            return result("HTTP error", str(exc))
        # The client raises FetchError from the transport error (not connected, no answer in time).
        if isinstance(exc.__context__, httpx.TransportError):
            return result("no answer", _no_answer(str(exc)))
        return result("refused", str(exc))  # by a limit: too large, a redirect elsewhere or in a loop ...
    except Exception as exc:  # whatever an answer of the wrong shape makes a parser raise
        return result("wrong shape", describe(exc, http.last_url))


def _no_answer(message: str) -> str:
    for cause, said in _CONNECT_FAILURES.items():
        if cause in message:
            return f"{said}: {message}"
    return message
