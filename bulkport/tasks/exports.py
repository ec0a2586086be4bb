"""An export job: count the customers, stream them into a file, publish the file when whole."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import BinaryIO

from sqlalchemy import Connection

from bulkport.errors import JobProblem
from bulkport.schemas.exports import ExportFormat, ExportRequest
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.spreadsheets.exportfiles import CsvExportWriter, ExportWriter, XlsxExportWriter
from bulkport.storage import audit, customer_reads, job_rows
from bulkport.tasks.context import Context
from bulkport.tasks.job_lifecycle import claim_job, send_or_fail, settled
from bulkport.tasks.notifications import check_notify_url

# Customers per COPY range: large enough for COPY's speed, small enough for live progress.
COPY_CHUNK = 20_000
UNEXPECTED = "The export stopped on an unexpected error; no file was published. Try again."


def export_key(job_id: str, fmt: ExportFormat) -> str:
    """Where an export's file is stored."""
    return f"jobs/{job_id}/export.{fmt.value}"


def submit_export(
    ctx: Context, *, store_id: int, user_id: int | None, request: ExportRequest, queue: bool = True
) -> str:
    """Create a QUEUED export job with its audit event, then send it to the workers; returns
    its id. ``queue=False`` when the caller runs it itself (an import's backup).

    Raises ``QueueUnreachable`` (the job then FAILED) when the queue cannot be reached.
    """
    check_notify_url(ctx, store_id, request.notify_url)
    with ctx.engine.begin() as conn:
        job_id = job_rows.create_job(
            conn,
            store_id=store_id,
            kind=JobKind.EXPORT,
            options=request.model_dump(mode="json", exclude_none=True),
            created_by=user_id,
        )
        audit.record(
            conn,
            store_id=store_id,
            user_id=user_id,
            action="export.request",
            job_id=job_id,
            detail={"format": request.format.value, "purpose": request.purpose},
        )
    if queue:
        send_or_fail(ctx, JobKind.EXPORT, job_id)
    return job_id


def run_export(ctx: Context, job_id: str) -> job_rows.Claimed | job_rows.Busy | job_rows.Finished:
    """Run an export from the start (a redelivered one writes its file again).

    Rows stream from the database a batch at a time straight into the file, which appears
    under its key only when complete: a killed export never leaves a partial download.
    """
    claim = claim_job(ctx, job_id)
    if not isinstance(claim, job_rows.Claimed):
        return claim
    job, token = claim.job, claim.token
    with settled(ctx, job_id, token, UNEXPECTED):
        if job.kind is not JobKind.EXPORT:
            raise JobProblem("This job is not an export.")
        request = ExportRequest.model_validate(job.options)
        key = export_key(job_id, request.format)
        with customer_reads.export_snapshot(ctx.engine) as snapshot:
            total = customer_reads.count_matching(snapshot, job.store_id, request.filters)
            with ctx.engine.begin() as conn:
                job_rows.start_over(conn, job_id, token, total=total)
            with ctx.files.writer(key) as out:
                progress = _Progress(ctx, job_id, token)
                if request.format is ExportFormat.CSV and customer_reads.database_writes_cells(
                    snapshot
                ):
                    _copy_csv(snapshot, job.store_id, request, out, progress)
                else:
                    _stream(snapshot, job.store_id, request, out, progress, ctx.settings.batch_size)
        with ctx.engine.begin() as conn:
            job_rows.finish(conn, job_id, token, JobStatus.READY, output_file=key)
    return claim


class _Progress:
    """Moves the job's counters as rows are written, and renews its lease."""

    def __init__(self, ctx: Context, job_id: str, token: str) -> None:
        self.ctx, self.job_id, self.token = ctx, job_id, token
        self.written = 0

    def add(self, rows: int) -> None:
        with self.ctx.engine.begin() as conn:
            job_rows.advance(
                conn, self.job_id, self.token,
                expected_checkpoint=self.written, rows=rows,
                counts={"processed": rows, "succeeded": rows},
                lease_seconds=self.ctx.settings.job_lease_seconds,
            )  # fmt: skip
        self.written += rows


def _stream(
    snapshot: Connection,
    store_id: int,
    request: ExportRequest,
    out: BinaryIO,
    progress: _Progress,
    batch: int,
) -> None:
    """Rows from a server-side cursor, written by Python (XLSX, and CSV on SQLite).

    XLSX on PostgreSQL: the database prepares each cell's value, Python only writes it.
    """
    keys, filters = request.column_keys(), request.filters
    rows: Iterable[Sequence[Sequence[object]]]
    if request.format is ExportFormat.XLSX:
        xlsx = XlsxExportWriter(out, keys)
        writer: ExportWriter = xlsx
        if customer_reads.database_writes_cells(snapshot):
            rows = customer_reads.stream_xlsx_values(snapshot, store_id, filters, keys, batch)
            write = xlsx.write_prepared_rows
        else:
            rows = customer_reads.stream_matching(snapshot, store_id, filters, keys, batch)
            write = xlsx.write_rows
    else:
        writer = CsvExportWriter(out, keys)
        rows = customer_reads.stream_matching(snapshot, store_id, filters, keys, batch)
        write = writer.write_rows
    for part in rows:
        write(part)
        progress.add(len(part))
    writer.close()


def _copy_csv(
    snapshot: Connection, store_id: int, request: ExportRequest, out: BinaryIO, progress: _Progress
) -> None:
    """CSV on PostgreSQL: the database writes the rows (COPY TO), formula-safe, in ranges."""
    keys = request.column_keys()
    CsvExportWriter(out, keys).close()  # the byte-order mark and the header row
    for rows, data in customer_reads.copy_csv_matching(
        snapshot, store_id, request.filters, keys, COPY_CHUNK
    ):
        for block in data:
            out.write(block)
        progress.add(rows)
