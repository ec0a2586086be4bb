"""Imports: upload a file to queue a job, preview a file for a mapping screen, commit a dry run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from bulkport.api.errors import BODY_RESPONSES, ERROR_RESPONSES
from bulkport.api.jobs import JobId, answer_job, load_job, queue_down
from bulkport.errors import JobProblem, QueueUnreachable
from bulkport.http.deps import ContextDep, Staff
from bulkport.http.rate_limits import Uploader
from bulkport.http.uploads import Upload, receive_file, upload_name
from bulkport.rules.text import strip_control
from bulkport.schemas.jobs import ImportOptions, JobKind, JobStatus, JobView, Problem
from bulkport.storage import job_rows, mappings
from bulkport.storage.accounts import User
from bulkport.storage.db import reading
from bulkport.tasks.context import Context
from bulkport.tasks.imports import resolve_options, submit_import, upload_key
from bulkport.tasks.previews import preview

router = APIRouter(prefix="/api/v1/imports", tags=["imports"], responses=ERROR_RESPONSES)


def _form_schema() -> dict[str, Any]:
    """The multipart body in the OpenAPI schema: the file plus every import option, each as a
    form sends it (no null: leave a field out for its default; ``mapping`` is a JSON part)."""
    options = ImportOptions.model_json_schema()
    defs = options.get("$defs", {})
    properties = {
        name: _form_field(schema, defs)
        for name, schema in options["properties"].items()
        if name != "filename"
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "additionalProperties": False,
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            **properties,
                        },
                    },
                    "encoding": {"mapping": {"contentType": "application/json"}},
                }
            },
        }
    }


def _form_field(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """One option's schema with its references resolved in place and null left out."""
    schema = dict(schema)
    if "$ref" in schema:
        schema = {**defs[schema.pop("$ref").rsplit("/", 1)[1]], **schema}
    choices = [c for c in schema.pop("anyOf", []) if c.get("type") != "null"]
    if choices:
        schema = {**_form_field(choices[0], defs), **schema}
    if schema.get("default", 0) is None:
        del schema["default"]
    return schema


_FORM = _form_schema()


def _options(ctx: Context, user: User, upload: Upload, folder: str) -> ImportOptions:
    """The form's options, checked; 422 with the reason (and the upload removed) if not,
    404 if the saved mapping it names does not exist."""
    try:
        if "filename" in upload.fields:
            raise ValueError("filename: not a form field; the file's own name is kept")
        options = ImportOptions.model_validate(
            {**upload.fields, "filename": upload_name(upload.filename)}
        )
        if options.mapping_name and not _saved(ctx, user, options.mapping_name):
            ctx.files.delete_tree(folder)
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"No mapping is named {options.mapping_name!r}."
            )
        return resolve_options(ctx, user.store_id, options)
    except ValidationError as exc:
        ctx.files.delete_tree(folder)
        problems = "; ".join(f"{strip_control(str(e['loc'][0]))}: {e['msg']}" for e in exc.errors())
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problems) from None
    except ValueError as exc:
        ctx.files.delete_tree(folder)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.post(
    "",
    name="create",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobView,
    openapi_extra=_FORM,
    responses={
        **BODY_RESPONSES,
        413: {"model": Problem, "description": "The file is over the size limit"},
        415: {"model": Problem, "description": "The body is not multipart/form-data"},
        429: {"model": Problem, "description": "Too many uploads this minute"},
        503: {"model": Problem, "description": "The job queue or the file store cannot be reached"},
    },
)
async def create_import(
    request: Request,
    ctx: ContextDep,
    user: Uploader,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Upload a customer file (form field ``file``) and queue its import; answers 202."""
    idempotency_key = idempotency_key or None  # an empty key is no key
    job_id = job_rows.new_job_id()
    key = upload_key(job_id)
    upload = await receive_file(request, ctx, key)
    options = _options(ctx, user, upload, f"jobs/{job_id}")
    # Checked after the form, so that a repeated key never makes a bad request look good.
    earlier = earlier_job(ctx, user, idempotency_key)
    if earlier is not None:
        ctx.files.delete_tree(f"jobs/{job_id}")
        return answer_job(request, earlier)
    return _queue(request, ctx, user, job_id, key, options, idempotency_key)


@router.post(
    "/preview",
    name="preview",
    openapi_extra=_FORM,
    responses={
        **BODY_RESPONSES,
        200: {
            "description": "What was found and what the first rows would do; for a file "
            "that cannot be read, only `problem`: why, in plain words"
        },
        413: {"model": Problem, "description": "The file is over the size limit"},
        415: {"model": Problem, "description": "The body is not multipart/form-data"},
        429: {"model": Problem, "description": "Too many uploads this minute"},
        503: {"model": Problem, "description": "The file store cannot be reached"},
    },
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
            with ctx.files.local(key) as path:
                found = preview(ctx, user.store_id, path, options)
        except JobProblem as exc:
            # What was found is that the file cannot be read, as an import of it would say.
            found = {"problem": str(exc)}
    finally:
        ctx.files.delete_tree(folder)
    return JSONResponse(found)


@router.post(
    "/{job_id}/commit",
    name="commit",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobView,
    responses={409: {"description": "Not a finished dry run"}},
)
def commit_dry_run(request: Request, ctx: ContextDep, user: Staff, job_id: JobId) -> JSONResponse:
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


def _saved(ctx: Context, user: User, name: str) -> bool:
    with reading(ctx.engine) as conn:
        return mappings.get(conn, user.store_id, name) is not None


def earlier_job(ctx: Context, user: User, idempotency_key: str | None) -> job_rows.Job | None:
    """The job the store already started under this idempotency key, if any."""
    if not idempotency_key:
        return None
    with reading(ctx.engine) as conn:
        return job_rows.find_by_idempotency_key(conn, user.store_id, idempotency_key)
