"""Serves a folder over HTTP on loopback, so bundled demo sources (and test fixtures)
are harvested through the same client code as a remote source."""
from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                      ".ttl": "text/turtle", ".json": "application/json",
                      ".csv": "text/csv; charset=utf-8", ".jsonld": "application/ld+json",
                      ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

    def translate_path(self, path: str) -> str:
        # APIs such as KLASS have paths without extensions: /classifications/104 is
        # stored as classifications/104.json.
        local = super().translate_path(path)
        if not Path(local).exists() and Path(local + ".json").is_file():
            return local + ".json"
        return local

    def log_message(self, format, *args) -> None:  # keep harvest output readable
        pass


class FileServer:
    def __init__(self, folder: Path):
        handler = functools.partial(_Handler, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
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
