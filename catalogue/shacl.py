"""The SHACL gate: typed validation results a publisher can act on."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Literal as OneOf

import pyshacl
from rdflib import Graph, Literal
from rdflib.term import Node
from rdflib.namespace import SH

from catalogue import ontology
from catalogue.namespaces import bind_prefixes

Profile = OneOf["dcat-ap-no", "dcat-ap"]
# The gate's shape files per profile: "dcat-ap-no" (the default) adds what DCAT-AP-NO 3
# makes mandatory to what every source must satisfy.
PROFILES: dict[str, tuple[str, ...]] = {
    "dcat-ap-no": ("shapes.ttl", "shapes-dcat-ap-no.ttl"),
    "dcat-ap": ("shapes.ttl",),
}
DEFAULT_PROFILE: Profile = "dcat-ap-no"


@cache
def profile_shapes(profile: Profile = DEFAULT_PROFILE) -> Graph:
    shapes = Graph()
    bind_prefixes(shapes)  # results name their paths as dct:title, not by full IRI
    for name in PROFILES[profile]:
        shapes += ontology.load(name)
    return shapes


@dataclass(frozen=True)
class Result:
    focus: str
    path: str | None
    severity: str  # "Violation", "Warning" or "Info"
    message: str
    value: str | None = None
    node: Node | None = field(default=None, compare=False, repr=False)  # the focus node itself

    def describe(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"{self.severity}: <{self.focus}>{where}: {self.message}"


@dataclass
class ValidationReport:
    conforms: bool
    results: list[Result] = field(default_factory=list)
    graph: Graph | None = None

    @property
    def violations(self) -> list[Result]:
        return [r for r in self.results if r.severity == "Violation"]


def validate(data: Graph, shapes: Graph | None = None, language: str = "en") -> ValidationReport:
    """Validate `data` against `shapes` (default: the catalogue's own, default profile).

    Conformance here means no violation; warnings are reported but do not hold a record back.
    """
    shapes = profile_shapes() if shapes is None else shapes
    _, report_graph, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none",
                                          allow_warnings=True)
    # Top-level results only; what pySHACL found inside sh:node (sh:detail) joins their message.
    results = sorted((_result(report_graph, node, language)
                      for node in report_graph.objects(None, SH.result)),
                     key=lambda r: (r.focus, r.path or "", r.message))
    return ValidationReport(conforms=not any(r.severity == "Violation" for r in results),
                            results=results, graph=report_graph)


def _message(report: Graph, node, language: str) -> str:
    messages = list(report.objects(node, SH.resultMessage))
    chosen = next((m for m in messages if isinstance(m, Literal) and m.language == language),
                  messages[0] if messages else "")
    details = sorted({_message(report, d, language) for d in report.objects(node, SH.detail)})
    return " ".join([str(chosen), *details]).strip()


def _result(report: Graph, node, language: str) -> Result:
    path = report.value(node, SH.resultPath)
    value = report.value(node, SH.value)
    severity = report.value(node, SH.resultSeverity)
    focus = report.value(node, SH.focusNode)
    return Result(
        focus=str(focus), node=focus,
        path=_path_text(report, path),
        severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
        message=_message(report, node, language),
        value=None if value is None else str(value),
    )


def _path_text(report: Graph, path) -> str | None:
    if path is None:
        return None
    inverse = report.value(path, SH.inversePath)
    if inverse is not None:
        return f"^{report.namespace_manager.normalizeUri(inverse)}"
    return report.namespace_manager.normalizeUri(path) if not isinstance(path, Literal) else str(path)
