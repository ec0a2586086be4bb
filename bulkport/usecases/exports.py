"""Exports: a request for the store's customers becomes a queued job."""

from __future__ import annotations

from bulkport.schemas.exports import ExportRequest
from bulkport.storage import job_rows
from bulkport.tasks.context import Context
from bulkport.tasks.exports import submit_export
from bulkport.usecases.jobs import get_job


def queue_export(
    ctx: Context, *, store_id: int, user_id: int | None, request: ExportRequest
) -> job_rows.Job:
    """Queue an export of the store's customers. Raises ``QueueUnreachable`` (the job then
    FAILED) when the queue cannot be reached."""
    job_id = submit_export(ctx, store_id=store_id, user_id=user_id, request=request)
    return get_job(ctx, store_id, job_id)
