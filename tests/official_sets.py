"""HealthDCAT-AP release 8's official shape set per access level, as the HealthData@EU
validator loads it: from the shared corpus (`shapes/healthdcat-ap-r8/`, and DCAT-AP 3.0.1's
modular shapes for what it imports of DCAT-AP), the files the corpus lacks from
tests/fixtures/shapes/healthdcat-ap-r8/ (see its SOURCES.md). Skipped without the corpus."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import DCTERMS, OWL, SH, SKOS

from catalogue.model.namespaces import CSVW
from support import FIXTURES, corpus

KEPT_HERE = FIXTURES / "shapes" / "healthdcat-ap-r8"
DCAT_AP = "https://semiceu.github.io/DCAT-AP/releases/3.0.0/html/shacl/"
# The shape files of DCAT-AP 3 the set owl:imports (and its deprecated-URI shapes), as DCAT-AP
# 3.0.1 publishes them. Its other imports are vocabularies and ontologies, which the validator
# merges into the data it checks: they are not loaded here, so every concept the export uses
# must say its scheme itself (stricter).
FROM_DCAT_AP_3 = {"deprecated/deprecateduris.ttl": "deprecateduris.ttl",
                  **{f"{DCAT_AP}{name}": name for name in ("shapes.ttl", "range.ttl", "shapes_recommended.ttl")}}


def _file(name: str) -> Path:
    """One file of the set: the corpus's copy, else the one kept here."""
    if name in FROM_DCAT_AP_3:
        return corpus("shapes", "dcat-ap-3.0.1", "modular", FROM_DCAT_AP_3[name])
    in_corpus = corpus("shapes", "healthdcat-ap-r8") / name
    return in_corpus if in_corpus.exists() else KEPT_HERE / name


def level_files(level: str) -> list[Path]:
    """The files the validator's config.properties names for `level` (public, restricted,
    non-public), then the shape files these owl:import."""
    lines = _file("config.properties").read_text().splitlines()
    settings = dict(map(str.strip, line.split("=", 1)) for line in lines if "=" in line and not line.startswith("#"))
    files = [_file(name.strip()) for name in settings[f"validator.shaclFile.{level}"].split(",")]
    imported = {uri for path in files for uri in Graph().parse(path).objects(None, OWL.imports)}
    return files + [_file(str(uri)) for uri in sorted(imported) if str(uri) in FROM_DCAT_AP_3]


def level_shapes(level: str, for_pyshacl: bool = True) -> Graph:
    """The level's shapes in one graph. `for_pyshacl`: pySHACL refuses the level file as
    published ("hasStructuredData true needs hasVariables" is an `sh:property [ sh:or (...) ]`
    without sh:path, no well-formed property shape); the rule is about the dataset itself, so
    that one node is attached to the dataset's shape by sh:node instead: the same check on the
    same datasets."""
    shapes = Graph()
    for path in level_files(level):
        shapes.parse(path)
    shapes.remove((None, OWL.imports, None))  # loaded above or left out: never fetched (TopBraid would)
    if for_pyshacl:
        pathless = [(shape, node) for shape, node in shapes.subject_objects(SH.property)
                    if (node, SH.path, None) not in shapes]
        assert len(pathless) == 1 and (pathless[0][1], SH["or"], None) in shapes, pathless
        shape, node = pathless[0]
        shapes.remove((shape, SH.property, node))
        shapes.add((shape, SH.node, node))
    return shapes


# What the demo's export of each level misses, by path (violations), with either engine. Public
# and restricted: nothing. Non-public: only what no source gives: 64 variables have no
# description (14 of the variable search API, and the 50 of MFR, SYSVAK and MSIS: their
# codebooks give none), counted on the column and on its table; and a variable group of ALS
# that only ALS's hierarchy names (its document was not captured) has no label.
MISSING = {
    "public": {},
    "restricted": {},
    "non-public": {DCTERMS.description: 64, CSVW.column: 64, SKOS.prefLabel: 1},
}


def export(client, level: str) -> Graph:
    """The catalogue in HealthDCAT-AP at `level`, as HealthData@EU would be given it."""
    answer = client.get("/catalog", params={"profile": "healthdcat-ap", "access": level})
    assert answer.status_code == 200, answer.text
    return Graph().parse(data=answer.text, format="turtle")


def violations(report: Graph) -> Counter:
    """A SHACL validation report's violations (pySHACL's or TopBraid's), counted by path."""
    return Counter(report.value(r, SH.resultPath) for r in report.objects(None, SH.result)
                   if report.value(r, SH.resultSeverity) == SH.Violation)
