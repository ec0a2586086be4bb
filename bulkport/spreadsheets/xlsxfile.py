"""Excel workbooks (.xlsx): checked as a zip first, then streamed row by row, and written back.

An upload is refused before openpyxl parses anything if it is not a zip, is encrypted, or holds
more parts, more bytes, or parts that grow more, than ``ReadLimits`` allows. The sizes a zip
declares are checked first; then every part is inflated once in 1 MB chunks, counting the real
bytes, and the same limits are enforced on that count. This pre-pass was chosen over wrapping
the stream openpyxl reads (which openpyxl opens itself, inside its own ``ZipFile``) because it
needs no openpyxl internals and reports a damaged part before parsing starts; it costs one extra
inflate, small next to parsing. CPython's ``zipfile`` also never inflates a part past the size
its central directory declares (a part that lies fails its CRC check), so what openpyxl later
reads is bounded by the sizes checked here.

XML is parsed by openpyxl through defusedxml: entity declarations (the "billion laughs" trick)
are refused, never expanded. Cells come out as the text a person sees in Excel.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import openpyxl
from defusedxml import DefusedXmlException
from openpyxl.cell.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from bulkport.errors import BulkportError, LimitExceeded, UnreadableFile
from bulkport.spreadsheets.limits import ReadLimits

if not openpyxl.DEFUSEDXML:  # pragma: no cover - defusedxml is a declared dependency
    raise ImportError("bulkport reads workbooks only through defusedxml; install defusedxml")

DEFAULT_LIMITS = ReadLimits()
WORKBOOK_PART = "xl/workbook.xml"
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Parts smaller than this may compress very well without being a threat.
RATIO_FLOOR = 1024 * 1024
CHUNK = 1024 * 1024
# Excel's own limits: rows in a sheet, characters in a cell, characters in a sheet name.
EXCEL_ROWS = 1_048_576
EXCEL_CELL_CHARS = 32_767
EXCEL_SHEET_TITLE_CHARS = 31
# Excel shows at most 15 significant digits; integers from there on lose digits.
EXACT_INTEGER_LIMIT = 1e15

_SAVE_AGAIN = (
    "Open it in your spreadsheet program, save it again as 'Excel Workbook (.xlsx)' or as "
    "'CSV UTF-8', and upload that file."
)
NOT_A_WORKBOOK = "This file is not a readable Excel workbook (.xlsx). " + _SAVE_AGAIN
DAMAGED = "This Excel workbook is damaged and cannot be read. " + _SAVE_AGAIN
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
ENTITIES = (
    "This workbook holds XML entity declarations, which spreadsheet programs never write; "
    "bulkport refuses them for safety. " + _SAVE_AGAIN
)

# Characters XML cannot hold (and a carriage return, which XML parsers turn into a line feed)
# are written as Excel writes them, "_x000D_"; an underscore that would read as such an
# escape is escaped itself, so every text reads back exactly as written.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r]|_(?=x[0-9A-Fa-f]{4}_)")
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


@dataclass
class XlsxRows:
    """An opened sheet: its name, the workbook's sheet names and ``(row number, cells)``."""

    sheet_name: str
    sheet_names: list[str]
    rows: Iterator[tuple[int, list[str]]]


def check_zip(path: Path, limits: ReadLimits) -> None:
    """Refuse a file that is not an xlsx zip or would inflate past the limits, before parsing."""
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


def _rows(worksheet: Any, limits: ReadLimits) -> Iterator[tuple[int, list[str]]]:
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


def value_text(value: object) -> str:
    """A cell value from openpyxl as text: dates in ISO, numbers without exponent or ".0"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _unescape(value) if "_x" in value else value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.replace(microsecond=0, tzinfo=None).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.replace(microsecond=0, tzinfo=None).isoformat()
    if isinstance(value, dt.timedelta):
        return _duration_text(value)
    return str(value)


def _float_text(value: float) -> str:
    """A float as Excel shows it: whole numbers plainly, at most 15 significant digits."""
    if value.is_integer() and abs(value) < EXACT_INTEGER_LIMIT:
        return str(int(value))
    if not math.isfinite(value):
        return str(value)
    # Excel keeps 15 significant digits: 0.1 + 0.2 shows as 0.3, not 0.30000000000000004.
    return format(Decimal(format(value, ".15g")), "f")


def _duration_text(value: dt.timedelta) -> str:
    """A duration as Excel's [h]:mm:ss shows it (hours may pass 24)."""
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _unescape(text: str) -> str:
    """Excel's "_x000D_" escapes back to the characters they stand for."""

    def character(match: re.Match[str]) -> str:
        code = int(match.group(1), 16)
        return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)

    return _ESCAPED.sub(character, text)


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
