"""Short, stable, URL-safe ids for the site and the API.

A dataset's id is `<source>/<key>`, a variable's `<dataset id>/<key>`, where a
key is the resource's dct:identifier (or the last segment of its URI), slugged.
"""
from __future__ import annotations

import re
import unicodedata

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
