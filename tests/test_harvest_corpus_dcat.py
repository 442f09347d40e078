"""Every DCAT file of the shared corpus, harvested over HTTP by the `dcat` harvester.

Valid files yield records; invalid ones yield held-back records (or warnings) whose
report names the failing path; files that do not parse fail with the URL and line.
No file crashes a harvest. (Skipped where ../shared/corpus is absent.)
"""
from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Dataset, Graph

from catalogue.pipeline.harvest import harvest
from support import CORPUS, corpus

DCAT = CORPUS / "dcat"
SUFFIXES = {".ttl", ".rdf", ".xml", ".jsonld", ".json", ".nt", ".trig", ".txt"}
SHACL_TESTS = "dcat-ap-no-shacl-tests"
# What the files are, by their folder's documentation (see corpus/SOURCES.md):
NOT_PARSEABLE = {
    "ckanext-dcat/invalid-syntax-upstream/dataset.ttl",
    "dcat-ap-3.0.1-examples/invalid-syntax-upstream/example-bee-population-dataset-series-api.ttl",
    "dcat-ap-3.0.1-examples/invalid-syntax-upstream/example-bee-population-dataset-series-combined.ttl",
    "dcat-ap-no-validator-service/invalid/invalid_rdf.txt",
    "fdk-dataset-harvester/harvest-input/invalid/harvest_response_error.ttl",
}
INVALID = {"dcat-ap-no-validator-service/invalid/invalid_catalog.ttl"}
# Complete DCAT-AP-NO examples: everything in them passes the default (dcat-ap-no) gate.
FULLY_VALID_NO = {
    "dcat-ap-no/examples/dataset-series-example.ttl",
    *(f"dcat-ap-no-validator-service/valid/{n}" for n in (
        "valid_catalog.ttl", "valid_catalog.json", "valid_catalog.xml",
        "valid_catalog_with_distribution.ttl")),
    *(f"{SHACL_TESTS}/base-graphs/{n}.base.ttl" for n in (
        "catalog", "catalog-record", "data-service", "dataset", "distribution")),
}
# Documents that describe no catalogue, dataset or service (contexts, vocabularies,
# registry lookups, a CKAN API answer that is plain JSON, not JSON-LD).
NO_DCAT_RESOURCES = {
    "dcat-ap-3.0.1-examples/context.jsonld", "dcat-ap-no-validator-service/config.json",
    "dcat-ap-no-validator-service/ontologies.ttl", "dcat-ap-no-validator-service/skos_ontologies.ttl",
    "dcat-ap-no-validator-service/valid/valid_collection.ttl",
    "dcat-ap-no/examples/test_begrep.ttl", "dcat-ap-no/examples/begrepIkkeHostet.ttl",
    "ckanext-dcat/healthdcat-ap/ckan_health_dcat_ap.json",
    f"{SHACL_TESTS}/base-graphs/controlled-vocs/agent.base.ttl",
}
# What publisher and theme URIs dereference to (organisations, vocabularies), not catalogues.
REFERENCED = "dcat-ap-no-validator-service/referenced-resources/"
NORWEGIAN = ("dcat-ap-no/", "dcat-ap-no-validator-service/", f"{SHACL_TESTS}/")
BEE_CONTEXT = "https://semiceu.github.io/uri.semic.eu-generated/DCAT-AP/releases/3.0.0/html/examples/context.jsonld"


def _files() -> list[str]:
    if not DCAT.exists():
        return ["(corpus absent)"]
    return sorted(str(p.relative_to(DCAT)) for p in DCAT.rglob("*")
                  if p.is_file() and p.suffix in SUFFIXES and not p.match(f"{SHACL_TESTS}/*-graphs/*/*"))


@pytest.fixture(scope="module")
def dcat_corpus(request):
    from catalogue.pipeline.fileserver import FileServer
    folder = corpus("dcat")
    with FileServer(folder) as server:
        yield server.url


def source(name: str, url: str, profile: str, extra: str = "") -> str:
    """A dcat source; older DCAT-AP-NO files have no contact point, so the source gives one."""
    return f'''
[[source]]
id = "{name}"
name = "{name}"
publisher = "fhi"
kind = "dcat"
url = "{url}"
retries = 0
profile = "{profile}"
{extra}'''


@pytest.mark.parametrize("name", _files())
def test_corpus_file_is_harvested_without_crashing(settings, make_config, dcat_corpus, name):
    url = f"{dcat_corpus}/{name}"
    profile = "dcat-ap-no" if name.startswith(NORWEGIAN) else "dcat-ap"
    options = f'contexts = {{ "{BEE_CONTEXT}" = "{dcat_corpus}/dcat-ap-3.0.1-examples/context.jsonld" }}'
    options += '\ndefault_contact = { name = { nb = "Kilden" }, email = "kilde@example.no" }'

    [run] = harvest(settings, make_config(source("corpus", url, profile, options)))

    if name in NOT_PARSEABLE:
        assert run.status == "failed"
        assert url in run.error and "cannot parse as" in run.error and "line" in run.error.lower()
        return
    assert run.status == "ok", run.error
    for finding in run.held_back + run.warnings:  # every refusal says where and why
        assert finding.record and finding.message
    if name in INVALID:
        assert run.held_back and all(h.path for h in run.held_back)
    elif name in FULLY_VALID_NO:
        assert run.seen and not run.held_back, [(h.record, h.path, h.message) for h in run.held_back]
    elif not name.startswith((*NORWEGIAN, REFERENCED)) and name not in NO_DCAT_RESOURCES:
        # DCAT-AP and HealthDCAT-AP examples, through the dcat-ap gate; the Norwegian
        # examples other than the complete ones above miss DCAT-AP-NO 3 properties.
        assert run.seen and run.accepted, [(h.record, h.path, h.message) for h in run.held_back]


# -- the DCAT-AP-NO SHACL test suite: one named graph per case ---------------------

def _suite_files() -> list[str]:
    folder = DCAT / SHACL_TESTS
    if not folder.exists():
        return ["(corpus absent)"]
    return sorted(str(p.relative_to(folder)) for p in folder.glob("*-graphs/*/*.trig"))


def _cases(trig: Path, level: str, name: str, into: Path) -> list[str]:
    """Each case merged with its base graph(s), as the suite's README says, written as one file."""
    suite = trig.parents[2]
    base = Graph().parse(suite / "base-graphs" / f"{name}.base.ttl")
    if level == "controlled-vocs":
        base.parse(suite / "base-graphs" / "controlled-vocs" / "agent.base.ttl")
    cases = Dataset()
    cases.parse(trig, format="trig")
    names = []
    for graph in cases.graphs():
        case = str(graph.identifier).rsplit("/", 1)[-1]
        if not len(graph) or str(graph.identifier).startswith("urn:x-rdflib"):
            continue
        (into / f"{case}.ttl").write_bytes((base + graph).serialize(format="turtle", encoding="utf-8"))
        names.append(case)
    return names


@pytest.mark.parametrize("suite_file", _suite_files())
def test_dcat_ap_no_shacl_suite_cases_with_the_official_shapes(settings, make_config, serve, tmp_path,
                                                               suite_file):
    folder = corpus("dcat", SHACL_TESTS)
    shapes_dir = corpus("shapes", "dcat-ap-no", "v3-draft")
    verdict, level, file_name = Path(suite_file).parts
    shapes = [shapes_dir / "dcatapno3-core-shapes.ttl", shapes_dir / "dcatapno3-range-shapes.ttl"]
    if level == "controlled-vocs":
        shapes.append(shapes_dir / "dcatapno3-vocabulary-shapes.ttl")
    served = tmp_path / "cases"
    served.mkdir()
    cases = _cases(folder / suite_file, level, Path(file_name).stem, served)
    url = serve(served).url
    options = "fill_publisher = false\nshapes = [" + ", ".join(f'"{s}"' for s in shapes) + "]"
    # Each case is a source of its own, so each is gated alone; the suite's graphs are
    # DCAT-AP-NO's, checked here by its official shapes on top of the dcat-ap gate, with
    # nothing filled in by the harvester (no publisher, no contact point).
    config = make_config("".join(source(f"c{i}", f"{url}/{case}.ttl", "dcat-ap", options)
                                 for i, case in enumerate(cases)))

    runs = {case: run for case, run in zip(cases, harvest(settings, config))}

    assert all(run.status == "ok" for run in runs.values())
    if verdict == "invalid-graphs":
        # A case is invalid by a violation (its record is held back) or, where the official
        # shapes grade the rule a warning, by a warning; either way with the shape's message,
        # and its path where the shape has one.
        missed = [c for c, r in runs.items() if not (r.held_back or r.warnings)]
        assert not missed, f"cases not reported: {missed}"
    else:
        # concept-2 (a blank-node dct:subject) is valid by the suite and not by the shapes
        # it ships with; corpus/SOURCES.md notes the two are one revision apart.
        refused = {c: [(h.path, h.message) for h in r.held_back] for c, r in runs.items()
                   if r.held_back and c != "concept-2"}
        assert not refused
