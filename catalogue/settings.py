"""Settings: the one place the environment is read."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEMO_SOURCES = Path(__file__).parent / "demo" / "sources.toml"
# The embedded index in the data directory, or a server reached with its own client.
SEARCH_BACKENDS = ("embedded", "opensearch", "elasticsearch")
# explorer searches a process runs at once per core it has (see catalogue.services.Searches)
SEARCHES_PER_CORE = 2
# A test hook, read once (see catalogue.storage.durable): the write boundary to kill the process at.
KILL_AT = int(os.environ.get("CATALOGUE_KILL_AT") or 0)
# A test hook, read once (see catalogue.pipeline.following): a follower's catch-up waits while this file exists.
HOLD_CATCH_UP = os.environ.get("CATALOGUE_HOLD_CATCH_UP")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    sources_file: Path
    base_uri: str
    host: str = "127.0.0.1"
    port: int = 8000
    search: str = "embedded"      # one of SEARCH_BACKENDS
    es_url: str | None = None  # the OpenSearch or Elasticsearch server: one node's URL, or several separated by commas
    es_index: str = "catalogue-variables"  # the alias searches go through
    sparql_timeout: float = 10.0     # seconds a SPARQL query may run
    sparql_max_bytes: int = 10_000_000  # the largest SPARQL answer
    sparql_workers: int = 2          # queries answered at once (one process each)
    searches_at_once: int | None = None  # explorer searches a process runs at once; None: SEARCHES_PER_CORE a core
    max_upload_bytes: int = 50 * 2**20  # the largest file a publisher may upload
    # An upload is checked in a process of its own with at most this much address space
    # and time; it is stopped past either.
    upload_memory: int = 4 * 2**30
    upload_timeout: float = 300.0
    log_format: str = "text"         # or "json", one object a line (see catalogue.logs)
    log_level: str = "warning"       # "info" adds a line per request
    # Accounts, sessions, login limits, lists, shares and audit: in PostgreSQL when set (shared
    # by several servers), else in the data directory's SQLite files.
    database_url: str | None = None
    # The graph store: a SPARQL 1.1 server (such as `oxigraph serve`) shared by several
    # servers when set, else in the data directory.
    store_url: str | None = None

    def __post_init__(self) -> None:
        if self.search not in SEARCH_BACKENDS:
            raise ValueError(f"CATALOGUE_SEARCH={self.search!r}: use one of {', '.join(SEARCH_BACKENDS)}")
        if self.search != "embedded" and not self.es_url:
            raise ValueError(f"CATALOGUE_SEARCH={self.search} needs CATALOGUE_ES_URL (e.g. http://localhost:9200)")
        if self.log_format not in ("text", "json"):
            raise ValueError(f"CATALOGUE_LOG_FORMAT={self.log_format!r}: use 'text' or 'json'")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"CATALOGUE_LOG_LEVEL={self.log_level!r}: use debug, info, warning, error or critical")
        if self.database_url and not self.database_url.startswith(("postgresql://", "postgres://")):
            scheme = self.database_url.partition(":")[0]  # not the rest, which may hold a password
            raise ValueError(f"CATALOGUE_DATABASE_URL starts {scheme!r}: use postgresql://user:password@host:port/database")
        if self.store_url and not self.store_url.startswith(("http://", "https://")):
            raise ValueError(f"CATALOGUE_STORE_URL={self.store_url!r}: use the store server's address, "
                             "e.g. http://localhost:7878")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        base = env.get("CATALOGUE_BASE_URI", "http://127.0.0.1:8000/")
        return cls(
            data_dir=Path(env.get("CATALOGUE_DATA_DIR", "data")).resolve(),
            sources_file=Path(env.get("CATALOGUE_SOURCES", str(DEMO_SOURCES))).resolve(),
            base_uri=base if base.endswith("/") else base + "/",
            host=env.get("HOST", "127.0.0.1"),
            port=int(env.get("PORT", "8000")),
            search=env.get("CATALOGUE_SEARCH", "embedded"),
            es_url=env.get("CATALOGUE_ES_URL") or None,
            es_index=env.get("CATALOGUE_ES_INDEX", "catalogue-variables"),
            sparql_timeout=float(env.get("CATALOGUE_SPARQL_TIMEOUT", "10")),
            sparql_max_bytes=int(env.get("CATALOGUE_SPARQL_MAX_BYTES", "10000000")),
            sparql_workers=max(1, int(env.get("CATALOGUE_SPARQL_WORKERS", "2"))),
            searches_at_once=max(1, int(at_once)) if (at_once := env.get("CATALOGUE_SEARCHES_AT_ONCE")) else None,
            max_upload_bytes=int(env.get("CATALOGUE_MAX_UPLOAD_BYTES", str(50 * 2**20))),
            upload_memory=int(env.get("CATALOGUE_UPLOAD_MEMORY", str(4 * 2**30))),
            upload_timeout=float(env.get("CATALOGUE_UPLOAD_TIMEOUT", "300")),
            log_format=env.get("CATALOGUE_LOG_FORMAT", "text"),
            log_level=env.get("CATALOGUE_LOG_LEVEL", "warning"),
            database_url=env.get("CATALOGUE_DATABASE_URL") or None,
            store_url=env.get("CATALOGUE_STORE_URL") or None,
        )
