"""CSV exports: no cell is taken for a formula (issue 13, item 7)."""

from __future__ import annotations

import csv
import io

import pytest

from bouquet.web.csv_export import csv_document, safe_cell


@pytest.mark.parametrize("value", ["=1+1", "+33 1 23", "-2+3", "@SUM(A1)", "\tTAB", "\rCR",
                                   '=HYPERLINK("https://evil.example";"x")'])
def test_a_cell_that_would_be_a_formula_is_quoted(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["MARTIN", "", " =x", "1 + 1", 42, -3, 1.5, None])
def test_other_cells_are_left_alone(value: object) -> None:
    assert safe_cell(value) == value


def test_a_document_is_what_a_french_spreadsheet_expects() -> None:
    document = csv_document(["nom", "=note"], [["=1+1", -3], ["MARTIN", "a;b"]])
    assert document.startswith("\ufeff") and "\r\n" in document
    rows = list(csv.reader(io.StringIO(document.lstrip("\ufeff")), delimiter=";"))
    assert rows == [["nom", "'=note"], ["'=1+1", "-3"], ["MARTIN", "a;b"]]
