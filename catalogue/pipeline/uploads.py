"""Files publishers uploaded for a source, and its publications, kept in
`data/uploads/<source>/`: each published file (named by its content) and the record of each
publication (named by the run that made it). The state names the active publication
(`SourceState.publication`), so a publication becomes active in the same atomic step as the
graph made from it. Harvests read an active publication instead of the source's URL
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
from catalogue.storage.store import State

RECORD = ".publication.json"  # the end of a publication record's name: <run id>.publication.json


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
def published_url(settings: Settings, state: State, source_id: str) -> Iterator[str | None]:
    """The URL the source's active publication is served at on loopback while the context
    lasts (harvests read it there); None when nothing is published."""
    uploads = Uploads(settings.data_dir, source_id)
    publication = uploads.active(state)
    if publication is None:
        yield None
        return
    with FileServer(uploads.folder) as server:
        yield f"{server.url}/{publication.file}"


class Uploads:
    """A source's uploaded files and publication records, in data/uploads/<source>/."""

    def __init__(self, data_dir: Path, source_id: str):
        self.source_id = source_id
        self.folder = Path(data_dir) / "uploads" / source_id

    def active(self, state: State) -> Publication | None:
        """The publication `state` names as active, if any."""
        name = self._active_name(state)
        return Publication.model_validate_json((self.folder / name).read_text(encoding="utf-8")) if name else None

    def keep(self, content: bytes, extension: str) -> str:
        """Store a file by its content (written aside, then renamed); returns its name."""
        name = f"{sha256(content)}{extension}"
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.folder / name, content)
        return name

    def record(self, publication: Publication) -> str:
        """Write the publication's record (not yet active: a state must name it); its name."""
        name = f"{publication.run}{RECORD}"
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.folder / name, publication.model_dump_json(indent=1).encode())
        return name

    def prune(self, state: State) -> None:
        """Remove the files and records `state` does not name: those of replaced or withdrawn
        publications, and of one whose writer was killed before its commit."""
        if not self.folder.is_dir():
            return
        active = self.active(state)
        kept = {self._active_name(state), active.file} if active else set()
        for path in self.folder.iterdir():
            if path.name not in kept:
                path.unlink(missing_ok=True)

    def _active_name(self, state: State) -> str | None:
        source = state.sources.get(self.source_id)
        name = source.publication if source is not None else None
        return name if name and (self.folder / name).is_file() else None


def prune_uploads(data_dir: Path, state: State) -> None:
    """Every source's uploads folder holds only what `state` names (see Uploads.prune)."""
    for folder in (Path(data_dir) / "uploads").glob("*"):
        if folder.is_dir():
            Uploads(data_dir, folder.name).prune(state)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
