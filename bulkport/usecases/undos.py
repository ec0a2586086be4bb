"""Undo of a committed import: checks what may be undone, then starts the ``undo`` job (or
its dry run). One real undo per import (idempotency key ``undo-of-<id>``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bulkport.errors import Conflict, Gone
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage import job_rows
from bulkport.tasks.context import Context
from bulkport.tasks.undo import submit_undo, undo_key
from bulkport.usecases.imports import earlier_job, submit_once
from bulkport.usecases.jobs import get_job


def refusal(ctx: Context, job: job_rows.Job) -> Conflict | Gone | None:
    """Why ``job`` cannot be undone, or None when it can."""
    if job.kind is JobKind.UNDO:
        return Conflict("An undo cannot be undone; import the file again instead.")
    if job.kind is not JobKind.IMPORT:
        return Conflict(f"Only an import can be undone; this job is a {job.kind.value}.")
    if job.options.get("dry_run"):
        return Conflict("A dry run changed nothing, so there is nothing to undo.")
    if not job.status.finished:
        return Conflict(f"The import is {job.status}; undo it once it has ended.")
    ended = job.finished_at or job.created_at
    if ended < datetime.now(UTC) - timedelta(days=ctx.settings.undo_days):
        return Gone(
            f"The import ended more than {ctx.settings.undo_days} days ago; its undo data "
            "is no longer kept."
        )
    return None


def undo_of(ctx: Context, store_id: int, job_id: str) -> str | None:
    """The id of the job that undid import ``job_id``, if one did."""
    undo = earlier_job(ctx, store_id, undo_key(job_id))
    return undo.id if undo is not None else None


def undo_import(
    ctx: Context, store_id: int, user_id: int | None, job_id: str, *, dry_run: bool
) -> job_rows.Job:
    """Start the undo (or its dry run) of import ``job_id``; the undo already started, for an
    import undone before. Raises ``Conflict`` or ``Gone`` with the reason it cannot be."""
    job = get_job(ctx, store_id, job_id)
    refused = refusal(ctx, job)
    if refused is not None:
        raise refused
    earlier = earlier_job(ctx, store_id, undo_key(job.id))
    if earlier is not None:
        if dry_run and earlier.status is not JobStatus.FAILED:
            raise Conflict("The import was already undone; see that undo job.")
        return earlier
    new_id = job_rows.new_job_id()
    key = None if dry_run else undo_key(job.id)
    return submit_once(
        ctx, store_id, new_id, key,
        lambda: submit_undo(
            ctx, store_id=store_id, user_id=user_id, job_id=new_id, undo_of=job.id,
            dry_run=dry_run, idempotency_key=key,
        ),
    )  # fmt: skip
