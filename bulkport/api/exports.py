"""Starting an export: a JSON request becomes a queued job; its file is downloaded when READY."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from bulkport.api.errors import BODY_RESPONSES, ERROR_RESPONSES
from bulkport.api.jobs import answer_job
from bulkport.http.deps import ContextDep, Staff
from bulkport.schemas.exports import ExportRequest
from bulkport.schemas.jobs import JobView
from bulkport.usecases.exports import queue_export

router = APIRouter(prefix="/api/v1/exports", tags=["exports"], responses=ERROR_RESPONSES)


@router.post(
    "",
    name="create",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobView,
    responses={**BODY_RESPONSES, 503: {"description": "The job queue cannot be reached"}},
)
def create_export(
    request: Request,
    ctx: ContextDep,
    body: ExportRequest,
    user: Staff,
) -> JSONResponse:
    """Export customers to CSV or XLSX; `counts.succeeded` is the number of rows written."""
    job = queue_export(ctx, store_id=user.store_id, user_id=user.id, request=body)
    return answer_job(request, job)
