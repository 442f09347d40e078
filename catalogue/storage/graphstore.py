"""The graph store: every source's graph in one persistent oxigraph (RocksDB) database,
which readers open at the checkpoint their state names.

RocksDB lets one process open a database to write, and no process may read it meanwhile.
So the writer (holding the data directory's lock) keeps the primary database in
`store/primary`, brings it to the graphs a new state names (changing only the sources whose
graph file changed, by the lines that differ where they are few, never reloading the whole
catalogue), and makes a checkpoint of it in
`store/checkpoints/`: hard links to the primary's files, which RocksDB never changes, so the
checkpoint is cheap, immutable, and opened read-only by any number of processes. The state
names the checkpoint beside the graph files; a reader opens the one its state names and sees
whole graphs of one generation without loading them into memory.

What the primary holds is written beside it (`store/primary.json`) before and after each
change: a writer killed in between leaves the sources it was changing unknown, and the next
write reloads them from their graph files, which stay the durable record.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox

from catalogue.storage.durable import atomic_write, boundary, sync_folder

LOCK = ".lock"  # held by a process using a private copy (see `private_copy`) while it lives
_COPY_LOCKS: list = []  # the open lock files of this process's private copies
# Lines of a graph file that may differ from the one the primary holds for it to be changed
# by them, in one transaction held in memory; more, and the graph is loaded whole, from disk.
MAX_CHANGES = 50_000


class GraphStore:
    def __init__(self, folder: Path):
        self.folder = folder
        self.primary = folder / "primary"
        self.held_file = folder / "primary.json"
        self.checkpoints = folder / "checkpoints"
        self.copies = folder / "copies"

    def checkpoint(self, graphs: dict[str, Path]) -> str:
        """Bring the primary to hold exactly `graphs` (graph name -> N-Triples file) and
        return the name of a new checkpoint of it. The caller holds the data directory's lock."""
        held = self._held()
        kept = {name: file for name, file in held.items() if name in graphs and graphs[name].name == file}
        if kept != held:  # what is about to change is unknown until it is done
            self._write_held(kept)
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        name = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        primary = ox.Store(str(self.primary))
        try:
            for graph in list(primary.named_graphs()):
                if not (isinstance(graph, ox.NamedNode) and (graph.value in kept or graph.value in graphs)):
                    primary.remove_graph(graph)
            for graph, path in graphs.items():
                if graph in kept:
                    continue
                changes = _changes(path.with_name(held[graph]), path) if graph in held else None
                if changes is None:
                    primary.remove_graph(ox.NamedNode(graph))
                    primary.bulk_load(path=str(path), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph))
                else:  # the few lines that differ, in one transaction
                    gone, new = changes
                    primary.update(f"DELETE DATA {{ GRAPH <{graph}> {{ {' '.join(gone)} }} }} ; "
                                   f"INSERT DATA {{ GRAPH <{graph}> {{ {' '.join(new)} }} }}")
            boundary("primary store loaded")
            primary.backup(str(self.checkpoints / name))
        finally:
            del primary  # closed now, even on an error: the next writer may be another process
        sync_folder(self.checkpoints)
        boundary("checkpoint made")
        self._write_held({graph: path.name for graph, path in graphs.items()})
        return name

    def has(self, checkpoint: str) -> bool:
        return (self.checkpoints / checkpoint / "CURRENT").is_file()

    def open(self, checkpoint: str) -> ox.Store:
        """The checkpoint, read-only (FileNotFoundError if it was pruned)."""
        return ox.Store.read_only(str(self.checkpoints / checkpoint))

    def private_copy(self, checkpoint: str, folder: Path) -> ox.Store:
        """A copy of the checkpoint in `folder` (new, under `copies`) that this process may
        add to: hard links to its data files (RocksDB writes new files, never into old
        ones), copies of the rest. `folder` is locked while the process lives; `prune`
        removes copies no process holds."""
        folder.mkdir(parents=True)
        handle = open(folder / LOCK, "w")
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            for path in (self.checkpoints / checkpoint).iterdir():
                if path.suffix == ".sst":
                    os.link(path, folder / path.name)
                else:
                    shutil.copy2(path, folder / path.name)
        except FileNotFoundError:  # pruned meanwhile
            handle.close()
            shutil.rmtree(folder)
            raise
        _COPY_LOCKS.append(handle)  # kept open, so locked, until the process ends
        return ox.Store(str(folder))

    def prune(self, current: str | None, keep: Iterable[str] = ()) -> None:
        """Remove the checkpoints but `current`, the one before it (a reader may still be
        on it) and those in `keep`, and copies no live process holds. The caller holds the lock."""
        names = sorted(p.name for p in self.checkpoints.glob("*"))
        older = [n for n in names if current and n < current and self.has(n)]  # not one cut off midway
        for name in names:  # names sort by the time they were made
            if name != current and name not in older[-1:] and name not in keep:
                shutil.rmtree(self.checkpoints / name, ignore_errors=True)
        for folder in self.copies.glob("*"):
            with open(folder / LOCK, "a") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
            shutil.rmtree(folder, ignore_errors=True)

    def _held(self) -> dict[str, str]:
        """graph name -> the file it was loaded from, of what the primary surely holds."""
        if not self.held_file.exists() or not self.primary.exists():
            return {}
        return json.loads(self.held_file.read_text(encoding="utf-8"))

    def _write_held(self, held: dict[str, str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.held_file, json.dumps(held, indent=1, sort_keys=True).encode())



def _changes(old: Path, new: Path) -> tuple[list[str], list[str]] | None:
    """The lines only in `old` and those only in `new`, two graph files (sorted, distinct
    N-Triples lines); None (load `new` whole) if `old` is gone or not sorted, or the lines
    that differ are many or hold blank nodes (whose labels are each file's own)."""
    gone: list[str] = []
    added: list[str] = []
    try:
        with open(old, encoding="utf-8") as before, open(new, encoding="utf-8") as after:
            before_lines, after_lines = _sorted(before), _sorted(after)
            a, b = next(before_lines, None), next(after_lines, None)
            while (a is not None or b is not None) and len(gone) + len(added) <= MAX_CHANGES:
                if b is None or (a is not None and a < b):
                    gone.append(a)
                    a = next(before_lines, None)
                elif a is None or b < a:
                    added.append(b)
                    b = next(after_lines, None)
                else:
                    a, b = next(before_lines, None), next(after_lines, None)
    except (FileNotFoundError, ValueError):
        return None
    lines = [line.strip() for line in (*gone, *added)]
    if len(lines) > MAX_CHANGES or any(line.startswith("_:") or " _:" in line for line in lines):
        return None
    return lines[:len(gone)], lines[len(gone):]


def _sorted(lines: Iterator[str]) -> Iterator[str]:
    previous = ""
    for line in lines:
        if line < previous:
            raise ValueError("not sorted")
        previous = line
        yield line
