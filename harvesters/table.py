"""`table`: registry variable lists published as spreadsheets (XLSX) or CSV.

No code per registry: the source's configuration maps its column headers to
fields and describes the datasets the rows belong to. A variable that is listed
on several rows with different periods has data in each of them (gaps stay).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any, ClassVar, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field

from catalogue.harvesters.base import (HarvestContext, Record, SourceError, parse_options,
                                       text_value)
from catalogue.models import CodeList, Concept, ContactPoint, Dataset, Period, Text, Variable
from catalogue.profiles.dcat_ap_no_3 import to_graph

XSD = "http://www.w3.org/2001/XMLSchema#"
DEFAULT_VALUE_TYPES = {
    "heltall": XSD + "integer", "desimaltall": XSD + "decimal", "tall": XSD + "decimal",
    "tekst": XSD + "string", "dato": XSD + "date", "ja/nei": XSD + "boolean",
    "integer": XSD + "integer", "decimal": XSD + "decimal", "string": XSD + "string",
    "date": XSD + "date", "boolean": XSD + "boolean", "kode": None, "code": None,
}
HEADER_SEARCH_ROWS = 20


class Columns(BaseModel):
    """Which header holds which field; only `name` and `label` are required."""

    model_config = ConfigDict(extra="forbid")
    name: str
    label: str
    label_en: str | None = None
    description: str | None = None
    value_type: str | None = None
    unit: str | None = None
    code_list: str | None = None
    codes: str | None = None
    start: str | None = None
    end: str | None = None
    theme: str | None = None


class TableDataset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: Text
    description: Text
    themes: list[str]
    contact: ContactPoint
    keywords: list[str] = Field(default_factory=list)
    access_rights: str | None = None
    landing_page: str | None = None
    sheets: list[str] = Field(default_factory=list)  # XLSX sheets of this dataset; none = all


class TableOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["csv", "xlsx"] | None = None
    delimiter: str = ";"
    encoding: str = "utf-8-sig"
    columns: Columns
    dataset: list[TableDataset] = Field(min_length=1)
    value_types: dict[str, str | None] = Field(default_factory=dict)
    themes: dict[str, str] = Field(default_factory=dict)  # cell text -> theme URI
    code_lists: dict[str, str] = Field(
        default_factory=lambda: {"klass": "https://data.ssb.no/api/klass/v1/classifications/"})


@dataclass(frozen=True)
class Row:
    sheet: str
    number: int
    cells: dict[str, Any]

    def where(self, column: str | None = None) -> str:
        place = f"sheet {self.sheet!r}, row {self.number}" if self.sheet else f"row {self.number}"
        return f"{place}, column {column!r}" if column else place


class TableHarvester:
    kind: ClassVar[str] = "table"

    def gather(self, ctx: HarvestContext) -> Iterator[Record]:
        options = parse_options(TableOptions, ctx)
        fetched = ctx.http.get(ctx.url)
        fmt = options.format or _guess_format(fetched.content_type, fetched.url)
        sheets = _read_xlsx(fetched.content, options.columns) if fmt == "xlsx" else {
            "": _read_csv(fetched.content, options)}
        value_types = {**DEFAULT_VALUE_TYPES, **{k.lower(): v for k, v in options.value_types.items()}}
        named_lists: dict[str, str] = {}
        for spec in options.dataset:
            rows = [row for name, rows in sheets.items()
                    if not spec.sheets or name in spec.sheets for row in rows]
            if spec.sheets and not any(name in sheets for name in spec.sheets):
                raise SourceError(f"dataset {spec.id!r}: none of the sheets {spec.sheets} "
                                  f"is in the file (found: {list(sheets)})")
            yield from _dataset_records(ctx, options, spec, rows, value_types, named_lists)


def _dataset_records(ctx, options, spec, rows, value_types, named_lists) -> Iterator[Record]:
    cols = options.columns
    dataset_uri = ctx.mint("dataset", spec.id)
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(text_value(row.cells.get(cols.name)), []).append(row)
    covered: list[Period] = []
    for name, group in groups.items():
        first = group[0]
        uri = ctx.mint("variable", spec.id, name)
        key = f"variable {name} ({first.where()})"
        problems: list[str] = []
        periods = [p for row in group if (p := _period(row, cols, problems)) is not None]
        covered.extend(periods)
        label: Text = {"nb": text_value(first.cells.get(cols.label))}
        if cols.label_en and (english := text_value(first.cells.get(cols.label_en))):
            label["en"] = english
        description = text_value(first.cells.get(cols.description)) if cols.description else ""
        type_text = text_value(first.cells.get(cols.value_type)) if cols.value_type else ""
        representation = None
        if type_text:
            if type_text.lower() not in value_types:
                problems.append(f"{first.where(cols.value_type)}: unknown value type {type_text!r} "
                                f"(known: {', '.join(sorted(value_types))})")
            representation = value_types.get(type_text.lower())
        graph_extra: list = []
        code_list = _code_list(ctx, options, spec, first, name, named_lists, graph_extra)
        representation = code_list or representation
        themes = []
        if cols.theme and (theme := text_value(first.cells.get(cols.theme))):
            if theme in options.themes:
                themes.append(options.themes[theme])
        record = Record(key=key, problems=problems)
        if not problems:
            variable = Variable(uri=uri, identifier=name, label=label,
                                description={"nb": description} if description else {},
                                dataset=dataset_uri, representation=representation,
                                unit=(text_value(first.cells.get(cols.unit)) or None) if cols.unit else None,
                                themes=themes, periods=_merge(periods))
            to_graph(variable, record.graph)
        yield record
        yield from graph_extra
    dataset = Dataset(uri=dataset_uri, identifier=spec.id, title=spec.title,
                      description=spec.description, publisher=ctx.publisher.uri,
                      contact=spec.contact, themes=spec.themes, keywords=spec.keywords,
                      periods=_merge(covered), access_rights=spec.access_rights,
                      landing_page=spec.landing_page)
    record = Record(key=f"dataset {spec.id}")
    to_graph(dataset, record.graph)
    to_graph(ctx.publisher, record.graph)
    yield record


def _code_list(ctx, options, spec, row: Row, name: str, named_lists: dict[str, str],
               extra: list[Record]) -> str | None:
    cols = options.columns
    reference = text_value(row.cells.get(cols.code_list)) if cols.code_list else ""
    inline = text_value(row.cells.get(cols.codes)) if cols.codes else ""
    if reference:
        prefix, _, local = reference.partition(":")
        if prefix.lower() in options.code_lists and local and "//" not in local:
            return options.code_lists[prefix.lower()] + local.strip()
        if re.match(r"^https?://", reference):
            return reference
        # A code list known by name only ("ICD-10"): named once per source.
        if reference not in named_lists:
            uri = ctx.mint("codelist", reference)
            named_lists[reference] = uri
            record = Record(key=f"code list {reference}")
            to_graph(CodeList(uri=uri, identifier=reference, title={"nb": reference},
                              publisher=ctx.publisher.uri), record.graph)
            extra.append(record)
        return named_lists[reference]
    if not inline:
        return None
    uri = ctx.mint("codelist", spec.id, name)
    record = Record(key=f"code list of {name} ({row.where(cols.codes)})")
    concepts = []
    for part in filter(None, (p.strip() for p in re.split(r"[;\n|]", inline))):
        code, sep, label = part.partition("=")
        if not sep or not code.strip():
            record.problems.append(f"{row.where(cols.codes)}: {part!r} is not of the form code=label")
            continue
        concepts.append(Concept(uri=f"{uri}/{code.strip()}", notation=code.strip(),
                                label={"nb": label.strip()}, scheme=uri))
    if not record.problems:
        to_graph(CodeList(uri=uri, identifier=f"{spec.id}/{name}",
                          title={"nb": text_value(row.cells.get(cols.label))},
                          publisher=ctx.publisher.uri, concepts=concepts), record.graph)
    extra.append(record)
    return uri


def _period(row: Row, cols: Columns, problems: list[str]) -> Period | None:
    if not cols.start:
        return None
    try:
        start = parse_date(row.cells.get(cols.start), end=False)
    except ValueError as exc:
        problems.append(f"{row.where(cols.start)}: {exc}")
        return None
    try:
        end = parse_date(row.cells.get(cols.end), end=True) if cols.end else None
        return Period(start=start, end=end) if start or end else None
    except ValueError as exc:  # unreadable, or ending before it starts
        problems.append(f"{row.where(cols.end)}: {exc}")
        return None


def _merge(periods: list[Period]) -> list[Period]:
    """Sorted, with overlapping or touching periods joined; gaps stay."""
    out: list[Period] = []
    for p in sorted(periods, key=lambda p: (p.start or date.min, p.end or date.max)):
        last = out[-1] if out else None
        if last and (last.end is None or (p.start and (p.start - last.end).days <= 1)):
            end = None if last.end is None or p.end is None else max(last.end, p.end)
            out[-1] = Period(start=last.start, end=end)
        else:
            out.append(p)
    return out


NORWEGIAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
MONTH_YEAR = re.compile(r"^(\d{1,2})[./](\d{4})$")


def parse_date(value: Any, end: bool) -> date | None:
    """A year, a Norwegian date (31.12.1998), a month (12.1998), an ISO date or a
    spreadsheet date. A bare year means its first day as a start, its last as an end."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = text_value(value)
    try:
        if re.fullmatch(r"\d{4}", text):
            return date(int(text), 12, 31) if end else date(int(text), 1, 1)
        if m := NORWEGIAN_DATE.match(text):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := MONTH_YEAR.match(text):
            month, year = int(m[1]), int(m[2])
            if not end:
                return date(year, month, 1)
            following = date(year + month // 12, month % 12 + 1, 1)
            return date.fromordinal(following.toordinal() - 1)
        return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"cannot read {text!r} as a date (use 1999, 01.01.1999 or 1999-01-01)")


def _guess_format(content_type: str, url: str) -> str:
    if "spreadsheetml" in content_type or PurePosixPath(urlparse(url).path).suffix.lower() == ".xlsx":
        return "xlsx"
    return "csv"


def _read_csv(content: bytes, options: TableOptions) -> list[Row]:
    try:
        text = content.decode(options.encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(f"not {options.encoding} text: {exc}") from None
    table = list(csv.reader(io.StringIO(text, newline=""), delimiter=options.delimiter))
    rows = _rows("", table, options.columns)
    if rows is None:
        raise SourceError(f"no header row with the configured name column {options.columns.name!r} "
                          f"in the first {HEADER_SEARCH_ROWS} rows")
    return rows


def _read_xlsx(content: bytes, columns: Columns) -> dict[str, list[Row]]:
    from openpyxl import load_workbook  # imported here: only spreadsheet sources need it
    try:
        book = load_workbook(io.BytesIO(content), data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors
        raise SourceError(f"not a readable XLSX workbook: {exc}") from None
    sheets = {}
    for sheet in book.worksheets:  # sheets without the header row are notes, not tables
        rows = _rows(sheet.title, [list(r) for r in sheet.iter_rows(values_only=True)], columns)
        if rows is not None:
            sheets[sheet.title] = rows
    if not sheets:
        raise SourceError(f"no sheet has a header row with the configured name column "
                          f"{columns.name!r} (sheets: {book.sheetnames})")
    return sheets


def _rows(sheet: str, table: list[list[Any]], columns: Columns) -> list[Row] | None:
    """Rows below the header row (the first with the `name` header), as header -> cell;
    None when there is no header row. Rows without a name, or without a label and
    description (notes), are skipped."""
    header_at = next((i for i, row in enumerate(table[:HEADER_SEARCH_ROWS])
                      if columns.name in (text_value(c) for c in row)), None)
    if header_at is None:
        return None
    header = [text_value(c) for c in table[header_at]]
    missing = [h for h in columns.model_dump().values() if h and h not in header]
    if missing:
        where = f"sheet {sheet!r}" if sheet else "the file"
        raise SourceError(f"{where}: header row {header_at + 1} lacks the configured "
                          f"column(s) {missing} (found: {[h for h in header if h]})")
    rows = []
    for number, values in enumerate(table[header_at + 1:], start=header_at + 2):
        cells = {h: v for h, v in zip(header, values) if h}
        if not text_value(cells.get(columns.name)):
            continue
        if not text_value(cells.get(columns.label)) and not text_value(
                cells.get(columns.description or "")):
            continue
        rows.append(Row(sheet=sheet, number=number, cells=cells))
    return rows
