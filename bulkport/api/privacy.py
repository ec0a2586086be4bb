"""A person's own data: starting a privacy export of one customer (a zip, downloaded when READY)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.api.jobs import answer_job
from bulkport.http.deps import ContextDep, RowId, Staff
from bulkport.schemas.jobs import JobView
from bulkport.usecases.privacy import start_privacy_export

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], responses=ERROR_RESPONSES)


@router.post(
    "/{customer_id}/privacy-export",
    name="privacy_export",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobView,
    responses={
        404: {"description": "No such customer in this store"},
        409: {"description": "The customer was deleted"},
        503: {"description": "The job queue cannot be reached"},
    },
)
def create_privacy_export(
    request: Request, ctx: ContextDep, user: Staff, customer_id: RowId
) -> JSONResponse:
    """Export everything held about one customer (record, sales, history) as a zip of CSV and
    JSON; when READY, `links.download_url` gives its signed link."""
    job = start_privacy_export(
        ctx, store_id=user.store_id, user_id=user.id, customer_id=customer_id
    )
    return answer_job(request, job)
