"""`ddi`: studies and their variables from DDI-Codebook 2.5 and DDI-Lifecycle 3.2/3.3.

A source is one XML document (a codeBook, a DDIInstance or an OAI-PMH response
wrapping either), or with `mode = "oai"` an OAI-PMH repository listed page by page.
A study becomes a dataset; each variable gets the study's time coverage as its
periods (DDI rarely dates single variables); a DDI-C variable's categories and a
DDI-L code list become SKOS code lists.
"""
from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath
from typing import ClassVar, Literal
from urllib.parse import urlencode, urlparse
from xml.etree.ElementTree import Element

from pydantic import BaseModel, ConfigDict, Field

from rdflib.namespace import XSD

from catalogue.harvesters.base import HarvestContext, Record, SourceError, parse_options
from catalogue.harvesters.xml import local, parse_xml
from catalogue.model.models import CodeList, Concept, ContactPoint, Dataset, Period, Text, Variable
from catalogue.model.namespaces import EU_HEALTH
from catalogue.profiles.dcat_ap_no_3 import to_graph

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
ACCEPT = "application/xml, text/xml;q=0.9, */*;q=0.1"
DDI_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T.*)?")
HTTP_URI = re.compile(r"https?://\S+")
# DDI-L representations that are not code lists, by element (and type code) -> XSD datatype
LIFECYCLE_TYPES = {"TextRepresentation": "string", "Integer": "integer", "Long": "integer",
                   "Short": "integer", "BigInteger": "integer", "Date": "date",
                   "DateTime": "dateTime", "Year": "gYear", "Time": "time"}


class DdiOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["file", "oai"] = "file"
    metadata_prefix: str = "oai_ddi25"  # OAI-PMH only
    set: str | None = None              # OAI-PMH only
    language: str = "nb"  # of text without xml:lang; keywords are kept in this language only
    # DDI rarely says which DCAT theme or contact a study has: these fill in.
    themes: list[str] = Field(default_factory=lambda: [EU_HEALTH], min_length=1)
    contact: ContactPoint | None = None
    access_rights: str | None = None


@dataclass
class Item:
    """A variable as read from DDI, before it is tied to its study."""

    name: str
    label: Text
    description: Text
    representation: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class Study:
    identifier: str
    title: Text
    description: Text
    keywords: list[str]
    periods: list[Period]
    contact: ContactPoint | None
    landing_page: str | None
    problems: list[str]
    variables: list[Item]
    code_lists: list[CodeList]


class DdiHarvester:
    kind: ClassVar[str] = "ddi"

    def gather(self, ctx: HarvestContext) -> Iterator[Record]:
        options = parse_options(DdiOptions, ctx)
        if options.mode == "oai":
            for url, root in _oai_pages(ctx, options):
                yield from _oai_records(ctx, options, root, url)
            return
        root = parse_xml(ctx.http.get(ctx.url, accept=ACCEPT).content, ctx.url)
        if local(root.tag) == "OAI-PMH":
            yield from _oai_records(ctx, options, root, ctx.url)
        elif local(root.tag) in ("codeBook", "DDIInstance"):
            yield from _records(ctx, options, root, ctx.url, PurePosixPath(urlparse(ctx.url).path).stem)
        else:
            raise SourceError(f"{ctx.url}: root element <{local(root.tag)}> is not a DDI-Codebook "
                              "codeBook, a DDI-Lifecycle DDIInstance or an OAI-PMH response")

    def probe(self, ctx: HarvestContext) -> str:
        """For `catalogue sources check`: the document, or the repository's first page."""
        options = parse_options(DdiOptions, ctx)
        if options.mode == "oai":
            url, root = next(_oai_pages(ctx, options))
        else:
            url, root = ctx.url, parse_xml(ctx.http.get(ctx.url, accept=ACCEPT).content, ctx.url)
        if local(root.tag) in ("codeBook", "DDIInstance"):
            return f"DDI {local(root.tag)}"
        if local(root.tag) != "OAI-PMH":
            raise SourceError(f"{url}: root element <{local(root.tag)}> is not a DDI-Codebook codeBook, "
                              "a DDI-Lifecycle DDIInstance or an OAI-PMH response")
        if (error := root.find("{*}error")) is not None:
            raise SourceError(f"{url}: OAI-PMH error {error.get('code')!r}: {_text(error)}")
        return f"OAI-PMH: {len(root.findall('{*}ListRecords/{*}record'))} records on the first page"


# -- OAI-PMH ----------------------------------------------------------------------

def _oai_pages(ctx: HarvestContext, options: DdiOptions) -> Iterator[tuple[str, Element]]:
    """ListRecords pages, following resumption tokens until one is empty or absent."""
    params = {"verb": "ListRecords", "metadataPrefix": options.metadata_prefix}
    if options.set:
        params["set"] = options.set
    followed: set[str] = set()
    while True:
        url = f"{ctx.url}{'&' if '?' in ctx.url else '?'}{urlencode(params)}"
        root = parse_xml(ctx.http.get(url, accept=ACCEPT).content, url)
        yield url, root
        token = _text(root.find("{*}ListRecords/{*}resumptionToken"))
        if not token:
            return
        if token in followed:  # a repository that loops would otherwise be listed forever
            raise SourceError(f"{url}: resumptionToken {token!r} was already followed; "
                              "the repository repeats its pages")
        followed.add(token)
        params = {"verb": "ListRecords", "resumptionToken": token}


def _oai_records(ctx, options: DdiOptions, root: Element, url: str) -> Iterator[Record]:
    if local(root.tag) != "OAI-PMH":
        raise SourceError(f"{url}: expected an OAI-PMH response, got <{local(root.tag)}>")
    if (error := root.find("{*}error")) is not None:
        raise SourceError(f"{url}: OAI-PMH error {error.get('code')!r}: {_text(error)}")
    for number, record in enumerate(root.iterfind("{*}*/{*}record"), start=1):
        header = record.find("{*}header")
        identifier = _text(header.find("{*}identifier") if header is not None else None) or f"#{number}"
        if header is not None and header.get("status") == "deleted":
            continue  # withdrawn: it vanishes from the source's graph with this harvest
        metadata = record.find("{*}metadata")
        content = next(iter(metadata), None) if metadata is not None else None
        where = f"{url}, OAI record {identifier!r}"
        if content is None or local(content.tag) not in ("codeBook", "DDIInstance"):
            found = "no <metadata>" if content is None else f"<{local(content.tag)}> in <metadata>"
            # Held back rather than skipped: the publisher sees a record that says nothing.
            yield Record(key=f"OAI record {identifier}", problems=[
                f"{where}: {found}; expected a DDI codeBook or DDIInstance (or a deleted header)"])
            continue
        yield from _records(ctx, options, content, where, identifier)


# -- models and records -----------------------------------------------------------

def _records(ctx: HarvestContext, options: DdiOptions, root: Element, where: str,
             fallback_id: str) -> Iterator[Record]:
    texts = Texts(root, options.language)
    studies = ([_codebook(ctx, texts, root, where, fallback_id)] if local(root.tag) == "codeBook"
               else _lifecycle(ctx, texts, root, where, fallback_id))
    for study in studies:
        yield from _study_records(ctx, options, study, where)


def _study_records(ctx, options: DdiOptions, study: Study, where: str) -> Iterator[Record]:
    sid = study.identifier
    dataset_uri = ctx.mint("dataset", sid)
    contact = options.contact or study.contact or ContactPoint(
        name=ctx.publisher.name, url=study.landing_page or ctx.url)
    record = Record(key=f"study {sid}", problems=study.problems)
    if not record.problems:
        to_graph(Dataset(uri=dataset_uri, identifier=sid, title=study.title,
                         description=study.description, publisher=ctx.publisher.uri,
                         contact=contact, themes=options.themes, keywords=study.keywords,
                         periods=study.periods, access_rights=options.access_rights,
                         landing_page=study.landing_page), record.graph)
        to_graph(ctx.publisher, record.graph)
    yield record
    seen: set[str] = set()
    for item in study.variables:
        record = Record(key=f"variable {sid}/{item.name}", problems=list(item.problems))
        if item.name in seen:  # its own key: the gate holds back by key, the first one stays
            record.key += " (repeated)"
            record.problems.append(f"{where}: study {sid}: variable name {item.name!r} is used twice")
        seen.add(item.name)
        if not record.problems:
            to_graph(Variable(uri=ctx.mint("variable", sid, item.name), identifier=item.name,
                              label=item.label, description=item.description, dataset=dataset_uri,
                              representation=item.representation, periods=study.periods),
                     record.graph)
        yield record
    for code_list in study.code_lists:
        record = Record(key=f"code list {code_list.identifier}")
        to_graph(code_list, record.graph)
        yield record


class Texts:
    """Element text by language: xml:lang is inherited from ancestors, and text without
    one is in the configured language. Invalid tags count as absent."""

    def __init__(self, root: Element, default: str):
        self.default = default
        self.language: dict[Element, str] = {}
        stack = [(root, default)]
        while stack:
            element, inherited = stack.pop()
            own = element.get(XML_LANG, "").strip()
            lang = own if LANGUAGE_TAG.fullmatch(own) else inherited
            self.language[element] = lang
            stack.extend((child, lang) for child in element)

    def __call__(self, elements: Iterable[Element]) -> Text:
        """The first non-empty text of each language."""
        out: Text = {}
        for element in elements:
            if text := _text(element):
                out.setdefault(self.language[element], text)
        return out

    def keywords(self, elements: Iterable[Element]) -> list[str]:
        """Keywords in the configured language: the model keeps keywords without a language."""
        words = [_text(e) for e in elements if self.language[e] == self.default]
        return list(dict.fromkeys(w for w in words if w))


def _text(element: Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


# -- DDI-Codebook 2.5 -------------------------------------------------------------

def _codebook(ctx, texts: Texts, root: Element, where: str, fallback_id: str) -> Study:
    citations = root.findall("{*}stdyDscr/{*}citation")
    sid = (next((t for e in root.iterfind("{*}stdyDscr/{*}citation/{*}titlStmt/{*}IDNo")
                 if (t := _text(e))), "") or root.get("ID") or fallback_id)
    info = root.find("{*}stdyDscr/{*}stdyInfo")
    info = info if info is not None else Element("stdyInfo")
    title = texts(e for c in citations for e in c.iterfind("{*}titlStmt/{*}titl"))
    description = texts(info.iterfind("{*}abstract"))
    problems = _missing(where, sid, title=(title, "stdyDscr/citation/titlStmt/titl"),
                        description=(description, "stdyDscr/stdyInfo/abstract"))
    # Time coverage; a survey without it has data from its collection period.
    events = [(e.get("event", "single"), e) for e in info.iterfind("{*}sumDscr/{*}timePrd")]
    events = events or [(e.get("event", "single"), e) for e in info.iterfind("{*}sumDscr/{*}collDate")]
    periods = _codebook_periods(events, where, sid, problems)
    contact = None
    for element in (e for c in citations for e in c.iterfind("{*}distStmt/{*}contact")):
        email = element.get("email")
        url = uri if HTTP_URI.fullmatch(uri := element.get("URI", "")) else None
        if _text(element) and (email or url):
            contact = ContactPoint(name=texts([element]), email=email, url=url)
            break
    # The study's page: in stdyDscr's citation, or (FSD) in the codebook's own docDscr.
    landing = next((uri for c in [*citations, *root.iterfind("{*}docDscr/{*}citation")]
                    for e in c.iterfind("{*}holdings") if HTTP_URI.fullmatch(uri := e.get("URI", ""))), None)
    variables, code_lists = [], []
    for number, var in enumerate(root.iterfind("{*}dataDscr/{*}var"), start=1):
        name = (var.get("name") or var.get("ID") or "").strip()
        if not name:
            variables.append(Item(name=f"#{number}", label={}, description={}, problems=[
                f"{where}: study {sid}: variable #{number} (dataDscr/var) has no name attribute"]))
            continue
        label = texts(var.iterfind("{*}labl"))
        question = var.findall("{*}qstn/{*}qstnLit") or var.findall("{*}qstn")
        item = Item(name=name, label=label,
                    description=texts(question) or texts(var.iterfind("{*}txt")),
                    problems=_missing(where, f"{sid}, variable {name}", label=(label, "var/labl")))
        categories = var.findall("{*}catgry")
        if categories:
            code_list = _codebook_code_list(ctx, texts, sid, name, label, categories)
            code_lists.append(code_list)
            item.representation = code_list.uri
        else:
            item.representation = _codebook_datatype(var)
        variables.append(item)
    return Study(identifier=sid, title=title, description=description,
                 keywords=texts.keywords(info.iterfind("{*}subject/{*}keyword")), periods=periods,
                 contact=contact, landing_page=landing, problems=problems,
                 variables=variables, code_lists=code_lists)


def _codebook_periods(events: list[tuple[str, Element]], where: str, sid: str,
                      problems: list[str]) -> list[Period]:
    """Periods from start/end/single events in document order. A date attribute must be
    readable; element text without one is used only when it is a date ("Spring 2018" is not)."""
    dated: list[tuple[str, str]] = []
    for event, element in events:
        value = element.get("date") or _text(element)
        if DDI_DATE.fullmatch(value.strip()) or element.get("date"):
            dated.append((event, value.strip()))
    try:
        periods, start = [], None
        # Texts in several languages repeat the same dates: each (event, date) counts once.
        for event, value in dict.fromkeys(dated):
            if event == "end":
                periods.append(Period(start=start, end=_ddi_date(value, end=True)))
                start = None
                continue
            if start:  # a start without an end: data from then on
                periods.append(Period(start=start))
            start = _ddi_date(value, end=False) if event == "start" else None
            if event != "start":
                periods.append(Period(start=_ddi_date(value, end=False), end=_ddi_date(value, end=True)))
        if start:
            periods.append(Period(start=start))
    except ValueError as exc:
        tag = local(events[0][1].tag)
        problems.append(f"{where}: study {sid}, field stdyDscr/stdyInfo/sumDscr/{tag}: {exc}")
        return []
    return _sorted(periods)


def _codebook_code_list(ctx, texts: Texts, sid: str, name: str, label: Text,
                        categories: list[Element]) -> CodeList:
    uri = ctx.mint("codelist", sid, name)
    concepts: dict[str, Concept] = {}
    for number, category in enumerate(categories, start=1):
        # The code is catValu; archives that leave it out (FSD) give each category an ID.
        code = _text(category.find("{*}catValu")) or category.get("ID") or str(number)
        concepts.setdefault(code, Concept(uri=ctx.mint("codelist", sid, name, code), notation=code,
                                          label=texts(category.iterfind("{*}labl")), scheme=uri))
    return CodeList(uri=uri, identifier=f"{sid}/{name}", title=label or {texts.default: name},
                    publisher=ctx.publisher.uri, concepts=list(concepts.values()))


def _codebook_datatype(var: Element) -> str | None:
    fmt = var.find("{*}varFormat")
    if fmt is None:
        return None
    if fmt.get("category") in ("date", "time"):
        return f"{XSD}{fmt.get('category')}"
    if fmt.get("type") == "character":
        return f"{XSD}string"
    if fmt.get("type") == "numeric":
        return f"{XSD}{'integer' if var.get('dcml') == '0' else 'decimal'}"
    return None


# -- DDI-Lifecycle 3.2 / 3.3 ------------------------------------------------------

def _lifecycle(ctx, texts: Texts, root: Element, where: str, fallback_id: str) -> list[Study]:
    # Everything identifiable by its r:ID, for following references (Agency and version
    # are left out: within one document the ID names the object). References hold an r:ID too.
    by_id = {_text(ident): element for element in root.iter()
             if not local(element.tag).endswith("Reference")
             and (ident := element.find("{*}ID")) is not None and _text(ident)}
    units = list(root.iterfind(".//{*}StudyUnit"))
    if not units:
        return [Study(identifier=fallback_id, title={}, description={}, keywords=[], periods=[],
                      contact=None, landing_page=None, variables=[], code_lists=[],
                      problems=[f"{where}: the DDIInstance has no StudyUnit"])]
    contact = _lifecycle_contact(texts, root)
    return [_study_unit(ctx, texts, unit, root if len(units) == 1 else unit, by_id, contact,
                        where, fallback_id) for unit in units]


def _study_unit(ctx, texts: Texts, unit: Element, scope: Element, by_id: dict[str, Element],
                contact: ContactPoint | None, where: str, fallback_id: str) -> Study:
    sid = _text(unit.find("{*}UserID")) or _text(unit.find("{*}ID")) or fallback_id
    title = texts(unit.iterfind("{*}Citation/{*}Title/{*}String"))
    description = texts(unit.iterfind("{*}Abstract/{*}Content"))
    problems = _missing(where, sid, title=(title, "StudyUnit/r:Citation/r:Title"),
                        description=(description, "StudyUnit/r:Abstract"))
    periods: list[Period] = []
    try:
        for ref in unit.iterfind("{*}Coverage/{*}TemporalCoverage/{*}ReferenceDate"):
            start, end, simple = (_text(ref.find(f"{{*}}{name}"))
                                  for name in ("StartDate", "EndDate", "SimpleDate"))
            if simple:
                periods.append(Period(start=_ddi_date(simple, end=False), end=_ddi_date(simple, end=True)))
            elif start or end:
                periods.append(Period(start=_ddi_date(start, end=False) if start else None,
                                      end=_ddi_date(end, end=True) if end else None))
    except ValueError as exc:
        problems.append(f"{where}: study {sid}, field r:Coverage/r:TemporalCoverage: {exc}")
    variables: list[Item] = []
    code_lists: dict[str, CodeList] = {}
    for variable in scope.iterfind(".//{*}VariableScheme/{*}Variable"):
        name = _text(variable.find("{*}VariableName/{*}String")) or _text(variable.find("{*}ID"))
        label = texts(variable.iterfind("{*}Label/{*}Content"))
        question = by_id.get(_text(variable.find("{*}QuestionReference/{*}ID")))
        item = Item(name=name, label=label,
                    description=(texts(question.iterfind(".//{*}QuestionText//{*}Text"))
                                 if question is not None else {})
                    or texts(variable.iterfind("{*}Description/{*}Content")),
                    problems=_missing(where, f"{sid}, variable {name}", label=(label, "l:Variable/r:Label")))
        representation = variable.find("{*}VariableRepresentation/*")
        if representation is not None and local(representation.tag) == "CodeRepresentation":
            list_id = _text(representation.find("{*}CodeListReference/{*}ID"))
            code_list = by_id.get(list_id)
            if code_list is None or local(code_list.tag) != "CodeList":
                item.problems.append(f"{where}: study {sid}, variable {name}: r:CodeListReference "
                                     f"{list_id!r} names no l:CodeList in the document")
            else:
                if list_id not in code_lists:
                    code_lists[list_id] = _lifecycle_code_list(ctx, texts, sid, list_id, code_list, by_id)
                item.representation = code_lists[list_id].uri
        elif representation is not None:
            kind = local(representation.tag)
            code = (_text(representation.find("{*}NumericTypeCode"))
                    or _text(representation.find("{*}DateTypeCode")) or representation.get("type", ""))
            datatype = LIFECYCLE_TYPES.get(code) or LIFECYCLE_TYPES.get(kind)
            if datatype is None and kind == "NumericRepresentation":
                datatype = "decimal"
            item.representation = f"{XSD}{datatype}" if datatype else None
        variables.append(item)
    landing = _text(unit.find("{*}Citation/{*}InternationalIdentifier/{*}IdentifierContent"))
    return Study(identifier=sid, title=title, description=description,
                 keywords=texts.keywords(unit.iterfind("{*}Coverage/{*}TopicalCoverage/{*}Keyword")),
                 periods=_sorted(periods), contact=contact,
                 landing_page=landing if HTTP_URI.fullmatch(landing) else None, problems=problems,
                 variables=variables, code_lists=list(code_lists.values()))


def _lifecycle_code_list(ctx, texts: Texts, sid: str, list_id: str, element: Element,
                         by_id: dict[str, Element]) -> CodeList:
    uri = ctx.mint("codelist", sid, list_id)
    concepts: dict[str, Concept] = {}
    for code in element.iterfind(".//{*}Code"):
        value = _text(code.find("{*}Value"))
        if not value:
            continue
        category = by_id.get(_text(code.find("{*}CategoryReference/{*}ID")))
        label = texts(category.iterfind("{*}Label/{*}Content")) if category is not None else {}
        concepts.setdefault(value, Concept(uri=ctx.mint("codelist", sid, list_id, value),
                                           notation=value, label=label, scheme=uri))
    title = (texts(element.iterfind("{*}Label/{*}Content"))
             or texts(element.iterfind("{*}CodeListName/{*}String")) or {texts.default: list_id})
    return CodeList(uri=uri, identifier=f"{sid}/{list_id}", title=title,
                    publisher=ctx.publisher.uri, concepts=list(concepts.values()))


def _lifecycle_contact(texts: Texts, root: Element) -> ContactPoint | None:
    """The first organisation or person in the document with an e-mail or web address."""
    for agent in root.iter():
        info = agent.find("{*}ContactInformation")
        if info is None or local(agent.tag) not in ("Organization", "Individual"):
            continue
        email = _text(info.find("{*}Email/{*}InternetEmail")) or None
        url = _text(info.find("{*}URL")) or None
        name = texts(agent.iterfind(".//{*}OrganizationName/{*}String")) or texts(
            agent.iterfind(".//{*}FullName/{*}String"))
        if name and (email or (url and HTTP_URI.fullmatch(url))):
            return ContactPoint(name=name, email=email, url=url if url and HTTP_URI.fullmatch(url) else None)
    return None


# -- shared -----------------------------------------------------------------------

def _missing(where: str, what: str, **fields: tuple[Text, str]) -> list[str]:
    """A problem for each required text that is empty, naming the DDI element."""
    return [f"{where}: study {what}: no {name} ({path})" for name, (text, path) in fields.items()
            if not text]


def _ddi_date(text: str, end: bool) -> date:
    """An ISO year, month or date (a time part is ignored); a year or month as an end means
    its last day."""
    match = DDI_DATE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"cannot read {text!r} as a date (use 2018, 2018-02 or 2018-02-09)")
    year, month, day = (int(g) if g else None for g in match.groups())
    if day:
        return date(year, month, day)
    if month:
        if not 1 <= month <= 12:
            raise ValueError(f"cannot read {text!r} as a date: no month {month}")
        return date(year, month, calendar.monthrange(year, month)[1] if end else 1)
    return date(year, 12, 31) if end else date(year, 1, 1)


def _sorted(periods: list[Period]) -> list[Period]:
    return sorted(set(periods), key=lambda p: (p.start or date.min, p.end or date.max))
