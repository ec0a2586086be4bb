"""The job page's grid of failed rows: edit the cells, see each row checked as it changes,
import the changed rows as a fix job (the use cases of ``/api/v1/jobs/{id}/rows`` and
``/fixes``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from bulkport.http.deps import ContextDep, client_of
from bulkport.schemas.fixes import RowCheck
from bulkport.usecases import fixes, jobs
from bulkport.web import auth
from bulkport.web.auth import SignedIn
from bulkport.web.pages import render

router = APIRouter(include_in_schema=False)
ROWS_PER_PAGE = 25
# A page's inputs and the token; past any page the grid shows.
MAX_FIELDS = 5000
Page = Annotated[int, Query(ge=1, le=100_000)]
RowNumber = Annotated[int, Path(ge=1, le=1_000_000_000)]


@router.get("/jobs/{job_id}/fixes")
def fix_grid(
    request: Request, ctx: ContextDep, web: SignedIn, job_id: str, page: Page = 1
) -> HTMLResponse:
    """A page of the import's failed rows as an editable grid of its mapped columns."""
    offset = (page - 1) * ROWS_PER_PAGE
    found = fixes.list_failed_rows(
        ctx, web.user, job_id, offset=offset, limit=ROWS_PER_PAGE, client=client_of(request)
    )
    job = jobs.get_job(ctx, web.user.store_id, job_id)
    mapped = set(job.mapping or {})
    columns = [c for c in found.columns if c in mapped] or found.columns
    rounds = fixes.fix_jobs_of(ctx, web.user.store_id, job_id)
    return render(
        request, ctx, "fix_rows.html", web,
        job_id=job_id, columns=columns, rows=found.rows, page=page, rounds=rounds,
        more=offset + len(found.rows) < found.total,
    )  # fmt: skip


@router.post("/jobs/{job_id}/fixes/{row}/check")
async def fix_check(
    request: Request, ctx: ContextDep, web: SignedIn, job_id: str, row: RowNumber
) -> HTMLResponse:
    """One row re-checked with the cells as edited: its problems, or that it is good now."""
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    auth.check_csrf(web.csrf_token, str(form.get("csrf") or ""))
    cells = _rows_of(form).get(row, {})
    check: RowCheck = fixes.check_row(ctx, web.user, job_id, row, cells)
    return render(request, ctx, "fix_problems.html", web, errors=check.errors, check=check)


@router.post("/jobs/{job_id}/fixes")
async def fix_import(
    request: Request, ctx: ContextDep, web: SignedIn, job_id: str
) -> RedirectResponse:
    """Import the rows whose cells were changed as a fix job, then show that job."""
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    auth.check_csrf(web.csrf_token, str(form.get("csrf") or ""))
    started = fixes.fix_changed_rows(ctx, web.user, job_id, _rows_of(form))
    return RedirectResponse(f"/jobs/{started.id}", status.HTTP_303_SEE_OTHER)


def _rows_of(form: FormData) -> dict[int, dict[str, str]]:
    """The grid's cells by row: each input is named ``ROW:COLUMN``."""
    rows: dict[int, dict[str, str]] = {}
    for name, value in form.multi_items():
        number, colon, column = name.partition(":")
        if colon and number.isdigit() and isinstance(value, str):
            rows.setdefault(int(number), {})[column] = value
    return rows
