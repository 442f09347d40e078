"""Curators' pages, each with its JSON twin: the overview (vocabularies, mappings by state),
a vocabulary with its versions and the forms that make a new one, the ranked candidates
for a variable, and the writes: new vocabulary versions (form or `PUT` Turtle), mappings
proposed by hand or from the candidates, and their review.

Every write needs the curator role (admins pass) before its body is read, is audit-logged
with the state before and after, and changes the curation store and the published
`curation` graph together (catalogue.curation.mappings.Curation); while a harvest holds the store's
lock, a write answers 503 rather than wait for it. Vocabularies are published, so their
pages are open to all; mappings under review and candidates are for curators.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query as Param, Request
from fastapi.responses import Response
from rdflib import Graph
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from catalogue.access.accounts import Principal
from catalogue.curation import mappings, vocabularies
from catalogue.curation.mappings import RELATIONS, STATES, Busy
from catalogue.curation.vocabularies import KINDS, MAX_TURTLE, CurationError, NotFound
from catalogue.search import VariableDoc
from catalogue.services import Services
from catalogue.site.auth import Access, answer
from catalogue.site.bodies import at_most
from catalogue.site.pages import Pages
from catalogue.site.params import PAGE_NO, answers
from catalogue.storage.database import Connection

MAPPINGS_PER_PAGE = 100
MAX_TEXT = 2000  # characters of a label, definition, note or identifier sent in a form
T = TypeVar("T")


def curation_routes(access: Access, services: Services, pages: Pages) -> APIRouter:
    app = APIRouter()
    curation = services.curation
    curator = Depends(access.role("curator"))

    def reading(work: Callable[[Connection], T]) -> T:
        try:
            with curation.read() as db:
                return work(db)
        except NotFound as exc:
            raise HTTPException(404, detail=str(exc)) from None

    async def writing(work: Callable[[Connection], T]) -> T:
        """`work` in one curation write, off the event loop; its failures as HTTP answers."""
        def run() -> T:
            with curation.write() as db:
                return work(db)
        try:
            return await run_in_threadpool(run)
        except Busy as exc:
            raise HTTPException(503, detail=str(exc), headers={"Retry-After": "60"}) from None
        except CurationError as exc:
            raise HTTPException(422, detail=exc.problems) from None
        except NotFound as exc:
            raise HTTPException(404, detail=str(exc)) from None

    def find_variable(id_or_uri: str, field: str) -> VariableDoc:
        """A variable named by its id in the catalogue, or by its URI."""
        doc = services.search.get(id_or_uri)
        if doc is None and id_or_uri.startswith(("http://", "https://")):
            found = services.view.variable(id_or_uri)
            found_id = services.view.variable_id(found) if found else None
            doc = services.search.get(found_id) if found_id else None
        if doc is None:
            raise HTTPException(422, detail=[{"field": field, "message": f"no variable {id_or_uri!r} in the catalogue"}])
        return doc

    # -- overview ------------------------------------------------------------------------

    state_param = Param(None, pattern=f"^({'|'.join(STATES)})$")

    @pages.twin(app, "/curation", "curation.html")
    def overview(state: str | None = state_param, source: str | None = Param(None, max_length=100),
                 page_no: int = PAGE_NO, user: Principal = curator) -> dict[str, Any]:
        """Mappings to review (by state and source), the vocabularies and what they hold."""
        curation.publish_if_missing()

        def work(db):
            total, found = mappings.listing(db, state, source, MAPPINGS_PER_PAGE, (page_no - 1) * MAPPINGS_PER_PAGE)
            listed = vocabularies.vocabularies(db)
            known = {v.id for v in listed}
            return {"vocabularies": [v.model_dump() for v in listed],
                    "counts": mappings.counts(db), "sources": mappings.sources(db),
                    "total": total, "pages": max(1, -(-total // MAPPINGS_PER_PAGE)),
                    "mappings": [{**m.model_dump(),
                                  "subject_shown": described(services, m.subject, m.subject_source, known),
                                  "object_shown": described(services, m.object, m.object_source, known)}
                                 for m in found]}
        return {**reading(work), "filters": {"state": state, "source": source}, "page": page_no,
                "states": STATES, "relations": list(RELATIONS), "kinds": KINDS}


    # -- vocabularies ----------------------------------------------------------------------

    @pages.twin(app, "/curation/vocabularies/{vocabulary_id}", "vocabulary.html",
                api="/api/vocabularies/{vocabulary_id}")
    def vocabulary(vocabulary_id: str) -> dict[str, Any]:
        """A curated vocabulary: its published versions and its latest concepts."""
        def work(db):
            found = vocabularies.get(db, vocabulary_id)
            return {"vocabulary": found.model_dump(),
                    "versions": [{**v.model_dump(), "url": f"/curation/vocabularies/{vocabulary_id}/versions/{v.number}.ttl"}
                                 for v in vocabularies.versions(db, vocabulary_id)],
                    "concepts": vocabularies.concepts(vocabularies.latest_graph(db, vocabulary_id))}
        return reading(work)

    @app.get("/curation/vocabularies/{vocabulary_id}/versions/{number}.ttl", responses=answers("text/turtle"))
    def vocabulary_version(vocabulary_id: str, number: int):
        text = reading(lambda db: vocabularies.turtle(db, vocabulary_id, number))
        return Response(text, media_type="text/turtle; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{vocabulary_id}-{number}.ttl"'})

    async def new_version(request: Request, user: Principal, vocabulary_id: str,
                          make: Callable[[vocabularies.Vocabulary | None, Graph | None], str], note: str,
                          kind: str | None, action: str, logged: dict | None = None) -> Response:
        """Keep the version `make` gives (from the vocabulary and its latest graph, None for a
        new one), log it and answer with it."""
        def work(db):
            before = vocabularies.find(db, vocabulary_id)
            text = make(before, vocabularies.latest_graph(db, vocabulary_id) if before else None)
            return before, vocabularies.add_version(db, vocabulary_id, text, user.account, note, kind=kind), text
        before, version, text = await writing(work)
        after = {**version.model_dump(), "sha256": hashlib.sha256(text.encode()).hexdigest(), **(logged or {})}
        access.log(user, action, f"vocabulary:{vocabulary_id}",
                   before=before and {"version": before.version, "at": before.modified}, after=after)
        return answer(request, f"/curation/vocabularies/{vocabulary_id}", after)

    @app.put("/api/vocabularies/{vocabulary_id}")
    async def put_vocabulary(request: Request, vocabulary_id: str, kind: str | None = Param(None, max_length=40),
                             note: str = Param("", max_length=MAX_TEXT), user: Principal = curator):
        """A new version from a Turtle body; with `kind`, a new vocabulary."""
        text = _turtle(await at_most(request, MAX_TURTLE))
        return await new_version(request, user, vocabulary_id, lambda *_: text, note, kind, "vocabulary.version")

    @app.post("/curation/vocabularies")
    async def post_vocabulary(request: Request, user: Principal = curator):
        """A new version (with `kind`, a new vocabulary) from a form: Turtle typed or uploaded."""
        form = await request.form(max_files=1, max_fields=10, max_part_size=MAX_TURTLE)
        fields = _fields(form, vocabulary=100, kind=40, note=MAX_TEXT)
        upload = form.get("file")
        if isinstance(upload, UploadFile) and upload.filename:
            text = _turtle(await upload.read(MAX_TURTLE + 1))
        else:
            text = _fields(form, turtle=MAX_TURTLE)["turtle"]
        return await new_version(request, user, fields["vocabulary"], lambda *_: text, fields["note"],
                                 fields["kind"] or None, "vocabulary.version")

    @app.post("/curation/vocabularies/{vocabulary_id}/concepts")
    async def post_concept(request: Request, vocabulary_id: str, user: Principal = curator):
        """A new version with one concept added or changed (labels, definitions, notation)."""
        fields = _fields(await request.form(max_files=0, max_fields=20), concept=MAX_TEXT, pref_nb=MAX_TEXT,
                         pref_en=MAX_TEXT, definition_nb=MAX_TEXT, definition_en=MAX_TEXT, notation=100, note=MAX_TEXT)
        if not fields["concept"]:
            raise HTTPException(422, detail=[{"field": "concept", "message": "give the concept's IRI, or a name for a new one"}])
        change = {"concept": fields["concept"], "label": {"nb": fields["pref_nb"], "en": fields["pref_en"]},
                  "definition": {"nb": fields["definition_nb"], "en": fields["definition_en"]},
                  "notation": fields["notation"]}

        def make(found, graph):
            if found is None:
                raise NotFound(f"no vocabulary {vocabulary_id!r}")
            return vocabularies.with_concept(found, graph, **change)
        return await new_version(request, user, vocabulary_id, make, fields["note"] or f"concept {fields['concept']}",
                                 None, "vocabulary.concept", change)

    # -- candidates and mappings -------------------------------------------------------------

    @pages.twin(app, "/curation/candidates", "candidates.html")
    def candidates(variable: str = Param(..., max_length=500), user: Principal = curator) -> dict[str, Any]:
        """The variables and standard variables a variable may be mapped to, ranked, with why."""
        doc = services.search.get(variable)
        if doc is None:
            raise HTTPException(404, detail=f"no variable with id {variable!r}")
        ranked = reading(lambda db: mappings.candidates(db, services.search, doc))
        return {"variable": doc.model_dump(mode="json", exclude={"codes"}),
                "candidates": [c.model_dump() for c in ranked], "relations": list(RELATIONS),
                "weights": mappings.WEIGHTS, "propose_from": mappings.PROPOSE_FROM, "exact_from": mappings.EXACT_FROM}

    @app.post("/curation/candidates")
    async def propose_candidates(request: Request, user: Principal = curator):
        """Rank the candidates for `variable` and propose the best as `system`."""
        doc = find_variable(_fields(await request.form(max_files=0, max_fields=10), variable=500)["variable"], "variable")
        ranked, made = await writing(lambda db: mappings.propose_candidates(db, services.search, doc))
        after = {"proposed": [m.model_dump() for m in made]}
        access.log(user, "mapping.candidates", f"variable:{doc.id}", after=after)
        return answer(request, "/curation?state=proposed",
                      {**after, "candidates": [c.model_dump() for c in ranked]})

    @app.post("/curation/mappings")
    async def propose_mapping(request: Request, user: Principal = curator):
        """A mapping proposed by hand: `subject` (a variable's id or URI), `object` (another
        variable's, or a standard variable's URI), `relation`, `note`."""
        fields = _fields(await request.form(max_files=0, max_fields=10), subject=500, object=500, relation=20,
                         note=MAX_TEXT, back=500)

        def work(db):
            subject = find_variable(fields["subject"], "subject")
            if vocabulary := _vocabulary_of(db, fields["object"]):  # a standard variable
                target, target_source = fields["object"], vocabulary
            else:
                found = find_variable(fields["object"], "object")
                target, target_source = found.uri, found.source
            return mappings.propose(db, subject.uri, target, fields["relation"] or "exactMatch", user.account,
                                    subject.source, target_source, note=fields["note"])
        made = await writing(work)
        access.log(user, "mapping.propose", f"mapping:{made.id}", after=made.model_dump())
        return answer(request, fields["back"] or "/curation?state=proposed", made.model_dump())

    @app.post("/curation/mappings/{mapping_id}")
    async def review_mapping(request: Request, mapping_id: int, user: Principal = curator):
        """Approve or reject a mapping (`state`), perhaps changing its `relation` and `note`."""
        form = await request.form(max_files=0, max_fields=10)
        fields = _fields(form, state=20, relation=20, note=MAX_TEXT, back=500)
        before, after = await writing(lambda db: mappings.review(
            db, mapping_id, fields["state"], fields["relation"] or None, user.account,
            fields["note"] if "note" in form else None))
        access.log(user, "mapping.review", f"mapping:{mapping_id}", before=before.model_dump(), after=after.model_dump())
        return answer(request, fields["back"] or "/curation", after.model_dump())

    return app


def same_variables(services: Services, uri: str) -> list[dict[str, Any]]:
    """The approved mappings of a variable, for its page: the variable (or standard variable)
    on the other side of each, and the relation."""
    with services.curation.read() as db:
        found = mappings.approved_for(db, uri)
        known = {v.id for v in vocabularies.vocabularies(db)}
    return [{"mapping": m.id, "relation": m.relation,
             **(described(services, m.object, m.object_source, known) if m.subject == uri
                else described(services, m.subject, m.subject_source, known))} for m in found]


def described(services: Services, uri: str, source: str, vocabulary_ids: set[str]) -> dict[str, Any]:
    """A mapped URI as pages show it: a concept of a curated vocabulary (its source is the
    vocabulary), or a variable of the catalogue (with no page once its source dropped it)."""
    view = services.view
    if source in vocabulary_ids:
        return {"uri": uri, "kind": "standard_variable", "id": None, "label": view.name_of(uri), "name": None,
                "source": source, "source_name": source, "url": f"/curation/vocabularies/{source}"}
    found = view.variable(uri)
    variable_id = view.variable_id(found) if found else None
    doc = services.search.get(variable_id) if variable_id else None
    if doc is None:
        return {"uri": uri, "kind": "variable", "id": None, "label": {}, "name": None, "source": source,
                "source_name": source, "url": None}
    return {"uri": uri, "kind": "variable", "id": doc.id, "label": doc.label, "name": doc.name, "source": doc.source,
            "source_name": doc.source_name, "url": f"/variables/{doc.id}"}


def _vocabulary_of(db: Connection, uri: str) -> str | None:
    """The curated vocabulary a concept's URI is in, if any."""
    for vocabulary in vocabularies.vocabularies(db):
        if any(c["uri"] == uri for c in vocabularies.concepts(vocabularies.latest_graph(db, vocabulary.id))):
            return vocabulary.id
    return None


def _fields(form, **limits: int) -> dict[str, str]:
    """Text fields of a form, stripped, each at most its limit (422 naming it otherwise)."""
    out = {}
    for name, limit in limits.items():
        value = form.get(name) or ""
        if not isinstance(value, str) or len(value) > limit:
            raise HTTPException(422, detail=[{"field": name, "message": f"text of at most {limit:,} characters"}])
        out[name] = value.strip()
    return out


def _turtle(data: bytes) -> str:
    """A vocabulary version sent as a body or a file: UTF-8 text of at most MAX_TURTLE bytes."""
    if len(data) > MAX_TURTLE:
        raise HTTPException(413, detail=f"a vocabulary version is at most {MAX_TURTLE:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(422, detail=[{"field": "turtle", "message": "Turtle is UTF-8 text"}]) from None
