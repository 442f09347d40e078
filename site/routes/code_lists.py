"""The code list page: a list's versions side by side, what changed from each version to
the next (codes added, removed, relabelled), and its codes in every version, a page at a
time; and the page's JSON twin.

Changes are worked out from the stored versions, so they hold for every versioned list
whatever its source (KLASS, a JSON variable API, files of the `codelist` kind). A large
list (ICD-10 has some 19,600 codes a version) is read with one query per version, never
one lookup per code."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from fastapi import APIRouter, HTTPException, Query as Param
from rdflib import URIRef
from rdflib.namespace import RDF, SKOS

from catalogue.model.models import CodeList, Text
from catalogue.profiles.dcat_ap_no_3 import from_graph
from catalogue.services import Services
from catalogue.site.pages import Pages
from catalogue.view import View

CODES_PER_PAGE = 200
CHANGES_SHOWN = 500  # codes listed per kind of change and step; the counts are always whole
INLINE_CODES = 300  # a variable page lists a version's codes itself up to this many
CODES_QUERY = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?notation ?label ?broader WHERE {{
  ?concept skos:inScheme {scheme} ; skos:notation ?notation .
  OPTIONAL {{ ?concept skos:prefLabel ?label }}
  OPTIONAL {{ ?concept skos:broader/skos:notation ?broader }}
}}"""


@dataclass
class Code:
    label: Text
    broader: str | None


def page_url(uri: str) -> str:
    return "/code-lists?" + urlencode({"uri": uri})


def code_list_page(view: View, uri: str) -> str | None:
    """The page of a code list the catalogue minted a URI for (None for any other URI)."""
    return page_url(uri) if "/id/codelist/" in uri and without_codes(view, uri) is not None else None


def codes_of(view: View, scheme: str) -> dict[str, Code]:
    """A concept scheme's codes by notation, in one query."""
    found: dict[str, Code] = {}
    for row in view.snapshot.query(CODES_QUERY.format(scheme=ox.NamedNode(scheme))):
        code = found.setdefault(row["notation"].value, Code({}, None))
        if row["label"] is not None:
            code.label.setdefault(row["label"].language or "nb", row["label"].value)
        if row["broader"] is not None:
            code.broader = row["broader"].value
    return found


def count_codes(view: View, scheme: str) -> int:
    return sum(1 for _ in view.snapshot.store.quads_for_pattern(
        None, ox.NamedNode(str(SKOS.inScheme)), ox.NamedNode(scheme), None))


def changes(before: dict[str, Code], after: dict[str, Code]) -> dict[str, Any]:
    """From one version to the next: codes added, removed and relabelled, with counts."""
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    relabelled = sorted(c for c in after.keys() & before.keys() if after[c].label != before[c].label)
    return {
        "counts": {"added": len(added), "removed": len(removed), "relabelled": len(relabelled)},
        "added": [{"code": c, "label": after[c].label} for c in added[:CHANGES_SHOWN]],
        "removed": [{"code": c, "label": before[c].label} for c in removed[:CHANGES_SHOWN]],
        "relabelled": [{"code": c, "before": before[c].label, "after": after[c].label}
                       for c in relabelled[:CHANGES_SHOWN]],
    }


def _start(version: CodeList) -> date:
    return min((p.start or date.min for p in version.periods), default=date.min)


def versions_of(view: View, code_list: CodeList) -> list[CodeList]:
    """A code list's versions (without their codes), oldest first; the list itself if it has none."""
    return sorted(filter(None, (without_codes(view, v) for v in code_list.versions)), key=_start) or [code_list]


def steps(view: View, versions: list[CodeList]) -> tuple[list[dict[str, Code]], list[dict[str, Any]]]:
    """The codes of each version, and what changed from each version to the next."""
    codes = [codes_of(view, v.uri) for v in versions]
    return codes, [{"from": a.version_label or a.identifier, "to": b.version_label or b.identifier,
                    **changes(codes[i], codes[i + 1])}
                   for i, (a, b) in enumerate(zip(versions, versions[1:]))]


def changes_in_years(view: View, uri: str, first: int, last: int) -> dict[str, Any] | None:
    """The versions of a code list in force in some year of first..last, and what changed
    from each to the next: what an applicant wanting those years must reckon with."""
    code_list = without_codes(view, uri)
    if code_list is None or not code_list.versions:
        return None
    spanned = [v for v in versions_of(view, code_list) if any(p.meets(first, last) for p in v.periods)]
    _, found = steps(view, spanned)
    return {"uri": uri, "title": code_list.title, "url": page_url(uri),
            "versions": [v.version_label or v.identifier for v in spanned], "changes": found}


def for_variable(view: View, uri: str | None) -> tuple[CodeList | None, list[CodeList], dict[str, int]]:
    """A variable's code list, its versions oldest first, and the number of codes of each
    (by URI). A list or version with more than INLINE_CODES codes comes without them:
    the variable page links to the code list page for those."""
    if not uri:
        return None, [], {}
    counts = {uri: count_codes(view, uri)}
    read = lambda u: view.code_list(u) if counts[u] <= INLINE_CODES else without_codes(view, u)  # noqa: E731
    code_list = read(uri)
    if code_list is None:
        return None, [], {}
    versions = []
    for version_uri in code_list.versions:
        counts[version_uri] = count_codes(view, version_uri)
        if (version := read(version_uri)) is not None:
            versions.append(version)
    return code_list, sorted(versions, key=_start), counts


def without_codes(view: View, uri: str) -> CodeList | None:
    """The code list's own description, without its codes (None if `uri` is not a code list)."""
    graph = view.snapshot.describe(uri)
    return from_graph(CodeList, graph, uri) if (URIRef(uri), RDF.type, SKOS.ConceptScheme) in graph else None


def code_list_routes(services: Services, pages: Pages) -> APIRouter:
    app = APIRouter()

    @pages.twin(app, "/code-lists", "code_list.html")
    def code_list(uri: str = Param(..., max_length=2000), code: str = Param("", max_length=20),
                  page_no: int = Param(1, alias="page", ge=1)) -> dict[str, Any]:
        """A code list's codes in every version side by side (those starting with `code`)."""
        code, view = code.strip(), services.view
        try:
            ox.NamedNode(uri)
        except ValueError:
            raise HTTPException(400, detail=f"not an IRI: {uri!r}") from None
        found_list = without_codes(view, uri)
        if found_list is None:
            raise HTTPException(404, detail=f"the catalogue has no code list {uri}")
        versions = versions_of(view, found_list)
        codes, found = steps(view, versions)
        every = sorted({c for version in codes for c in version if c.casefold().startswith(code.casefold())})
        shown = every[(page_no - 1) * CODES_PER_PAGE:page_no * CODES_PER_PAGE]
        return {
            "code_list": found_list.model_dump(mode="json", exclude={"concepts"}),
            "versions": [{**v.model_dump(mode="json", exclude={"concepts"}), "codes": len(c)}
                         for v, c in zip(versions, codes)],
            "changes": found,
            "code": code, "total": len(every), "page": page_no, "size": CODES_PER_PAGE,
            # each code as every version has it (None where a version lacks it)
            "codes": [{"code": c, "broader": next((v[c].broader for v in codes if c in v), None),
                       "in_versions": [{"label": v[c].label} if c in v else None for v in codes]}
                      for c in shown],
            "variables_url": "/?" + urlencode({"code_list": uri}),
        }

    return app
