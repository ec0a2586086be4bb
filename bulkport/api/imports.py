"""Imports: upload a file to queue a job, preview a file for a mapping screen, commit a dry run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import JSONResponse

from bulkport.api.errors import BODY_RESPONSES, ERROR_RESPONSES
from bulkport.api.jobs import JobId, answer_job
from bulkport.http.deps import ContextDep, Staff
from bulkport.http.rate_limits import Uploader
from bulkport.http.uploads import receive_file, upload_name
from bulkport.schemas.jobs import NOT_FORM_FIELDS, ImportOptions, JobView, Problem
from bulkport.storage import job_rows
from bulkport.tasks.imports import upload_key
from bulkport.usecases.imports import (
    client_key,
    commit_dry_run,
    import_options,
    preview_upload,
    queue_import,
)

router = APIRouter(prefix="/api/v1/imports", tags=["imports"], responses=ERROR_RESPONSES)


def _form_schema() -> dict[str, Any]:
    """The multipart body in the OpenAPI schema: the file plus every import option, each as a
    form sends it (no null: leave a field out for its default; ``mapping`` is a JSON part)."""
    options = ImportOptions.model_json_schema()
    defs = options.get("$defs", {})
    properties = {
        name: _form_field(schema, defs)
        for name, schema in options["properties"].items()
        if name not in NOT_FORM_FIELDS
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
                    "encoding": {
                        "mapping": {"contentType": "application/json"},
                        "column_rules": {"contentType": "application/json"},
                    },
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
    idempotency_key = client_key(idempotency_key)
    job_id = job_rows.new_job_id()
    upload = await receive_file(request, ctx, upload_key(job_id))
    options = import_options(
        ctx, user, upload.fields, upload_name(upload.filename), f"jobs/{job_id}"
    )
    # The key is looked up after the form, so that a repeated key never makes a bad request
    # look good.
    job = queue_import(
        ctx, store_id=user.store_id, user_id=user.id, job_id=job_id, options=options,
        idempotency_key=idempotency_key,
    )  # fmt: skip
    return answer_job(request, job)


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
    upload = await receive_file(request, ctx, f"{folder}/upload")
    found = preview_upload(ctx, user, folder, upload.fields, upload_name(upload.filename))
    return JSONResponse(found)


@router.post(
    "/{job_id}/commit",
    name="commit",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobView,
    responses={409: {"description": "Not a finished dry run"}},
)
def commit_import(request: Request, ctx: ContextDep, user: Staff, job_id: JobId) -> JSONResponse:
    """Run a READY dry run for real, with the same file, mapping and options."""
    return answer_job(request, commit_dry_run(ctx, user, job_id))
