"""Short, stable, URL-safe ids for the site and the API.

A dataset's id is `<source>/<key>`, a variable's `<dataset id>/<key>`, where a
key is the resource's dct:identifier (or the last segment of its URI), slugged.
A variable keeps its own dataset's id in its id even when that dataset is shown as
the same register as another source's (see `register`), so saved ids keep resolving.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container

_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "AE", "Ø": "O", "Å": "A"})


def slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_FOLD)).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "x"


def key(identifier: str | None, uri: str) -> str:
    return slug(identifier or re.split(r"[/#]", uri.rstrip("/#"))[-1])


def dataset_id(source: str, identifier: str | None, uri: str) -> str:
    return f"{source}/{key(identifier, uri)}"


def variable_id(dataset: str, identifier: str | None, uri: str) -> str:
    return f"{dataset}/{key(identifier, uri)}"


def register(dataset: str, same_as: Callable[[str], str | None], known: Container[str]) -> str:
    """The dataset `dataset` is shown as: the end of its owl:sameAs chain through datasets of the
    catalogue (`known`), or `dataset` itself when it declares none or the chain loops."""
    seen = [dataset]
    while (same := same_as(seen[-1])) in known:
        if same in seen:
            return dataset
        seen.append(same)
    return seen[-1]
