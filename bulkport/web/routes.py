"""The pages' routes: sign-in and sign-out, the jobs list and job page; the other pages' routers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bulkport.http.deps import ContextDep, client_of
from bulkport.http.links import link
from bulkport.schemas.downloads import DownloadFile
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage.sessions import WebSession
from bulkport.tasks.context import Context
from bulkport.usecases import downloads, jobs, retries, sessions, webhooks
from bulkport.usecases.imports import commit_dry_run
from bulkport.web import (
    audit,
    auth,
    customers,
    deletions,
    exports,
    fixes,
    imports,
    lists,
    merges,
    undos,
)
from bulkport.web import users as user_pages
from bulkport.web import webhooks as webhook_pages
from bulkport.web.auth import SignedIn
from bulkport.web.pages import render

router = APIRouter(include_in_schema=False)
router.include_router(imports.router)
router.include_router(exports.router)
router.include_router(customers.router)
router.include_router(merges.router)
router.include_router(deletions.router)
router.include_router(user_pages.router)
router.include_router(audit.router)
router.include_router(lists.router)
router.include_router(fixes.router)
router.include_router(webhook_pages.router)
router.include_router(undos.router)
JOBS_PER_PAGE = 50
ERRORS_PER_PAGE = 50
# Jobs whose file is what the person asked for, not a report of failed rows.
OUTPUT_KINDS = (JobKind.EXPORT, JobKind.PRIVACY_EXPORT)
Page = Annotated[int, Query(ge=1, le=100_000)]
# Who started a job no user is recorded for: only the command line starts jobs without one.
COMMAND_LINE = "the command line"


@router.get("/")
def home() -> RedirectResponse:
    """The jobs list is the front page."""
    return RedirectResponse("/jobs", status.HTTP_303_SEE_OTHER)


@router.get("/sign-in")
def sign_in_page(request: Request, ctx: ContextDep) -> HTMLResponse:
    """The sign-in form."""
    return _sign_in_form(request, ctx)


def _sign_in_form(
    request: Request, ctx: Context, *, email: str = "", problem: str | None = None, code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    token = auth.sign_in_token(request, ctx)
    response = render(
        request, ctx, "sign_in.html", None, status_code=code,
        sign_in_csrf=token, email=email, problem=problem,
    )  # fmt: skip
    response.headers.update(headers or {})
    auth.keep_sign_in_token(request, response, ctx, token)
    return response


@router.post("/sign-in")
def sign_in(
    request: Request,
    ctx: ContextDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Check the email and password; on success a signed sign-in cookie and the jobs list."""
    try:
        auth.check_sign_in_csrf(request, ctx, csrf)
        auth.refuse_when_over_limit(request, ctx, email)
    except HTTPException as exc:
        return _sign_in_form(
            request, ctx, email=email, problem=str(exc.detail), code=exc.status_code,
            headers=exc.headers,
        )  # fmt: skip
    user = sessions.sign_in(ctx, email, password)
    if user is None:
        auth.count_failure(request, ctx, email)
        return _sign_in_form(
            request,
            ctx,
            email=email,
            problem="That email and password do not match an account. Check both and try again.",
            code=status.HTTP_401_UNAUTHORIZED,
        )
    response = RedirectResponse("/jobs", status.HTTP_303_SEE_OTHER)
    auth.start_session(request, response, ctx, user.id)
    return response


@router.post("/sign-out")
def sign_out(
    request: Request,
    ctx: ContextDep,
    web: SignedIn,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> RedirectResponse:
    """Sign out: this browser's sign-in ends for good."""
    auth.check_csrf(web.csrf_token, csrf)
    response = RedirectResponse(auth.SIGN_IN_PATH, status.HTTP_303_SEE_OTHER)
    auth.end_session(request, response, ctx)
    return response


@router.get("/jobs")
def jobs_page(request: Request, ctx: ContextDep, web: SignedIn, page: Page = 1) -> HTMLResponse:
    """The store's jobs, newest first."""
    found = jobs.jobs_page(ctx, web.user, limit=JOBS_PER_PAGE, offset=(page - 1) * JOBS_PER_PAGE)
    who: dict[int | None, str] = {None: COMMAND_LINE}
    who.update(found.emails.items())
    return render(
        request, ctx, "jobs.html", web, nav="jobs",
        jobs=found.jobs, who=who, page=page, more=found.more,
    )  # fmt: skip


def _job_values(ctx: Context, web: WebSession, job_id: str, page: int) -> dict[str, Any]:
    """What the job page and its live part show; a 404 page for a job not of the store."""
    detail = jobs.job_detail(
        ctx, web.user.store_id, job_id,
        offset=(page - 1) * ERRORS_PER_PAGE, limit=ERRORS_PER_PAGE + 1,
    )  # fmt: skip
    job = detail.job
    counts = job.counts
    percent = 100 if job.status is JobStatus.READY else 0
    if counts.total and job.status is not JobStatus.READY:
        percent = int(100 * counts.processed / counts.total)
    files_kept = job.files_expired_at is None
    retry_job = retries.retry_job_of(ctx, web.user.store_id, job.id)
    return {
        "job": job,
        "who": detail.started_by if job.created_by else COMMAND_LINE,
        "percent": percent,
        "errors": detail.errors[:ERRORS_PER_PAGE],
        "error_page": page,
        "more_errors": len(detail.errors) > ERRORS_PER_PAGE,
        "can_cancel": not job.status.finished,
        "can_commit": job.kind is JobKind.IMPORT
        and bool(job.options.get("dry_run"))
        and job.status is JobStatus.READY,
        "retry_job": retry_job,
        "can_retry": retry_job is None and files_kept and retries.may_retry(job, detail.failures),
        "has_report": bool(job.report_file) and files_kept,
        "has_export": bool(job.output_file) and files_kept and job.kind in OUTPUT_KINDS,
        "filename": job.options.get("filename") or str(job.options.get("format", "")).upper(),
        "notification": webhooks.delivery_view(ctx, web.user.store_id, job.id),
        **lists.job_values(ctx, web, job, detail.failures),
        **undos.undo_values(ctx, web, job),
    }


@router.get("/jobs/{job_id}")
def job_page(
    request: Request, ctx: ContextDep, web: SignedIn, job_id: str, page: Page = 1
) -> HTMLResponse:
    """One job: live progress until it ends, then its counts, errors and downloads."""
    values = _job_values(ctx, web, job_id, page)
    return render(request, ctx, "job.html", web, nav="jobs", **values)


@router.get("/jobs/{job_id}/progress")
def job_progress(
    request: Request, ctx: ContextDep, web: SignedIn, job_id: str, page: Page = 1
) -> HTMLResponse:
    """The live part of the job page, polled every second while the job runs."""
    values = _job_values(ctx, web, job_id, page)
    return render(request, ctx, "job_progress.html", web, **values)


@router.get("/jobs/{job_id}/download")
def job_download(
    request: Request,
    ctx: ContextDep,
    web: SignedIn,
    job_id: str,
    file: DownloadFile | None = None,
) -> RedirectResponse:
    """Send the browser to a short-lived signed link for the job's file."""
    issued = downloads.issue_link(ctx, web.user, job_id, file, client=client_of(request))
    url = link(request, "downloads-get", token=issued.token)
    return RedirectResponse(url, status.HTTP_303_SEE_OTHER)


@router.post("/jobs/{job_id}/cancel")
def job_cancel(
    request: Request,
    ctx: ContextDep,
    web: SignedIn,
    job_id: str,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> RedirectResponse:
    """Stop a queued or running job, then show it."""
    auth.check_csrf(web.csrf_token, csrf)
    jobs.cancel_job(ctx, web.user, job_id)
    return RedirectResponse(f"/jobs/{job_id}", status.HTTP_303_SEE_OTHER)


@router.post("/jobs/{job_id}/commit")
def job_commit(
    request: Request,
    ctx: ContextDep,
    web: SignedIn,
    job_id: str,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> RedirectResponse:
    """Run a finished dry run for real, then show the new job."""
    auth.check_csrf(web.csrf_token, csrf)
    started = commit_dry_run(ctx, web.user, job_id)
    return RedirectResponse(f"/jobs/{started.id}", status.HTTP_303_SEE_OTHER)


@router.post("/jobs/{job_id}/retry")
def job_retry(
    request: Request,
    ctx: ContextDep,
    web: SignedIn,
    job_id: str,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> RedirectResponse:
    """Run an ended import's rows not imported through no fault of theirs again, then show
    the retry job."""
    auth.check_csrf(web.csrf_token, csrf)
    started = retries.retry_import(ctx, web.user.store_id, web.user.id, job_id)
    return RedirectResponse(f"/jobs/{started.id}", status.HTTP_303_SEE_OTHER)


async def problem_page(request: Request, exc: StarletteHTTPException) -> Response:
    """An error on a page shown as a page in plain words."""
    headers = dict(exc.headers or {})
    if exc.status_code == status.HTTP_303_SEE_OTHER and "Location" in headers:
        return RedirectResponse(headers["Location"], exc.status_code, headers=headers)
    ctx: Context = request.app.state.context
    web = auth.current_session(request, ctx)
    response = render(
        request, ctx, "problem.html", web, status_code=exc.status_code, detail=exc.detail
    )
    response.headers.update({k: v for k, v in headers.items() if k == "Retry-After"})
    return response
