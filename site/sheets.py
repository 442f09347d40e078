"""Tables for spreadsheets (CSV and XLSX) with harvested or typed text in them: such text is
kept from running as a formula ("=HYPERLINK(...)") by quoting it, and in XLSX (XML) without
the control characters XML cannot hold."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from openpyxl import Workbook

from catalogue.model.xml_text import xml_text

Row = Sequence[str | int | None]


def as_text(cell: str) -> str:
    """Text a spreadsheet would read as a formula, quoted."""
    return f"'{cell}" if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def _cells(row: Row) -> list:
    return [as_text(c) if isinstance(c, str) else c for c in row]


def to_csv(header: Row, rows: Iterable[Row], excel: bool = False) -> str:
    """RFC 4180; with `excel`, as a Norwegian Excel opens it: a byte order mark (so it reads
    UTF-8) and semicolons (its list separator, since the comma is the decimal mark)."""
    out = io.StringIO()
    if excel:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n", delimiter=";" if excel else ",")
    writer.writerow(header)
    for row in rows:
        writer.writerow(_cells(row))
    return out.getvalue()


def to_xlsx(sheets: Iterable[tuple[str, Iterable[Row]]], header: Row) -> bytes:
    """A workbook of (title, rows) sheets, each with the header first."""
    book = Workbook(write_only=True)
    for title, rows in sheets:
        # Excel's limits on sheet names: 31 characters, none of []:*?/\
        sheet = book.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", xml_text(title))[:31].strip() or "-")
        sheet.append(list(header))
        for row in rows:  # stripped before quoting: "\x00=..." must not become a formula
            sheet.append(_cells([xml_text(c) if isinstance(c, str) else c for c in row]))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
