"""The SHACL gate: typed validation results a publisher can act on."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Literal as OneOf

import pyshacl
from rdflib import Graph, Literal, URIRef
from rdflib.term import Node
from rdflib.namespace import SH

from catalogue.model import ontology
from catalogue.model.namespaces import bind_prefixes

Profile = OneOf["dcat-ap-no", "dcat-ap"]
# The gate's shape files per profile: "dcat-ap-no" (the default) adds what DCAT-AP-NO 3
# makes mandatory to what every source must satisfy.
PROFILES: dict[str, tuple[str, ...]] = {
    "dcat-ap-no": ("shapes.ttl", "shapes-dcat-ap-no.ttl"),
    "dcat-ap": ("shapes.ttl",),
}
DEFAULT_PROFILE: Profile = "dcat-ap-no"
MESSAGE_LANGUAGES = ("nb", "en")  # every result says what is wrong in each of these


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
    # The message in each of MESSAGE_LANGUAGES: the shape's own where it has one in that
    # language, else a text made from the constraint (see `_fallback`).
    messages: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

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


def _message(report: Graph, node, language: str, strict: bool = False) -> str:
    """The result's message in `language`; failing that, any message it has, or with
    `strict` one made from its constraint."""
    messages = list(report.objects(node, SH.resultMessage))
    chosen = next((m for m in messages if isinstance(m, Literal) and m.language == language), None)
    if chosen is None:
        chosen = _fallback(report, node, language) if strict else (messages[0] if messages else "")
    details = sorted({_message(report, d, language, strict) for d in report.objects(node, SH.detail)})
    return " ".join([str(chosen), *details]).strip()


# What a constraint asks, by component, for shapes (a source's own `shapes`, say) that give
# no message in a language. `{0}` is the constraint's parameter in the shape.
FALLBACKS = {
    "MinCount": ("må ha minst {0} verdi(er)", "needs at least {0} value(s)"),
    "MaxCount": ("kan ha høyst {0} verdi(er)", "may have at most {0} value(s)"),
    "Datatype": ("verdien må ha datatypen {0}", "the value must have the datatype {0}"),
    "Class": ("verdien må være av klassen {0}", "the value must be of class {0}"),
    "NodeKind": ("verdien må være av slaget {0}", "the value must be of node kind {0}"),
    "MinLength": ("verdien må ha minst {0} tegn", "the value needs at least {0} characters"),
    "MaxLength": ("verdien kan ha høyst {0} tegn", "the value may have at most {0} characters"),
    "Pattern": ("verdien må passe mønsteret {0}", "the value must match the pattern {0}"),
    "In": ("verdien er ikke blant de tillatte", "the value is not one of those allowed"),
    "HasValue": ("må ha verdien {0}", "must have the value {0}"),
    "UniqueLang": ("høyst én verdi per språk", "at most one value per language"),
    "LessThanOrEquals": ("verdien kan ikke være større enn {0}", "the value may not be greater than {0}"),
}
GENERIC = ("bryter regelen {1}", "breaks the constraint {1}")
FOUND = {"nb": "fant", "en": "found"}


def _fallback(report: Graph, node, language: str) -> str:
    """The path and what its constraint asks, e.g. 'dct:title: needs at least 1 value(s)'."""
    component = report.value(node, SH.sourceConstraintComponent)
    name = str(component or "").rsplit("#", 1)[-1].removesuffix("ConstraintComponent")
    shape = report.value(node, SH.sourceShape)  # pySHACL copies the shape into the report
    parameter = report.value(shape, SH[name[:1].lower() + name[1:]]) if shape is not None and name else None
    shown = report.namespace_manager.normalizeUri(parameter) if isinstance(parameter, URIRef) else parameter
    text = FALLBACKS.get(name, GENERIC)[MESSAGE_LANGUAGES.index(language)].format(shown, name)
    path = _path_text(report, report.value(node, SH.resultPath))
    value = report.value(node, SH.value)
    found = f" ({FOUND[language]} {str(value)[:200]})" if value is not None else ""
    return f"{path}: {text}{found}" if path else f"{text}{found}"


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
        messages={lang: _message(report, node, lang, strict=True) for lang in MESSAGE_LANGUAGES},
    )


def _path_text(report: Graph, path) -> str | None:
    if path is None:
        return None
    inverse = report.value(path, SH.inversePath)
    if inverse is not None:
        return f"^{report.namespace_manager.normalizeUri(inverse)}"
    return report.namespace_manager.normalizeUri(path) if not isinstance(path, Literal) else str(path)
