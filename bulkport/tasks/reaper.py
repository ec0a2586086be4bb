"""The reaper: no job stays QUEUED or PROCESSING forever, whatever happened to its worker.

Run every minute by beat. A job whose worker stopped renewing its lease is handed to the queue
again (it resumes after its last committed batch); one that has been tried too often ends
FAILED with the rows it did not reach counted as such. A job QUEUED for too long is sent to
the queue again, in case its message was lost (a Redis restarted without its data): a second
delivery of a live job changes nothing, so sending again is always safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage.db import now
from bulkport.storage.tables import jobs
from bulkport.tasks.context import Context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reaped:
    """What the reaper did: jobs to send to the queue again, and jobs it ended."""

    requeue: list[tuple[str, JobKind]]
    failed: list[str]


def gave_up(attempts: int, processed: int, total: int | None) -> str:
    """The message of a job that stopped too often: what happened, and what was kept."""
    done = f"{processed:,} of {total:,}" if total is not None else f"{processed:,}"
    return (
        f"The job stopped {attempts} times before it could finish (its worker was stopped or "
        f"ran out of time). {done} rows were processed and kept; the rest were not. "
        "Upload the file again to finish: rows already imported will show as unchanged."
    )


def reap(ctx: Context, moment: datetime | None = None) -> Reaped:
    """Find stalled jobs: fail those out of attempts, and list the rest to be queued again."""
    moment = moment or now()
    settings = ctx.settings
    quiet_since = moment - timedelta(seconds=settings.requeue_after_seconds)
    # Stalled: the lease lapsed a lease ago and nothing happened for a while (a job sent again
    # is touched, so it is not sent again on every round while it waits for a worker).
    stalled = and_(
        jobs.c.status == JobStatus.PROCESSING.value,
        jobs.c.lease_until < moment - timedelta(seconds=settings.job_lease_seconds),
        jobs.c.updated_at < quiet_since,
    )
    forgotten = and_(jobs.c.status == JobStatus.QUEUED.value, jobs.c.updated_at < quiet_since)
    query = select(
        jobs.c.id, jobs.c.kind, jobs.c.status, jobs.c.attempts, jobs.c.processed, jobs.c.total
    ).where(or_(stalled, forgotten))
    requeue: list[tuple[str, JobKind]] = []
    failed: list[str] = []
    with ctx.engine.begin() as conn:
        for row in conn.execute(query).all():
            if row.status == JobStatus.PROCESSING.value and row.attempts >= settings.max_attempts:
                ended = conn.execute(
                    update(jobs)
                    .where(jobs.c.id == row.id, stalled)
                    .values(
                        status=JobStatus.FAILED.value,
                        error=gave_up(row.attempts, row.processed, row.total),
                        finished_at=moment,
                        updated_at=moment,
                        claim_token=None,
                        lease_until=None,
                    )
                ).rowcount
                if ended:
                    failed.append(row.id)
                continue
            # Touch the job so that it is not sent again on the next round.
            conn.execute(update(jobs).where(jobs.c.id == row.id).values(updated_at=moment))
            requeue.append((row.id, JobKind(row.kind)))
    if requeue or failed:
        log.warning("reaper: %d jobs sent again, %d ended", len(requeue), len(failed))
    return Reaped(requeue=requeue, failed=failed)
