"""Opening one sheet of an uploaded workbook as a stream of rows: the XLSX reader's entry."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bulkport.errors import UnreadableFile
from bulkport.read_limits import DEFAULT_LIMITS, ReadLimits
from bulkport.spreadsheets.xlsx.package import Package, check_zip, read_book
from bulkport.spreadsheets.xlsx.refusals import NO_SHEETS, NOT_A_WORKBOOK
from bulkport.spreadsheets.xlsx.rows import Row, sheet_rows


@dataclass
class XlsxRows:
    """An opened sheet: its name, the workbook's sheet names and ``(row number, cells)``."""

    sheet_name: str
    sheet_names: list[str]
    rows: Iterator[Row]


@contextmanager
def open_xlsx(
    path: Path, *, sheet: str | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[XlsxRows]:
    """Open one sheet of a workbook for streaming (the one named, else the first visible);
    refusals are ``JobProblem`` in words."""
    check_zip(path, limits)
    with ExitStack() as stack:
        try:
            archive = stack.enter_context(zipfile.ZipFile(path))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
            raise UnreadableFile(NOT_A_WORKBOOK) from None
        package = Package(archive)
        book = read_book(package)
        index = choose_sheet(book.sheet_names, sheet, book.hidden)
        rows = sheet_rows(package, book, index, limits)
        stack.callback(rows.close)
        yield XlsxRows(book.sheet_names[index], book.sheet_names, rows)


def choose_sheet(names: list[str], wanted: str | None, hidden: set[int] | None = None) -> int:
    """The chosen sheet's position: the one named, else the first sheet a person can see (a
    hidden lookup sheet placed first is not the customer list)."""
    if not names:
        raise UnreadableFile(NO_SHEETS)
    if wanted is None:
        visible = [i for i in range(len(names)) if i not in (hidden or set())]
        return visible[0] if visible else 0
    if wanted in names:
        return names.index(wanted)
    # Excel itself treats sheet names case-insensitively.
    folded = [name.casefold() for name in names]
    if wanted.casefold() in folded:
        return folded.index(wanted.casefold())
    listed = ", ".join(f'"{name}"' for name in names)
    raise UnreadableFile(
        f'This workbook has no sheet named "{wanted}". Its sheets are: {listed}. '
        "Choose one of those."
    )
