"""Writing rows as an Excel workbook: text cells only, a bold header, in constant memory."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, BinaryIO

import openpyxl
from openpyxl.cell.cell import WriteOnlyCell
from openpyxl.styles import Font

# Excel's own limits: characters in a cell, characters in a sheet name.
EXCEL_CELL_CHARS = 32_767
EXCEL_SHEET_TITLE_CHARS = 31
# Characters XML cannot hold (and a carriage return, which XML parsers turn into a line feed)
# are written as Excel writes them, "_x000D_"; an underscore that would read as such an
# escape is escaped itself, so every text reads back exactly as written.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r]|_(?=x[0-9A-Fa-f]{4}_)")
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def _escape(text: str) -> str:
    """Text with the characters XML cannot hold written as Excel's "_xHHHH_" escapes."""
    return _UNWRITABLE.sub(lambda match: f"_x{ord(match.group()):04X}_", text)


def sheet_title(name: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\, no edge quotes."""
    title = _SHEET_TITLE_FORBIDDEN.sub("_", name).strip().strip("'")
    title = title[:EXCEL_SHEET_TITLE_CHARS].rstrip().rstrip("'")
    if title.casefold() == "history":  # Excel reserves it for its change history
        title = "History_"
    return title or "Sheet1"


def write_xlsx_rows(out: BinaryIO, sheet_name: str, rows: Iterable[list[str]]) -> None:
    """Write rows as text cells in constant memory, the first (header) row bold."""
    workbook = openpyxl.Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=sheet_title(sheet_name))
    bold = Font(bold=True)
    for index, row in enumerate(rows):
        worksheet.append(
            [_text_cell(worksheet, value, bold if index == 0 else None) for value in row]
        )
    workbook.save(out)


def _text_cell(worksheet: Any, value: str, font: Any) -> Any:
    """A cell typed as text: even "=1+1" stays the four characters, never a formula."""
    if value == "":
        return None
    cell = WriteOnlyCell(worksheet, value=_escape(value[:EXCEL_CELL_CHARS]))
    cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell
