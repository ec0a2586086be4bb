"""CSV files: finding the dialect, streaming rows with their spreadsheet row numbers."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bulkport.errors import UnreadableFile

DELIMITERS = (",", ";", "\t", "|")
# Cells can hold long notes; beyond this a file is not a customer list.
CELL_LIMIT = 1024 * 1024
csv.field_size_limit(CELL_LIMIT)


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file was written, so that its report can be written the same way."""

    encoding: str
    delimiter: str


@dataclass
class CsvSheet:
    """An opened CSV: its header and a stream of ``(row number, cells)`` after it."""

    format: CsvFormat
    header: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[str]]]


class _BadText(Exception):
    """A line that does not decode; raised through csv.reader to be told with its row."""


def detect_encoding(head: bytes) -> str:
    """The file's encoding from its first bytes: a byte-order mark, else UTF-8."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def detect_delimiter(header_line: str) -> str:
    """The delimiter that splits the header line most often (ties go to the comma)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _lines(raw: BinaryIO, encoding: str) -> Iterator[str]:
    """Decoded lines, each decoded alone so that bad bytes are found on their own row."""
    start = raw.tell()
    head = raw.read(64 * 1024)
    raw.seek(start)
    # UTF-16 is read in two-byte units, where a b"\n" split would cut characters; old Mac
    # files end lines with CR alone. Both are rare: decode those as a whole stream.
    if encoding == "utf-16" or (b"\r" in head and b"\n" not in head):
        yield from io.TextIOWrapper(raw, encoding=encoding, newline="")
        return
    if encoding == "utf-8-sig":
        raw.read(len(codecs.BOM_UTF8))
        encoding = "utf-8"
    for line in raw:
        try:
            yield line.decode(encoding)
        except UnicodeDecodeError:
            raise _BadText from None


def _header_line(path: Path, encoding: str) -> str:
    """The first line with something on it (the header may sit below blank lines)."""
    with path.open("rb") as raw:
        try:
            for line in _lines(raw, encoding):
                if line.strip(" \t\r\n,;|"):
                    return line
        except (_BadText, UnicodeDecodeError):
            raise UnreadableFile("The header row " + _not_text(encoding)) from None
    return ""


@contextmanager
def open_csv(path: Path) -> Iterator[CsvSheet]:
    """Open a CSV file for streaming; raises ``UnreadableFile`` with plain words."""
    with path.open("rb") as raw:
        encoding = detect_encoding(raw.read(4))
        raw.seek(0)
        first = _header_line(path, encoding)
        if "\x00" in first:
            raise UnreadableFile(
                "This file is not a text spreadsheet (its header row holds NUL characters). "
                "Upload the customer list as CSV."
            )
        fmt = CsvFormat(encoding=encoding, delimiter=detect_delimiter(first))
        reader = csv.reader(_lines(raw, encoding), delimiter=fmt.delimiter, strict=False)
        header, header_row = _header(reader, encoding)
        yield CsvSheet(fmt, header, header_row, _rows(reader, header_row, encoding))


def _not_text(encoding: str) -> str:
    return (
        f"is not readable as {encoding.upper().removesuffix('-SIG')} text. "
        "In your spreadsheet program choose Save As → 'CSV UTF-8' and upload that file."
    )


def _header(reader: Iterator[list[str]], encoding: str) -> tuple[list[str], int]:
    """The first row with a filled cell is the header."""
    read = [0]
    for cells in _guarded(reader, read, encoding):
        if any(cell.strip() for cell in cells):
            return [cell.strip() for cell in cells], read[0]
    raise UnreadableFile(
        "The file is empty. Upload a spreadsheet with a header row (such as First Name, "
        "Email) and one customer per row."
    )


def _rows(
    reader: Iterator[list[str]], header_row: int, encoding: str
) -> Iterator[tuple[int, list[str]]]:
    read = [header_row]
    for cells in _guarded(reader, read, encoding):
        if any("\x00" in cell for cell in cells):
            raise UnreadableFile(
                f"Row {read[0]} holds binary data (NUL characters): this is not a text "
                "spreadsheet. Upload the customer list as CSV."
            )
        yield read[0], cells


def _guarded(reader: Iterator[list[str]], read: list[int], encoding: str) -> Iterator[list[str]]:
    """The reader's rows, counting them in ``read[0]``; a failure is told with its row."""
    try:
        for cells in reader:
            read[0] += 1
            yield cells
    except (_BadText, UnicodeDecodeError):
        raise UnreadableFile(f"Row {read[0] + 1} " + _not_text(encoding)) from None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise UnreadableFile(
                f"Row {read[0] + 1} has a cell longer than {CELL_LIMIT:,} characters; "
                "customer fields are far shorter. Check the file for an unclosed quote."
            ) from None
        raise UnreadableFile(
            f"Row {read[0] + 1} cannot be read as CSV (a quote or line break is out of place)."
        ) from None


def write_csv_rows(out: BinaryIO, fmt: CsvFormat, rows: Iterator[list[str]]) -> None:
    """Write rows in the upload's own encoding and delimiter."""
    text = io.TextIOWrapper(out, encoding=fmt.encoding, newline="", errors="strict")
    try:
        writer = csv.writer(text, delimiter=fmt.delimiter, lineterminator="\r\n")
        writer.writerows(rows)
        text.flush()
    finally:
        text.detach()
