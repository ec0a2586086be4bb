"""A sheet's XML checked by expat in a process of its own, while the survey reads its rows.

    python -m bulkport.spreadsheets.xmlcheck WORKBOOK PART
    python -m bulkport.spreadsheets.xmlcheck WORKBOOK PART AFTER FD MAX_ROWS MAX_COLUMNS MAX_CHARS

Exits 0 when expat, set up as the plain reader sets it up (``xlsxstream.plain_parser``:
entity declarations and external references refused, and nothing the plain reader would
hand to the exact one, such as a document type), accepts the whole part; 1 otherwise, for
any reason. It says no more: on 1 the reader reads the sheet again itself,
which finds and words whatever is wrong exactly as it always did. So this check may be
stricter than the reader, never laxer.

With AFTER and the rest, it also reads the sheet's tail (``xlsxstream.Tail``: the rows from
the first ``<row r="`` at or after byte AFTER of the part) with the plain reader and those
limits, writes them to the open file FD as the spill writes its rows, and prints where the
tail starts, its first row's number and its rows holding cells. Exits 0 when it did, 3 when
the part passed the check but no tail was read (no row to start at, a row it could not
read plainly, a limit), 1 when the part did not pass.
"""

from __future__ import annotations

import os
import sys
import zipfile
from itertools import islice
from typing import IO

from bulkport.spreadsheets import xlsxstream
from bulkport.spreadsheets.limits import ReadLimits
from bulkport.spreadsheets.spill import write_chunk

# Rows written together (as the survey hands them to its spill).
CHUNK_ROWS = 1000


def well_formed(path: str, part: str) -> bool:
    """Whether the part is a plain sheet to expat (see the module's doc)."""
    parser = xlsxstream.plain_parser()
    try:
        with zipfile.ZipFile(path) as archive, archive.open(part) as stream:
            while chunk := stream.read(xlsxstream.CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except Exception:  # any failure: the reader finds out which, and says it
        return False
    return True


def read_tail(
    path: str, part: str, split: xlsxstream.Tail, limits: ReadLimits, out: IO[bytes]
) -> int:
    """Check the part and read its tail into ``out``; the exit status (see the module's doc).

    The tail's rows come from bytes expat accepted, as the plain reader reads them. On any
    failure the tail is dropped and the part is checked again alone: the reader reads the
    tail itself then, and finds whatever was wrong.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            book = xlsxstream.read_book(archive)
            rows = xlsxstream.tail_rows(archive, part, book, limits, split)
            while chunk := list(islice(rows, CHUNK_ROWS)):
                write_chunk(out, chunk)
        out.flush()
    except Exception:
        return xlsxstream.TAIL_NOT_READ if well_formed(path, part) else xlsxstream.NOT_PASSED
    return xlsxstream.TAIL_READ


def main(argv: list[str]) -> int:
    """The exit status for ``python -m bulkport.spreadsheets.xmlcheck …``."""
    if len(argv) == 2:
        return xlsxstream.TAIL_READ if well_formed(argv[0], argv[1]) else xlsxstream.NOT_PASSED
    if len(argv) != 7 or not all(arg.isdigit() for arg in argv[2:]):
        print(__doc__, file=sys.stderr)
        return 2
    after, fd, max_rows, max_columns, max_chars = map(int, argv[2:])
    limits = ReadLimits(max_rows=max_rows, max_columns=max_columns, max_cell_chars=max_chars)
    split = xlsxstream.Tail(after=after)
    with os.fdopen(fd, "wb") as out:
        status = read_tail(argv[0], argv[1], split, limits, out)
    if status == xlsxstream.TAIL_READ:
        print(split.start, split.first_row, split.seen)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
