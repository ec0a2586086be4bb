"""Excel workbooks (.xlsx): checked as a zip first, then streamed row by row, and written back.

An upload is refused before any XML is parsed if it is not a zip, is encrypted, or holds
more parts, more bytes, or parts that grow more, than ``ReadLimits`` allows. The sizes a zip
declares are checked first; then every part is inflated once in 1 MB chunks, counting the real
bytes, and the same limits are enforced on that count. This pre-pass reports a damaged part
before parsing starts; it costs one extra inflate, small next to parsing. CPython's
``zipfile`` also never inflates a part past the size its central directory declares (a part
that lies fails its CRC check), so what the reader later inflates is bounded by the sizes
checked here.

Rows are read by ``xlsxstream`` (expat, entity declarations refused, never expanded); cells
come out as the text a person sees in Excel. Exports are written with openpyxl.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import openpyxl
from openpyxl.cell.cell import WriteOnlyCell
from openpyxl.styles import Font

from bulkport.errors import LimitExceeded, UnreadableFile
from bulkport.spreadsheets.limits import ReadLimits
from bulkport.spreadsheets.xlsxstream import _SAVE_AGAIN as _SAVE_AGAIN
from bulkport.spreadsheets.xlsxstream import DAMAGED as DAMAGED
from bulkport.spreadsheets.xlsxstream import ENTITIES as ENTITIES
from bulkport.spreadsheets.xlsxstream import EXACT_INTEGER_LIMIT as EXACT_INTEGER_LIMIT
from bulkport.spreadsheets.xlsxstream import EXCEL_ROWS as EXCEL_ROWS
from bulkport.spreadsheets.xlsxstream import checked_elsewhere, read_book, sheet_rows
from bulkport.spreadsheets.xlsxstream import value_text as value_text

DEFAULT_LIMITS = ReadLimits()
WORKBOOK_PART = "xl/workbook.xml"
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Parts smaller than this may compress very well without being a threat.
RATIO_FLOOR = 1024 * 1024
CHUNK = 1024 * 1024
# Excel's own limits: characters in a cell, characters in a sheet name.
EXCEL_CELL_CHARS = 32_767
EXCEL_SHEET_TITLE_CHARS = 31

NOT_A_WORKBOOK = "This file is not a readable Excel workbook (.xlsx). " + _SAVE_AGAIN
OLD_OR_PROTECTED = (
    "This is an old Excel .xls file or a password-protected workbook, which bulkport cannot "
    "read. Remove the password if it has one, then save it as 'Excel Workbook (.xlsx)' or as "
    "'CSV UTF-8' and upload that file."
)
PROTECTED = (
    "This workbook is protected with a password. Remove the password in your spreadsheet "
    "program, save it again as 'Excel Workbook (.xlsx)' and upload that file."
)
OTHER_ZIP = (
    "This file is a zip archive but not an Excel workbook (.xlsx); it may be a Word document, "
    "an OpenDocument spreadsheet or a binary .xlsb workbook. Save the customer list as "
    "'Excel Workbook (.xlsx)' or as 'CSV UTF-8' and upload that file."
)
# Characters XML cannot hold (and a carriage return, which XML parsers turn into a line feed)
# are written as Excel writes them, "_x000D_"; an underscore that would read as such an
# escape is escaped itself, so every text reads back exactly as written.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r]|_(?=x[0-9A-Fa-f]{4}_)")
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


@dataclass
class XlsxRows:
    """An opened sheet: its name, the workbook's sheet names and ``(row number, cells)``."""

    sheet_name: str
    sheet_names: list[str]
    rows: Iterator[tuple[int, list[str]]]


def check_zip(path: Path, limits: ReadLimits, *, inflate: bool = True) -> None:
    """Refuse a file that is not an xlsx zip or would inflate past the limits, before parsing
    (``inflate=False``: all but inflating each part, which ``_check_inflated`` does)."""
    with path.open("rb") as raw:
        head = raw.read(len(OLE2_SIGNATURE))
    if head.startswith(OLE2_SIGNATURE):
        raise UnreadableFile(OLD_OR_PROTECTED)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise UnreadableFile(NOT_A_WORKBOOK) from None
    with archive:
        parts = archive.infolist()
        _check_declared(parts, limits)
        if WORKBOOK_PART not in archive.NameToInfo:
            raise UnreadableFile(OTHER_ZIP)
        if inflate:
            _check_inflated(archive, parts, limits)


def _check_declared(parts: list[zipfile.ZipInfo], limits: ReadLimits) -> None:
    """The limits applied to the sizes the zip's directory declares: nothing inflated yet."""
    if len(parts) > limits.max_entries:
        raise LimitExceeded(
            f"This workbook holds more than {limits.max_entries:,} parts (sheets, pictures and "
            "the like); bulkport reads at most that many. Copy the customer list into a new "
            "workbook and upload that."
        )
    if any(part.flag_bits & 0x1 for part in parts):
        raise UnreadableFile(PROTECTED)
    total = 0
    for part in parts:
        _check_part_size(part.file_size, part.compress_size, limits)
        total += part.file_size
        _check_total_size(total, limits)


def _check_inflated(
    archive: zipfile.ZipFile, parts: list[zipfile.ZipInfo], limits: ReadLimits
) -> None:
    """The same limits on the bytes each part really inflates to (declared sizes can lie)."""
    total = 0
    for part in parts:
        size = 0
        try:
            with archive.open(part) as stream:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    _check_part_size(size, part.compress_size, limits)
                    _check_total_size(total, limits)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError):
            raise UnreadableFile(DAMAGED) from None


def _check_part_size(size: int, compressed: int, limits: ReadLimits) -> None:
    if size > limits.max_entry_bytes:
        raise LimitExceeded(
            f"This workbook unpacks to a part larger than {_amount(limits.max_entry_bytes)}, "
            "more than bulkport reads at once. Split the customer list into smaller files."
        )
    if size >= RATIO_FLOOR and size > limits.max_ratio * max(compressed, 1):
        raise LimitExceeded(
            f"Part of this workbook unpacks to more than {limits.max_ratio:,} times its packed "
            "size, as harmful 'zip bomb' files do. " + _SAVE_AGAIN
        )


def _check_total_size(total: int, limits: ReadLimits) -> None:
    if total > limits.max_unzipped_bytes:
        raise LimitExceeded(
            f"This workbook unpacks to more than {_amount(limits.max_unzipped_bytes)}, more "
            "than bulkport reads at once. Split the customer list into smaller files."
        )


def _amount(size: int) -> str:
    """A byte count in words a person reads: "200 MB", "2 GB"."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:,.4g} {unit}"
    return f"{size:,} bytes"


@contextmanager
def open_xlsx(
    path: Path,
    *,
    sheet: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    check_elsewhere: bool = False,
) -> Iterator[XlsxRows]:
    """Open one sheet of a workbook for streaming; refusals are ``BulkportError`` in words.

    ``check_elsewhere``: see ``xlsxstream.sheet_rows`` (for a read that any failure ends).
    """
    # A sheet checked in another process is inflated there to its end, which fails as the
    # zip's own check would (a damaged stream, a wrong checksum): that check is left to it
    # (``sheet_rows``'s ``verify``). The rest of the zip is checked first, as always; so that
    # no other refusal comes before the one the whole check would give, the workbook is
    # checked whole before any refusal of the workbook's own parts.
    check_zip(path, limits, inflate=not check_elsewhere)
    with ExitStack() as stack:
        try:
            archive = stack.enter_context(zipfile.ZipFile(path))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
            raise UnreadableFile(NOT_A_WORKBOOK) from None
        parts = archive.infolist()
        try:
            book = read_book(archive)
            index = _sheet_index(book.sheet_names, sheet, book.hidden)
        except Exception:
            if check_elsewhere:
                _check_inflated(archive, parts, limits)
            raise
        verify = None
        if check_elsewhere:
            part = archive.NameToInfo.get(book.sheet_parts[index])
            later = [part] if part is not None and checked_elsewhere(archive, part) else []
            _check_inflated(archive, [p for p in parts if p not in later], limits)
            if later:
                verify = partial(_check_inflated, archive, later, limits)
        rows = sheet_rows(
            archive, book, index, limits, check_elsewhere=check_elsewhere, verify=verify
        )
        stack.callback(rows.close)
        # The declared dimension may claim A1:XFD1048576; only the cells that exist are read.
        yield XlsxRows(book.sheet_names[index], book.sheet_names, rows)


def _sheet_index(names: list[str], wanted: str | None, hidden: set[int] | None = None) -> int:
    """The chosen sheet's position: the one named, else the first sheet a person can see (a
    hidden lookup sheet placed first is not the customer list)."""
    if not names:
        raise UnreadableFile("This workbook has no sheet with cells. " + _SAVE_AGAIN)
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
