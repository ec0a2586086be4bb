"""CSV files: their encoding and delimiter, and their rows streamed with spreadsheet row numbers."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import BinaryIO

from bulkport.errors import LimitExceeded, UnreadableFile
from bulkport.read_limits import DEFAULT_LIMITS, ReadLimits

DELIMITERS = (",", ";", "\t", "|")
# The csv module's own cap on a cell; the configured limit (ReadLimits) is checked per cell.
csv.field_size_limit(16 * 1024 * 1024)
_SAMPLE_LINES = 20
_CHUNK = 1024 * 1024
# Bytes cp1252 leaves undefined: a file holding them is not Windows text either.
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file was written, so that its report can be written the same way."""

    encoding: str
    delimiter: str


class _BadText(Exception):
    """A line that does not decode; raised through csv.reader to be told with its row."""


class _BinaryLine(Exception):
    """A line holding NUL characters: binary data, not text."""


def detect_encoding(path: Path) -> str:
    """The file's encoding: a byte-order mark; UTF-16 by its zero bytes; UTF-8 if the whole file
    decodes strictly as UTF-8; else Windows-1252 (what Excel on Windows writes); else refused.
    """
    with path.open("rb") as raw:
        head = raw.read(4096)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if len(head) >= 4 and head.count(0) * 3 > len(head):
            odd = sum(1 for b in head[1::2] if b == 0)
            even = sum(1 for b in head[0::2] if b == 0)
            return "utf-16-le" if odd > even else "utf-16-be"
        raw.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            while chunk := raw.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
        raw.seek(0)
        line = 1
        while chunk := raw.read(_CHUNK):
            bad = _CP1252_UNDEFINED.search(chunk)
            if bad is not None:
                line += chunk.count(b"\n", 0, bad.start())
                raise UnreadableFile(f"Line {line} of this file " + not_text("UTF-8 or Windows"))
            line += chunk.count(b"\n")
    return "cp1252"


_ENCODING_NAMES = {"cp1252": "Windows (cp1252)", "utf-8-sig": "UTF-8"}


def encoding_name(encoding: str) -> str:
    """An encoding as people know it."""
    return _ENCODING_NAMES.get(encoding, encoding.upper())


def not_text(name: str) -> str:
    """The end of a message for text that does not decode as ``name``, saying what to do."""
    return (
        f"is not readable as {name} text. In your spreadsheet program choose "
        "Save As → 'CSV UTF-8' and upload that file."
    )


def _outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count


def detect_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the most lines of the sample into the same number of cells.

    Counted outside quotes; a title line above the header ("Customers, March") or a comma in a
    note does not outvote the delimiter that every row shares. Ties go to the comma.
    """
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = Counter(_outside_quotes(line, delimiter) for line in lines)
        counts.pop(0, None)
        if not counts:
            continue
        common, lines_with_it = max(counts.items(), key=lambda item: (item[1], item[0]))
        score = (lines_with_it, common)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _lines(raw: BinaryIO, encoding: str) -> Iterator[str]:
    """Decoded lines; bad bytes are reported on their own row."""
    start = raw.tell()
    head = raw.read(64 * 1024)
    raw.seek(start)
    # UTF-16 is read in two-byte units, where a b"\n" split would cut characters; old Mac
    # files end lines with CR alone. Both are rare: decode those as a whole stream.
    if encoding.startswith("utf-16") or (b"\r" in head and b"\n" not in head):
        return _stream_lines(raw, encoding)
    if encoding == "utf-8-sig":
        if raw.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
            raw.seek(start)
        encoding = "utf-8"
    # Chained in C: no Python frame runs per line.
    return chain.from_iterable(_blocks(raw, encoding))


def _stream_lines(raw: BinaryIO, encoding: str) -> Iterator[str]:
    """Lines of a file decoded as one stream (UTF-16, or line breaks that are CR alone)."""
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    try:
        for decoded in text:
            if "\x00" in decoded:
                raise _BinaryLine
            yield decoded
    except UnicodeDecodeError:
        raise _BadText from None
    finally:
        text.detach()


def _blocks(raw: BinaryIO, encoding: str) -> Iterator[Iterable[str]]:
    """The file's lines, a block of them at a time."""
    # A megabyte at a time, cut after its last line break: one decode and one NUL test per
    # block instead of per line. A block that fails either is read again line by line, so the
    # error still names its own row.
    pending: list[bytes] = []  # the start of a line longer than a block
    while block := raw.read(_CHUNK):
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            pending.append(block)
            continue
        lines = b"".join((*pending, block[:cut])) if pending else block[:cut]
        pending = [block[cut:]]
        yield _decoded_lines(lines, encoding)
    if rest := b"".join(pending):
        yield _decoded_lines(rest, encoding)


def _decoded_lines(block: bytes, encoding: str) -> Iterable[str]:
    """A block's lines, split at b"\n" exactly as iterating the file would."""
    if b"\x00" not in block:
        try:
            text = block.decode(encoding)
        except UnicodeDecodeError:
            pass
        else:
            # newline="\n": split at "\n" only, as bytes iteration did ("\r" or U+2028
            # stay inside a line for the csv reader to judge).
            return io.StringIO(text, newline="\n")
    return _checked_lines(block, encoding)


def _checked_lines(block: bytes, encoding: str) -> Iterator[str]:
    """A block's lines decoded one by one, up to the first that is not text."""
    for line in io.BytesIO(block):
        if b"\x00" in line:
            raise _BinaryLine
        try:
            yield line.decode(encoding)
        except UnicodeDecodeError:
            raise _BadText from None


def sniff_csv(
    path: Path, *, encoding: str | None = None, delimiter: str | None = None
) -> CsvFormat:
    """The file's encoding and delimiter, each found unless given."""
    found = encoding or detect_encoding(path)
    if delimiter is None:
        sample: list[str] = []
        with path.open("rb") as raw:
            try:
                for line in _lines(raw, found):
                    if line.strip():
                        sample.append(line)
                    if len(sample) >= _SAMPLE_LINES:
                        break
            except (_BadText, _BinaryLine):
                pass  # told with its row number when the rows are read
        delimiter = detect_delimiter(sample)
    return CsvFormat(encoding=found, delimiter=delimiter)


def read_csv_rows(
    path: Path, fmt: CsvFormat, limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[tuple[int, list[str]]]:
    """Every row from row 1, as ``(row number, cells)``; a record over several lines is one row.

    Raises ``UnreadableFile`` or ``LimitExceeded`` naming the row where the file goes wrong.
    """
    with path.open("rb") as raw:
        reader = csv.reader(_lines(raw, fmt.encoding), delimiter=fmt.delimiter, strict=False)
        number = 0
        try:
            max_rows, max_columns, max_chars = (
                limits.max_rows, limits.max_columns, limits.max_cell_chars
            )  # fmt: skip
            for cells in reader:
                number += 1
                # Inlined for every row: the common case is settled by three C-level tests.
                if (
                    number > max_rows
                    or len(cells) > max_columns
                    or max(map(len, cells), default=0) > max_chars
                ):
                    _check(number, cells, limits)
                yield number, cells
        except _BadText:
            raise UnreadableFile(
                f"Row {number + 1} " + not_text(encoding_name(fmt.encoding))
            ) from None
        except _BinaryLine:
            raise UnreadableFile(
                f"Row {number + 1} holds binary data (NUL characters): this is not a text "
                "spreadsheet. Upload the customer list as CSV."
            ) from None
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise LimitExceeded(
                    f"Row {number + 1} has a cell of more than {limits.max_cell_chars:,} "
                    "characters; customer fields are far shorter. Check the file for an "
                    "unclosed quote."
                ) from None
            raise UnreadableFile(
                f"Row {number + 1} cannot be read as CSV (a quote or line break is out of "
                "place, or the file is not text)."
            ) from None


def _check(number: int, cells: list[str], limits: ReadLimits) -> None:
    """Raise the limit a row breaks, in words."""
    if number > limits.max_rows:
        raise LimitExceeded(
            f"The file has more than {limits.max_rows:,} rows; split it into smaller files."
        )
    if len(cells) > limits.max_columns:
        raise LimitExceeded(
            f"Row {number} has {len(cells):,} columns; at most {limits.max_columns:,} are read. "
            "Remove the empty or extra columns."
        )
    for cell in cells:
        if len(cell) > limits.max_cell_chars:
            raise LimitExceeded(
                f"Row {number} has a cell of {len(cell):,} characters; at most "
                f"{limits.max_cell_chars:,} are allowed. Check the file for an unclosed quote."
            )


def write_csv_rows(out: BinaryIO, fmt: CsvFormat, rows: Iterator[list[str]]) -> None:
    """Write rows in the upload's own encoding and delimiter."""
    text = io.TextIOWrapper(out, encoding=fmt.encoding, newline="", errors="replace")
    try:
        writer = csv.writer(text, delimiter=fmt.delimiter, lineterminator="\r\n")
        writer.writerows(rows)
        text.flush()
    finally:
        text.detach()
