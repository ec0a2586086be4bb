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
csv.field_size_limit(1024 * 1024)


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


def _first_line(text: io.TextIOBase) -> str:
    line = text.readline()
    text.seek(0)
    return line


@contextmanager
def open_csv(path: Path) -> Iterator[CsvSheet]:
    """Open a CSV file for streaming; raises ``UnreadableFile`` with plain words."""
    with path.open("rb") as raw:
        encoding = detect_encoding(raw.read(4))
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding=encoding, newline="", errors="strict")
        try:
            try:
                first = _first_line(text)
            except UnicodeDecodeError:
                raise UnreadableFile(_not_text(encoding)) from None
            if "\x00" in first:
                raise UnreadableFile("This file is not a text spreadsheet (it has NUL bytes).")
            fmt = CsvFormat(encoding=encoding, delimiter=detect_delimiter(first))
            reader = csv.reader(text, delimiter=fmt.delimiter, strict=False)
            header, header_row = _header(reader)
            yield CsvSheet(fmt, header, header_row, _rows(reader, header_row, encoding))
        finally:
            text.detach()


def _not_text(encoding: str) -> str:
    return (
        f"This file is not readable as {encoding.upper().removesuffix('-SIG')} text. "
        "Save it from your spreadsheet program as 'CSV UTF-8' and upload it again."
    )


def _header(reader: Iterator[list[str]]) -> tuple[list[str], int]:
    """The first row with a filled cell is the header."""
    number = 0
    try:
        for cells in reader:
            number += 1
            if any(cell.strip() for cell in cells):
                return [cell.strip() for cell in cells], number
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UnreadableFile(f"The header row cannot be read: {exc}.") from None
    raise UnreadableFile("The file is empty: it has no header row and no customers.")


def _rows(
    reader: Iterator[list[str]], header_row: int, encoding: str
) -> Iterator[tuple[int, list[str]]]:
    number = header_row
    try:
        for cells in reader:
            number += 1
            if any("\x00" in cell for cell in cells):
                raise UnreadableFile(
                    f"Row {number} holds NUL bytes: this is not a text spreadsheet."
                )
            yield number, cells
    except UnicodeDecodeError:
        raise UnreadableFile(
            f"Row {number + 1} is not readable as text. " + _not_text(encoding)
        ) from None
    except csv.Error as exc:
        raise UnreadableFile(f"Row {number + 1} cannot be read: {exc}.") from None


def write_csv_rows(out: BinaryIO, fmt: CsvFormat, rows: Iterator[list[str]]) -> None:
    """Write rows in the upload's own encoding and delimiter."""
    text = io.TextIOWrapper(out, encoding=fmt.encoding, newline="", errors="strict")
    try:
        writer = csv.writer(text, delimiter=fmt.delimiter, lineterminator="\r\n")
        writer.writerows(rows)
        text.flush()
    finally:
        text.detach()
