"""Cells written for spreadsheet programs never run as formulas, and import back unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkport.rules.customer import clean_text
from bulkport.spreadsheets.cells import safe_cell
from bulkport.spreadsheets.csvfile import CsvFormat, write_csv_rows
from bulkport.spreadsheets.mapping import header_score
from bulkport.spreadsheets.sources import open_sheet

FORMULA_LIKE = [
    "=SUM(A1:A3)",
    "=cmd|' /C calc'!A0",
    "+31 6 12345678",
    "-10",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "\r\n-2",
]


@pytest.mark.parametrize("value", FORMULA_LIKE)
def test_a_cell_a_spreadsheet_would_run_is_escaped_with_an_apostrophe(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value",
    ["Ann", "", "O'Brien", "'kept as text", "a=b", "31 6 12345678", "ann@example.com", "06-123"],
)
def test_other_cells_are_left_alone(value: str) -> None:
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", FORMULA_LIKE)
def test_the_import_undoes_the_escaping(value: str) -> None:
    assert clean_text(safe_cell(value)) == clean_text(value)
    assert clean_text(safe_cell(value)) == value.strip()


def test_an_escaped_export_reads_back_as_the_original_values(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    values = ['=HYPERLINK("http://x")', "+31 6 12345678", "-", "@home", "plain"]
    with path.open("wb") as out:
        write_csv_rows(
            out, CsvFormat("utf-8", ","), iter([["Notes"], *[[safe_cell(v)] for v in values]])
        )
    with open_sheet(path, header_score({})) as sheet:
        rows = list(sheet.rows)
    assert [clean_text(cells[0]) for _, cells in rows] == values


@pytest.mark.parametrize(
    "value", ["'s-Hertogenbosch", "'t Hart", "'=not a formula", "''", "'0612", "0612", "@home"]
)
def test_every_value_survives_export_escaping_and_import(value: str) -> None:
    assert clean_text(safe_cell(value)) == value


@pytest.mark.parametrize("value", ["'", "'0612", "''", "'=x", "'t Hart"])
def test_an_apostrophe_of_the_value_survives_xlsx_export_and_import(value: str) -> None:
    from bulkport.spreadsheets.cells import keep_apostrophe

    assert clean_text(keep_apostrophe(value)) == value
