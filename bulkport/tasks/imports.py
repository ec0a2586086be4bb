"""An import job from start to end: open the file, map it, validate and write it batch by batch,
report the rows that failed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

from bulkport.errors import JobProblem, UnreadableFile
from bulkport.read_limits import ReadLimits
from bulkport.rules.dates import DateOrder
from bulkport.schemas.exports import ArchivedFilter, ExportFilters, ExportFormat, ExportRequest
from bulkport.schemas.jobs import ImportOptions, JobKind, JobStatus
from bulkport.schemas.mappings import ColumnRule
from bulkport.spreadsheets.sniff import SNIFF_BYTES, FileFormat, sniff_format
from bulkport.spreadsheets.spill import RowSpill
from bulkport.storage import accounts, audit, job_rows, mappings
from bulkport.storage.db import reading
from bulkport.tasks.batches import BatchPlanner
from bulkport.tasks.chunks import finish_split, split_rows, start_chunks
from bulkport.tasks.context import Context
from bulkport.tasks.exports import run_export, submit_export
from bulkport.tasks.job_lifecycle import claim_job, send_or_fail, settled
from bulkport.tasks.notifications import check_notify_url
from bulkport.tasks.pipeline import BatchRun, batches, write_batches
from bulkport.tasks.reports import write_report
from bulkport.tasks.survey import Survey, chosen_rows, open_upload, override_of, survey

log = logging.getLogger(__name__)
UNEXPECTED = (
    "The job stopped on an unexpected error. Rows counted as processed were saved; "
    "upload the file again to finish, or contact your administrator."
)
NO_ROWS = (
    "The file has a header row but no customers below it. Add one customer per "
    "row under the header and upload it again."
)


def run_import(ctx: Context, job_id: str) -> job_rows.Claimed | job_rows.Busy | job_rows.Finished:
    """Run (or resume) an import job; returns how the claim went.

    Each batch is written in one transaction together with its row errors, the job's counters
    and its checkpoint, so a redelivered job resumes after the last committed batch.
    """
    claim = claim_job(ctx, job_id)
    if isinstance(claim, job_rows.Finished) and claim.status is JobStatus.PROCESSING:
        finish_split(ctx, job_id)  # a split import, carried by its chunks: end it if they are done
        return claim
    if not isinstance(claim, job_rows.Claimed):
        return claim
    chunks = 0
    with settled(ctx, job_id, claim.token, UNEXPECTED):
        chunks = _import(ctx, claim.job, claim.token)
    if chunks:
        start_chunks(ctx, job_id, chunks)
    return claim


def _import(ctx: Context, job: job_rows.Job, token: str) -> int:
    """The claimed job's work; returns the number of chunks when it was split (0 when it was
    imported here, whole)."""
    options, key = _job_input(ctx, job)
    limits = ctx.settings.read_limits()
    with ctx.files.local(key) as upload, RowSpill(upload.parent) as spill:
        # Open the source, map its columns, count its rows and find its date order.
        found = survey(upload, options, _store_date_order(ctx, job), limits, spill)
        _record_plan(ctx, job, token, found)
        if options.backup and not options.dry_run:
            _back_up(ctx, job, token)
        planner = _planner(job, options, found)
        with _rows(upload, options, limits, found, spill) as rows:
            if found.total > ctx.settings.chunk_rows and not job.checkpoint:
                # Too many rows for one worker: cut them into chunks that any worker takes
                # (a job that already wrote rows in one pass goes on in one pass).
                return split_rows(ctx, job, token, planner, rows)
            # Validate and write the rows a batch at a time, from where the job stands.
            _remember_committed(planner, rows, job.checkpoint, ctx.settings.batch_size)
            run = BatchRun(ctx, job.id, token, planner, options.dry_run)
            write_batches(run, rows, job.checkpoint)
        # Report the rows that failed, in the upload's own format.
        report = _report(ctx, job.id, upload, options, found)
    with ctx.engine.begin() as conn:
        job_rows.finish(conn, job.id, token, JobStatus.READY, report_file=report)
    return 0


def submit_import(
    ctx: Context,
    *,
    store_id: int,
    user_id: int | None,
    job_id: str,
    key: str,
    options: ImportOptions,
    idempotency_key: str | None = None,
) -> bool:
    """Create the import job for a stored upload, with its audit event, in one transaction;
    then send it to the workers. Returns True when the job was QUEUED and sent.

    A file whose first bytes show it is no spreadsheet becomes a job FAILED with the reason
    (never a lost upload). Raises ``QueueUnreachable`` (the job then FAILED) when the queue
    cannot be reached.
    """
    unreadable = _refused_at_once(ctx, key)
    size = ctx.files.size(key)
    with ctx.engine.begin() as conn:
        job_rows.create_job(
            conn,
            store_id=store_id,
            kind=JobKind.IMPORT,
            options=options.model_dump(mode="json", exclude_none=True),
            created_by=user_id,
            idempotency_key=idempotency_key,
            job_id=job_id,
        )
        job_rows.set_input_file(conn, job_id, key)
        audit.record(
            conn,
            store_id=store_id,
            user_id=user_id,
            action="import.upload",
            job_id=job_id,
            detail={"filename": options.filename, "bytes": size},
        )
        if unreadable is not None:
            job_rows.finish(conn, job_id, None, JobStatus.FAILED, error=unreadable)
    if unreadable is not None:
        return False
    send_or_fail(ctx, JobKind.IMPORT, job_id, size)
    return True


def resolve_options(ctx: Context, store_id: int, options: ImportOptions) -> ImportOptions:
    """The options a job will keep: a saved mapping named by the request is copied in with its
    column rules (so a later change to it does not change this job; the request's own mapping
    and rules win column by column) and every mapping target is checked.

    Raises ``ValueError`` with a reason for the person.
    """
    check_notify_url(ctx, store_id, options.notify_url)
    if options.mapping_name:
        with ctx.engine.connect() as conn:
            saved = mappings.get(conn, store_id, options.mapping_name)
        if saved is None:
            raise ValueError(f"there is no saved mapping named {options.mapping_name!r}")
        columns = {header: key or "" for header, key in saved.columns.items()}
        rules = {**saved.rules, **(options.column_rules or {})}
        options = options.model_copy(
            update={
                "mapping": {**columns, **(options.mapping or {})},
                "column_rules": {k: ColumnRule(r) for k, r in rules.items()} or None,
            }
        )
    override_of(options)
    return options


def upload_key(job_id: str) -> str:
    """Where a job's uploaded file is stored (a generated name, never the user's)."""
    return f"jobs/{job_id}/upload"


def _refused_at_once(ctx: Context, key: str) -> str | None:
    """Why the upload's first bytes already show it is no spreadsheet, if they do."""
    with ctx.files.open(key) as handle:
        head = handle.read(SNIFF_BYTES)
    try:
        sniff_format(head)
    except UnreadableFile as exc:
        return str(exc)
    return None


def _store_date_order(ctx: Context, job: job_rows.Job) -> DateOrder:
    """The store's date order, for a file whose dates do not settle it."""
    with reading(ctx.engine) as conn:
        return DateOrder(accounts.store_date_order(conn, job.store_id))


def _record_plan(ctx: Context, job: job_rows.Job, token: str, found: Survey) -> None:
    """Note on the job what the survey found: the row count, the mapping, the source."""
    if found.total == 0:
        raise JobProblem(NO_ROWS)
    with ctx.engine.begin() as conn:
        job_rows.record_plan(
            conn, job.id, token,
            total=found.total, mapping=found.mapping.as_labels(),
            ignored_columns=found.mapping.ignored, source=found.source(),
        )  # fmt: skip


def _planner(job: job_rows.Job, options: ImportOptions, found: Survey) -> BatchPlanner:
    return BatchPlanner(
        store_id=job.store_id,
        mapping=found.mapping,
        options=options,
        date_order=found.date_order,
        complete_rows=found.info.format is FileFormat.CSV,
    )


@contextmanager
def _rows(
    upload: Path, options: ImportOptions, limits: ReadLimits, found: Survey, spill: RowSpill
) -> Iterator[Iterator[tuple[int, list[str]]]]:
    """The data rows: those the survey kept on disk, else read from the upload again."""
    if spill.usable:
        yield iter(spill.rows())
        return
    with open_upload(upload, options, limits, found.info) as (sheet, _):
        yield iter(chosen_rows(options, sheet.rows))


def _remember_committed(
    planner: BatchPlanner, rows: Iterator[tuple[int, list[str]]], checkpoint: int, size: int
) -> None:
    """Take the rows committed before a restart off ``rows``, noting their keys as planning
    them did, so that a resumed job finds the same repeats as one that never stopped."""
    for committed in batches(islice(rows, checkpoint), size):
        planner.remember(committed)


def _report(
    ctx: Context, job_id: str, upload: Path, options: ImportOptions, found: Survey
) -> str | None:
    """The report of the failed rows, if any row failed."""
    with reading(ctx.engine) as conn:
        done = job_rows.job_for_worker(conn, job_id)
    if done is None or not done.counts.failed:
        return None
    return write_report(ctx, job_id, upload, options, found.info)


def _back_up(ctx: Context, job: job_rows.Job, token: str) -> None:
    """Export every customer of the store before the import changes any, so a store can go
    back to how it stood.

    The backup is an export job of its own, linked from the import and run here, first; an
    import resumed after a restart finds its backup done and goes on.
    """
    backup_id = job.backup_job_id
    if backup_id is None:
        request = ExportRequest(
            format=ExportFormat.CSV,
            filters=ExportFilters(archived=ArchivedFilter.INCLUDE),
            purpose=f"Backup before import {job.id}",
        )
        backup_id = submit_export(
            ctx, store_id=job.store_id, user_id=job.created_by, request=request, queue=False
        )
        with ctx.engine.begin() as conn:
            job_rows.set_backup(conn, job.id, token, backup_id)
    run_export(ctx, backup_id)
    with reading(ctx.engine) as conn:
        backup = job_rows.job_for_worker(conn, backup_id)
    if backup is None or backup.status is not JobStatus.READY:
        why = backup.error if backup is not None and backup.error else "it did not finish"
        raise JobProblem(f"The backup before this import failed ({why}); nothing was imported.")


def _job_input(ctx: Context, job: job_rows.Job) -> tuple[ImportOptions, str]:
    """The job's options and the key of its upload, or a plain reason why there is none."""
    if job.kind is not JobKind.IMPORT or job.input_file is None:
        raise JobProblem("This job has no uploaded file to import.")
    try:
        options = ImportOptions.model_validate(job.options)
        override_of(options)
    except ValueError as exc:
        raise JobProblem(f"The import's options are not usable: {exc}") from None
    if not ctx.files.exists(job.input_file):
        raise JobProblem("The uploaded file is no longer stored; upload it again.")
    return options, job.input_file
