"""Fixing an import's failed rows in place: list them as uploaded, import the edited ones."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import JSONResponse

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.api.jobs import MAX_OFFSET, JobId, answer_job
from bulkport.http.deps import ContextDep, Staff, UserDep, client_of
from bulkport.schemas.fixes import CellsBody, FailedRowsPage, FixRequest, RowCheck
from bulkport.schemas.jobs import JobView, Problem
from bulkport.usecases import fixes

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], responses=ERROR_RESPONSES)


@router.get("/{job_id}/rows", name="rows", response_model=FailedRowsPage)
def get_failed_rows(
    request: Request,
    ctx: ContextDep,
    user: UserDep,
    job_id: JobId,
    outcome: Literal["failed"],
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> FailedRowsPage:
    """A READY import's failed rows in row order, each with its cells as uploaded (by
    header) and its problems, paged. Each read is audited: the rows hold personal data."""
    return fixes.list_failed_rows(
        ctx, user, job_id, offset=offset, limit=limit, client=client_of(request)
    )


@router.post(
    "/{job_id}/fixes",
    name="fixes",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobView,
    responses={
        409: {"model": Problem, "description": "Not a READY import, or a row fixed before"},
        410: {"model": Problem, "description": "The failed rows are no longer stored"},
    },
)
def post_fixes(
    request: Request, ctx: ContextDep, user: Staff, job_id: JobId, body: FixRequest
) -> JSONResponse:
    """Import the failed rows named, with their edited cells, as a new import job with the
    original's options and mapping; its row numbers are the original file's."""
    return answer_job(request, fixes.fix_rows(ctx, user, job_id, body.rows))


@router.post("/{job_id}/rows/{row}/check", name="rows_check", response_model=RowCheck)
def check_row(
    ctx: ContextDep,
    user: UserDep,
    job_id: JobId,
    row: Annotated[int, Path(ge=1, le=MAX_OFFSET)],
    body: CellsBody,
) -> RowCheck:
    """What importing a failed row with these cells would do now, by the import's own rules
    and mapping: its outcome and problems. Nothing is written."""
    return fixes.check_row(ctx, user, job_id, row, body.cells)
