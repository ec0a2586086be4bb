"""Writing XLSX exports and reports: text cells only, a bold header, a lossless round trip."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bulkport.spreadsheets.xlsx.reader import open_xlsx
from bulkport.spreadsheets.xlsx.writer import EXCEL_CELL_CHARS, sheet_title, write_xlsx_rows

SHEET = "xl/worksheets/sheet1.xml"


def written(tmp_path: Path, rows: list[list[str]], sheet_name: str = "Customers") -> Path:
    path = tmp_path / "export.xlsx"
    with path.open("wb") as out:
        write_xlsx_rows(out, sheet_name, rows)
    return path


def read_back(path: Path) -> list[tuple[int, list[str]]]:
    with open_xlsx(path) as sheet:
        return list(sheet.rows)


def loaded(path: Path) -> Any:
    """The first sheet as openpyxl sees it in full (not read-only), to inspect cell types."""
    return openpyxl.load_workbook(path).worksheets[0]


def test_rows_read_back_exactly_as_written(tmp_path: Path) -> None:
    rows = [
        ["First Name", "Phone", "Notes"],
        ["Ann", "0612345678", "calls\r\nmostly in the morning"],
        ["Bob", "+31 6 1234 5678", "tab\there, bell \x07, _x0041_ stays literal"],
        ["", "31612345601", "  spaces kept  "],
    ]
    assert read_back(written(tmp_path, rows)) == list(enumerate(rows, start=1))


@pytest.mark.parametrize("value", ["=1+1", "@cmd", "-2+3", '=HYPERLINK("http://x")'])
def test_formula_like_text_stays_text(tmp_path: Path, value: str) -> None:
    path = written(tmp_path, [["Notes"], [value]])
    assert read_back(path) == [(1, ["Notes"]), (2, [value])]
    cell = loaded(path)["A2"]
    assert cell.data_type == "s"
    assert cell.value == value
    with zipfile.ZipFile(path) as archive:
        assert b"<f>" not in archive.read(SHEET)


def test_the_header_row_is_bold_and_the_rest_is_not(tmp_path: Path) -> None:
    sheet = loaded(written(tmp_path, [["First Name", "Email"], ["Ann", "ann@example.com"]]))
    assert sheet["A1"].font.b and sheet["B1"].font.b
    assert not sheet["A2"].font.b


def test_numbers_are_written_as_text_so_leading_zeros_stay(tmp_path: Path) -> None:
    sheet = loaded(written(tmp_path, [["Postal Code"], ["01234"]]))
    assert (sheet["A2"].value, sheet["A2"].data_type) == ("01234", "s")


def test_the_callers_file_stays_open_for_it_to_close(tmp_path: Path) -> None:
    out = io.BytesIO()
    write_xlsx_rows(out, "Customers", [["Email"], ["ann@example.com"]])
    path = tmp_path / "export.xlsx"
    path.write_bytes(out.getvalue())
    assert read_back(path) == [(1, ["Email"]), (2, ["ann@example.com"])]


def test_rows_may_come_from_a_generator(tmp_path: Path) -> None:
    def customers() -> Iterator[list[str]]:
        yield ["Email"]
        for n in range(1, 501):
            yield [f"c{n}@example.com"]

    path = tmp_path / "export.xlsx"
    with path.open("wb") as out:
        write_xlsx_rows(out, "Customers", customers())
    rows = read_back(path)
    assert len(rows) == 501
    assert rows[-1] == (501, ["c500@example.com"])


def test_a_cell_longer_than_excel_allows_is_cut_to_its_limit(tmp_path: Path) -> None:
    path = written(tmp_path, [["Notes"], ["x" * (EXCEL_CELL_CHARS + 10)]])
    assert read_back(path)[1] == (2, ["x" * EXCEL_CELL_CHARS])


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("Customers", "Customers"),
        ("Export 2024/05: [all]?*", "Export 2024_05_ _all___"),
        ("back\\slash", "back_slash"),
        ("A name that is far too long for an Excel sheet", "A name that is far too long for"),
        ("'quoted'", "quoted"),
        ("", "Sheet1"),
        ("[]", "__"),
        ("history", "History_"),
    ],
)
def test_sheet_names_follow_excels_rules(name: str, title: str) -> None:
    assert sheet_title(name) == title
    assert len(title) <= 31


def test_the_written_sheet_carries_the_sanitised_name(tmp_path: Path) -> None:
    path = written(tmp_path, [["Email"]], sheet_name="Customers 2024/05")
    with open_xlsx(path) as sheet:
        assert sheet.sheet_names == ["Customers 2024_05"]
