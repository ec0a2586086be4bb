"""The error report: the failed rows exactly as uploaded, plus Row and Errors columns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine

from bulkport.spreadsheets.cells import safe_cell
from bulkport.spreadsheets.csvfile import open_csv, write_csv_rows
from bulkport.storage import jobs as job_rows
from bulkport.storage.files import FileStore


def report_key(job_id: str) -> str:
    """Where a job's report is stored."""
    return f"jobs/{job_id}/report.csv"


def write_report(engine: Engine, files: FileStore, job_id: str, upload: Path) -> str:
    """Write the report of a job's failed rows in the upload's own CSV format; returns its key.

    Re-reads the upload alongside the stored errors (both in row order), so memory stays flat
    however many rows failed. Cells are written formula-safe; the importer drops the escaping
    apostrophe, so the fixed report uploads again as it should.
    """
    key = report_key(job_id)
    with engine.connect() as conn, open_csv(upload) as sheet, files.writer(key) as out:
        messages = iter(job_rows.failed_row_messages(conn, job_id))

        def rows() -> Iterator[list[str]]:
            yield [*sheet.header, "Row", "Errors"]
            pending = next(messages, None)
            for number, cells in sheet.rows:
                if pending is None:
                    return
                if number == pending[0]:
                    padded = cells + [""] * (len(sheet.header) - len(cells))
                    yield [*(safe_cell(c) for c in padded), str(number), pending[1]]
                    pending = next(messages, None)

        write_csv_rows(out, sheet.format, rows())
    return key
