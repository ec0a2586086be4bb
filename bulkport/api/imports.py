"""Imports: upload a file to queue a job, preview a file for a mapping screen, commit a dry run."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from bulkport.api.deps import ContextDep, Staff
from bulkport.api.errors import ERROR_RESPONSES
from bulkport.api.jobs import answer_job, load_job, queue_down
from bulkport.api.limits import Uploader
from bulkport.api.uploads import Upload, receive_upload
from bulkport.errors import BulkportError, QueueUnreachable
from bulkport.schemas.jobs import ImportOptions, JobKind, JobStatus, JobView
from bulkport.storage import jobs as job_rows
from bulkport.storage.accounts import User
from bulkport.storage.db import reading
from bulkport.tasks.context import Context
from bulkport.tasks.imports import resolve_options, submit_import, upload_key
from bulkport.tasks.previews import preview

router = APIRouter(prefix="/api/v1/imports", tags=["imports"], responses=ERROR_RESPONSES)
# Room for the multipart envelope and form fields around the file itself.
ENVELOPE_BYTES = 64 * 1024
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def _form_schema() -> dict[str, Any]:
    """The multipart body in the OpenAPI schema: the file plus every import option."""
    options = ImportOptions.model_json_schema()
    properties = {k: v for k, v in options["properties"].items() if k != "filename"}
    properties["mapping"] = {
        "type": "string",
        "description": 'JSON object: header as written → field, e.g. {"Naam": "Last Name"}',
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            **properties,
                        },
                    }
                }
            },
        }
    }


_FORM = _form_schema()


def display_name(filename: str | None) -> str:
    """The uploaded file's name, for display only: no folders, no control characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("", name).strip()[:255]
    return name or "upload.csv"


async def receive_file(request: Request, ctx: Context, key: str) -> Upload:
    """Stream a multipart upload's file under ``key``; 413 past the size limit."""
    limit = ctx.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + ENVELOPE_BYTES:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"The file is larger than the {limit // (1024 * 1024)} MB this service accepts.",
        )
    return await receive_upload(
        request.headers.get("content-type", ""), request.stream(), ctx.files, key, limit
    )


def _options(ctx: Context, user: User, upload: Upload, folder: str) -> ImportOptions:
    """The form's options, checked; 422 with the reason (and the upload removed) if not."""
    try:
        options = ImportOptions.model_validate(
            {**upload.fields, "filename": display_name(upload.filename)}
        )
        return resolve_options(ctx, user.store_id, options)
    except ValidationError as exc:
        ctx.files.delete_tree(folder)
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problems) from None
    except ValueError as exc:
        ctx.files.delete_tree(folder)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobView,
    openapi_extra=_FORM,
    responses={
        413: {"description": "The file is over the size limit"},
        429: {"description": "Too many uploads this minute"},
        503: {"description": "The job queue cannot be reached"},
    },
)
async def create_import(
    request: Request,
    ctx: ContextDep,
    user: Uploader,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Upload a customer file (form field ``file``) and queue its import; answers 202."""
    earlier = earlier_job(ctx, user, idempotency_key)
    if earlier is not None:
        return answer_job(request, earlier)
    job_id = job_rows.new_job_id()
    key = upload_key(job_id)
    upload = await receive_file(request, ctx, key)
    options = _options(ctx, user, upload, f"jobs/{job_id}")
    return _queue(request, ctx, user, job_id, key, options, idempotency_key)


@router.post(
    "/preview",
    openapi_extra=_FORM,
    responses={200: {"description": "What was found and what the first rows would do"}},
)
async def preview_import(request: Request, ctx: ContextDep, user: Uploader) -> JSONResponse:
    """Read a file's first rows without importing: format, encoding, delimiter, header row,
    proposed mapping with ignored columns, and the first 20 rows with their errors."""
    folder = f"previews/{job_rows.new_job_id()}"
    key = f"{folder}/upload"
    upload = await receive_file(request, ctx, key)
    try:
        options = _options(ctx, user, upload, folder)
        try:
            found = preview(ctx, user.store_id, ctx.files.path(key), options)
        except BulkportError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    finally:
        ctx.files.delete_tree(folder)
    return JSONResponse(found)


@router.post(
    "/{job_id}/commit",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobView,
    responses={409: {"description": "Not a finished dry run"}},
)
def commit_dry_run(request: Request, ctx: ContextDep, user: Staff, job_id: str) -> JSONResponse:
    """Run a READY dry run for real, with the same file, mapping and options."""
    dry = load_job(ctx, user, job_id)
    if dry.kind is not JobKind.IMPORT or not dry.options.get("dry_run"):
        raise HTTPException(status.HTTP_409_CONFLICT, "Only a dry run can be committed.")
    if dry.status is not JobStatus.READY:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"The dry run is {dry.status}; only a READY one commits."
        )
    if dry.input_file is None or not ctx.files.exists(dry.input_file):
        raise HTTPException(
            status.HTTP_410_GONE, "The dry run's file is no longer stored; upload it again."
        )
    commit_key = f"commit-of-{dry.id}"
    earlier = earlier_job(ctx, user, commit_key)
    if earlier is not None:
        return answer_job(request, earlier)
    new_id = job_rows.new_job_id()
    key = upload_key(new_id)
    with ctx.files.open(dry.input_file) as source, ctx.files.writer(key) as out:
        while chunk := source.read(1024 * 1024):
            out.write(chunk)
    options = ImportOptions.model_validate({**dry.options, "dry_run": False})
    return _queue(request, ctx, user, new_id, key, options, commit_key)


def _queue(
    request: Request,
    ctx: Context,
    user: User,
    job_id: str,
    key: str,
    options: ImportOptions,
    idempotency_key: str | None,
) -> JSONResponse:
    return answer_queued(
        request,
        ctx,
        user,
        job_id,
        idempotency_key,
        lambda: submit_import(
            ctx,
            store_id=user.store_id,
            user_id=user.id,
            job_id=job_id,
            key=key,
            options=options,
            idempotency_key=idempotency_key,
        ),
    )


def answer_queued(
    request: Request,
    ctx: Context,
    user: User,
    job_id: str,
    idempotency_key: str | None,
    submit: Callable[[], object],
) -> JSONResponse:
    """Create and send job ``job_id`` by ``submit``; 202 with the job, or with the earlier job
    of a request with the same idempotency key that won the race; 503 if the queue is down."""
    try:
        submit()
    except IntegrityError:
        ctx.files.delete_tree(f"jobs/{job_id}")
        earlier = earlier_job(ctx, user, idempotency_key)
        if earlier is None:
            raise
        return answer_job(request, earlier)
    except QueueUnreachable as exc:
        raise queue_down(exc) from None
    with reading(ctx.engine) as conn:
        job = job_rows.get_job(conn, user.store_id, job_id)
    assert job is not None
    return answer_job(request, job)


def earlier_job(ctx: Context, user: User, idempotency_key: str | None) -> job_rows.Job | None:
    """The job the store already started under this idempotency key, if any."""
    if not idempotency_key:
        return None
    with reading(ctx.engine) as conn:
        return job_rows.find_by_idempotency_key(conn, user.store_id, idempotency_key)
