"""Retry: run an ended import's rows again, as uploaded, where what stopped them was not the
data's fault — rows the job never reached (it ended FAILED or CANCELLED part way) and rows that
met another job's data. The retry is an import job of its own over the original upload, with
the original's options and mapping, restricted to those rows (``only_rows``), so its row
numbers are the file's."""

from __future__ import annotations

import shutil
from collections.abc import Mapping

from bulkport.errors import Conflict, Gone
from bulkport.schemas.jobs import ImportOptions, JobKind, JobStatus
from bulkport.schemas.row_ranges import EVERY_ROW, RowRanges, Span
from bulkport.storage import chunks, job_rows
from bulkport.tasks.context import Context
from bulkport.tasks.imports import upload_key
from bulkport.usecases.imports import earlier_job, queue_import
from bulkport.usecases.jobs import get_job

# Row errors that say the row met data another job wrote (its email taken by another
# customer; in a create-only import, a customer that already exists), not a bad cell: a
# retry may succeed once that data changed. Every other code is the file's to fix.
RETRYABLE_CODES = frozenset({"email_taken", "already_exists"})
RETRY_KEY = "retry-of-"


def retry_key(job_id: str) -> str:
    """The idempotency key of a job's retry: one retry job per import."""
    return f"{RETRY_KEY}{job_id}"


def retry_job_of(ctx: Context, store_id: int, job_id: str) -> str | None:
    """The id of the job that retried ``job_id``'s rows, if one did."""
    retry = earlier_job(ctx, store_id, retry_key(job_id))
    return retry.id if retry is not None else None


def may_retry(job: job_rows.Job, failures: Mapping[str, int]) -> bool:
    """Whether a retry of the job may find rows (``failures``: its failed rows by code): an
    ended import, not a dry run, that stopped part way or has rows failed on another job's data.
    """
    return (
        job.kind is JobKind.IMPORT
        and not job.options.get("dry_run")
        and job.status.finished
        and (job.status is not JobStatus.READY or bool(failures.keys() & RETRYABLE_CODES))
    )


def retry_import(ctx: Context, store_id: int, user_id: int | None, job_id: str) -> job_rows.Job:
    """Queue an ended import's failed-by-conflict and unprocessed rows again as a new import
    job; the retry job already started, for an import retried before."""
    job = get_job(ctx, store_id, job_id)
    if job.kind is not JobKind.IMPORT:
        raise Conflict("Only an import can be retried.")
    if job.options.get("dry_run"):
        raise Conflict("A dry run writes nothing, so there is nothing to retry; commit it.")
    if job.status in (JobStatus.QUEUED, JobStatus.PROCESSING):
        raise Conflict(f"The import is {job.status}; retry it once it has ended.")
    earlier = earlier_job(ctx, store_id, retry_key(job.id))
    if earlier is not None:
        return earlier
    rows = rows_to_retry(ctx, job)
    if not rows:
        raise Conflict(
            "Nothing to retry: every row was processed and no row failed for a reason a "
            "retry can change (fix the failed rows in the file and upload it again)."
        )
    if job.input_file is None or not ctx.files.exists(job.input_file):
        raise Gone("The import's file is no longer stored; upload it again.")
    new_id = job_rows.new_job_id()
    with ctx.files.open(job.input_file) as source, ctx.files.writer(upload_key(new_id)) as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    options = ImportOptions.model_validate(
        {**job.options, **_as_read(job), "only_rows": str(rows), "retry_of": job.id,
         "backup": False}
    )  # fmt: skip
    return queue_import(
        ctx, store_id=store_id, user_id=user_id, job_id=new_id, options=options,
        idempotency_key=retry_key(job.id),
    )  # fmt: skip


def rows_to_retry(ctx: Context, job: job_rows.Job) -> RowRanges:
    """The rows of an ended import that a retry runs: those that failed only for
    ``RETRYABLE_CODES``, and those the job never reached."""
    with ctx.uow.reading() as conn:
        failed = job_rows.rows_failed_only_with(conn, job.id, RETRYABLE_CODES)
        parts = chunks.chunks_of(conn, job.id)
    spans: list[Span] = [(row, row) for row in failed]
    if job.status is not JobStatus.READY:
        spans.extend(_unprocessed(job, parts))
    return RowRanges.of_spans(spans)


def _unprocessed(job: job_rows.Job, parts: list[chunks.Chunk]) -> list[Span]:
    """The rows after each committed checkpoint: the job's, or each chunk's of a split one.

    Data rows follow the header row one number apart (a blank row between data is a row), so
    the checkpoint, a count of the rows read, gives the row number to go on from.
    """
    total = job.counts.total
    if total is not None and total and not job.counts.unprocessed:
        return []
    only = RowRanges.parse(job.options["only_rows"]) if job.options.get("only_rows") else EVERY_ROW
    header = (job.source or {}).get("header_row")
    if not parts:
        first = only.after(int(header) + 1 if header else 1, job.checkpoint)
        return [] if first is None else list(only.within(first).spans)
    spans: list[Span] = []
    for part in parts:
        first = only.after(part.first_row, part.checkpoint)
        last = only.after(part.first_row, part.rows - 1)
        if part.checkpoint < part.rows and first is not None:
            spans.extend(only.within(first, last).spans)
    return spans


def _as_read(job: job_rows.Job) -> dict[str, object]:
    """How the original read its file (header row, date order), so that the retry, reading
    only some rows, reads them the same way."""
    source = job.source or {}
    found = {"header_row": source.get("header_row"), "date_order": source.get("date_order")}
    return {name: value for name, value in found.items() if value is not None}
