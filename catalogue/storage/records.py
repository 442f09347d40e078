"""Every accepted version of every record, kept.

Per source, a manifest names the current version of each record (its key, the hash
of its triples and the run that first stored that version). Each harvest run writes
one pack: the records it added or changed, as gzipped N-Quads with one named graph
per version. Nothing a source once published is lost when it changes or vanishes,
so histories can be read back, and a record the gate now refuses can keep its last
good version.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel
from rdflib import Graph

from catalogue.storage.durable import atomic_write, unfinished, writing


class RecordVersion(BaseModel):
    hash: str
    run: str  # the run whose pack holds this version
    # A fingerprint of what the version was made from (the record's input, the source's
    # configuration, the code): a harvest that meets it again takes this version as it is.
    made_from: str | None = None


def nt_lines(graph: Graph) -> list[str]:
    """The graph as sorted, distinct N-Triples lines: the form records are hashed and kept in."""
    text = graph.serialize(format="nt", encoding="utf-8").decode()
    return sorted({line for line in text.splitlines() if line})


def version_hash(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _graph_name(digest: str) -> str:
    return f"<urn:sha256:{digest}>"


class RecordStore:
    def __init__(self, data_dir: Path):
        self.folder = Path(data_dir) / "records"

    def manifest(self, source_id: str, name: str | None = None) -> dict[str, RecordVersion]:
        """The source's manifest the state names (`name`; before states named them, each
        source had one manifest file)."""
        path = self.folder / (name or f"{source_id}.manifest.json")
        if not path.exists():
            return {}
        return {k: RecordVersion(**v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}

    def write(self, source_id: str, run_id: str, manifest: dict[str, RecordVersion],
              new_versions: Iterable[tuple[str, list[str]]]) -> str:
        """Store the run's new versions (hash, lines) in its pack, and the new manifest
        beside the current one; returns the manifest's name, which a state makes current."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with writing(self._pack_path(run_id)) as handle, \
                gzip.open(handle, "wt", encoding="utf-8") as out:
            for digest, lines in new_versions:
                name = _graph_name(digest)
                for line in lines:
                    out.write(f"{line[:-1].rstrip()} {name} .\n")  # "s p o ." -> "s p o g ."
        name = f"{source_id}.{run_id}.manifest.json"
        data = json.dumps({k: v.model_dump(exclude_none=True) for k, v in sorted(manifest.items())}, indent=0)
        atomic_write(self.folder / name, data.encode())
        return name

    def prune(self, named: set[str], runs: set[str]) -> None:
        """Remove what a killed writer left: manifests no state names, packs of runs that
        were never committed (`runs`: those that were), and files it was still writing."""
        for path in unfinished(self.folder):
            path.unlink(missing_ok=True)
        for path in self.folder.glob("*.manifest.json"):
            if path.name not in named:
                path.unlink()
        for path in self.folder.glob("*.nq.gz"):
            if path.name[:-len(".nq.gz")] not in runs:
                path.unlink()

    def pack(self, run_id: str) -> Path | None:
        """The file of the run's pack, if it stored new versions."""
        path = self._pack_path(run_id)
        return path if path.is_file() else None

    def lines(self, versions: Iterable[RecordVersion]) -> dict[str, list[str]]:
        """The N-Triples lines of stored versions, by hash."""
        return versions_lines(versions, self._pack_path)

    def each_line(self, versions: Iterable[RecordVersion]) -> Iterator[str]:
        """The N-Triples lines of stored versions, one after another as their packs are read
        (a version's lines together), never all held at once."""
        for _, line in _pack_lines(versions, self._pack_path):
            yield line

    def _pack_path(self, run: str) -> Path:
        return self.folder / f"{run}.nq.gz"


@dataclass(frozen=True)
class StoredLines:
    """A stored version's lines, read from its pack each time they are iterated: what a
    harvest takes for a record made from the same input as this version (`plan` reads them
    all in one pass over the packs instead)."""

    store: RecordStore
    version: RecordVersion

    def __iter__(self) -> Iterator[str]:
        return self.store.each_line([self.version])


def versions_lines(versions: Iterable[RecordVersion], pack_of: Callable[[str], Path | bytes | None]
                   ) -> dict[str, list[str]]:
    """The N-Triples lines of `versions`, by hash, from their runs' packs (gzipped, a file or its
    bytes; None: none kept), each read once."""
    found: dict[str, list[str]] = {}
    for digest, line in _pack_lines(versions, pack_of):
        found.setdefault(digest, []).append(line)
    return found


def _pack_lines(versions: Iterable[RecordVersion], pack_of: Callable[[str], Path | bytes | None]
                ) -> Iterator[tuple[str, str]]:
    """(hash, N-Triples line) of each line of `versions` in their runs' packs, each pack read once."""
    by_run: dict[str, set[str]] = {}
    for version in versions:
        by_run.setdefault(version.run, set()).add(_graph_name(version.hash))
    for run, names in by_run.items():
        pack = pack_of(run)
        if pack is None:
            continue
        with gzip.open(io.BytesIO(pack) if isinstance(pack, bytes) else pack, "rt", encoding="utf-8") as lines:
            for line in lines:
                triple, name = line[:-3].rsplit(" ", 1)  # "s p o <urn:sha256:…> .\n"
                if name in names:
                    yield name[len("<urn:sha256:"):-1], triple + " ."
