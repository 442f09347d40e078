"""Reads the Turtle files shipped in `ontologies/`, checked against their manifest."""
from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources

from rdflib import Graph
from rdflib.namespace import SKOS

PACKAGE = "catalogue.ontologies"


def _manifest() -> dict[str, str]:
    return json.loads(resources.files(PACKAGE).joinpath("manifest.json").read_text())


def file_hash(name: str) -> str:
    return hashlib.sha256(resources.files(PACKAGE).joinpath(name).read_bytes()).hexdigest()


def vocabularies() -> list[str]:
    """The SKOS vocabulary files (every shipped Turtle file but the SHACL shapes)."""
    return sorted(name for name in _manifest() if not name.startswith("shapes"))


@cache
def load(name: str) -> Graph:
    """The named ontology file as a graph; refuses a file that differs from the manifest."""
    expected = _manifest().get(name)
    if expected is None:
        raise KeyError(f"{name} is not listed in ontologies/manifest.json")
    if file_hash(name) != expected:
        raise ValueError(f"ontologies/{name} does not match its hash in manifest.json; "
                         "run `catalogue ontologies --update-manifest` after editing it")
    graph = Graph()
    graph.parse(data=resources.files(PACKAGE).joinpath(name).read_text(encoding="utf-8"),
                format="turtle")
    return graph


@cache
def labels(name: str) -> dict[str, dict[str, str]]:
    """Each concept of the named vocabulary file, with its preferred label per language
    (the first in sorted order where one language has several)."""
    found: dict[str, dict[str, str]] = {}
    for concept, label in sorted(load(name).subject_objects(SKOS.prefLabel), key=lambda pair: (pair[0], str(pair[1]))):
        found.setdefault(str(concept), {}).setdefault(getattr(label, "language", None) or "nb", str(label))
    return found


def update_manifest() -> dict[str, str]:
    folder = resources.files(PACKAGE)
    manifest = {entry.name: file_hash(entry.name)
                for entry in sorted(folder.iterdir(), key=lambda e: e.name)
                if entry.name.endswith(".ttl")}
    folder.joinpath("manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
