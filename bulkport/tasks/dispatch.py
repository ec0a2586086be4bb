"""Sending a committed job to the workers, and what happens when the queue does not take it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bulkport.errors import QueueUnreachable
from bulkport.schemas.jobs import JobStatus
from bulkport.storage import jobs as job_rows
from bulkport.tasks.context import Context

log = logging.getLogger(__name__)


def dispatch(ctx: Context, job_id: str, send: Callable[[str], None]) -> None:
    """Send the job (its id) after its row is committed; never 'queued then lost'.

    When the broker does not take it, the job ends FAILED with a plain reason and
    QueueUnreachable says so to the caller (the API answers 503, the CLI one line).
    """
    try:
        send(job_id)
    except Exception as exc:
        log.warning("job %s: could not reach the job queue: %s", job_id, exc)
        with ctx.engine.begin() as conn:
            job_rows.finish(
                conn,
                job_id,
                None,
                JobStatus.FAILED,
                error="The job queue could not be reached, so the job never ran. "
                "Start it again in a moment.",
            )
        raise QueueUnreachable(
            f"The job queue cannot be reached ({exc}), so job {job_id} was not started "
            "and is FAILED."
        ) from exc
