"""Lifecycle jobs over a spreadsheet of customers: archive, un-archive, merge and delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse

from bulkport.api.errors import BODY_RESPONSES, ERROR_RESPONSES
from bulkport.api.jobs import JobId, answer_job
from bulkport.http.deps import ContextDep, Deleter, Staff
from bulkport.http.rate_limits import Uploader
from bulkport.http.uploads import receive_file, upload_name
from bulkport.schemas.jobs import JobView, Problem
from bulkport.schemas.lifecycle import Confirmed
from bulkport.storage import job_rows
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.customer_changes import ARCHIVE, MERGE, UNARCHIVE
from bulkport.tasks.customer_lists import ListKind, list_key
from bulkport.tasks.deletions import DELETE
from bulkport.usecases.lists import commit_list, list_options, queue_list

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "dry_run": {"type": "boolean"},
        "confirm": {"type": "boolean", "description": "Deletions: true."},
    },
}


def _form(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


_FORM = _form(_FORM_SCHEMA)
# Deletions: the form says ``confirm=true``, or ``dry_run=true`` to see who would go.
_DELETE_FORM = _form(
    {
        **_FORM_SCHEMA,
        "anyOf": [
            {"required": ["confirm"], "properties": {"confirm": {"const": True}}},
            {"required": ["dry_run"], "properties": {"dry_run": {"const": True}}},
        ],
    }
)


async def upload_list(
    request: Request, ctx: Context, user: User, spec: ListKind, **fixed: object
) -> JSONResponse:
    """Store the uploaded spreadsheet and queue the kind's job."""
    job_id = job_rows.new_job_id()
    upload = await receive_file(request, ctx, list_key(job_id))
    fields = {**upload.fields, **fixed, "filename": upload_name(upload.filename)}
    options = list_options(ctx, spec, job_id, fields)
    job = queue_list(
        ctx, spec, store_id=user.store_id, user_id=user.id, job_id=job_id, options=options
    )
    return answer_job(request, job)


def answer_commit(
    request: Request, ctx: Context, user: User, spec: ListKind, job_id: str
) -> JSONResponse:
    """Run a READY dry run of this kind for real, changing exactly the customers it showed."""
    return answer_job(request, commit_list(ctx, user, spec, job_id))


_ACCEPTED = {"status_code": status.HTTP_202_ACCEPTED, "response_model": JobView}
_QUEUE_DOWN = {503: {"model": Problem, "description": "The job queue cannot be reached"}}
_UPLOADED = {
    **_ACCEPTED,
    "openapi_extra": _FORM,
    "responses": {
        **BODY_RESPONSES,
        **_QUEUE_DOWN,
        413: {"model": Problem, "description": "The file is over the size limit"},
        415: {"model": Problem, "description": "The body is not multipart/form-data"},
        429: {"model": Problem, "description": "Too many uploads this minute"},
    },
}
_DELETE_UPLOADED = {**_UPLOADED, "openapi_extra": _DELETE_FORM}
_COMMITTED = {
    **_ACCEPTED,
    "responses": {
        **_QUEUE_DOWN,
        409: {"model": Problem, "description": "Not a finished dry run of this kind"},
        410: {"model": Problem, "description": "The dry run's file is no longer stored"},
    },
}


@router.post("/archives", name="create", tags=["archives"], **_UPLOADED)  # type: ignore[arg-type]
async def archive_list(request: Request, ctx: ContextDep, user: Uploader) -> JSONResponse:
    """Archive the customers of a spreadsheet of Customer Record IDs or emails (a job)."""
    return await upload_list(request, ctx, user, ARCHIVE)


@router.post("/unarchives", name="create", tags=["unarchives"], **_UPLOADED)  # type: ignore[arg-type]
async def unarchive_list(request: Request, ctx: ContextDep, user: Uploader) -> JSONResponse:
    """Un-archive the customers of a spreadsheet of Customer Record IDs or emails (a job)."""
    return await upload_list(request, ctx, user, UNARCHIVE)


@router.post("/merges", name="create", tags=["merges"], **_UPLOADED)  # type: ignore[arg-type]
async def merge_list(request: Request, ctx: ContextDep, user: Uploader) -> JSONResponse:
    """Merge each row's Secondary ID into its Primary ID (a job)."""
    return await upload_list(request, ctx, user, MERGE)


@router.post("/archives/{job_id}/commit", name="commit", tags=["archives"], **_COMMITTED)  # type: ignore[arg-type]
def commit_archives(request: Request, ctx: ContextDep, user: Staff, job_id: JobId) -> JSONResponse:
    """Archive as the dry run showed."""
    return answer_commit(request, ctx, user, ARCHIVE, job_id)


@router.post("/unarchives/{job_id}/commit", name="commit", tags=["unarchives"], **_COMMITTED)  # type: ignore[arg-type]
def commit_unarchives(
    request: Request, ctx: ContextDep, user: Staff, job_id: JobId
) -> JSONResponse:
    """Un-archive as the dry run showed."""
    return answer_commit(request, ctx, user, UNARCHIVE, job_id)


@router.post("/merges/{job_id}/commit", name="commit", tags=["merges"], **_COMMITTED)  # type: ignore[arg-type]
def commit_merges(request: Request, ctx: ContextDep, user: Staff, job_id: JobId) -> JSONResponse:
    """Merge as the dry run showed."""
    return answer_commit(request, ctx, user, MERGE, job_id)


@router.post("/deletions", name="create", tags=["deletions"], **_DELETE_UPLOADED)  # type: ignore[arg-type]
async def delete_list(request: Request, ctx: ContextDep, user: Deleter) -> JSONResponse:
    """Delete for privacy the customers of a spreadsheet of Customer Record IDs or emails (a
    job; needs customers:delete and confirm=true, or dry_run=true to see who would go)."""
    return await upload_list(request, ctx, user, DELETE)


@router.post("/deletions/{job_id}/commit", name="commit", tags=["deletions"], **_COMMITTED)  # type: ignore[arg-type]
def commit_deletions(
    request: Request,
    ctx: ContextDep,
    user: Deleter,
    job_id: JobId,
    confirm: Annotated[Confirmed, Query()],
) -> JSONResponse:
    """Delete exactly the customers the dry run showed (``confirm=true``)."""
    return answer_commit(request, ctx, user, DELETE, job_id)
