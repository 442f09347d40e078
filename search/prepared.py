"""Documents made ready for a new index in one pass over them, and kept on disk until it is made.

A new index needs, before its first document, what only all of them tell: the words Norwegian
compounds are split into (its analyzers) and its summary. The documents come a few registers
at a time (see documents.read_catalogue), so they are read once, prepared for the backend,
and written to a file with no name (gone with the process, however it ends), which the
index then reads back: memory follows one batch of documents, not the catalogue.

Documents that come in batches (`Batched`) are prepared a batch at a time where they are made,
in forked processes on a machine with several cores: what comes back is each batch's prepared
documents, written as they are, and its part of the compound words and of the summary."""
from __future__ import annotations

import io
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from catalogue.search.analysis import CompoundParts
from catalogue.search.documents import VariableDoc
from catalogue.search.fields import Summary

T = TypeVar("T")


class Batched(Protocol):
    """Documents taken a batch at a time (see documents.Documents)."""

    def __len__(self) -> int: ...

    def each_batch(self, work: Callable[[list[VariableDoc]], T]) -> Iterator[T]: ...


class Prepared:
    """`docs` read once: their compound `parts`, their `summary`, and each as `prepare` makes
    it, in order, when iterated (once). Use as a context manager (the file is closed after)."""

    def __init__(self, docs: Iterable[VariableDoc] | Batched, prepare: Callable[[VariableDoc], Any],
                 folder: Path | None = None):
        batched = hasattr(docs, "each_batch")
        docs = docs if batched else list(docs)
        self._file = tempfile.TemporaryFile(dir=folder)
        count = len(docs)
        parts, self.summary, self.count = CompoundParts(count), Summary(), 0

        def work(batch: list[VariableDoc]) -> tuple[bytes, int, CompoundParts, dict]:
            seen, out = CompoundParts(count), io.BytesIO()
            for doc in batch:
                seen.add(doc)
                pickle.dump(prepare(doc), out, pickle.HIGHEST_PROTOCOL)
            return out.getvalue(), len(batch), seen, Summary.of(batch).registers

        for prepared, n, seen, registers in docs.each_batch(work) if batched else [work(docs)]:  # else one batch
            self._file.write(prepared)
            self.count += n
            parts.update(seen)
            self.summary.update(Summary(registers))
        self.parts: list[str] = parts.parts()

    def __iter__(self) -> Iterator[Any]:
        self._file.seek(0)
        for _ in range(self.count):
            yield pickle.load(self._file)

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *_) -> None:
        self._file.close()

