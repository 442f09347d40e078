"""The one HTTP client harvesters use: timeouts, retries with backoff, size limits per
response and per source, deadlines per request and per source, a bounded number of
requests, redirects only to the hosts a source allows, and conditional requests answered
from a small cache."""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from catalogue.storage.durable import atomic_write

TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


class FetchError(Exception):
    """A URL could not be fetched; the message names the URL and why, and `status` the
    HTTP status the server answered, if it answered with an error."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    timeout: float = 30.0
    max_response_bytes: int = 50 * 1024 * 1024
    max_source_bytes: int = 200 * 1024 * 1024
    retries: int = 3
    backoff: float = 0.5
    request_deadline: float = 120.0  # seconds one request may take in all, however fast each read
    source_deadline: float = 900.0   # seconds all requests of one harvest may take together
    max_requests: int = 20000        # requests of one harvest: bounds every kind of paging
    max_redirects: int = 5
    redirect_hosts: tuple[str, ...] = ()  # hosts besides the source's own a redirect may lead to


@dataclass(frozen=True)
class Fetched:
    url: str
    content: bytes
    content_type: str  # media type without parameters, lower case
    sha256: str = ""
    not_modified: bool = False  # answered 304 and served from the cache
    # How it was asked for (the URL before redirects, Accept, Accept-Language): the next
    # harvest asks the same again to learn whether anything changed before it parses.
    request: str = ""
    accept: str | None = None
    language: str | None = None


def refused(status: int) -> str:
    """What stands for a document's hash in the log when the server answered `status` (an error)."""
    return f"HTTP {status}"


@dataclass
class _Validators:
    sha256: str
    content_type: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class HttpCache:
    """What a source's server last sent per URL (validators and body), so the next harvest
    can ask `If-None-Match` / `If-Modified-Since` and use the body it already has on a 304.

    Kept in one folder per source; bodies are stored by hash, so pages that did not change
    cost nothing to keep.
    """

    folder: Path
    entries: dict[str, _Validators] = field(default_factory=dict)

    @classmethod
    def open(cls, folder: Path) -> "HttpCache":
        index = folder / "index.json"
        entries = {}
        if index.exists():
            try:
                entries = {url: _Validators(**v) for url, v in json.loads(index.read_text()).items()}
            except (ValueError, TypeError):
                entries = {}  # a damaged cache only costs a full fetch
        return cls(folder, entries)

    def body(self, sha256: str) -> bytes | None:
        path = self.folder / "bodies" / sha256
        return path.read_bytes() if path.exists() else None

    def remember(self, url: str, validators: _Validators, content: bytes) -> None:
        bodies = self.folder / "bodies"
        bodies.mkdir(parents=True, exist_ok=True)
        path = bodies / validators.sha256
        if not path.exists():
            atomic_write(path, content)
        self.entries[url] = validators

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.folder / "index.json",
                     json.dumps({u: asdict(v) for u, v in self.entries.items()}, indent=1).encode())
        kept = {v.sha256 for v in self.entries.values()}
        for path in (self.folder / "bodies").glob("*"):
            if path.name not in kept:
                path.unlink(missing_ok=True)


class Fetcher:
    """One source's HTTP session. `log` lists every document it fetched (URL and hash),
    which tells the harvest whether anything changed since the last one."""

    def __init__(self, limits: Limits | None = None, cache: HttpCache | None = None,
                 confined_to: str | None = None, origin: str | None = None):
        """`confined_to`: a URL prefix every request (redirects too) must start with. An
        uploaded file is read this way, so it cannot make the server fetch other addresses
        (a `hydra:next` pointing elsewhere, say). `origin`: the source's URL, whose host
        redirects may lead to (besides `limits.redirect_hosts`); without it, the host of
        the URL asked for."""
        self.limits = limits or Limits()
        self.cache = cache
        self.log: list[Fetched] = []
        self.total_bytes = 0
        self.requests = 0
        self.last_url: str | None = None  # the document asked for last: the one being read
        # Whether a body was taken from the cache without a request (`cached`): what was read
        # then is more than `log` says, so asking for `log` again cannot tell that nothing changed.
        self.read_cache = False
        self.confined_to = confined_to
        self.origin_host = urlsplit(origin).hostname if origin else None
        self.started = time.monotonic()
        self.client = httpx.Client(timeout=self.limits.timeout, follow_redirects=False,
                                   headers={"User-Agent": "helsevariabler-harvester/0.1"})

    def forget(self) -> None:
        """Start the session's count again, as if unused: the log and what counts against the
        source's limits (requests, bytes, its deadline). The cache keeps what was read."""
        self.log, self.requests, self.total_bytes, self.started = [], 0, 0, time.monotonic()

    def _before_request(self, url: str, requested: httpx.URL) -> None:
        """What every request (each retry and redirect too) must pass before it is sent."""
        if self.confined_to and not str(requested).startswith(self.confined_to):
            raise FetchError(f"{requested}: not fetched; only {self.confined_to} may be read here")
        if self.requests >= self.limits.max_requests:
            raise FetchError(f"{url}: the source has made its limit of {self.limits.max_requests} "
                             "requests in this harvest (max_requests); does its paging never end?")
        self._check_source_deadline(url)
        self.requests += 1

    def _check_source_deadline(self, url: str) -> None:
        if time.monotonic() - self.started > self.limits.source_deadline:
            raise FetchError(f"{url}: the source's requests took longer than its deadline of "
                             f"{self.limits.source_deadline:g} s (source_deadline)")

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()
        if self.cache is not None and exc[0] is None:
            self.cache.save()

    def cached(self, url: str) -> bytes | None:
        """The body the cache kept for `url` (asked for without a language) from an earlier
        harvest, without a request: for APIs that say themselves what changed since."""
        self.read_cache = True
        known = self.cache.entries.get(url) if self.cache is not None else None
        return self.cache.body(known.sha256) if known is not None else None

    def get(self, url: str, accept: str | None = None, language: str | None = None) -> Fetched:
        """`language` asks for one language (Accept-Language), for APIs that answer in one.
        Whatever goes wrong is a FetchError naming the URL."""
        self.last_url = url
        headers = {"Accept": accept} if accept else {}
        if language:
            headers["Accept-Language"] = language
        for attempt in range(self.limits.retries + 1):
            try:
                fetched = replace(self._get_once(url, headers, f"{url} [{language}]" if language else url),
                                  request=url, accept=accept, language=language)
                self.log.append(fetched)
                return fetched
            except FetchError as exc:
                if exc.status is not None:  # an answer too: a document that reappears is a change
                    self.log.append(Fetched(url, b"", "", refused(exc.status), request=url, accept=accept,
                                            language=language))
                raise
            except (httpx.TransportError, _Transient) as exc:
                if attempt == self.limits.retries:
                    reason = f"no answer within {self.limits.timeout:g} s" if isinstance(
                        exc, httpx.TimeoutException) else (str(exc) or type(exc).__name__)
                    raise FetchError(f"{url}: {reason} (after {attempt + 1} attempts)") from None
                time.sleep(self.limits.backoff * 2 ** attempt)
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                # Not worth a retry: a body that does not decode, a URL httpx cannot send, ...
                raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from None
        raise AssertionError("unreachable")

    def _get_once(self, url: str, headers: dict[str, str], cache_key: str) -> Fetched:
        known = self.cache.entries.get(cache_key) if self.cache else None
        if known and self.cache.body(known.sha256) is not None:
            if known.etag:
                headers = {**headers, "If-None-Match": known.etag}
            if known.last_modified:
                headers = {**headers, "If-Modified-Since": known.last_modified}
        deadline = time.monotonic() + self.limits.request_deadline
        response = self._send(url, self.client.build_request("GET", url, headers=headers))
        try:
            if response.status_code == 304 and known:
                content = self.cache.body(known.sha256) or b""
                self._count(url, len(content))
                return Fetched(url, content, known.content_type, known.sha256, not_modified=True)
            if response.status_code in TRANSIENT_STATUS:
                raise _Transient(f"HTTP {response.status_code}")
            if response.status_code >= 400:
                raise FetchError(f"{url}: HTTP {response.status_code}", response.status_code)
            limit = self.limits.max_response_bytes
            declared = int(response.headers.get("content-length") or 0)
            if declared > limit:
                raise FetchError(f"{url}: {declared} bytes is more than the response limit of {limit}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise FetchError(f"{url}: more than the response limit of {limit} bytes")
                # Each read has `timeout`; a server sending a trickle must still end in time.
                if time.monotonic() > deadline:
                    raise FetchError(f"{url}: the answer took longer than the request deadline of "
                                     f"{self.limits.request_deadline:g} s (request_deadline)")
                self._check_source_deadline(url)
                chunks.append(chunk)
            self._count(url, size)
            content = b"".join(chunks)
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            digest = hashlib.sha256(content).hexdigest()
            if self.cache is not None and (response.headers.get("etag") or
                                           response.headers.get("last-modified")):
                self.cache.remember(cache_key, _Validators(digest, media, response.headers.get("etag"),
                                                     response.headers.get("last-modified")), content)
            return Fetched(str(response.url), content, media, digest)
        finally:
            response.close()

    def _send(self, url: str, request: httpx.Request) -> httpx.Response:
        """The answer to `request`, following redirects to the hosts the source allows, at
        most `max_redirects` of them and never in a loop; the caller closes it."""
        allowed = {self.origin_host or request.url.host, *self.limits.redirect_hosts}
        chain = [str(request.url)]
        while True:
            self._before_request(url, request.url)
            response = self.client.send(request, stream=True)
            if response.next_request is None:
                return response
            response.close()
            request = response.next_request
            target = str(request.url)
            if target in chain:
                raise FetchError(f"{url}: redirects in a loop ({' -> '.join(chain + [target])})")
            if len(chain) > self.limits.max_redirects:
                raise FetchError(f"{url}: more than {self.limits.max_redirects} redirects (max_redirects)")
            if request.url.host not in allowed:
                raise FetchError(f"{url}: redirected to {target}, on a host the source does not allow "
                                 f"(allowed: {', '.join(sorted(allowed))}; more in redirect_hosts)")
            chain.append(target)

    def _count(self, url: str, size: int) -> None:
        self.total_bytes += size
        if self.total_bytes > self.limits.max_source_bytes:
            raise FetchError(f"{url}: the source has sent more than its limit of "
                             f"{self.limits.max_source_bytes} bytes in this harvest")


class _Transient(Exception):
    pass
