"""`munin`: FHI's Munin Explorer API (the successor of helsedata.no's variable explorer).

The source URL is the API's base (`https://munin.skytest.fhi.no/api/explorer`). It is read
as FHI's own client reads it (FHIDev/Fhi.Munin.Explorer): `/kilder` lists the sources
(kilder); each is read with `/kilder/{id}` (its sub-sources and data collections),
`/kilder/{id}/hierarchy` (its variable groups) and `/datasamling/{id}` per data collection;
`/variables?page=&size=` pages through the variables (`items`, `totalPages`), each read with
`/variables/{id}`, `/variables/{id}/timeline` (its versions) and
`/variables/{id}/kodeverk/{type}/{reference}/codes` (its codes, with their validity).

What becomes what:
- a kilde is a dataset; its sub-sources (delkilder), data collections (datasamlinger) and
  variable groups are SKOS concepts of one scheme per kilde, each pointing at what it lies
  in (skos:broader), and a variable's themes are the groups, data collections and
  sub-sources it belongs to;
- a variable is a variable whose periods are `dataFrom`-`dataTo`, with one declared version
  per entry of its timeline (validity, status, texts as they read then);
- a kodeverk with code values is a code list whose codes carry their validity; one without
  (a clinical classification the API names but does not list) is a code list without codes.

Munin keeps English beside Norwegian in the same answer (`NavnEngelsk`,
`BeskrivelseEngelsk`, `TittelFlerspraklig` ...): requests ask for `Accept-Language: nb`, and
English texts come from those fields; code lists, whose names the server may resolve per
language, are asked for again in each of `code_languages`. A document the API does not have
(404 for a data collection, say) is a problem of the record built from it, not a failed source.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, SKOS

from catalogue.harvesters.base import (HarvestContext, Record, SourceError, input_text, parse_options,
                                       read_json, record_json, text_value)
from catalogue.harvesters.http import FetchError
from catalogue.model.models import (Agent, CodeList, Concept, ContactPoint, Dataset, Period, Text,
                              Variable, VariableVersion, merge_periods)
from catalogue.model.namespaces import CV, DCATAP, DPV, EU_ACCESS, EU_HEALTH, HEALTHDCATAP
from catalogue.profiles.dcat_ap_no_3 import to_graph
from catalogue.profiles.healthdcat_ap_r8 import AUTHORITY, CATEGORY_LABELS, HealthCategory

XSD = "http://www.w3.org/2001/XMLSchema#"
# Munin's data types (the options of the variable property `DataType`) as XSD types.
DATA_TYPES = {"1": "string", "2": "integer", "3": "decimal", "4": "boolean", "5": "time",
              "6": "date", "7": "dateTime", "8": "anyURI", "9": "base64Binary",
              "10": "string"}  # "10": a national identity number, 11 digits
LANGUAGE = "nb"
MARKDOWN_LINK = re.compile(r"^\[[^\]]*\]\((\S+)\)$")


class MuninOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page_size: int = Field(default=100, gt=0, le=1000)  # variables asked for per page
    max_pages: int = Field(default=1000, gt=0)
    themes: list[str] = Field(default_factory=lambda: [EU_HEALTH], min_length=1)  # of every dataset
    # Code names the server resolves per Accept-Language: each code list is read once more in
    # each of these, and names that differ from the Norwegian ones are kept in that language.
    code_languages: list[str] = Field(default_factory=lambda: ["en"])
    # Munin's data categories (`healthCategory`) as the EHDS Art. 51 categories of HealthDCAT-AP
    health_categories: dict[str, list[HealthCategory]] = Field(default_factory=lambda: {
        "ehds-cat:health-registries": ["PHDR"], "ehds-cat:registries-quality-of-healthcare": ["MRMR"],
        "ehds-cat:population-health-surveys": ["RQSH"], "ehds-cat:biobanks": ["EINS"],
        "ehds-cat:provesamling": ["EINS"]})


class MuninHarvester:
    kind: ClassVar[str] = "munin"

    def gather(self, ctx: HarvestContext) -> Iterator[Record]:
        options = parse_options(MuninOptions, ctx)
        api = _Api(ctx, ctx.url.rstrip("/"), options.code_languages)
        summaries = api.json("/kilder")
        if not isinstance(summaries, list):
            raise SourceError(f"{api.base}/kilder: expected a JSON array of kilder, not {_kind(summaries)}")
        kilder: dict[str, _Kilde] = {}
        for number, summary in enumerate(summaries, start=1):
            kilde_id, code = text_value(_get(summary, "id")), text_value(_get(summary, "code"))
            if not (kilde_id and code):
                yield Record(key=f"kilde number {number}", problems=[
                    f"{api.base}/kilder, item {number}: field 'id' or 'code' is missing"])
                continue
            if code in {k.code for k in kilder.values()} or kilde_id in kilder:
                yield Record(key=f"kilde number {number}", problems=[
                    f"{api.base}/kilder, item {number}: kilde {code} ({kilde_id}) is listed again"])
                continue
            kilde = kilder[kilde_id] = _Kilde(kilde_id, code, summary, dataset=ctx.mint("dataset", code),
                                              scheme=ctx.mint("structure", code))
            yield from _kilde_records(ctx, api, options, kilde)
        code_lists: set[str] = set()  # the code lists read in this harvest
        variables: dict[str, str] = {}  # code -> where it was listed first
        for url, rows in _pages(api, options):
            for number, row in enumerate(rows, start=1):
                place, code = f"{url}, item {number}", text_value(_get(row, "code"))
                if code and code in variables:  # the list moved while it was paged, say
                    yield Record(key=f"variable {code} again at {place}", problems=[
                        f"{place}: variable {code} is listed again (first at {variables[code]})"])
                    continue
                if code:
                    variables[code] = place
                yield from _variable_records(ctx, api, kilder, code_lists, row, place)

    def probe(self, ctx: HarvestContext) -> str:
        """For `catalogue sources check`: the first page of the variable list."""
        api = _Api(ctx, ctx.url.rstrip("/"), parse_options(MuninOptions, ctx).code_languages)
        path = "/variables?page=1&size=1"
        body = api.json(path)
        if not (isinstance(body, dict) and isinstance(body.get("items"), list)
                and isinstance(body.get("totalCount"), int)):
            raise SourceError(f"{api.base}{path}: expected a page with 'items' (a list) and 'totalCount'")
        return f"{body['totalCount']} variables"


class _Api:
    """GETs against the API's base, in Norwegian unless asked otherwise, as parsed JSON."""

    def __init__(self, ctx: HarvestContext, base: str, code_languages: list[str]):
        self.ctx, self.base, self.code_languages = ctx, base, code_languages

    def json(self, path: str, language: str = LANGUAGE) -> Any:
        url = self.base + path
        return read_json(self.ctx.http.get(url, accept="application/json", language=language).content, url)

    def detail(self, path: str, problems: list[str], where: str, shape: type = dict) -> Any:
        """A document one record is built from (a JSON object, or `shape`). One the API does
        not have, or cannot be read, is a problem of that record; any other failure (no
        answer, a server error, a limit) fails the source, which keeps its last good graph."""
        body = record_json(self.ctx.http, self.base + path, problems, where, LANGUAGE)
        if body is None:
            return None
        if not isinstance(body, shape):
            problems.append(f"{where}: {self.base}{path}: expected {_kind(shape())}, not {_kind(body)}")
            return None
        return body


@dataclass
class _Kilde:
    id: str
    code: str
    summary: dict
    dataset: str
    scheme: str  # the concept scheme of its sub-sources, data collections and groups
    delkilde_of: dict[str, str] = field(default_factory=dict)  # data collection id -> its delkilde id
    parent_of: dict[str, str] = field(default_factory=dict)    # delkilde id -> its parent delkilde id

    def concept(self, kind: str, munin_id: str) -> str:
        return f"{self.scheme}/{kind}/{quote(munin_id, safe='')}"

    def delkilder(self, datasamling_id: str) -> list[str]:
        """The sub-sources a data collection lies in, innermost first."""
        chain, at = [], self.delkilde_of.get(datasamling_id)
        while at and at not in chain:
            chain.append(at)
            at = self.parent_of.get(at)
        return chain


# -- kilder -----------------------------------------------------------------------------

def _kilde_records(ctx: HarvestContext, api: _Api, options: MuninOptions, kilde: _Kilde) -> Iterator[Record]:
    where = f"kilde {kilde.code}"
    record = Record(key=f"dataset {kilde.code}")
    detail = api.detail(f"/kilder/{quote(kilde.id, safe='')}", record.problems, where)
    if detail is None:
        yield record
        return
    read = _Reader(where, record.problems)
    if text_value(detail.get("id")) != kilde.id:
        record.problems.append(f"{where}: /kilder/{kilde.id} describes kilde {detail.get('id')!r}")
    extra = {**_properties(kilde.summary), **_properties(detail)}
    # The plain fields win: they are the names the variables and Munin's own pages use.
    title = {**read.multilingual(extra, "TittelFlerspraklig"),
             LANGUAGE: read.text(detail, "preferredTerm", required=True)}
    description = {**read.multilingual(extra, "BeskrivelseFlerspraklig"),
                   **({LANGUAGE: text} if (text := read.text(detail, "beskrivelse")) else {})}
    if not description:
        record.problems.append(f"{where}: field 'beskrivelse' is empty (a dataset needs a description)")
    homepage = _url(extra.get("Hjemmeside"))
    email = text_value(extra.get("Epost")) or None
    contact = ContactPoint(name=title, email=email, url=homepage) if email or homepage else (
        ContactPoint(name={LANGUAGE: name}, email=text_value(extra.get("healthDataAccessBodyEmail")) or None,
                     url=_url(extra.get("healthDataAccessBodyHomepage")))
        if (name := text_value(extra.get("healthDataAccessBodyName"))) else None)
    if contact is None or not (contact.email or contact.url):
        record.problems.append(f"{where}: no contact (fields 'Epost', 'Hjemmeside' and "
                               "'healthDataAccessBodyEmail' are all empty)")
    publisher = _publisher(ctx, text_value(detail.get("dataansvarlig")))
    periods = read.periods(detail, "dataFrom", "dataTo") or read.periods(detail, "gyldigFra", "gyldigTil")
    access = text_value(extra.get("accessRights"))
    if access and not access.startswith("eu-access:"):
        record.problems.append(f"{where}, field 'accessRights': {access!r} is not an eu-access: value")
    _tree(kilde, detail, read)
    if record.problems:
        yield record
        return
    to_graph(Dataset(
        uri=kilde.dataset, identifier=kilde.code, title=title, description=description,
        publisher=publisher.uri, contact=contact, themes=options.themes,
        keywords=[k.strip() for k in text_value(extra.get("AnbefalteBruksomraader")).split(";") if k.strip()],
        periods=periods, access_rights=str(EU_ACCESS[access.removeprefix("eu-access:")]) if access else None,
        landing_page=homepage), record.graph)
    to_graph(publisher, record.graph)
    _health_data(ctx, options, URIRef(kilde.dataset), extra, read, record.graph)
    record.made_from = input_text("kilde", kilde.summary, detail)
    yield record
    yield _structure(ctx, api, kilde, detail, title)
    for datasamling, delkilde in _datasamlinger(detail):
        yield _datasamling(api, kilde, datasamling, delkilde)


def _health_data(ctx: HarvestContext, options: MuninOptions, dataset: URIRef, extra: dict,
                 read: "_Reader", graph: Graph) -> None:
    """What the kilde says for HealthDCAT-AP: its legislation, its health data access body
    with that body's contact, and its EHDS categories (those `health_categories` maps)."""
    for uri in [*text_value(extra.get("applicableLegislation")).split(";"), text_value(extra.get("Forskrift"))]:
        if uri.strip().startswith(("http://", "https://")):
            graph.add((dataset, DCATAP.applicableLegislation, URIRef(uri.strip())))
    if name := text_value(extra.get("healthDataAccessBodyName")):
        body, point = URIRef(ctx.mint("agent", name)), BNode()
        graph.add((dataset, HEALTHDCATAP.hdab, body))
        graph.add((body, RDF.type, FOAF.Agent))
        graph.add((body, FOAF.name, Literal(name, lang=LANGUAGE)))
        graph.add((body, CV.contactPoint, point))
        graph.add((point, RDF.type, CV.ContactPoint))
        for key, prop in (("healthDataAccessBodyEmail", CV.email), ("healthDataAccessBodyPhone", CV.telephone)):
            if value := text_value(extra.get(key)):
                graph.add((point, prop, Literal(value)))
        if page := _url(extra.get("healthDataAccessBodyHomepage")):
            graph.add((point, CV.contactPage, URIRef(page)))
    # why the registry is kept, and whom it holds (its inclusion and exclusion criteria)
    purpose = read.multilingual(extra, "FormaalFlerspraklig") or (
        {LANGUAGE: text} if (text := text_value(extra.get("Formaal"))) else {})
    if purpose:
        node = BNode()
        graph.add((dataset, DPV.hasPurpose, node))
        graph.add((node, RDF.type, DPV.Purpose))
        for lang, text in purpose.items():
            graph.add((node, DCTERMS.description, Literal(text.strip(), lang=lang)))
    if population := text_value(extra.get("InklusjonsOgEksklusjonskriterier")):
        graph.add((dataset, HEALTHDCATAP.populationCoverage, Literal(population.strip(), lang=LANGUAGE)))
    tokens = read.json_list(extra, "healthCategory")
    for code in sorted({c for token in tokens for c in options.health_categories.get(token, [])}):
        category = URIRef(f"{AUTHORITY}healthcategories/{code}")
        graph.add((dataset, HEALTHDCATAP.healthCategory, category))
        graph.add((category, RDF.type, SKOS.Concept))
        graph.add((category, SKOS.prefLabel, Literal(CATEGORY_LABELS[code], lang="en")))


def _publisher(ctx: HarvestContext, controller: str) -> Agent:
    """The data controller, or the source's publisher when none is named (or it is that one)."""
    if not controller or controller in ctx.publisher.name.values():
        return ctx.publisher
    return Agent(uri=ctx.mint("agent", controller), name={LANGUAGE: controller})


def _delkilder(detail: dict) -> Iterator[tuple[dict, str | None]]:
    """Every sub-source of a kilde (the tree can be deep), with its parent's id (None: the kilde)."""
    def walk(nodes: Any, parent: str | None) -> Iterator[tuple[dict, str | None]]:
        for node in nodes if isinstance(nodes, list) else []:
            if isinstance(node, dict):
                yield node, parent
                yield from walk(node.get("children"), text_value(node.get("id")))
    yield from walk(detail.get("delkilder"), None)


def _datasamlinger(detail: dict) -> Iterator[tuple[dict, str | None]]:
    """Every data collection of a kilde, with the sub-source it hangs off (None: the kilde)."""
    for datasamling in detail.get("datasamlinger") or []:
        yield datasamling, None
    for delkilde, _ in _delkilder(detail):
        for datasamling in delkilde.get("datasamlinger") or []:
            yield datasamling, text_value(delkilde.get("id"))


def _tree(kilde: _Kilde, detail: dict, read: "_Reader") -> None:
    """Which sub-source each data collection and sub-source lies in; each needs its id."""
    for delkilde, parent in _delkilder(detail):
        if not text_value(delkilde.get("id")):
            read.problems.append(f"{read.where}: delkilde {delkilde.get('name')!r}: field 'id' is missing")
        elif parent:
            kilde.parent_of[text_value(delkilde.get("id"))] = parent
    for datasamling, delkilde in _datasamlinger(detail):
        if not text_value(_get(datasamling, "id")):
            read.problems.append(f"{read.where}: datasamling {_get(datasamling, 'name')!r}: field 'id' is missing")
        elif delkilde:
            kilde.delkilde_of[text_value(datasamling.get("id"))] = delkilde


def _structure(ctx: HarvestContext, api: _Api, kilde: _Kilde, detail: dict, title: Text) -> Record:
    """The kilde's scheme: its sub-sources (from the kilde) and variable groups (from its
    hierarchy, each under its parent group, or the data collection or sub-source it is in)."""
    where = f"kilde {kilde.code}"
    record = Record(key=f"structure of {kilde.code}")
    read = _Reader(where, record.problems)
    concepts: dict[str, Concept] = {}

    for node, parent in _delkilder(detail):  # their ids were checked with the dataset
        node_id, extra = text_value(node.get("id")), _properties(node)
        uri = kilde.concept("delkilde", node_id)
        concepts[uri] = Concept(
            uri=uri, notation=text_value(node.get("code")) or node_id, scheme=kilde.scheme,
            label={LANGUAGE: read.text(node, "name", required=True),
                   **({"en": en} if (en := text_value(extra.get("NavnEngelsk"))) else {})},
            notes={LANGUAGE: text} if (text := read.text(node, "beskrivelse")) else {},
            broader=kilde.concept("delkilde", parent) if parent else None,
            valid=read.periods(node, "gyldigFra", "gyldigTil"))

    hierarchy = api.detail(f"/kilder/{quote(kilde.id, safe='')}/hierarchy", record.problems,
                           f"{where}, hierarchy")
    if hierarchy is not None and text_value(hierarchy.get("kildeId")) != kilde.id:
        record.problems.append(f"{where}: /kilder/{kilde.id}/hierarchy describes kilde "
                               f"{hierarchy.get('kildeId')!r}")

    def groups(nodes: Any, broader: str | None) -> None:
        for node in nodes if isinstance(nodes, list) else []:
            node_id = text_value(_get(node, "id"))
            if not node_id:
                record.problems.append(f"{where}, hierarchy: variabelgruppe {_get(node, 'name')!r}: "
                                       "field 'id' is missing")
                continue
            uri = kilde.concept("variabelgruppe", node_id)
            concepts.setdefault(uri, Concept(uri=uri, notation=node_id, scheme=kilde.scheme, broader=broader,
                                             label={LANGUAGE: read.text(node, "name", required=True)}))
            groups(node.get("childVariabelgrupper"), uri)

    def hierarchy_delkilder(nodes: Any) -> None:
        for node in nodes if isinstance(nodes, list) else []:
            node_id = text_value(_get(node, "id"))
            for datasamling in node.get("datasamlinger") or []:
                groups(_get(datasamling, "variabelgrupper"),
                       kilde.concept("datasamling", text_value(_get(datasamling, "id"))))
            groups(node.get("unassignedVariabelgrupper"), kilde.concept("delkilde", node_id))
            hierarchy_delkilder(node.get("children"))
    if hierarchy is not None:
        for datasamling in hierarchy.get("directDatasamlinger") or []:
            groups(_get(datasamling, "variabelgrupper"),
                   kilde.concept("datasamling", text_value(_get(datasamling, "id"))))
        hierarchy_delkilder(hierarchy.get("delkilder"))
    if not record.problems:
        name = title.get(LANGUAGE) or kilde.code
        to_graph(CodeList(uri=kilde.scheme, identifier=f"{kilde.code} structure", publisher=ctx.publisher.uri,
                          title={LANGUAGE: f"{name}: delkilder, datasamlinger og variabelgrupper",
                                 "en": f"{title.get('en', name)}: sub-sources, data collections and variable groups"},
                          concepts=list(concepts.values())), record.graph)
        record.made_from = input_text("structure", kilde.id, kilde.code, title, detail, hierarchy)
    return record


def _datasamling(api: _Api, kilde: _Kilde, nested: Any, delkilde: str | None) -> Record:
    """A data collection as a concept under its sub-source (or at the top of the scheme)."""
    datasamling_id = text_value(_get(nested, "id"))
    name = text_value(_get(nested, "name"))
    where = f"kilde {kilde.code}, datasamling {name or datasamling_id}"
    record = Record(key=f"data collection {datasamling_id} ({name}, {kilde.code})")
    detail = api.detail(f"/datasamling/{quote(datasamling_id, safe='')}", record.problems, where)
    if detail is None:
        return record
    read = _Reader(where, record.problems)
    if (text_value(detail.get("id")), text_value(detail.get("parentKildeId"))) != (datasamling_id, kilde.id):
        record.problems.append(f"{where}: /datasamling/{datasamling_id} describes datasamling "
                               f"{detail.get('id')!r} of kilde {detail.get('parentKildeId')!r}")
    extra = _properties(detail)
    notes = "\n\n".join(t for t in (read.text(detail, "beskrivelse"),
                                    read.text(detail, "inklusjonsOgEksklusjonskriterier")) if t)
    concept = Concept(
        uri=kilde.concept("datasamling", datasamling_id), scheme=kilde.scheme,
        notation=read.text(detail, "code") or datasamling_id,
        label={LANGUAGE: read.text(detail, "preferredTerm", required=True),
               **({"en": en} if (en := text_value(extra.get("NavnEngelsk"))) else {})},
        notes={LANGUAGE: notes} if notes else {},
        broader=kilde.concept("delkilde", delkilde) if delkilde else None,
        valid=read.periods(detail, "gyldigFra", "gyldigTil"))
    if not record.problems:
        to_graph(concept, record.graph)
        record.made_from = input_text("datasamling", kilde.id, kilde.code, delkilde, nested, detail)
    return record


# -- variables --------------------------------------------------------------------------

def _pages(api: _Api, options: MuninOptions) -> Iterator[tuple[str, list]]:
    """The variable list page by page, until `totalPages` or a page without items."""
    seen: dict[str, int] = {}  # a digest of a page's items -> its page number
    for page in range(1, options.max_pages + 2):
        path = f"/variables?page={page}&size={options.page_size}"
        url = api.base + path
        if page > options.max_pages:
            raise SourceError(f"{url}: more than max_pages = {options.max_pages} pages")
        body = api.json(path)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise SourceError(f"{url}: expected a page with 'items' (a list), 'totalPages' and 'page'")
        if not items:
            return
        digest = hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()
        if digest in seen:
            raise SourceError(f"{url}: page {page} repeats the items of page {seen[digest]}")
        seen[digest] = page
        yield url, items
        total = body.get("totalPages")
        if not isinstance(total, int):
            raise SourceError(f"{url}: field 'totalPages' is not a number: {total!r}")
        if page >= total:
            return


def _variable_records(ctx: HarvestContext, api: _Api, kilder: dict[str, _Kilde], seen_codes: set[str],
                      row: Any, place: str) -> Iterator[Record]:
    variable_id, code = text_value(_get(row, "id")), text_value(_get(row, "code"))
    where = f"variable {code or variable_id or place}"
    record = Record(key=f"variable {code}" if code else f"variable at {place}")
    if not (variable_id and code):
        record.problems.append(f"{place}: field 'id' or 'code' is missing")
        yield record
        return
    kilde = kilder.get(text_value(row.get("kildeId")))
    if kilde is None:
        record.problems.append(f"{where}: its kilde {row.get('kildeId')!r} is not listed by /kilder")
    path = f"/variables/{quote(variable_id, safe='')}"
    detail = api.detail(path, record.problems, where)
    timeline = api.detail(path + "/timeline", record.problems, f"{where}, timeline", list) \
        if detail is not None else None
    if record.problems or kilde is None or detail is None or timeline is None:
        yield record
        return
    read = _Reader(where, record.problems)
    if text_value(detail.get("id")) != variable_id:
        record.problems.append(f"{where}: {path} describes variable {detail.get('id')!r}")
    uri = ctx.mint("variable", code)
    extra = _properties(detail)
    code_lists = [link for link in detail.get("kodeverklinker") or [] if isinstance(link, dict)]
    representation = _data_type(detail, read)
    lists: list[Record] = []
    if code_lists:
        representation, lists = _code_list(ctx, api, path, code_lists[0], seen_codes, where)
    versions = [v for v in (_version(uri, entry, read, f"{where}, timeline entry {n}")
                            for n, entry in enumerate(timeline, start=1)) if v]
    periods = read.periods(detail, "dataFrom", "dataTo")
    themes = [*(kilde.concept("variabelgruppe", text_value(_get(g, "id")))
                for g in detail.get("alleVariabelgrupper") or []),
              *(kilde.concept(kind, node) for d in detail.get("alleDatasamlinger") or []
                for kind, node in [("datasamling", text_value(_get(d, "id"))),
                                   *(("delkilde", k) for k in kilde.delkilder(text_value(_get(d, "id"))))])]
    variable = Variable(
        uri=uri, identifier=code, dataset=kilde.dataset,
        label={LANGUAGE: read.text(detail, "preferredTerm", required=True),
               **({"en": en} if (en := text_value(extra.get("NavnEngelsk"))) else {})},
        description={**({LANGUAGE: t} if (t := read.text(detail, "beskrivelse")) else {}),
                     **({"en": en} if (en := text_value(extra.get("BeskrivelseEngelsk"))) else {})},
        representation=representation, unit=text_value(extra.get("MaaleEnhet")) or None,
        themes=sorted(set(themes)), periods=periods)
    yield from lists  # read for this variable, but other variables may use them too
    if record.problems:
        yield record
        return
    # Made only if its input changed: the row, its documents, and where its kilde's tree puts them.
    made_from = input_text("variable", row, kilde.dataset, kilde.scheme, detail, timeline,
                       {d: kilde.delkilder(d) for d in (text_value(_get(g, "id"))
                                                         for g in detail.get("alleDatasamlinger") or [])})
    yield Record(key=record.key, made_from=made_from, make=partial(to_graph, variable))
    previous = None
    for version in sorted(versions, key=lambda v: v.valid[0].start or date.min):
        version = version.model_copy(update={"previous": previous})
        previous = version.uri
        yield Record(key=f"variable {code} version {version.uri.rsplit('/', 1)[-1]}",
                     made_from=made_from, make=partial(to_graph, version))


def _data_type(values: dict, read: "_Reader", field: str = "dataType") -> str | None:
    value = text_value(values.get(field))
    if value and value not in DATA_TYPES:
        read.problems.append(f"{read.where}, field {field!r}: unknown data type {value!r} "
                             f"(known: {', '.join(DATA_TYPES)})")
    return XSD + DATA_TYPES[value] if value in DATA_TYPES else None


def _version(variable: str, entry: Any, read: "_Reader", where: str) -> VariableVersion | None:
    """One timeline entry (not yet linked to the one before); None after noting a problem."""
    version_id = text_value(_get(entry, "versjonId"))
    if not version_id:
        read.problems.append(f"{where}: field 'versjonId' is missing")
        return None
    entry_read = _Reader(where, read.problems)
    valid = entry_read.periods(entry, "gyldigFra", "gyldigTil")
    extra = _properties(entry)
    start = valid[0].start.isoformat() if valid and valid[0].start else "?"
    status = text_value(entry.get("status"))
    return VariableVersion(
        uri=f"{variable}/version/{quote(version_id, safe='')}", variable=variable,
        version=f"{start} ({status})" if status else start,
        label={LANGUAGE: entry_read.text(entry, "preferredTerm", required=True),
               **({"en": en} if (en := text_value(extra.get("NavnEngelsk"))) else {})},
        description={**({LANGUAGE: t} if (t := entry_read.text(entry, "beskrivelse")) else {}),
                     **({"en": en} if (en := text_value(extra.get("BeskrivelseEngelsk"))) else {})},
        notes={**({LANGUAGE: t} if (t := text_value(extra.get("Kommentar"))) else {}),
               **({"en": en} if (en := text_value(extra.get("KommentarEngelsk"))) else {})},
        valid=valid, representation=_data_type(extra, entry_read, "DataType"),
        unit=text_value(extra.get("MaaleEnhet")) or None)


def _code_list(ctx: HarvestContext, api: _Api, variable_path: str, link: dict, seen: set[str],
               where: str) -> tuple[str | None, list[Record]]:
    """The URI of the code list a kodeverk link names, and its record the first time it is
    named in this harvest: the codes with their validity, read through this variable."""
    kind, reference = text_value(link.get("kodeverkType")), text_value(link.get("kodeverkReference"))
    if not (kind and reference):
        return None, [Record(key=f"code list of {where}", problems=[
            f"{where}, field 'kodeverklinker': a link without 'kodeverkType' or 'kodeverkReference'"])]
    uri = ctx.mint("codelist", kind, reference)
    if uri in seen:
        return uri, []
    seen.add(uri)
    record = Record(key=f"code list {kind} {reference}")
    title = {LANGUAGE: text_value(link.get("displayName")) or f"{kind} {reference}"}
    concepts: list[Concept] = []
    body, translations = None, {}  # no codes asked for: a list without codes
    if link.get("harKodeverdier"):
        if any(part and set(part) == {"."} for part in re.split(r"[/\\]", f"{kind}/{reference}")):
            record.problems.append(f"{where}: kodeverk {kind} {reference!r} cannot be asked for "
                                   "(a path part of nothing but dots)")
            return uri, [record]
        path = f"{variable_path}/kodeverk/{quote(kind, safe='')}/{quote(reference, safe='')}/codes"
        body = api.detail(path, record.problems, f"{where}, kodeverk {kind} {reference}")
        read = _Reader(f"{where}, kodeverk {kind} {reference}", record.problems)
        if body is not None:
            if (text_value(body.get("kodeverkType")), text_value(body.get("kodeverkReference"))) != (kind, reference):
                record.problems.append(f"{read.where}: {path} answers for kodeverk "
                                       f"{body.get('kodeverkType')!r} {body.get('kodeverkReference')!r}")
            translations = _translations(api, path, body)
            for number, code in enumerate(body.get("koder") or [], start=1):
                value = text_value(_get(code, "verdi"))
                if not value:
                    record.problems.append(f"{read.where}, code {number}: field 'verdi' is missing")
                    continue
                name = text_value(code.get("navn"))
                label = {LANGUAGE: name} if name else {}
                for language, names in translations.items():
                    if names.get(value) and names[value] != name:
                        label[language] = names[value]
                concepts.append(Concept(
                    uri=f"{uri}/{quote(value, safe='')}", notation=value, scheme=uri, label=label,
                    valid=_Reader(f"{read.where}, code {value}", record.problems).periods(
                        code, "gyldigFra", "gyldigTil")))
    if record.problems:
        return uri, [record]
    return uri, [Record(key=record.key, made_from=input_text("code list", uri, link, body, translations),
                        make=partial(to_graph, CodeList(uri=uri, identifier=f"{kind} {reference}", title=title,
                                                        publisher=ctx.publisher.uri, concepts=concepts)))]


def _translations(api: _Api, path: str, body: dict) -> dict[str, dict[str, str]]:
    """Per language of `code_languages`, the code names the API gives in it (value -> name).
    A translation that cannot be had leaves its names out; the Norwegian answer again is
    no translation."""
    found = {}
    for language in api.code_languages:
        try:
            answer = api.json(path, language)
        except (FetchError, SourceError):
            continue
        if answer != body and isinstance(answer, dict) and isinstance(answer.get("koder"), list):
            found[language] = {text_value(_get(c, "verdi")): text_value(_get(c, "navn")) for c in answer["koder"]}
    return found


# -- reading ----------------------------------------------------------------------------

@dataclass
class _Reader:
    """Reads fields of one record's documents; what cannot be read is that record's problem."""

    where: str
    problems: list[str]

    def text(self, values: dict, field: str, required: bool = False) -> str:
        value = values.get(field)
        if isinstance(value, (dict, list)):
            self.problems.append(f"{self.where}, field {field!r}: expected text, found {_kind(value)}")
            return ""
        text = text_value(value)
        if required and not text:
            self.problems.append(f"{self.where}: field {field!r} is missing")
        return text

    def day(self, values: dict, field: str) -> date | None:
        text = self.text(values, field)
        try:
            return date.fromisoformat(text[:10]) if text else None
        except ValueError:
            self.problems.append(f"{self.where}, field {field!r}: cannot read {text!r} as a date")
            return None

    def multilingual(self, extra: dict, key: str) -> Text:
        """A `...Flerspraklig` property: JSON {"nb": ..., "en": ...} in a string, or a JSON
        array of {"value": ..., "language": ...} (`FormaalFlerspraklig`)."""
        text = text_value(extra.get(key))
        try:
            value = read_json(text.encode(), f"{self.where}, property {key!r}") if text else {}
        except SourceError as exc:
            self.problems.append(str(exc))
            return {}
        if isinstance(value, list):
            value = {text_value(_get(v, "language")): _get(v, "value") for v in value}
        if not isinstance(value, dict) or "" in value:
            self.problems.append(f"{self.where}, property {key!r}: expected texts by language")
            return {}
        return {lang: text for lang, v in value.items() if (text := text_value(v))}

    def json_list(self, extra: dict, key: str) -> list[str]:
        """A property holding a JSON array of strings in a string (`healthCategory`)."""
        text = text_value(extra.get(key))
        try:
            value = read_json(text.encode(), f"{self.where}, property {key!r}") if text else []
        except SourceError as exc:
            self.problems.append(str(exc))
            return []
        if not isinstance(value, list):
            self.problems.append(f"{self.where}, property {key!r}: expected a JSON array")
            return []
        return [text_value(v) for v in value]

    def periods(self, values: dict, start_field: str, end_field: str) -> list[Period]:
        start, end = self.day(values, start_field), self.day(values, end_field)
        if not (start or end):
            return []
        try:
            return merge_periods([Period(start=start, end=end)])
        except ValueError as exc:
            self.problems.append(f"{self.where}, field {end_field!r}: {exc}")
            return []


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__)


def _properties(values: dict) -> dict:
    """A document's `additionalProperties` (every value a string, some holding JSON)."""
    extra = values.get("additionalProperties")
    return extra if isinstance(extra, dict) else {}


def _url(value: Any) -> str | None:
    """A URL, also as Munin's editors write it in Markdown: [text](url)."""
    text = text_value(value)
    if match := MARKDOWN_LINK.match(text):
        text = match[1]
    return text if text.startswith(("http://", "https://")) else None
