"""The routes of the applicant's variable list: its page and JSON, the forms that change it
(they work without JavaScript; a fetch gets JSON instead of a redirect), sharing by code,
and the exports."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Query as Param, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF

from catalogue.lists import MAX_ITEMS, MAX_NOTE, SHARE_DAYS, ListFull, ListItem, Shared, new_list_id, year_warnings
from catalogue.model.models import Period
from catalogue.model.namespaces import DCAT, DCT, bind_prefixes
from catalogue.profiles.dcat_ap_no_3 import period_node
from catalogue.search import VariableDoc
from catalogue.services import Services
from catalogue.site.auth import local, same_origin
from catalogue.site.i18n import language, words
from catalogue.site.list_export import EXPORT_COLUMNS, export_header, export_rows
from catalogue.site.pages import Pages
from catalogue.site.params import answers
from catalogue.site.routes.code_lists import changes_in_years
from catalogue.site.sheets import to_csv, to_xlsx
from catalogue.view import View

LIST_COOKIE, LIST_COOKIE_DAYS = "variable_list", 365
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORTS = answers("text/csv", XLSX, "text/turtle")  # and JSON
KEY_INDEX = {key: n for n, (key, _, _) in enumerate(EXPORT_COLUMNS)}


def list_routes(services: Services, pages: Pages) -> APIRouter:
    app = APIRouter()
    lists, settings = services.lists, services.settings

    def list_context(items: list[ListItem], lang: str, typed: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """The list's items with their variables and what is wrong with the years wanted;
        `typed`: what a form sent that could not be saved, shown again with its problems."""
        shown = []
        this_year = date.today().year
        view = services.view
        for item in items:
            doc = services.search.get(item.variable)
            years = doc.years(this_year) if doc else []
            shown.append({**item.model_dump(), "found": doc is not None,
                          "doc": doc.model_dump(mode="json") if doc else None,
                          "warnings": year_warnings(item, years) if doc else [],
                          **(in_years(view, doc, item, years, this_year) if doc else {}),
                          **(typed or {}).get(item.variable, {})})
        return {"items": shown, "count": len(items), "max_items": MAX_ITEMS,
                "changed": sum(bool((i.get("code_changes") or {}).get("changes") or i.get("versions_in_years"))
                               for i in shown)}

    def in_years(view: View, doc: VariableDoc, item: ListItem, years: list[int], this_year: int) -> dict[str, Any]:
        """What changed in the years wanted: the versions of the variable's code list in force
        then and what changed between them, and the variable's own declared versions then,
        when there is more than one (its name or meaning changed within the years)."""
        first = item.wanted_from if item.wanted_from is not None else (years[0] if years else None)
        last = item.wanted_to if item.wanted_to is not None else this_year
        if item.wanted_from is None and item.wanted_to is None or first is None or first > last:
            return {}
        declared = [v for v in view.variable_versions(doc.uri) if any(p.meets(first, last) for p in v.valid)]
        return {"code_changes": changes_in_years(view, doc.code_list, first, last) if doc.code_list else None,
                "versions_in_years": [{"version": v.version, "label": v.label, "valid": [p.label() for p in v.valid],
                                       "notes": v.notes} for v in declared] if len(declared) > 1 else []}

    def own_list(request: Request) -> str | None:
        return request.cookies.get(LIST_COOKIE)

    def changed(request: Request, list_id: str, back: str | None, body: dict[str, Any]) -> Response:
        """A fetch gets JSON; a form gets sent back to where it came from (on this site)."""
        if "application/json" in request.headers.get("accept", ""):
            response: Response = JSONResponse(body)
        else:
            response = RedirectResponse(local(back, "/list"), status_code=303)
        response.set_cookie(LIST_COOKIE, list_id, max_age=LIST_COOKIE_DAYS * 86400, httponly=True, samesite="lax")
        return response

    @pages.twin(app, "/list", "list.html")
    def own(request: Request) -> dict[str, Any]:
        """The list this browser keeps (its cookie names it)."""
        return {**list_context(lists.items(own_list(request) or ""), language(request)), "shared": None}

    @app.post("/list/items")
    def list_add(request: Request, variable: str = Form(..., max_length=500),
                 back: str | None = Form(None, max_length=8000),
                 wanted_from: str = Form("", alias="from", max_length=10),
                 wanted_to: str = Form("", alias="to", max_length=10)):
        """Add a variable, with the years of the search it was found by (unreadable ones are left out)."""
        same_origin(request)
        if services.search.get(variable) is None:
            raise HTTPException(404, detail=f"no variable with id {variable!r}")
        list_id = own_list(request) or new_list_id()
        years = [_year(typed)[0] for typed in (wanted_from, wanted_to)]
        try:
            count = lists.add(list_id, variable, *years)
        except ListFull as exc:
            raise HTTPException(409, detail=str(exc)) from None
        return changed(request, list_id, back, {"count": count})

    @app.post("/list/update")
    def list_update(request: Request, variable: list[str] = Form(..., max_length=MAX_ITEMS),
                    action: str = Form("save", max_length=600, pattern="^(save|up|down|remove)(:.+)?$"),
                    note: list[str] = Form([]), wanted_from: list[str] = Form([], alias="from"),
                    wanted_to: list[str] = Form([], alias="to")):
        """Save what the form holds for each of its items (one item, as a script saves it
        while it is typed, or the whole list), then do `action` ("up:<variable>", ...; the
        item is the only one sent when it is not named). Nothing typed is lost: an item that
        cannot be saved is shown again as typed, with what is wrong next to its field."""
        same_origin(request)
        list_id = own_list(request)
        if list_id is None:
            raise HTTPException(404, detail="no list yet: add a variable first")
        listed = {item.variable for item in lists.items(list_id)}
        lang = language(request)
        typed: dict[str, dict[str, Any]] = {}
        for n, name in enumerate(variable):
            if name not in listed:
                continue
            fields = {"note": _nth(note, n), "from": _nth(wanted_from, n), "to": _nth(wanted_to, n)}
            problems: dict[str, str] = {}
            years: dict[str, int | None] = {}
            for field in ("from", "to"):
                years[field], problem = _year(fields[field])
                if problem:
                    problems[field] = problem[lang]
            if len(fields["note"].strip()) > MAX_NOTE:
                problems["note"] = {"nb": f"Merknaden er lengre enn {MAX_NOTE} tegn.",
                                    "en": f"The note is longer than {MAX_NOTE} characters."}[lang]
            if problems:
                typed[name] = {"note": fields["note"], "wanted_from": fields["from"], "wanted_to": fields["to"],
                               "problems": problems}
            else:
                lists.update(list_id, ListItem(variable=name, note=fields["note"].strip(),
                                               wanted_from=years["from"], wanted_to=years["to"]))
        verb, _, target = action.partition(":")
        target = target or (variable[0] if len(variable) == 1 else "")
        if verb == "remove":
            lists.remove(list_id, target)
        elif verb in ("up", "down"):
            lists.move(list_id, target, -1 if verb == "up" else 1)
        items = lists.items(list_id)
        if typed:
            errors = [{"variable": name, "field": field, "message": message}
                      for name, entry in typed.items() for field, message in entry["problems"].items()]
            if "application/json" in request.headers.get("accept", ""):
                return JSONResponse({"detail": errors}, status_code=422)
            return pages.render(request, "list.html", {**list_context(items, lang, typed), "shared": None,
                                                       "errors": errors}, json_url="/api/list", status_code=422)
        # Only the saved items' period warnings: a script saves at every pause in typing, and
        # what changed in their code lists (a read of every version's codes) is for the page.
        this_year = date.today().year
        saved = {item.variable: [m[lang] for m in year_warnings(item, doc.years(this_year))] if doc else []
                 for item in items if item.variable in variable
                 for doc in [services.search.get(item.variable)]}
        return changed(request, list_id, f"/list#item-{_anchor(target or variable[0])}",
                       {"count": len(items), "warnings": saved})

    @app.post("/list/share")
    def list_share(request: Request):
        same_origin(request)
        list_id = own_list(request)
        if not list_id or not lists.items(list_id):
            raise HTTPException(409, detail="the list is empty: add variables before sharing it")
        shared = lists.share(list_id)
        return changed(request, list_id, f"/lists/{shared.code}", {"code": shared.code, "url": f"/lists/{shared.code}",
                                                                    "expires": shared.expires})

    def shared_list(code: str) -> Shared:
        shared = lists.shared(code)
        if shared is None:
            raise HTTPException(404, detail=f"no shared list {code!r} (a shared list lasts {SHARE_DAYS} days)")
        return shared

    @app.get("/lists/open")
    def open_shared(code: str = Param(..., max_length=20)):
        """The form on the list page: a code typed in, to its shared list."""
        return RedirectResponse(f"/lists/{_anchor(code.strip().upper())}", status_code=303)

    @pages.twin(app, "/lists/{code}", "list.html")
    def shared(request: Request, code: str) -> dict[str, Any]:
        """A list shared by its code, read-only (it can be copied)."""
        found = shared_list(code)
        return {**list_context(found.items, language(request)), "shared": found.model_dump(mode="json", exclude={"items"})}

    @app.post("/lists/{code}/copy")
    def shared_copy(request: Request, code: str):
        same_origin(request)  # with the cookie SameSite=Lax: no other site changes a list
        list_id = own_list(request) or new_list_id()
        try:
            lists.copy(shared_list(code), list_id)
        except ListFull as exc:
            raise HTTPException(409, detail=str(exc)) from None
        return changed(request, list_id, "/list", {"count": len(lists.items(list_id))})

    @app.get("/list/export.{fmt}", responses=EXPORTS)
    def list_export(request: Request, fmt: str):
        return export(request, lists.items(own_list(request) or ""), fmt, "variabelliste")

    @app.get("/lists/{code}/export.{fmt}", responses=EXPORTS)
    def shared_export(request: Request, code: str, fmt: str):
        return export(request, shared_list(code).items, fmt, f"variabelliste-{code.upper()}")

    def export(request: Request, items: list[ListItem], fmt: str, name: str) -> Response:
        lang = language(request)
        shown = list_context(items, lang)["items"]
        header, rows = export_header(lang), export_rows(shown, settings.base_uri, lang)
        attachment = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
        if fmt == "csv":
            return Response(to_csv(header, rows), media_type="text/csv; charset=utf-8", headers=attachment)
        if fmt == "excel.csv":  # as Norwegian Excel opens a file: a BOM to say UTF-8, and semicolons
            return Response(to_csv(header, rows, excel=True), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}-excel.csv"'})
        if fmt == "xlsx":
            # every variable on the first sheet; then one sheet per register, as the form asks per source
            registers = {row[KEY_INDEX["register"]] for row in rows}
            sheets = [(words(lang)["export_all"], rows)] + [
                (register, [row for row in rows if row[KEY_INDEX["register"]] == register])
                for register in sorted(registers) if len(registers) > 1]
            return Response(to_xlsx(sheets, header), headers=attachment, media_type=XLSX)
        if fmt == "json":
            keys = [key for key, _, _ in EXPORT_COLUMNS]
            return JSONResponse({"variables": [dict(zip(keys, row)) for row in rows]}, headers=attachment)
        if fmt == "ttl":
            return Response(list_graph(items).serialize(format="turtle"), headers=attachment,
                            media_type="text/turtle; charset=utf-8")
        raise HTTPException(404, detail=f"no export as {fmt!r}: csv, excel.csv, xlsx, json or ttl")

    def list_graph(items: list[ListItem]) -> Graph:
        """The list in DCAT: a catalogue of the datasets the wanted variables are in (by their
        URIs, as HealthDCAT-AP names them), whose resources are the wanted variables, each with
        the note and the years wanted, and the variables' own descriptions."""
        view = services.view
        graph = Graph()
        bind_prefixes(graph)
        selection = BNode()
        graph.add((selection, RDF.type, DCAT.Catalog))
        graph.add((selection, DCT.title, Literal("Variabelliste", lang="nb")))
        graph.add((selection, DCT.title, Literal("Variable list", lang="en")))
        for item in items:
            doc = services.search.get(item.variable)
            wanted = BNode()
            graph.add((selection, DCAT.resource, wanted))
            graph.add((wanted, RDF.type, DCAT.Resource))
            graph.add((wanted, DCT.identifier, Literal(item.variable)))
            if item.note:
                graph.add((wanted, DCT.description, Literal(item.note)))
            if item.wanted_from or item.wanted_to:
                graph.add((wanted, DCT.temporal, period_node(graph, Period(
                    start=date(item.wanted_from, 1, 1) if item.wanted_from else None,
                    end=date(item.wanted_to, 12, 31) if item.wanted_to else None))))
            if doc:
                graph.add((selection, DCAT.dataset, URIRef(doc.dataset_uri)))
                graph.add((wanted, DCT.relation, URIRef(doc.uri)))
                graph += view.variable_graph(doc.uri)
        return graph

    return app


def _nth(values: list[str], n: int) -> str:
    return values[n] if n < len(values) else ""


def _year(text: str) -> tuple[int | None, dict[str, str] | None]:
    """A year typed in a list item, or what is wrong with it (in bokmål and English)."""
    text = text.strip()
    if not text:
        return None, None
    if not text.isdigit() or not 1000 <= int(text) <= 3000:
        return None, {"nb": f"«{text[:20]}» er ikke et årstall.", "en": f"“{text[:20]}” is not a year."}
    return int(text), None


def _anchor(variable_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", variable_id)
