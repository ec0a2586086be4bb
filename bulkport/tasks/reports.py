"""The error report: the failed rows as uploaded, plus Row and Errors columns, in the upload's
own format (CSV in its encoding and delimiter, XLSX as XLSX) so it can be fixed and re-uploaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bulkport.schemas.jobs import ImportOptions
from bulkport.spreadsheets.cells import safe_cell
from bulkport.spreadsheets.csvfile import write_csv_rows
from bulkport.spreadsheets.sniff import FileFormat
from bulkport.spreadsheets.sources import Sheet, SheetInfo
from bulkport.storage import job_rows
from bulkport.storage.db import reading
from bulkport.tasks.context import Context
from bulkport.tasks.survey import open_upload

REPORT_COLUMNS = ("Row", "Errors")
# A lifecycle job's report: one line per row, ids and plain words only, never a cell's text.
OUTCOME_COLUMNS = ("Row", "Customer Record ID", "Secondary ID", "Outcome", "Message")


def outcomes_key(job_id: str) -> str:
    """Where a lifecycle job (archive, un-archive, merge, delete) writes its report."""
    return f"jobs/{job_id}/report.csv"


def report_key(job_id: str, info: SheetInfo) -> str:
    """Where a job's report is stored."""
    return f"jobs/{job_id}/report.{info.format.value}"


def write_report(
    ctx: Context, job_id: str, upload: Path, options: ImportOptions, info: SheetInfo
) -> str:
    """Write the report of a job's failed rows; returns its key.

    Re-reads the upload exactly as the job read it, alongside the stored errors (both in row
    order), so memory stays flat however many rows failed. Cells are written formula-safe; the
    importer drops the escaping apostrophe, so the fixed report uploads again as it should.
    """
    key = report_key(job_id, info)
    limits = ctx.settings.read_limits()
    with (
        reading(ctx.engine) as conn,
        open_upload(upload, options, limits, info) as (sheet, _),
        ctx.files.writer(key) as out,
    ):
        rows = _failed_rows(sheet, iter(job_rows.failed_row_messages(conn, job_id)))
        if info.format is FileFormat.XLSX:
            from bulkport.spreadsheets.xlsx.writer import write_xlsx_rows

            write_xlsx_rows(out, f"Errors {info.sheet_name or ''}".strip(), rows)
        else:
            write_csv_rows(out, info.csv_format, (list(map(safe_cell, row)) for row in rows))
    return key


def _failed_rows(sheet: Sheet, messages: Iterator[tuple[int, str]]) -> Iterator[list[str]]:
    yield [*sheet.header, *REPORT_COLUMNS]
    pending = next(messages, None)
    width = len(sheet.header)
    for number, cells in sheet.rows:
        if pending is None:
            return
        if number == pending[0]:
            padded = cells + [""] * (width - len(cells))
            yield [*padded, str(number), pending[1]]
            pending = next(messages, None)
