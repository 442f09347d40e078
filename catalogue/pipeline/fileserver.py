"""Serves a folder over HTTP on loopback, so bundled demo sources (and test fixtures)
are harvested through the same client code as a remote source."""
from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                      ".ttl": "text/turtle", ".json": "application/json", ".xml": "application/xml",
                      ".csv": "text/csv; charset=utf-8", ".jsonld": "application/ld+json",
                      ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

    def translate_path(self, path: str) -> str:
        """The file for a request path.

        APIs have paths without extensions: /classifications/104 is stored as
        classifications/104.json (or .xml). A query string selects a file of its own,
        so paged APIs can be served: /catalog.ttl?page=2 is catalog@page=2.ttl and
        /oai?verb=ListRecords is oai@verb=ListRecords.xml ('/' in the query becomes '_').
        With Accept-Language: en, x@lang=en (.json, .xml) is served where it exists.
        """
        for folder in self.folders:  # the first folder holding the file serves it
            self.directory = folder
            found = self._translate(path)
            if Path(found).is_file():
                return found
        return found

    def _translate(self, path: str) -> str:
        plain, _, query = path.partition("?")
        local = Path(super().translate_path(plain))
        if query:
            local = local.with_name(f"{local.stem}@{query.split('#')[0].replace('/', '_')}{local.suffix}")
        # An API answering in the language asked for: Accept-Language: en selects x@lang=en.
        language = (self.headers.get("Accept-Language") or "").split(",")[0].split(";")[0].strip()
        names = [f"{local.stem}@lang={language}{local.suffix}"] if language.isalpha() else []
        for name in [*names, local.name]:
            base = local.with_name(name)
            for candidate in (base, base.with_name(base.name + ".json"), base.with_name(base.name + ".xml")):
                if candidate.is_file():
                    return str(candidate)
        return str(local)

    def do_GET(self) -> None:
        # An ETag from the file's mtime in nanoseconds and its size: Last-Modified alone
        # has whole seconds, and misses a file changed within the second it was read.
        self.etag = None
        path = Path(self.translate_path(self.path))
        if path.is_file():
            stat = path.stat()
            self.etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
            if self.headers.get("If-None-Match") == self.etag:
                self.send_response(304)
                self.end_headers()
                return
        super().do_GET()  # with If-None-Match present, it ignores If-Modified-Since

    def end_headers(self) -> None:
        if getattr(self, "etag", None):
            self.send_header("ETag", self.etag)
        super().end_headers()

    def log_message(self, format, *args) -> None:  # keep harvest output readable
        pass


class FileServer:
    """Serves `folder`; with `overlays`, a file in one of them (first first) replaces the
    file of the same path in `folder`: a later edition of a source, say."""

    def __init__(self, folder: Path, overlays: tuple[Path, ...] = (), port: int = 0):
        """`port`: 0 for any that is free."""
        handler = type("Handler", (_Handler,), {"folders": [str(f) for f in (*overlays, folder)]})
        handler = functools.partial(handler, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FileServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
