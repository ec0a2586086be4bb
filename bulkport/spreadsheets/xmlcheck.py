"""A sheet's XML checked by expat in a process of its own, while the survey reads its rows.

    python -m bulkport.spreadsheets.xmlcheck WORKBOOK PART

Exits 0 when expat, set up as the plain reader sets it up (``xlsxstream.plain_parser``:
entity declarations and external references refused, and nothing the plain reader would
hand to the exact one, such as a document type), accepts the whole part; 1 otherwise, for
any reason. It says no more: on 1 the reader reads the sheet again itself,
which finds and words whatever is wrong exactly as it always did. So this check may be
stricter than the reader, never laxer.
"""

from __future__ import annotations

import sys
import zipfile

from bulkport.spreadsheets import xlsxstream


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


def main(argv: list[str]) -> int:
    """The exit status for ``python -m bulkport.spreadsheets.xmlcheck WORKBOOK PART``."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if well_formed(argv[0], argv[1]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
