"""Documents made ready for a new index in one pass over them, and kept on disk until it is made.

A new index needs, before its first document, what only all of them tell: the words Norwegian
compounds are split into (its analyzers) and its summary. The documents come a few registers
at a time (see documents.read_catalogue), so they are read once, prepared for the backend,
and written to a file with no name (gone with the process, however it ends), which the
index then reads back: memory follows one document, not the catalogue."""
from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sized
from pathlib import Path
from typing import Any

from catalogue.search.analysis import CompoundParts
from catalogue.search.documents import VariableDoc
from catalogue.search.fields import Summary


class Prepared:
    """`docs` read once: their compound `parts`, their `summary`, and each as `prepare` makes
    it, in order, when iterated (once). Use as a context manager (the file is closed after)."""

    def __init__(self, docs: Iterable[VariableDoc], prepare: Callable[[VariableDoc], Any],
                 folder: Path | None = None):
        docs = docs if isinstance(docs, Sized) else list(docs)
        self._file = tempfile.TemporaryFile(dir=folder)
        parts = CompoundParts(len(docs))
        self.count = 0

        def passing() -> Iterator[VariableDoc]:
            for doc in docs:
                parts.add(doc)
                pickle.dump(prepare(doc), self._file, pickle.HIGHEST_PROTOCOL)
                self.count += 1
                yield doc

        self.summary = Summary.of(passing())
        self.parts: list[str] = parts.parts()

    def __iter__(self) -> Iterator[Any]:
        self._file.seek(0)
        for _ in range(self.count):
            yield pickle.load(self._file)

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *_) -> None:
        self._file.close()
