"""Files that survive a crash: the one atomic write every writer uses, and the boundaries
between writes.

`atomic_write` writes aside, flushes the data to disk, renames it into place and flushes
the directory, so after a power cut or a kill the file holds either its old or its new
content, never a part. Each completed write is a boundary; so is every other step a writer
marks with `boundary`.

Test hook: CATALOGUE_KILL_AT=n makes the process stop itself with SIGKILL at the n-th
boundary it passes (tests/test_kill.py kills writers there and checks that the next run
heals). Unset, a boundary costs one comparison.
"""
from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from catalogue.settings import KILL_AT

_passed = 0


def boundary(name: str) -> None:
    """A point between two writes, where a crash must leave the data directory healable."""
    global _passed
    if KILL_AT:
        _passed += 1
        if _passed == KILL_AT:
            os.write(2, f"killed at write boundary {_passed}: {name}\n".encode())
            os.kill(os.getpid(), signal.SIGKILL)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step that survives a crash (see the module)."""
    with writing(path) as handle:
        handle.write(data)


@contextmanager
def writing(path: Path) -> Iterator[BinaryIO]:
    """A file to write `path`'s new content into; it replaces `path` as `atomic_write` does
    when the block ends, and is removed if the block fails."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    sync_folder(path.parent)
    boundary(path.name)


def unfinished(folder: Path) -> list[Path]:
    """The files `writing` began in `folder` for processes that are gone: a writer killed in
    the middle of a file leaves it under its temporary name, which no rename will use."""
    found = []
    for path in folder.glob(".*.tmp") if folder.is_dir() else ():
        try:
            os.kill(int(path.name.rsplit(".", 2)[-2]), 0)
        except ValueError:  # not a name `writing` gives
            continue
        except ProcessLookupError:
            found.append(path)
        except PermissionError:  # a live process of another user
            continue
    return found


def sync_folder(folder: Path) -> None:
    """Make the renames and new files in `folder` durable."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
