"""Tables for spreadsheets (CSV and XLSX) with harvested or typed text in them: such text is
kept from running as a formula ("=HYPERLINK(...)") by quoting it, and in XLSX (XML) without
the control characters XML cannot hold."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook

from catalogue.xml_text import xml_text

Row = Sequence[str | int | None]


def as_text(cell: str) -> str:
    """Text a spreadsheet would read as a formula, quoted."""
    return f"'{cell}" if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def _cells(row: Row) -> list:
    return [as_text(c) if isinstance(c, str) else c for c in row]


def to_csv(header: Row, rows: Iterable[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(_cells(row))
    return out.getvalue()


def to_xlsx(title: str, header: Row, rows: Iterable[Row]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(xml_text(title)[:31])  # Excel's limit on sheet names
    sheet.append(list(header))
    for row in rows:  # stripped before quoting: "\x00=..." must not become a formula
        sheet.append(_cells([xml_text(c) if isinstance(c, str) else c for c in row]))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
