"""The openpyxl-based XLSX reader bulkport used before its own reader, kept as the reference.

The streaming reader must give exactly what this one gives (rows, cell texts, refusals and
their words) for every workbook this one reads, and refuse in the same words what it
refuses, except workbooks Excel reads (``test_xlsx_packages.py``); the equivalence tests
compare the two. This is the code that shipped, unchanged but for living here (and for the
zip check, which is bulkport's): keep it so, or the comparison proves nothing.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

import openpyxl
from defusedxml import DefusedXmlException
from openpyxl.utils import get_column_letter

from bulkport.errors import BulkportError, LimitExceeded, UnreadableFile
from bulkport.read_limits import DEFAULT_LIMITS, ReadLimits
from bulkport.spreadsheets.xlsx.package import check_zip
from bulkport.spreadsheets.xlsx.reader import XlsxRows
from bulkport.spreadsheets.xlsx.reader import choose_sheet as _sheet_index
from bulkport.spreadsheets.xlsx.refusals import DAMAGED, ENTITIES
from bulkport.spreadsheets.xlsx.refusals import SAVE_AGAIN as _SAVE_AGAIN
from bulkport.spreadsheets.xlsx.rows import EXCEL_ROWS
from bulkport.spreadsheets.xlsx.values import value_text

Rows = list[tuple[int, list[str]]]
Outcome = tuple[tuple[str, list[str]] | None, Rows, tuple[str, str] | None]


def outcome(
    opener: Callable[..., AbstractContextManager[XlsxRows]], path: Path, **options: Any
) -> Outcome:
    """The sheet chosen, every row given before any refusal, and the refusal in words: what
    two readers must agree on."""
    head = None
    rows: Rows = []
    try:
        with opener(path, **options) as sheet:
            head = (sheet.sheet_name, sheet.sheet_names)
            rows.extend(sheet.rows)
    except BulkportError as exc:
        return head, rows, (type(exc).__name__, str(exc))
    return head, rows, None


def assert_reads_as_before(path: Path, **options: Any) -> Outcome:
    """``open_xlsx`` reads the workbook exactly as the openpyxl reader did."""
    from bulkport.spreadsheets.xlsx.reader import open_xlsx

    got = outcome(open_xlsx, path, **options)
    assert got == outcome(reference_open_xlsx, path, **options)
    return got


@contextmanager
def reference_open_xlsx(
    path: Path, *, sheet: str | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[XlsxRows]:
    """Open one sheet of a workbook for streaming; refusals are ``BulkportError`` in words."""
    check_zip(path, limits)
    with ExitStack() as stack:
        raw = stack.enter_context(path.open("rb"))
        # A file object, not the path: openpyxl would judge a path by its extension.
        workbook = _guarded(lambda: openpyxl.load_workbook(raw, read_only=True, data_only=True))
        stack.callback(workbook.close)
        names = [str(ws.title) for ws in workbook.worksheets]
        hidden = {i for i, ws in enumerate(workbook.worksheets) if ws.sheet_state != "visible"}
        index = _sheet_index(names, sheet, hidden)
        worksheet = workbook.worksheets[index]
        # The declared dimension may claim A1:XFD1048576; read only the cells that exist.
        worksheet.reset_dimensions()
        yield XlsxRows(names[index], names, _rows(worksheet, limits))


def _guarded(load: Callable[[], Any]) -> Any:
    """openpyxl's result, its many failures on a malformed file told in plain words."""
    try:
        return load()
    except Exception as exc:
        raise UnreadableFile(ENTITIES if _refused_xml(exc) else DAMAGED) from exc


def _refused_xml(exc: BaseException | None) -> bool:
    """Whether defusedxml refused the XML, maybe under openpyxl's own ``ValueError``."""
    for _ in range(10):  # a chain is a few links long; never follow a cycle forever
        if exc is None:
            return False
        if isinstance(exc, DefusedXmlException):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _rows(worksheet: Any, limits: ReadLimits) -> Iterator[tuple[int, list[str]]]:  # noqa: C901  a reference stays one plain loop
    """Rows that hold cells, with their Excel row numbers; blank rows only if data follows."""
    pending_blank = array("q")
    seen = 0
    number = 0
    try:
        # With its dimensions reset, openpyxl yields one entry per row from row 1 on, an empty
        # one for a row the XML leaves out: the position is the row number.
        for number, cells in enumerate(worksheet.iter_rows(), start=1):
            if number > EXCEL_ROWS:
                # openpyxl walks every row number up to the next row it finds: a row claiming
                # number 10**12 would keep the worker busy for days.
                raise UnreadableFile(
                    f"This workbook has rows past Excel's last row ({EXCEL_ROWS:,}); no "
                    "spreadsheet program writes such a file. " + _SAVE_AGAIN
                )
            if not cells:
                continue
            # Blank rows count too: they are parsed, and buffered until data follows.
            seen += 1
            if seen > limits.max_rows:
                raise LimitExceeded(
                    f"The sheet has more than {limits.max_rows:,} rows, more than bulkport "
                    "imports at once. Split the customer list into smaller files."
                )
            texts = _row_texts(cells, number, limits)
            if not texts:
                pending_blank.append(number)
                continue
            for blank in pending_blank:
                yield blank, []
            del pending_blank[:]
            yield number, texts
    except BulkportError:
        raise
    except Exception as exc:
        if _refused_xml(exc):
            raise UnreadableFile(ENTITIES) from exc
        if number == 0:
            raise UnreadableFile(DAMAGED) from exc
        raise UnreadableFile(
            f"This Excel workbook is damaged after row {number} and cannot be read. " + _SAVE_AGAIN
        ) from exc


def _row_texts(cells: tuple[Any, ...], number: int, limits: ReadLimits) -> list[str]:
    """The row's cells as text, trailing empty cells left out."""
    width = len(cells)
    while width and cells[width - 1].value in (None, ""):
        width -= 1
    if width > limits.max_columns:
        raise LimitExceeded(
            f"Row {number} has {width:,} columns; bulkport reads at most "
            f"{limits.max_columns:,}. Delete the unused columns on the right and upload again."
        )
    texts = [cell_text(cell) for cell in cells[:width]]
    for index, text in enumerate(texts):
        if len(text) > limits.max_cell_chars:
            raise LimitExceeded(
                f"Row {number} has a cell ({get_column_letter(index + 1)}{number}) longer than "
                f"{limits.max_cell_chars:,} characters; customer fields are far shorter."
            )
    return texts


def cell_text(cell: Any) -> str:
    """A read-only cell's value as the text a person sees in Excel."""
    value = cell.value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_text(value, cell)
    return value_text(value)


def _number_text(value: int | float, cell: Any) -> str:
    """A number; zero-padded when its format shows leading zeros (postal codes, phones)."""
    text = value_text(value)
    if text.isdigit():
        number_format = str(cell.number_format)
        if number_format.strip("0") == "" and len(number_format) > len(text):
            return text.zfill(len(number_format))
    return text
