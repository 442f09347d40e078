"""A variable's page: what it is, when it has data, its code list with the list's versions,
the versions and history the catalogue knows, the same variable elsewhere, similar ones, and
(with `at`) the variable as it was on a given day. Also as RDF (`/variables/<id>.ttl`)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query as Param, Request

from catalogue.model.models import CodeList
from catalogue.search import Query, VariableDoc
from catalogue.services import Services
from catalogue.site.as_of import variable_as_of
from catalogue.site.changes import Linker, shown
from catalogue.site.negotiation import RDF_MEDIA, rdf_response, split_format
from catalogue.site.pages import Pages
from catalogue.site.params import HTML, answers
from catalogue.site.routes.code_lists import for_variable, page_url as code_list_url
from catalogue.site.routes.curation import same_variables

HISTORY_SHOWN = 200  # events on a variable page
SIMILAR = 5  # variables of other registries offered on a variable page
AT = Param(None, max_length=40)


def variable_routes(services: Services, pages: Pages) -> APIRouter:
    app = APIRouter()

    def as_rdf(request: Request, variable_id: str, at: str | None = None):
        base, fmt = split_format(variable_id)
        if fmt:
            doc, variable, view = found(base)
            return rdf_response(view.variable_graph(variable.uri), fmt)
        return None

    @pages.twin(app, "/variables/{variable_id:path}", "variable.html", alternate=as_rdf,
                responses=answers(HTML, *RDF_MEDIA))
    def variable(variable_id: str, at: str | None = AT) -> dict[str, Any]:
        """The variable, and with `at` (a date or time) also as it was then (`then`)."""
        doc, variable, view = found(variable_id)
        code_list, versions, code_counts = for_variable(view, doc.code_list)
        events = services.history.of([variable.uri, *filter(None, [doc.code_list])], owners=[variable.uri],
                                     limit=HISTORY_SHOWN)
        return {
            "variable": {**doc.model_dump(mode="json"), **variable.model_dump(mode="json"),
                         "id": doc.id, "dataset_id": doc.dataset},
            "code_list": code_list.model_dump(mode="json") if code_list else None,
            "code_list_versions": [v.model_dump(mode="json") for v in versions],
            "code_names": code_names(versions),
            "code_counts": code_counts,
            "code_list_url": code_list_url(code_list.uri) if code_list else None,
            "versions": [v.model_dump(mode="json") for v in reversed(view.variable_versions(variable.uri))],
            # the same variable of the register from its other sources, then the curated, approved ones
            "same_variables": [*twins(doc), *same_variables(services, variable.uri)],
            "similar": similar(doc),
            "history": shown(events, Linker(view, services.search)),
            "rdf_url": f"/variables/{doc.id}.ttl",
            "then": as_of(variable, view, at) if at else None,
        }

    def found(variable_id: str):
        doc = services.search.get(variable_id)
        view = services.view
        variable = view.variable(doc.uri) if doc else None
        if doc is None or variable is None:
            raise HTTPException(404, detail=f"no variable with id {variable_id!r}")
        return doc, variable, view

    def as_of(variable, view, at: str) -> dict[str, Any]:
        try:
            return variable_as_of(view, services.history, services.records, variable, at)
        except ValueError as exc:
            raise HTTPException(422, detail=[{"field": "at", "message": str(exc)}]) from None

    def twins(doc: VariableDoc) -> list[dict[str, Any]]:
        found = [services.search.get(twin) for twin in doc.same_as]
        return [{"mapping": None, "relation": "same_register", "uri": d.uri, "kind": "variable", "id": d.id,
                 "label": d.label, "name": d.name, "source": d.source, "source_name": d.source_name,
                 "url": f"/variables/{d.id}"} for d in found if d]

    def similar(doc: VariableDoc) -> list[dict[str, Any]]:
        """Variables of other registries like this one (found, not curated), each with why:
        the words of its name or description its name matched (function words never do),
        or the code list both are coded with."""
        text = doc.label.get("nb") or next(iter(doc.label.values()), doc.name)
        by_words = services.search.search(Query(text=text[:500], size=SIMILAR * 4)).items
        by_list = services.search.search(Query(filters={"code_list": (doc.code_list,)}, size=SIMILAR * 4)).items \
            if doc.code_list else []
        found: dict[str, dict[str, Any]] = {}
        for hit in [*by_words, *by_list]:
            if hit.source == doc.source or hit.id in doc.same_as:
                continue
            words = sorted({word.lower() for field in ("label", "description")
                            for segments in hit.highlight.get(field, {}).values()
                            for word, matched in segments if matched})
            same_list = doc.code_list is not None and hit.code_list == doc.code_list
            if (words or same_list) and hit.id not in found:
                found[hit.id] = {"id": hit.id, "label": hit.label, "name": hit.name, "source_name": hit.source_name,
                                 "words": words, "code_list": hit.code_list_title if same_list else None}
        return list(found.values())[:SIMILAR]

    return app


def code_names(versions: list[CodeList]) -> dict[str, dict[str, Any]]:
    """The codes that old->new code links between a classification's versions point at."""
    linked = {uri for v in versions for c in v.concepts for uri in (*c.replaces, *c.replaced_by)}
    return {c.uri: {"notation": c.notation, "label": c.label, "version": v.title}
            for v in versions for c in v.concepts if c.uri in linked}
