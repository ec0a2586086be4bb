"""The API's undo of an import: ``POST /jobs/{id}/undo``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.api.jobs import JobId, answer_job
from bulkport.http.deps import ContextDep, Staff
from bulkport.schemas.jobs import JobView
from bulkport.usecases import undos

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], responses=ERROR_RESPONSES)


class UndoBody(BaseModel):
    """What to undo: for real, or a dry run that only reports."""

    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False


@router.post(
    "/{job_id}/undo",
    name="undo",
    status_code=202,
    response_model=JobView,
    responses={
        409: {"description": "Not an ended, committed import, or an undo"},
        410: {"description": "The import is older than the undo window"},
    },
)
def undo_job(
    request: Request, ctx: ContextDep, user: Staff, job_id: JobId, body: UndoBody
) -> JSONResponse:
    """Undo an ended import: delete the customers it created (archive those with sales) and
    restore the fields it changed, leaving any field changed since (a conflict in the report).
    ``dry_run`` reports what would be done and changes nothing. The same undo for a second
    call."""
    job = undos.undo_import(ctx, user.store_id, user.id, job_id, dry_run=body.dry_run)
    return answer_job(request, job)
