"""`table`: registry variable lists published as spreadsheets (XLSX) or CSV.

No code per registry: the source's configuration maps column headers to fields and
describes the datasets the rows belong to. A variable listed on several rows with
different periods has data in each of them (gaps stay).

Read the way registries lay their lists out:
- The header starts at the first row (of the first 30) with a cell holding the `name`
  header; title rows and notes above it are skipped. Rows below it belong to the header
  too while a merged cell reaches down into them from the header (or set `header_rows`).
- A merged cell's value counts for every cell it covers. A column is named by its header
  texts top to bottom, repeats dropped, joined by a space: "Gyldighet" merged over "Fra"
  and "Til" names those columns "Gyldighet Fra" and "Gyldighet Til". A mapping may name
  a column by that full name or by its last part ("Fra") when no other column ends so;
  headers match ignoring case and line breaks.
- Below the header, rows with text from at most one cell (blank rows, notes, section
  titles, footnotes, also when merged across the row), rows without a name and repeated
  header rows are skipped.
- XLSX is streamed (openpyxl read-only); merged ranges come from a scan of their own
  over the sheet's bytes, since read-only sheets do not expose them. Rows are checked
  against the source's limits (rows, columns, characters in a cell) as they come, so a
  huge sheet stops at the first row past a limit, not after it is read.
- Text must be valid in its encoding: a CSV is never read with characters replaced.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from rdflib import Graph
from rdflib.namespace import XSD
from pydantic import BaseModel, ConfigDict, Field, field_validator

from catalogue.harvesters.base import (ConfiguredDataset, HarvestContext, Record, SourceError,
                                       input_text, parse_options, text_value)
from catalogue.model.models import CodeList, Concept, Period, Text, Variable, merge_periods
from catalogue.profiles.dcat_ap_no_3 import to_graph

DEFAULT_VALUE_TYPES = {
    "heltall": f"{XSD}integer", "desimaltall": f"{XSD}decimal", "tall": f"{XSD}decimal",
    "tekst": f"{XSD}string", "dato": f"{XSD}date", "ja/nei": f"{XSD}boolean",
    "integer": f"{XSD}integer", "decimal": f"{XSD}decimal", "string": f"{XSD}string",
    "date": f"{XSD}date", "boolean": f"{XSD}boolean", "kode": None, "code": None,
}
HEADER_SEARCH_ROWS = 30
# A merged cell in a sheet's XML, `<mergeCell ref="A1:F1"/>` (with any namespace prefix).
MERGE_CELL = re.compile(rb"""<(?:[\w.-]+:)?mergeCell\s[^<>]*?\bref\s*=\s*["']([^"'<>]*)["']""")
MERGE_CELL_MAX = 256  # bytes: longer than any such element
# Valid UTF-8 sequences of more than one byte: Windows-1252 text seldom holds one, so a
# file with both these and bytes that are not UTF-8 is one of mixed encodings.
UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


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


class TableOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["csv", "xlsx"] | None = None  # none: told by the file's first bytes
    delimiter: str = ";"
    # UTF-8, with or without BOM; "cp1252" for what Excel's "CSV (semikolondelt)" writes
    # on Norwegian Windows. Text not valid in it is refused, never replaced.
    encoding: str = "utf-8-sig"
    # Limits on what one harvest of the source reads, so a huge or hostile file stops at
    # the first row past one: rows (blank ones too, over all sheets read; also the most
    # merged cells), columns up to a row's last value, characters in one cell (32,767 is
    # Excel's own most), and what a workbook's parts unpack to.
    max_rows: int = Field(default=100_000, ge=1)
    max_columns: int = Field(default=500, ge=1)
    max_cell_chars: int = Field(default=32_767, ge=1)
    max_unpacked_bytes: int = Field(default=500 * 2**20, ge=1)  # an XLSX's parts, unpacked
    # Rows in the header, counted from the one with the `name` header; none: that row and
    # the rows a merged header cell reaches down into.
    header_rows: int | None = Field(default=None, ge=1, le=10)
    columns: Columns
    dataset: list[ConfiguredDataset] = Field(min_length=1)
    value_types: dict[str, str | None] = Field(default_factory=dict)
    themes: dict[str, str] = Field(default_factory=dict)  # cell text -> theme URI
    code_lists: dict[str, str] = Field(
        default_factory=lambda: {"klass": "https://data.ssb.no/api/klass/v1/classifications/"})

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (e.g. 'utf-8', 'cp1252', 'latin-1')") from None
        return value


@dataclass(frozen=True)
class Row:
    sheet: str
    number: int
    cells: dict[str, Any]  # configured header -> cell value

    def where(self, column: str | None = None) -> str:
        place = f"sheet {self.sheet!r}, row {self.number}" if self.sheet else f"row {self.number}"
        return f"{place}, column {column!r}" if column else place


# A cell as read: its value and the (row, column) it was written in, which for a cell
# covered by a merged cell is that merged cell's top left corner.
Cell = tuple[Any, tuple[int, int]]


class TableHarvester:
    kind: ClassVar[str] = "table"

    def gather(self, ctx: HarvestContext) -> Iterator[Record]:
        options = parse_options(TableOptions, ctx)
        fetched = ctx.http.get(ctx.url)
        # Only the sheets some dataset takes are read; a dataset without `sheets` takes all.
        wanted = None if any(not d.sheets for d in options.dataset) else {
            s for d in options.dataset for s in d.sheets}
        try:
            if (options.format or _sniff_format(fetched.content)) == "xlsx":
                sheets = _read_xlsx(fetched.content, options, wanted)
            else:
                rows = _Limits(options).checked("", _csv_rows(fetched.content, options))
                sheets = {"": _read_table("", rows, options)}
        except SourceError as exc:
            raise SourceError(f"{fetched.url}: {exc}") from None
        value_types = {**DEFAULT_VALUE_TYPES, **{k.lower(): v for k, v in options.value_types.items()}}
        named_lists: dict[str, str] = {}
        for spec in options.dataset:
            rows = [row for name, rows in sheets.items()
                    if not spec.sheets or name in spec.sheets for row in rows]
            yield from _dataset_records(ctx, options, spec, rows, value_types, named_lists)

    def probe(self, ctx: HarvestContext) -> str:
        """For `catalogue sources check`: the file read as a harvest reads it (one request)."""
        records = list(self.gather(ctx))
        return f"{len(records)} records, {sum(bool(r.problems) for r in records)} of them with problems"


def _dataset_records(ctx, options, spec, rows, value_types, named_lists) -> Iterator[Record]:
    cols = options.columns
    dataset_uri = spec.uri(ctx)
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(text_value(row.cells.get(cols.name)), []).append(row)
    covered: list[Period] = []
    for name, group in groups.items():
        first = group[0]
        # Keys stay put when rows move (a harvest compares records by key); where a
        # problem is, its message says.
        key = f"variable {spec.id}/{name}"
        # What its records are made from: the cells of its rows (not where they are).
        made_from = input_text(spec.id, name, [row.cells for row in group])
        problems: list[str] = []
        periods = [p for row in group if (p := _period(row, cols, problems)) is not None]
        covered.extend(periods)
        label: Text = {"nb": text_value(first.cells.get(cols.label))}
        if not label["nb"]:
            problems.append(f"{first.where(cols.label)}: no label for variable {name!r}")
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
        code_list = _code_list(ctx, options, spec, first, name, named_lists, graph_extra, made_from)
        representation = code_list or representation
        themes = []
        if cols.theme and (theme := text_value(first.cells.get(cols.theme))):
            if theme in options.themes:
                themes.append(options.themes[theme])
        yield Record(key=key, problems=problems, made_from=made_from, make=None if problems else partial(
            _variable, ctx, spec, name, label=label, description={"nb": description} if description else {},
            dataset=dataset_uri, representation=representation,
            unit=(text_value(first.cells.get(cols.unit)) or None) if cols.unit else None,
            themes=themes, periods=merge_periods(periods)))
        yield from graph_extra
    yield spec.record(ctx, covered)


def _variable(ctx: HarvestContext, spec: ConfiguredDataset, name: str, graph: Graph, **fields) -> None:
    """Add the variable `name` of `spec`'s dataset to `graph`: made only when its stored
    version was made from other rows, its URI too."""
    to_graph(Variable(uri=ctx.mint("variable", spec.id, name), identifier=name, **fields), graph)


def _code_list(ctx, options, spec, row: Row, name: str, named_lists: dict[str, str],
               extra: list[Record], made_from: str) -> str | None:
    """The URI of the code list `row` names or lists, if any; a list first named here, or
    listed inline, is added to `extra` as a record (made from `made_from`, the variable's)."""
    cols = options.columns
    reference = text_value(row.cells.get(cols.code_list)) if cols.code_list else ""
    inline = text_value(row.cells.get(cols.codes)) if cols.codes else ""
    if reference:
        lists = {key.lower(): uri for key, uri in options.code_lists.items()}
        if reference.lower() in lists:  # a list named whole ("ICD-10"): its URI
            return lists[reference.lower()]
        prefix, _, local = reference.partition(":")
        if prefix.lower() in lists and local and "//" not in local:
            return lists[prefix.lower()] + local.strip()
        if re.match(r"^https?://", reference):
            return reference
        # A code list known by name only ("ICD-10"): named once per source.
        if reference not in named_lists:
            uri = ctx.mint("codelist", reference)
            named_lists[reference] = uri
            extra.append(Record(key=f"code list {reference}", made_from=input_text(reference), make=partial(
                to_graph, CodeList(uri=uri, identifier=reference, title={"nb": reference}, publisher=ctx.publisher.uri))))
        return named_lists[reference]
    if not inline:
        return None
    uri = ctx.mint("codelist", spec.id, name)
    problems, concepts = [], []
    for part in filter(None, (p.strip() for p in re.split(r"[;\n|]", inline))):
        code, sep, label = part.partition("=")
        if not sep or not code.strip():
            problems.append(f"{row.where(cols.codes)}: {part!r} is not of the form code=label")
            continue
        concepts.append(Concept(uri=f"{uri}/{quote(code.strip(), safe='')}", notation=code.strip(),
                                label={"nb": label.strip()}, scheme=uri))
    extra.append(Record(key=f"code list of {spec.id}/{name}", problems=problems, made_from=made_from,
                        make=None if problems else partial(to_graph, CodeList(
                            uri=uri, identifier=f"{spec.id}/{name}", title={"nb": text_value(row.cells.get(cols.label))},
                            publisher=ctx.publisher.uri, concepts=concepts))))
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


# "d.d." (dags dato) and the words for "still running" mean an open end.
OPEN_END = {"d.d.", "d.d", "dd", "dd.", "pågående", "løpende", "fortsatt", "fortløpende",
            "til d.d.", "til nå", "i dag", "nå", "-", "–"}
MONTHS = ["januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september",
          "oktober", "november", "desember"]
DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)?$")
MONTH_YEAR = re.compile(r"^(\d{1,2})[./](\d{4})$|^(\d{4})-(\d{1,2})$")
NAMED_MONTH = re.compile(r"^(?:(\d{1,2})\.?\s*)?([a-zæøå]+)\.?\s+(\d{4})$")
NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


def parse_date(value: Any, end: bool) -> date | None:
    """A date from a cell: a spreadsheet date, a year (1999, also as a number or as
    "1999,0"), a Norwegian date (31.12.1998, 1.1.1999, "1. januar 1999"), a month (12.1998,
    "jan 1999", "januar 1999", 1999-12), an ISO date, or an Excel day number that lost its
    date format (36161). A year or a month means its first day as a start, its last as an
    end; an empty end, "d.d.", "pågående" or "løpende" is an open end (None)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = " ".join(text_value(value).split()).lower()
    if not text:
        return None
    if text in OPEN_END:
        if end:
            return None
        raise ValueError(f"{text!r} means an open end, not a start")
    try:
        if m := DAY_MONTH_YEAR.match(text):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := MONTH_YEAR.match(text):  # before numbers: 12.2010 is a month
            return _month(int(m[2] or m[3]), int(m[1] or m[4]), end)
        if isinstance(value, (int, float)) or NUMBER.match(text):
            return _date_of_number(float(text.replace(",", ".")), end)
        if (m := NAMED_MONTH.match(text)) and len(m[2]) >= 3:
            month = next((i for i, name in enumerate(MONTHS, 1) if name.startswith(m[2])), None)
            if month:
                return date(int(m[3]), month, int(m[1])) if m[1] else _month(int(m[3]), month, end)
        return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    raise ValueError(f"cannot read {text_value(value)!r} as a date "
                     f"(use 1999, 01.01.1999, januar 1999, 1999-01-01, or d.d. for an open end)")


def _date_of_number(number: float, end: bool) -> date:
    if number.is_integer() and 1000 <= number <= 9999:
        return date(int(number), 12, 31) if end else date(int(number), 1, 1)
    if 10000 <= number < 2958466:  # Excel's day numbers, 1927 to 9999
        from openpyxl.utils.datetime import from_excel
        return from_excel(number).date()
    raise ValueError("neither a year nor an Excel day number")


def _month(year: int, month: int, end: bool) -> date:
    if not end:
        return date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def _sniff_format(content: bytes) -> str:
    """XLSX is a ZIP package; a legacy .xls (an OLE2 file) cannot be read and says so."""
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise SourceError("an Excel 97-2003 (.xls) workbook; publish it as .xlsx or CSV")
    return "xlsx" if content.startswith(b"PK\x03\x04") else "csv"


def _csv_rows(content: bytes, options: TableOptions) -> Iterator[tuple[int, list[Cell]]]:
    """The rows, decoded as they are read; text not valid in the encoding fails the source."""
    if csv.field_size_limit() < options.max_cell_chars:  # process-wide: only ever raised
        csv.field_size_limit(options.max_cell_chars)
    text = io.TextIOWrapper(io.BytesIO(content), encoding=options.encoding, newline="")
    reader = csv.reader(text, delimiter=options.delimiter)
    number = 0
    try:
        for number, values in enumerate(reader, start=1):
            yield number, [(v, (number, c)) for c, v in enumerate(values, start=1)]
    except UnicodeDecodeError:
        raise SourceError(_undecodable(content, options)) from None
    except csv.Error as exc:
        if "field limit" in str(exc):  # a cell longer than both the reader's limit and ours
            raise SourceError(f"row {number + 1}: a cell is longer than the limit of "
                              f"{options.max_cell_chars} characters (the source's max_cell_chars)") from None
        raise SourceError(f"row {number + 1}: not readable as CSV: {exc}") from None


def _undecodable(content: bytes, options: TableOptions) -> str:
    """Where a CSV that does not decode stops being valid text in its encoding, the bytes
    there, and what the file looks like instead. Only on the way to an error: the text
    before them is decoded whole."""
    try:
        content.decode(options.encoding)
    except UnicodeDecodeError as exc:
        start, bad = exc.start, exc.object[exc.start:exc.end]
    # The row and column the bad bytes are in: the CSV before them, and a stand-in for them.
    before = csv.reader(io.StringIO(content[:start].decode(options.encoding) + "\ufffd", newline=""),
                        delimiter=options.delimiter)
    row, cells = 0, []
    for row, cells in enumerate(before, start=1):
        pass
    message = f"row {row}, column {len(cells)}: {bad!r} is not {options.encoding} text"
    if not codecs.lookup(options.encoding).name.startswith("utf-8"):
        return message + " (is the source's encoding option right?)"
    if UTF8_MULTIBYTE.search(content):
        return message + ", yet the file holds UTF-8 text too: mixed encodings; save it as UTF-8"
    try:
        content.decode("cp1252")
    except UnicodeDecodeError:
        return message
    return (message + "; the whole file reads as Windows-1252 (Latin-1): if that is what it is, "
            'set the source\'s option encoding = "cp1252"')


def _read_xlsx(content: bytes, options: TableOptions, wanted: set[str] | None) -> dict[str, list[Row]]:
    try:
        # A part is never unpacked past the size its entry declares, so the declared sizes
        # bound what reading can cost (shared strings are held whole): a ZIP bomb stops here.
        unpacked = sum(entry.file_size for entry in zipfile.ZipFile(io.BytesIO(content)).infolist())
        if unpacked > options.max_unpacked_bytes:
            raise SourceError(f"the workbook unpacks to {unpacked} bytes, more than the limit of "
                              f"{options.max_unpacked_bytes} (the source's max_unpacked_bytes)")
        book = _open_workbook(content)
    except SourceError:
        raise
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors
        raise SourceError(f"not a readable XLSX workbook: {exc}") from None
    missing = sorted((wanted or set()) - set(book.sheetnames))
    if missing:
        raise SourceError(f"no sheet named {missing} (sheets: {book.sheetnames})")
    sheets = {}
    limits = _Limits(options)
    try:
        for sheet in book.worksheets:
            if wanted is not None and sheet.title not in wanted:
                continue
            try:
                values = enumerate(sheet.iter_rows(min_row=1, min_col=1, values_only=True), start=1)
                spread = _spread(sheet.title, values, _merged_ranges(sheet, options), options.max_columns)
                # A sheet no dataset names and without the header row holds notes, not variables.
                rows = _read_table(sheet.title, limits.checked(sheet.title, spread), options,
                                   required=wanted is not None)
            except SourceError:
                raise
            except Exception as exc:  # a damaged sheet part: zipfile, XML and openpyxl errors
                raise SourceError(f"sheet {sheet.title!r} is not readable: {exc}") from None
            if rows is not None:
                sheets[sheet.title] = rows
    finally:
        book.close()
    if not sheets:
        raise SourceError(f"no sheet has a header row with the configured name column "
                          f"{options.columns.name!r} (sheets: {book.sheetnames})")
    return sheets


def _open_workbook(content: bytes):
    """The workbook, read-only, its sheets unsized: the rows read are the rows there are.

    openpyxl sizes each read-only sheet as it opens a workbook, from the sheet's
    `<dimension>`, which some writers get wrong; a sheet without one it parses to its end
    for that (45 s for a full sheet, before any limit could stop it). So sizing is left
    out while the workbook opens (imported here: only spreadsheet sources need openpyxl)."""
    from openpyxl import load_workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet
    sizing = ReadOnlyWorksheet._get_size
    ReadOnlyWorksheet._get_size = lambda self: None  # the class's defaults: no size known
    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    finally:
        ReadOnlyWorksheet._get_size = sizing


def _merged_ranges(sheet, options: TableOptions) -> list[tuple[int, int, int, int]]:
    """(first row, first column, last row, last column) of each merged cell, cut at the
    last column read; no more of them than the source may have rows.

    Read-only sheets do not expose them, and the sheet's XML lists them after its rows.
    Parsing all of it only to reach them would cost as much as reading every row (30 s
    for a full sheet), so its bytes are scanned for the `mergeCell` elements instead, a
    chunk at a time (the rows themselves are parsed by openpyxl, entities refused)."""
    from openpyxl.utils.cell import range_boundaries
    refs: list[str] = []
    tail = b""  # the end of the chunk before: an element may straddle two
    with sheet._get_source() as stream:  # the sheet's part in the package; no public accessor
        while chunk := stream.read(1 << 20):
            buffer = tail + chunk
            refs.extend(m[1].decode("ascii", "replace") for m in MERGE_CELL.finditer(buffer) if m.end() > len(tail))
            tail = buffer[-MERGE_CELL_MAX:]
            if len(refs) > options.max_rows:
                raise SourceError(f"sheet {sheet.title!r}: more than {options.max_rows} merged cells "
                                  f"(the source's max_rows)")
    ranges = []
    for ref in refs:
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        if min_col <= options.max_columns:
            ranges.append((min_row, min_col, max_row, min(max_col, options.max_columns)))
    return ranges


def _spread(sheet: str, rows: Iterable[tuple[int, Iterable[Any]]], ranges: list[tuple[int, int, int, int]],
            max_columns: int) -> Iterator[tuple[int, list[Cell]]]:
    """Rows of cells, each merged cell's value carried to every cell it covers.

    Merged cells that do not overlap (Excel makes no others) cover at most `max_columns`
    cells of a row between them, which bounds the work per row: overlapping ones fail."""
    pending = sorted(ranges, reverse=True)  # popped from the end, first row first
    active: dict[tuple[int, int, int, int], Any] = {}  # range -> its value
    for number, values in rows:
        cells: list[Cell] = [(v, (number, c)) for c, v in enumerate(values, start=1)]
        while pending and pending[-1][0] <= number:
            top, left, _, _ = span = pending.pop()
            active[span] = cells[left - 1][0] if top == number and left <= len(cells) else None
        if sum(right - left + 1 for _, left, _, right in active) > max_columns:
            raise SourceError(f"sheet {sheet!r}, row {number}: merged cells overlap")
        for span, value in list(active.items()):
            top, left, bottom, right = span
            cells.extend((None, (number, c)) for c in range(len(cells) + 1, right + 1))
            for c in range(left, right + 1):
                if (number, c) != (top, left):
                    cells[c - 1] = (value, (top, left))
            if bottom <= number:
                del active[span]
        yield number, cells


class _Limits:
    """The source's limits on rows, columns and cell text, counted over every sheet read."""

    def __init__(self, options: TableOptions):
        self.options, self.rows = options, 0

    def checked(self, sheet: str, rows: Iterable[tuple[int, list[Cell]]]) -> Iterator[tuple[int, list[Cell]]]:
        """The rows as they come, until one passes a limit: then a SourceError naming it."""
        from openpyxl.utils import get_column_letter
        options = self.options
        for number, cells in rows:
            where = f"sheet {sheet!r}, row {number}" if sheet else f"row {number}"
            self.rows += 1
            if self.rows > options.max_rows:
                raise SourceError(f"{where}: more than {options.max_rows} rows (the source's max_rows)")
            for column, (value, _) in enumerate(cells, start=1):
                if value is None or value == "":
                    continue
                name = get_column_letter(column) if sheet and column <= 16384 else str(column)
                if column > options.max_columns:
                    raise SourceError(f"{where}: a value in column {name}, past the limit of "
                                      f"{options.max_columns} columns (the source's max_columns)")
                if isinstance(value, str) and len(value) > options.max_cell_chars:
                    raise SourceError(f"{where}, column {name}: a cell of {len(value)} characters, more than "
                                      f"the limit of {options.max_cell_chars} (the source's max_cell_chars)")
            yield number, cells


def _read_table(sheet: str, rows: Iterator[tuple[int, list[Cell]]], options: TableOptions,
                required: bool = True) -> list[Row] | None:
    """The variable rows below the header. Without a header row: a SourceError, or None
    when the header is not `required` (a notes sheet)."""
    cols = options.columns
    name_key = _key(cols.name)
    header: list[list[Cell]] = []
    seen: list[str] = []  # the first row with text, to show what the file has instead
    for first, cells in rows:
        if any(_key(value) == name_key for value, _ in cells):
            header.append(cells)
            break
        seen = seen or [t for value, _ in cells if (t := text_value(value))]
        if first >= HEADER_SEARCH_ROWS:
            break
    if not header:
        if not required:
            return None
        where = f"sheet {sheet!r}: " if sheet else ""
        raise SourceError(f"{where}no header row with the configured name column {cols.name!r} "
                          f"in its first {HEADER_SEARCH_ROWS} rows (first row with text: "
                          f"{seen[:12] or 'none'}); is this a variable list?")
    mapping: dict[str, int] | None = None
    found: list[Row] = []
    for number, cells in rows:
        if mapping is None:
            merged_down = any(first <= origin[0] < number for _, origin in cells)
            if (len(header) < options.header_rows if options.header_rows else merged_down):
                header.append(cells)
                continue
            mapping = _mapping(sheet, first, header, cols)
        if len({origin for value, origin in cells if text_value(value)}) <= 1:
            continue  # blank, or a note, a section title or a footnote
        row = Row(sheet=sheet, number=number,
                  cells={h: cells[c][0] if c < len(cells) else None for h, c in mapping.items()})
        name = text_value(row.cells[cols.name])
        if name and _key(name) != name_key:  # a header repeated further down is skipped too
            found.append(row)
    if mapping is None:  # the file ended in the header: check it all the same
        _mapping(sheet, first, header, cols)
    return found


def _mapping(sheet: str, first: int, header: list[list[Cell]], cols: Columns) -> dict[str, int]:
    """Configured header -> column index, by full column name, else by its last part."""
    width = max(len(cells) for cells in header)
    names: list[list[str]] = []
    for c in range(width):
        parts: list[str] = []
        for cells in header:
            text = " ".join(text_value(cells[c][0]).split()) if c < len(cells) else ""
            if text and _key(text) not in map(_key, parts):
                parts.append(text)
        names.append(parts)
    where = f"sheet {sheet!r}, header row {first}" if sheet else f"header row {first}"
    if len(header) > 1:
        where += f"-{first + len(header) - 1}"
    mapping, missing, ambiguous = {}, [], []
    for configured in {h for h in cols.model_dump().values() if h}:
        key = _key(configured)
        matches = ([c for c, parts in enumerate(names) if parts and _key(" ".join(parts)) == key]
                   or [c for c, parts in enumerate(names) if parts and _key(parts[-1]) == key])
        if len(matches) == 1:
            mapping[configured] = matches[0]
        elif matches:
            ambiguous.append(f"{configured!r} is {' and '.join(repr(' '.join(names[c])) for c in matches)}")
        else:
            missing.append(configured)
    found = [" ".join(parts) for parts in names if parts]
    if missing:
        raise SourceError(f"{where} lacks the configured column(s) {sorted(missing)} (found: {found})")
    if ambiguous:
        raise SourceError(f"{where}: configured column {'; '.join(ambiguous)}: name it in full")
    return mapping


def _key(value: Any) -> str:
    """A header as compared: case, line breaks and repeated spaces do not count."""
    return " ".join(text_value(value).split()).casefold()
