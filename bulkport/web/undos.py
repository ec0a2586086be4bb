"""The undo of an import on its job page: a button that starts the dry run, whose page shows
what would be restored and what conflicts, and a confirmation that runs it for real."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, status
from fastapi.responses import RedirectResponse

from bulkport.http.deps import ContextDep
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage import job_rows
from bulkport.storage.sessions import WebSession
from bulkport.tasks.context import Context
from bulkport.usecases import undos
from bulkport.web import auth
from bulkport.web.auth import SignedIn

router = APIRouter(include_in_schema=False)
CONFIRM_FIRST = "Tick the box to confirm the undo first."


def undo_values(ctx: Context, web: WebSession, job: job_rows.Job) -> dict[str, Any]:
    """What the job page shows of undo: the button on an import that can be undone, the
    confirmation on a READY dry run of an undo, the undo that already ran."""
    done = undos.undo_of(ctx, web.user.store_id, job.id) if job.kind is JobKind.IMPORT else None
    preview = job.kind is JobKind.UNDO and bool(job.options.get("dry_run"))
    return {
        "can_undo": done is None and job.kind is JobKind.IMPORT and undos.refusal(ctx, job) is None,
        "undone_by": done,
        "undo_confirm": preview and job.status is JobStatus.READY and done is None,
    }


@router.post("/jobs/{job_id}/undo")
def start_undo(
    ctx: ContextDep,
    web: SignedIn,
    job_id: str,
    csrf: Annotated[str, Form(max_length=100)] = "",
    dry_run: Annotated[str, Form(max_length=10)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> RedirectResponse:
    """Start an import's undo: its dry run, or (confirmed) the undo itself; show its job."""
    auth.check_csrf(web.csrf_token, csrf)
    if dry_run != "yes" and confirm != "yes":
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, CONFIRM_FIRST)
    started = undos.undo_import(
        ctx, web.user.store_id, web.user.id, job_id, dry_run=dry_run == "yes"
    )
    return RedirectResponse(f"/jobs/{started.id}", status.HTTP_303_SEE_OTHER)
