"""The one HTTP client harvesters use: timeouts, retries with backoff, size limits."""
from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


class FetchError(Exception):
    """A URL could not be fetched; the message names the URL and why."""


@dataclass(frozen=True)
class Limits:
    timeout: float = 30.0
    max_bytes: int = 50 * 1024 * 1024
    retries: int = 3
    backoff: float = 0.5


@dataclass(frozen=True)
class Fetched:
    url: str
    content: bytes
    content_type: str  # media type without parameters, lower case


class Fetcher:
    def __init__(self, limits: Limits | None = None, transport: httpx.BaseTransport | None = None):
        self.limits = limits or Limits()
        self.client = httpx.Client(timeout=self.limits.timeout, follow_redirects=True,
                                   transport=transport,
                                   headers={"User-Agent": "helsevariabler-harvester/0.1"})

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()

    def get(self, url: str, accept: str | None = None) -> Fetched:
        headers = {"Accept": accept} if accept else {}
        for attempt in range(self.limits.retries + 1):
            try:
                return self._get_once(url, headers)
            except (httpx.TransportError, _Transient) as exc:
                if attempt == self.limits.retries:
                    raise FetchError(f"{url}: {exc or type(exc).__name__} "
                                     f"(after {attempt + 1} attempts)") from None
                time.sleep(self.limits.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    def _get_once(self, url: str, headers: dict[str, str]) -> Fetched:
        with self.client.stream("GET", url, headers=headers) as response:
            if response.status_code in TRANSIENT_STATUS:
                raise _Transient(f"HTTP {response.status_code}")
            if response.status_code >= 400:
                raise FetchError(f"{url}: HTTP {response.status_code}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > self.limits.max_bytes:
                raise FetchError(f"{url}: {declared} bytes is more than the limit of {self.limits.max_bytes}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.limits.max_bytes:
                    raise FetchError(f"{url}: more than the limit of {self.limits.max_bytes} bytes")
                chunks.append(chunk)
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            return Fetched(url=str(response.url), content=b"".join(chunks), content_type=media)


class _Transient(Exception):
    pass
