"""Files publishers uploaded for a source, and the source's active publication, kept in
`data/uploads/<source>/`. Harvests read an active publication instead of the source's URL
(catalogue.pipeline.harvest); catalogue.pipeline.publishing makes and withdraws publications."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

from catalogue.pipeline.fileserver import FileServer
from catalogue.settings import Settings
from catalogue.storage.durable import atomic_write

PUBLICATION = "publication.json"


class Publication(BaseModel):
    """A source's active publication: which file, and who published it when."""

    source: str
    file: str       # kept as data/uploads/<source>/<file>
    filename: str   # as uploaded
    media_type: str
    sha256: str
    bytes: int
    published_by: str
    organisation: str | None = None
    published: str
    run: str



@contextmanager
def published_url(settings: Settings, source_id: str) -> Iterator[str | None]:
    """The URL the source's active publication is served at on loopback while the context
    lasts (harvests read it there); None when nothing is published."""
    uploads = Uploads(settings.data_dir, source_id)
    publication = uploads.active()
    if publication is None:
        yield None
        return
    with FileServer(uploads.folder) as server:
        yield f"{server.url}/{publication.file}"


class Uploads:
    """A source's uploaded files and its active publication, in data/uploads/<source>/."""

    def __init__(self, data_dir: Path, source_id: str):
        self.folder = Path(data_dir) / "uploads" / source_id

    def active(self) -> Publication | None:
        path = self.folder / PUBLICATION
        return Publication.model_validate_json(path.read_text(encoding="utf-8")) if path.is_file() else None

    def keep(self, content: bytes, extension: str) -> str:
        """Store a file by its content (written aside, then renamed); returns its name."""
        name = f"{sha256(content)}{extension}"
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.folder / name, content)
        return name

    def activate(self, publication: Publication) -> None:
        atomic_write(self.folder / PUBLICATION, publication.model_dump_json(indent=1).encode())

    def withdraw(self) -> None:
        (self.folder / PUBLICATION).unlink(missing_ok=True)
        self.prune()

    def prune(self) -> None:
        """Remove the files no active publication names."""
        active = self.active()
        for path in self.folder.glob("*"):
            if path.name != PUBLICATION and (active is None or path.name != active.file):
                path.unlink(missing_ok=True)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
