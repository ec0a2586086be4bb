"""Starting an import: the upload is streamed to the file store, then a job is queued."""

from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from bulkport.api.deps import ContextDep, require
from bulkport.api.jobs import job_view
from bulkport.api.uploads import receive_upload
from bulkport.schemas.accounts import Permission
from bulkport.schemas.jobs import ImportOptions, JobStatus, JobView
from bulkport.storage import jobs as job_rows
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.imports import submit_import, upload_key
from bulkport.worker.app import enqueue_import

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/imports", tags=["imports"])
# Room for the multipart envelope and form fields around the file itself.
ENVELOPE_BYTES = 64 * 1024
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")

_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "mode": {"type": "string", "enum": ["create", "update", "upsert"]},
                        "dry_run": {"type": "boolean"},
                        "blank_cells": {"type": "string", "enum": ["keep", "clear"]},
                    },
                }
            }
        },
    }
}


def display_name(filename: str | None) -> str:
    """The uploaded file's name, for display only: no folders, no control characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("", name).strip()[:255]
    return name or "upload.csv"


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobView,
    openapi_extra=_FORM_SCHEMA,
    responses={
        413: {"description": "The file is over the size limit"},
        503: {"description": "The job queue cannot be reached"},
    },
)
async def create_import(
    request: Request,
    ctx: ContextDep,
    user: Annotated[User, require(Permission.CUSTOMERS_BASIC)],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Upload a customer file (form field ``file``) and queue its import; answers 202."""
    limit = ctx.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + ENVELOPE_BYTES:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"The file is larger than the {limit // (1024 * 1024)} MB this service accepts.",
        )
    if idempotency_key:
        with ctx.engine.connect() as conn:
            earlier = job_rows.find_by_idempotency_key(conn, user.store_id, idempotency_key)
        if earlier is not None:
            return _answer(request, earlier)

    job_id = job_rows.new_job_id()
    key = upload_key(job_id)
    upload = await receive_upload(
        request.headers.get("content-type", ""), request.stream(), ctx.files, key, limit
    )
    try:
        options = ImportOptions.model_validate(
            {**upload.fields, "filename": display_name(upload.filename)}
        )
    except ValidationError as exc:
        ctx.files.delete_tree(f"jobs/{job_id}")
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problems) from None

    return _queue(request, ctx, user, job_id, key, options, idempotency_key)


def _queue(
    request: Request,
    ctx: Context,
    user: User,
    job_id: str,
    key: str,
    options: ImportOptions,
    idempotency_key: str | None,
) -> JSONResponse:
    try:
        queued = submit_import(
            ctx,
            store_id=user.store_id,
            user_id=user.id,
            job_id=job_id,
            key=key,
            options=options,
            idempotency_key=idempotency_key,
        )
    except IntegrityError:
        # A request with the same idempotency key won the race: answer with its job.
        ctx.files.delete_tree(f"jobs/{job_id}")
        with ctx.engine.connect() as conn:
            earlier = job_rows.find_by_idempotency_key(conn, user.store_id, idempotency_key or "")
        if earlier is None:
            raise
        return _answer(request, earlier)
    if queued:
        _enqueue_or_fail(ctx, job_id)
    with ctx.engine.connect() as conn:
        job = job_rows.get_job(conn, user.store_id, job_id)
    assert job is not None
    return _answer(request, job)


def _enqueue_or_fail(ctx: Context, job_id: str) -> None:
    """Send the job to the workers after its row is committed; never '202 then lost'."""
    try:
        enqueue_import(job_id)
    except Exception:
        log.exception("job %s: could not reach the job queue", job_id)
        with ctx.engine.begin() as conn:
            job_rows.finish(
                conn,
                job_id,
                None,
                JobStatus.FAILED,
                error="The job queue could not be reached; nothing was imported. "
                "Upload the file again in a moment.",
            )
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "The job queue cannot be reached right now; nothing was imported. "
            "Try again in a moment.",
            headers={"Retry-After": "30"},
        ) from None


def _answer(request: Request, job: job_rows.Job) -> JSONResponse:
    view = job_view(request, job)
    return JSONResponse(
        view.model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": view.links["self"]},
    )
