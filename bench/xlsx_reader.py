"""The XLSX reader alone, against openpyxl and against expat with nothing to do.

``python -m bench.xlsx_reader [ROWS]`` (default 100,000) reads the benchmark's import file
(22 columns, written by xlsxwriter in constant-memory mode: inline strings) with:

* (a) openpyxl read-only, through the rows function bulkport used before its own reader
  (kept in ``tests/xlsx_reference.py``);
* (b) bulkport's reader (``spreadsheets/xlsx``): the workbook parts, then the sheet's rows
  (the zip pre-check ``check_zip``, which runs before either reader, is timed on its own);
* (c) expat parsing the sheet part with no handlers at all, the floor for any expat reader;

then how many times faster (b) is than (a), (b) on the same rows saved with shared strings
(as Excel saves), and (b)'s peak memory (tracemalloc). Each time is the best of
``--repeat`` runs; openpyxl's too unless ``--skip-openpyxl``.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.parsers import expat

from bulkport.read_limits import ReadLimits
from bulkport.spreadsheets.xlsx.package import Package, check_zip, read_book
from bulkport.spreadsheets.xlsx.rows import sheet_rows
from bulkport.spreadsheets.xlsx.safexml import CHUNK

from .data import DATA_DIR, HEADER, import_rows, scenario

LIMITS = ReadLimits()


def openpyxl_rows(path: Path) -> int:
    """(a) openpyxl read-only with bulkport's former rows function."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
    import openpyxl
    from xlsx_reference import _rows  # type: ignore[import-not-found]

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        return sum(1 for _ in _rows(sheet, LIMITS))
    finally:
        book.close()


def stream_rows(path: Path) -> int:
    """(b) bulkport's reader: workbook parts, then every row."""
    with zipfile.ZipFile(path) as archive:
        package = Package(archive)
        book = read_book(package)
        return sum(1 for _ in sheet_rows(package, book, 0, LIMITS))


def bare_expat(path: Path) -> int:
    """(c) expat over the sheet part, no handlers: every byte parsed, nothing kept."""
    with zipfile.ZipFile(path) as archive, archive.open("xl/worksheets/sheet1.xml") as part:
        parser = expat.ParserCreate(namespace_separator="}")
        while chunk := part.read(CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    return 0


def timed(work: Callable[[], int], repeat: int) -> tuple[float, int]:
    best = float("inf")
    count = 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = work()
        best = min(best, time.perf_counter() - started)
    return best, count


def shared_strings_copy(rows: int) -> Path:
    """The same rows saved with a shared strings table, as Excel saves text."""
    import datetime as dt

    import xlsxwriter

    path = DATA_DIR / f"import-shared-{rows}.xlsx"
    if path.exists():
        return path
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = book.add_worksheet("Customers")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, HEADER)
    for r, cells in enumerate(import_rows(rows), start=1):
        for c, cell in enumerate(cells):
            if cell and c == HEADER.index("Date of Birth"):
                sheet.write_datetime(r, c, dt.date.fromisoformat(cell), dates)
            elif cell:
                sheet.write_string(r, c, cell)
    book.close()
    return path


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("rows", nargs="?", type=int, default=100_000)
    options.add_argument("--repeat", type=int, default=3)
    options.add_argument("--skip-openpyxl", action="store_true")
    args = options.parse_args()
    path = scenario(args.rows, "xlsx").import_path
    shared = shared_strings_copy(args.rows)
    print(f"{path.name}: {path.stat().st_size:,} bytes, {args.rows:,} rows + header, 22 columns")

    def line(label: str, seconds: float, rows: int) -> None:
        print(
            f"{label:46s} {seconds:7.2f} s  {rows / seconds:9,.0f} rows/s  "
            f"{seconds / rows * 1e6:6.1f} µs/row"
        )

    rows: int = args.rows + 1

    def pre_check() -> int:
        check_zip(path, LIMITS)
        return rows

    line("zip pre-check (check_zip)", *timed(pre_check, 1))
    reference = 0.0
    if not args.skip_openpyxl:
        reference, read = timed(lambda: openpyxl_rows(path), args.repeat)
        line("(a) openpyxl read-only + former _rows", reference, read)
    seconds, read = timed(lambda: stream_rows(path), args.repeat)
    line("(b) bulkport's reader", seconds, read)
    floor, _ = timed(lambda: bare_expat(path), args.repeat)
    line("(c) bare expat, no handlers", floor, rows)
    if reference:
        print(f"(b) is {reference / seconds:.1f}x openpyxl read-only (a)")
    line(
        "(b) bulkport's reader, shared strings copy",
        *timed(lambda: stream_rows(shared), args.repeat),
    )
    tracemalloc.start()
    stream_rows(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"(b) peak memory (tracemalloc): {peak / 1024 / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
