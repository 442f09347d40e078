"""The SHACL gate: typed validation results a publisher can act on."""
from __future__ import annotations

from dataclasses import dataclass, field

import pyshacl
from rdflib import Graph, Literal
from rdflib.term import Node
from rdflib.namespace import SH

from catalogue import ontology

SHAPES_FILE = "shapes.ttl"


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
    """Validate `data` against `shapes` (default: the catalogue's own shapes).

    Conformance here means no violation; warnings are reported but do not hold a record back.
    """
    shapes = ontology.load(SHAPES_FILE) if shapes is None else shapes
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
