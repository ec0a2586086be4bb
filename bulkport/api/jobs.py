"""Jobs: list, status, row errors and the error report."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import FileResponse, JSONResponse, Response

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.api.file_responses import REDIRECT_RESPONSE, stored_file
from bulkport.api.links import link
from bulkport.errors import QueueUnreachable
from bulkport.http.deps import ContextDep, Staff, UserDep, client_of
from bulkport.rules.text import file_name
from bulkport.schemas.jobs import (
    JobKind,
    JobStatus,
    JobSummary,
    JobView,
    Problem,
    RowErrorView,
)
from bulkport.storage import audit, job_rows
from bulkport.storage.accounts import User
from bulkport.storage.db import reading
from bulkport.tasks.context import Context
from bulkport.usecases.audit import record_access

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], responses=ERROR_RESPONSES)
# Past any real list; also keeps numbers within what every database can hold.
MAX_OFFSET = 1_000_000_000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Job ids are generated (storage.jobs.new_job_id); anything else names no job.
JobId = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="A job's id.")]


# The route that commits a READY dry run of each kind.
_COMMITS = {
    JobKind.IMPORT: "imports-commit",
    JobKind.ARCHIVE: "archives-commit",
    JobKind.UNARCHIVE: "unarchives-commit",
    JobKind.MERGE: "merges-commit",
    JobKind.DELETE: "deletions-commit",
}


def job_view(request: Request, job: job_rows.Job) -> JobView:
    """The API's view of a job, with links to what can be done with it."""
    links = {
        "self": link(request, "jobs-get", job_id=job.id),
        "errors": link(request, "jobs-errors", job_id=job.id),
    }
    if job.report_file and job.files_expired_at is None:
        links["report"] = link(request, "jobs-report", job_id=job.id)
    if (job.output_file or job.report_file) and job.files_expired_at is None:
        links["download_url"] = link(request, "downloads-link", job_id=job.id)
    if job.backup_job_id:
        links["backup"] = link(request, "jobs-get", job_id=job.backup_job_id)
    commit = _COMMITS.get(job.kind)
    if commit and job.options.get("dry_run") and job.status is JobStatus.READY:
        links["commit"] = link(request, commit, job_id=job.id)
    counts = job.counts
    progress = 1.0 if job.status is JobStatus.READY else 0.0
    if counts.total and job.status is not JobStatus.READY:
        progress = round(counts.processed / counts.total, 4)
    return JobView(
        id=job.id,
        kind=job.kind,
        status=job.status,
        options=job.options,
        counts=counts,
        progress=progress,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        mapping=job.mapping,
        ignored_columns=job.ignored_columns,
        source=job.source,
        files_expired_at=job.files_expired_at,
        links=links,
    )


def load_job(ctx: Context, user: User, job_id: str) -> job_rows.Job:
    """The caller's store's job, or 404 (another store's job is as if it did not exist)."""
    with reading(ctx.engine) as conn:
        job = job_rows.get_job(conn, user.store_id, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such job.")
    return job


@router.get("", name="list", response_model=list[JobSummary])
def list_jobs(
    request: Request,
    ctx: ContextDep,
    user: UserDep,
    kind: JobKind | None = None,
    status_: Annotated[JobStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[JobSummary]:
    """The store's jobs, newest first, each as a summary."""
    with reading(ctx.engine) as conn:
        found = job_rows.list_jobs(
            conn, user.store_id, kind=kind, status=status_, limit=limit, offset=offset
        )
    return [JobSummary.of(job_view(request, job)) for job in found]


@router.get("/{job_id}", name="get", response_model=JobView)
def get_job(request: Request, ctx: ContextDep, user: UserDep, job_id: JobId) -> JobView:
    """One job: status, progress, counters, error and links."""
    return job_view(request, load_job(ctx, user, job_id))


@router.post(
    "/{job_id}/cancel",
    name="cancel",
    response_model=JobView,
    responses={409: {"model": Problem, "description": "The job has already ended"}},
)
def cancel_job(request: Request, ctx: ContextDep, user: Staff, job_id: JobId) -> JobView:
    """Stop a job: a queued one never starts; a running one stops after the batch it is
    writing. Batches already written stay written (counted); the rest count as unprocessed."""
    job = load_job(ctx, user, job_id)
    with ctx.engine.begin() as conn:
        cancelled = job_rows.finish(
            conn, job.id, None, JobStatus.CANCELLED, error=f"Cancelled by {user.email}."
        )
        if cancelled:
            audit.record(
                conn, store_id=user.store_id, user_id=user.id, action="job.cancel", job_id=job.id
            )
    if not cancelled:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"The job is {job.status} already; it cannot be cancelled."
        )
    return job_view(request, load_job(ctx, user, job_id))


@router.get("/{job_id}/errors", name="errors", response_model=list[RowErrorView])
def get_job_errors(
    request: Request,
    ctx: ContextDep,
    user: UserDep,
    job_id: JobId,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RowErrorView]:
    """The job's row errors in spreadsheet order; ``row`` is the row number people see.
    Each read is audited: the errors quote the rows' values."""
    load_job(ctx, user, job_id)
    record_access(
        ctx,
        "errors.read",
        job_id,
        store_id=user.store_id,
        user_id=user.id,
        client=client_of(request),
    )
    with reading(ctx.engine) as conn:
        return job_rows.row_errors(conn, job_id, offset=offset, limit=limit)


@router.get(
    "/{job_id}/report",
    name="report",
    response_class=FileResponse,
    responses={
        200: {"content": {"text/csv": {}, XLSX_TYPE: {}}},
        404: {"description": "No report"},
        **REDIRECT_RESPONSE,
    },
)
def get_job_report(request: Request, ctx: ContextDep, user: UserDep, job_id: JobId) -> Response:
    """The failed rows as uploaded, with Row and Errors columns, to fix and upload again."""
    job = load_job(ctx, user, job_id)
    if job.files_expired_at is not None:
        raise HTTPException(
            status.HTTP_410_GONE,
            "This report was deleted after the time files are kept; run the import again.",
        )
    if not job.report_file or not ctx.files.exists(job.report_file):
        detail = (
            "This job has no error report: no row failed."
            if job.status is JobStatus.READY
            else "The error report is written when the job is READY."
        )
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail)
    record_access(
        ctx,
        "report.download",
        job.id,
        store_id=user.store_id,
        user_id=user.id,
        client=client_of(request),
    )
    suffix = PurePath(job.report_file).suffix
    return stored_file(
        ctx, job.report_file, XLSX_TYPE if suffix == ".xlsx" else "text/csv", report_name(job)
    )


def queue_down(exc: QueueUnreachable) -> HTTPException:
    """The 503 for a job the queue could not take (the job is FAILED already)."""
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "30"}
    )


def report_name(job: job_rows.Job) -> str:
    """The error report's download name, from the uploaded file's: shop-errors.csv."""
    suffix = PurePath(job.report_file or "").suffix
    stem = PurePath(file_name(str(job.options.get("filename") or ""), "import")).stem
    return f"{stem or 'import'}-errors{suffix}"


def answer_job(request: Request, job: job_rows.Job) -> JSONResponse:
    """The 202 answer for a job just started (or found again by its idempotency key)."""
    view = job_view(request, job)
    return JSONResponse(
        view.model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": view.links["self"]},
    )
