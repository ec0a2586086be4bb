"""Opening an upload as rows under a header, whatever its format: sniff, read, find the header."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

from bulkport.errors import UnreadableFile
from bulkport.read_limits import DEFAULT_LIMITS, ReadLimits
from bulkport.spreadsheets.csvfile import CsvFormat, read_csv_rows, sniff_csv
from bulkport.spreadsheets.sniff import SNIFF_BYTES, FileFormat, sniff_format

# The header may sit below a title, a date line or blank rows; it is looked for this far down.
HEADER_SEARCH_ROWS = 20
Rows = Iterator[tuple[int, list[str]]]


@dataclass(frozen=True)
class ReadOptions:
    """What the person may tell about their file instead of letting bulkport find it."""

    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int | None = None


@dataclass(frozen=True)
class SheetInfo:
    """What was found about the file: shown in previews, kept with the job, used for reports."""

    format: FileFormat
    header_row: int
    encoding: str | None = None
    delimiter: str | None = None
    sheet_name: str | None = None
    sheet_names: list[str] = field(default_factory=list)

    @property
    def csv_format(self) -> CsvFormat:
        """The CSV dialect to write this file's report in."""
        return CsvFormat(self.encoding or "utf-8", self.delimiter or ",")


@dataclass
class Sheet:
    """An opened upload: its header and a stream of the data rows below it."""

    info: SheetInfo
    header: list[str]
    rows: Rows


def blank_row(cells: list[str]) -> bool:
    """Whether every cell is empty or whitespace.

    Runs for every row: the first cell usually settles it, else one C-level join (a row is
    blank exactly when all its cells joined are whitespace).
    """
    return not (cells and (cells[0].strip() or "".join(cells).strip()))


def without_trailing_blanks(rows: Rows) -> Rows:
    """The rows, less blank rows at the very end (a blank row between data rows stays)."""
    held: list[tuple[int, list[str]]] = []
    for row in rows:
        cells = row[1]
        # blank_row inlined: this runs for every row of every file.
        if cells and (cells[0].strip() or "".join(cells).strip()):
            if held:
                yield from held
                held.clear()
            yield row
        else:
            held.append(row)


def find_header(
    rows: Rows, score: Callable[[list[str]], int], header_row: int | None = None
) -> tuple[list[str], int, Rows]:
    """The header among the first rows (the one whose cells name most fields), its row number,
    and the rows after it."""
    if header_row is not None:
        for number, cells in rows:
            if number == header_row:
                return [c.strip() for c in cells], number, rows
            if number > header_row:
                break
        raise UnreadableFile(f"Row {header_row} is empty or missing; it cannot be the header.")
    head = list(islice(rows, HEADER_SEARCH_ROWS))
    candidates = [(score(cells), -i) for i, (_, cells) in enumerate(head) if not blank_row(cells)]
    if not candidates:
        raise UnreadableFile(
            "The file is empty. Upload a spreadsheet with a header row (such as First Name, "
            "Email) and one customer per row."
        )
    chosen = -max(candidates)[1]
    number, cells = head[chosen]

    return [c.strip() for c in cells], number, chain(head[chosen + 1 :], rows)


@contextmanager
def open_sheet(
    path: Path,
    score: Callable[[list[str]], int],
    options: ReadOptions = ReadOptions(),
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Iterator[Sheet]:
    """Open an upload for streaming; ``score`` tells how well a row reads as the header."""
    with path.open("rb") as handle:
        kind = sniff_format(handle.read(SNIFF_BYTES))
    if kind is FileFormat.XLSX:
        from bulkport.spreadsheets.xlsx.reader import open_xlsx

        with open_xlsx(path, sheet=options.sheet, limits=limits) as book:
            header, number, rows = find_header(book.rows, score, options.header_row)
            info = SheetInfo(
                format=kind,
                header_row=number,
                sheet_name=book.sheet_name,
                sheet_names=book.sheet_names,
            )
            yield Sheet(info, header, without_trailing_blanks(rows))
        return
    fmt = sniff_csv(path, encoding=options.encoding, delimiter=options.delimiter)
    header, number, rows = find_header(read_csv_rows(path, fmt, limits), score, options.header_row)
    info = SheetInfo(format=kind, header_row=number, encoding=fmt.encoding, delimiter=fmt.delimiter)
    yield Sheet(info, header, without_trailing_blanks(rows))
