"""Jobs of a store: list them, read one with its row errors, cancel one, hand over its report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from bulkport.errors import Conflict, Gone, NotFound
from bulkport.rules.text import file_name
from bulkport.schemas.jobs import JobKind, JobStatus, RowErrorView
from bulkport.storage import accounts, audit, job_rows
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.usecases.audit import record_access

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class StoredFile:
    """A stored file to hand over: where it is, its media type and its download name."""

    key: str
    media_type: str
    filename: str


@dataclass(frozen=True)
class JobsPage:
    """One page of the store's jobs, newest first, with who started each."""

    jobs: list[job_rows.Job]
    emails: dict[int, str]
    more: bool


@dataclass(frozen=True)
class JobDetail:
    """A job with a page of its row errors, its failures by kind and who started it."""

    job: job_rows.Job
    errors: list[RowErrorView]
    failures: dict[str, int]
    started_by: str | None


def get_job(ctx: Context, store_id: int, job_id: str) -> job_rows.Job:
    """The store's job; another store's job is as if it did not exist."""
    with ctx.uow.reading() as conn:
        job = job_rows.get_job(conn, store_id, job_id)
    if job is None:
        raise NotFound("No such job.")
    return job


def list_jobs(
    ctx: Context,
    user: User,
    *,
    kind: JobKind | None = None,
    status: JobStatus | None = None,
    limit: int,
    offset: int,
) -> list[job_rows.Job]:
    """The store's jobs, newest first."""
    with ctx.uow.reading() as conn:
        return job_rows.list_jobs(
            conn, user.store_id, kind=kind, status=status, limit=limit, offset=offset
        )


def jobs_page(ctx: Context, user: User, *, limit: int, offset: int) -> JobsPage:
    """The jobs a page lists (and whether more follow), with their starters' emails."""
    with ctx.uow.reading() as conn:
        found = job_rows.list_jobs(conn, user.store_id, limit=limit + 1, offset=offset)
        emails = accounts.emails_by_id(conn, {j.created_by for j in found if j.created_by})
    return JobsPage(jobs=found[:limit], emails=emails, more=len(found) > limit)


def job_detail(ctx: Context, store_id: int, job_id: str, *, offset: int, limit: int) -> JobDetail:
    """A job as its page and the command show it: row errors from ``offset``, failures by
    kind (when rows failed) and the email of who started it."""
    with ctx.uow.reading() as conn:
        job = job_rows.get_job(conn, store_id, job_id)
        if job is None:
            raise NotFound("No such job.")
        errors = job_rows.row_errors(conn, job.id, offset=offset, limit=limit)
        failures = job_rows.error_counts(conn, job.id) if job.counts.failed else {}
        who = accounts.emails_by_id(conn, {job.created_by} if job.created_by else set())
    started_by = who.get(job.created_by) if job.created_by else None
    return JobDetail(job=job, errors=errors, failures=failures, started_by=started_by)


def cancel_job(ctx: Context, user: User, job_id: str) -> job_rows.Job:
    """Stop a job: a queued one never starts; a running one stops after the batch it is
    writing. Refused for a job that has ended."""
    job = get_job(ctx, user.store_id, job_id)
    with ctx.uow.writing() as conn:
        cancelled = job_rows.finish(
            conn, job.id, None, JobStatus.CANCELLED, error=f"Cancelled by {user.email}."
        )
        if cancelled:
            audit.record(
                conn, store_id=user.store_id, user_id=user.id, action="job.cancel", job_id=job.id
            )
    if not cancelled:
        raise Conflict(f"The job is {job.status} already; it cannot be cancelled.")
    return get_job(ctx, user.store_id, job_id)


def job_errors(
    ctx: Context, user: User, job_id: str, *, offset: int, limit: int, client: str | None
) -> list[RowErrorView]:
    """The job's row errors in spreadsheet order; each read is audited, as the errors quote
    the rows' values."""
    get_job(ctx, user.store_id, job_id)
    record_access(
        ctx, "errors.read", job_id, store_id=user.store_id, user_id=user.id, client=client
    )
    with ctx.uow.reading() as conn:
        return job_rows.row_errors(conn, job_id, offset=offset, limit=limit)


def job_report(ctx: Context, user: User, job_id: str, *, client: str | None) -> StoredFile:
    """The import's error report (failed rows as uploaded), audited as downloaded."""
    job = get_job(ctx, user.store_id, job_id)
    if job.files_expired_at is not None:
        raise Gone("This report was deleted after the time files are kept; run the import again.")
    if not job.report_file or not ctx.files.exists(job.report_file):
        raise NotFound(
            "This job has no error report: no row failed."
            if job.status is JobStatus.READY
            else "The error report is written when the job is READY."
        )
    record_access(
        ctx, "report.download", job.id, store_id=user.store_id, user_id=user.id, client=client
    )
    suffix = PurePath(job.report_file).suffix
    media_type = XLSX_TYPE if suffix == ".xlsx" else "text/csv"
    return StoredFile(job.report_file, media_type, report_name(job))


def report_name(job: job_rows.Job) -> str:
    """The error report's download name, from the uploaded file's: shop-errors.csv."""
    suffix = PurePath(job.report_file or "").suffix
    stem = PurePath(file_name(str(job.options.get("filename") or ""), "import")).stem
    return f"{stem or 'import'}-errors{suffix}"
