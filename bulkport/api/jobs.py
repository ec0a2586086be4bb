"""Jobs: list, status, row errors and the error report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import FileResponse, JSONResponse, Response

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.api.file_responses import REDIRECT_RESPONSE, stored_file
from bulkport.http.deps import ContextDep, Staff, UserDep, client_of
from bulkport.http.links import link
from bulkport.schemas.jobs import (
    JobKind,
    JobStatus,
    JobSummary,
    JobView,
    Problem,
    RowErrorView,
)
from bulkport.storage import job_rows
from bulkport.usecases import fixes, jobs, retries, webhooks
from bulkport.usecases.jobs import XLSX_TYPE

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], responses=ERROR_RESPONSES)
# Past any real list; also keeps numbers within what every database can hold.
MAX_OFFSET = 1_000_000_000
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


def job_view(
    request: Request, job: job_rows.Job, retry_job: str | None = None, fix_jobs: Sequence[str] = ()
) -> JobView:
    """The API's view of a job, with links to what can be done with it (``retry_job``: the
    job that retried its rows, if one did; ``fix_jobs``: those that imported its failed rows
    edited, in order, linked as ``fix_job_1``, ``fix_job_2``…)."""
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
    if retry_job:
        links["retry_job"] = link(request, "jobs-get", job_id=retry_job)
    if retried := job.options.get("retry_of"):
        links["retry_of"] = link(request, "jobs-get", job_id=str(retried))
    if fixed := job.options.get("fix_of"):
        links["fix_of"] = link(request, "jobs-get", job_id=str(fixed))
    for round_, fix_job in enumerate(fix_jobs, 1):
        links[f"fix_job_{round_}"] = link(request, "jobs-get", job_id=fix_job)
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
    found = jobs.list_jobs(ctx, user, kind=kind, status=status_, limit=limit, offset=offset)
    return [JobSummary.of(job_view(request, job)) for job in found]


@router.get("/{job_id}", name="get", response_model=JobView)
def get_job(request: Request, ctx: ContextDep, user: UserDep, job_id: JobId) -> JobView:
    """One job: status, progress, counters, error and links."""
    job = jobs.get_job(ctx, user.store_id, job_id)
    fix_jobs = [fix.id for fix in fixes.fix_jobs_of(ctx, user.store_id, job.id)]
    view = job_view(request, job, retries.retry_job_of(ctx, user.store_id, job.id), fix_jobs)
    view.notification = webhooks.delivery_view(ctx, user.store_id, job.id)
    return view


@router.post(
    "/{job_id}/cancel",
    name="cancel",
    response_model=JobView,
    responses={409: {"model": Problem, "description": "The job has already ended"}},
)
def cancel_job(request: Request, ctx: ContextDep, user: Staff, job_id: JobId) -> JobView:
    """Stop a job: a queued one never starts; a running one stops after the batch it is
    writing. Batches already written stay written (counted); the rest count as unprocessed."""
    return job_view(request, jobs.cancel_job(ctx, user, job_id))


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
    return jobs.job_errors(ctx, user, job_id, offset=offset, limit=limit, client=client_of(request))


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
    return stored_file(ctx, jobs.job_report(ctx, user, job_id, client=client_of(request)))


@router.post(
    "/{job_id}/retry",
    name="retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobView,
    responses={
        409: {"model": Problem, "description": "Not an ended import, or nothing to retry"},
        410: {"model": Problem, "description": "The import's file is no longer stored"},
    },
)
def retry_job(request: Request, ctx: ContextDep, user: Staff, job_id: JobId) -> JSONResponse:
    """Run an ended import's rows again as uploaded: those it never reached and those that
    failed on another job's data (``email_taken``, ``already_exists``), as a new import job
    with the same options and the file's row numbers. The same retry job for a second call."""
    return answer_job(request, retries.retry_import(ctx, user.store_id, user.id, job_id))


def answer_job(request: Request, job: job_rows.Job) -> JSONResponse:
    """The 202 answer for a job just started (or found again by its idempotency key)."""
    view = job_view(request, job)
    return JSONResponse(
        view.model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": view.links["self"]},
    )
