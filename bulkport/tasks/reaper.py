"""The reaper: no job stays QUEUED or PROCESSING forever, whatever happened to its worker.

Run by beat every ``reaper_seconds`` (10 s). A job whose worker stopped renewing its lease
(the heartbeat died with it) is handed to the queue again (it resumes after its last committed
batch); one that has been tried too often ends FAILED with the rows it did not reach counted
as such. A job QUEUED for too long is sent to the queue again, in case its message was lost (a
Redis restarted without its data): a second delivery of a live job changes nothing, so
sending again is always safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from bulkport.schemas.jobs import JobKind
from bulkport.storage import chunks as chunk_rows
from bulkport.storage import upkeep
from bulkport.storage.db import now
from bulkport.tasks.context import Context
from bulkport.tasks.job_lifecycle import gave_up_message

if TYPE_CHECKING:
    from sqlalchemy import Connection

log = logging.getLogger(__name__)


class Requeue(NamedTuple):
    """A job to send again, with the size of its input (which decides its queue)."""

    job_id: str
    kind: JobKind
    input_bytes: int


@dataclass(frozen=True)
class Reaped:
    """What the reaper did: jobs to send to the queue again, and jobs it ended."""

    requeue: list[Requeue]
    failed: list[str]
    chunks: list[tuple[str, int]] = field(default_factory=list)  # (job id, chunk number)


def reap(ctx: Context, moment: datetime | None = None) -> Reaped:
    """Find stalled jobs: fail those out of attempts, and list the rest to be queued again."""
    settings = ctx.settings
    quiet = upkeep.Quiet(
        moment=moment or now(),
        lease_seconds=settings.job_lease_seconds,
        quiet_seconds=settings.requeue_after_seconds,
    )
    requeue: list[Requeue] = []
    failed: list[str] = []
    with ctx.engine.begin() as conn:
        for job in upkeep.stalled_jobs(conn, quiet):
            if job.processing and job.attempts >= settings.max_attempts:
                error = gave_up_message(job.attempts, job.processed, job.total)
                if upkeep.end_stalled(conn, job.id, quiet, error):
                    failed.append(job.id)
                continue
            # Touch the job so that it is not sent again on the next round.
            upkeep.touch(conn, job.id, quiet.moment)
            requeue.append(Requeue(job.id, job.kind, _input_bytes(ctx, job.input_file)))
        chunks = _reap_chunks(ctx, conn, quiet)
        # A split job whose chunks are all done but that no one ended: its import task,
        # sent again, ends it.
        since = quiet.moment - timedelta(seconds=settings.job_lease_seconds)
        for job_id, input_file in chunk_rows.unfinished_splits(conn, since):
            upkeep.touch(conn, job_id, quiet.moment)
            requeue.append(Requeue(job_id, JobKind.IMPORT, _input_bytes(ctx, input_file)))
    if requeue or failed or chunks:
        log.warning(
            "reaper: %d jobs and %d chunks sent again, %d ended",
            len(requeue), len(chunks), len(failed),
        )  # fmt: skip
    return Reaped(requeue=requeue, failed=failed, chunks=chunks)


def _reap_chunks(ctx: Context, conn: Connection, quiet: upkeep.Quiet) -> list[tuple[str, int]]:
    """Chunks whose worker stopped renewing, or forgotten while QUEUED, to be sent again (a
    chunk started too often ends its job when it is claimed: ``chunks.claim``)."""
    stalled = chunk_rows.stalled_chunks(
        conn, quiet.moment, ctx.settings.job_lease_seconds, quiet.since()
    )
    for chunk in stalled:
        chunk_rows.touch(conn, chunk.job_id, chunk.number, quiet.moment)
    return [(chunk.job_id, chunk.number) for chunk in stalled]


def _input_bytes(ctx: Context, key: str | None) -> int:
    """The size of a job's input file; 0 when it has none, or it is gone (the job then fails
    quickly, wherever it runs)."""
    if key is None or not ctx.files.exists(key):
        return 0
    return ctx.files.size(key)
