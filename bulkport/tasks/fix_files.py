"""The files of a fix: an import's failed rows read back from its report, and the fix job's
input written with the edited cells at the original file's row numbers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import Connection

from bulkport.rules.apostrophes import unshield
from bulkport.rules.dates import DateOrder
from bulkport.schemas.jobs import ImportOptions, RowErrorView, RowOutcome
from bulkport.spreadsheets.cells import safe_cell
from bulkport.spreadsheets.csvfile import CsvFormat, write_csv_rows
from bulkport.spreadsheets.mapping import guess_mapping
from bulkport.spreadsheets.sources import ReadOptions, open_sheet
from bulkport.tasks.batches import BatchPlanner
from bulkport.tasks.context import Context
from bulkport.tasks.reports import REPORT_COLUMNS
from bulkport.tasks.survey import override_of

# The fix file's own format: whatever the upload was, its rows are written as UTF-8 CSV.
FIX_FORMAT = CsvFormat("utf-8", ",")


@dataclass(frozen=True)
class FailedRow:
    """A failed row as the import read it: its number in the file and its cells by header."""

    row: int
    cells: dict[str, str]


@contextmanager
def failed_rows(
    ctx: Context, report_key: str, source: dict[str, Any]
) -> Iterator[tuple[list[str], Iterator[FailedRow]]]:
    """The report's columns (less Row and Errors) and its rows, streamed in row order; cells
    lose the apostrophe the report put before a formula, as the importer drops it."""
    read = ReadOptions(
        encoding=source.get("encoding"), delimiter=source.get("delimiter"), header_row=1
    )
    with (
        ctx.files.local(report_key) as path,
        open_sheet(path, lambda _: 0, read, ctx.settings.read_limits()) as sheet,
    ):
        header = sheet.header[: -len(REPORT_COLUMNS)]

        def rows() -> Iterator[FailedRow]:
            for _, cells in sheet.rows:
                padded = cells + [""] * (len(header) + 1 - len(cells))
                values = (unshield(cell) for cell in padded[: len(header)])
                yield FailedRow(int(padded[len(header)]), dict(zip(header, values, strict=True)))

        yield header, rows()


def write_fix_file(out: BinaryIO, header: list[str], rows: Iterable[FailedRow]) -> None:
    """The fix job's input: the header on row 1, then each row (in increasing order) on its
    number in the original file and blank rows between, so that row numbers stay the file's."""
    write_csv_rows(out, FIX_FORMAT, _lines(header, rows))


def _lines(header: list[str], rows: Iterable[FailedRow]) -> Iterator[list[str]]:
    yield header
    number = 1
    for row in rows:
        while number < row.row - 1:
            number += 1
            yield []
        number += 1
        yield _cells(header, row)


def check_row(
    conn: Connection,
    store_id: int,
    options: ImportOptions,
    source: dict[str, Any],
    header: list[str],
    row: FailedRow,
) -> tuple[RowOutcome, list[RowErrorView]]:
    """What importing the row would do now, by the import's own rules, mapping and date order:
    planned as the import plans a batch (parsed, looked up, decided) but never written."""
    order = source.get("date_order") or options.date_order or DateOrder.DMY
    planner = BatchPlanner(
        store_id=store_id,
        mapping=guess_mapping(header, override_of(options)),
        options=options,
        date_order=DateOrder(order),
    )
    prepared = planner.prepare([(row.row, _cells(header, row))])
    plan = planner.decide(prepared, planner.look_up(conn, prepared))
    return plan.outcomes[row.row], plan.errors


def _cells(header: list[str], row: FailedRow) -> list[str]:
    """The row's cells in the header's order, as a file holds them (a formula shielded)."""
    return [safe_cell(row.cells.get(column, "")) for column in header]
