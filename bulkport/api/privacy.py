"""A person's own data: starting a privacy export of one customer (a zip, downloaded when READY)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.api.jobs import answer_job
from bulkport.errors import CustomerDeleted, NoSuchCustomer
from bulkport.http.deps import ContextDep, RowId, Staff
from bulkport.schemas.jobs import JobView
from bulkport.storage import job_rows
from bulkport.storage.accounts import User
from bulkport.storage.db import reading
from bulkport.tasks.context import Context
from bulkport.tasks.privacy_exports import submit_privacy_export

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
    job_id = start_privacy_export(ctx, user, customer_id)
    with reading(ctx.engine) as conn:
        job = job_rows.get_job(conn, user.store_id, job_id)
    assert job is not None
    return answer_job(request, job)


def start_privacy_export(ctx: Context, user: User, customer_id: int) -> str:
    """Queue a privacy export of the store's customer; 404 for a customer not there, 409 for a
    deleted one, 503 when the queue is down."""
    try:
        return submit_privacy_export(
            ctx, store_id=user.store_id, user_id=user.id, customer_id=customer_id
        )
    except NoSuchCustomer:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such customer.") from None
    except CustomerDeleted:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "This customer was deleted: nothing personal is held about them to export.",
        ) from None
