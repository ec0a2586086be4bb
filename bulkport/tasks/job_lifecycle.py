"""The life of a claimed job, the same for every kind of job.

A job is sent to the workers by its id (``send_or_fail``: a job whose queue cannot be reached
ends FAILED at once, never reported started). A worker claims it (``claim_job``: a conditional
UPDATE that sets a short lease) and runs its work inside ``settled``, which keeps the lease
renewed from a heartbeat thread (``Heartbeat``, ``lease_kept``) while the work is alive, and
which leaves the job in a clear state whatever goes wrong. A worker that dies stops renewing;
the lease lapses and a redelivery or the reaper takes the job over, until the job has been
started too often: it then ends FAILED with ``gave_up_message``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from bulkport.errors import FileStoreUnavailable, JobProblem, QueueUnreachable, TransitionRefused
from bulkport.logs import without_values
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage import chunks as chunk_rows
from bulkport.storage import job_rows
from bulkport.tasks.context import Context

log = logging.getLogger(__name__)
# Beats per lease: two beats may be missed (a slow database, a busy interpreter) before the
# lease lapses and another worker may take the job over.
BEATS_PER_LEASE = 3
NEVER_SENT = "The job queue could not be reached, so the job never ran. Start it again in a moment."
QUEUE_DOWN = (
    "The job queue cannot be reached right now, so the job was not started. Try again in a moment."
)
TIME_LIMIT = (
    "The job ran longer than its time limit and was stopped. Rows counted as processed were "
    "kept; the rest were not. Split the file, or ask your administrator to raise the limit."
)


def gave_up_message(attempts: int, processed: int, total: int | None) -> str:
    """The message of a job that stopped too often: what happened, and what was kept."""
    done = f"{processed:,} of {total:,}" if total is not None else f"{processed:,}"
    return (
        f"The job stopped {attempts} times before it could finish (its worker was stopped or "
        f"ran out of time). {done} rows were processed and kept; the rest were not. "
        "Upload the file again to finish: rows already imported will show as unchanged."
    )


def claim_job(ctx: Context, job_id: str) -> job_rows.Claimed | job_rows.Busy | job_rows.Finished:
    """Claim a job for this worker (the conditional UPDATE with a lease), or say why not: the
    opening of every job kind's ``run_…``."""
    with ctx.engine.begin() as conn:
        return job_rows.claim(
            conn, job_id, ctx.settings.job_lease_seconds, ctx.settings.max_attempts, gave_up_message
        )


class Heartbeat:
    """A daemon thread renewing one claim's lease every third of a lease.

    The lease is short so that a job whose worker died (a pool process killed, a machine gone)
    is taken up again within seconds; the beat keeps it from lapsing while the work is alive.
    Each beat is its own short transaction on a connection of its own, never inside the job's
    batch transactions. The thread dies with its process, which is the point: a dead worker
    stops renewing.
    """

    def __init__(self, ctx: Context, job_id: str, token: str, chunk: int | None = None) -> None:
        """``chunk``: the claim is on that chunk of a split import, not on the job."""
        self.ctx, self.job_id, self.token, self.chunk = ctx, job_id, token, chunk
        self.lease = ctx.settings.job_lease_seconds
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"lease-{job_id}", daemon=True)

    def start(self) -> None:
        """Start renewing."""
        self.thread.start()

    def stop(self) -> None:
        """Stop renewing and wait for the thread (a beat in flight finishes first)."""
        self.stopped.set()
        self.thread.join(timeout=self.lease)

    def _beat(self) -> None:
        while not self.stopped.wait(self.lease / BEATS_PER_LEASE):
            try:
                with self.ctx.engine.begin() as conn:
                    held = self._renew(conn)
            except Exception:
                # A database away for a moment: the next beat tries again; the batch
                # that meets the same fault decides what happens to the job.
                log.warning("job %s: could not renew its lease", self.job_id, exc_info=True)
                continue
            if not held:
                return

    def _renew(self, conn: Connection) -> bool:
        if self.chunk is None:
            return job_rows.renew(conn, self.job_id, self.token, self.lease)
        return chunk_rows.renew(conn, self.job_id, self.chunk, self.token, self.lease)


@contextmanager
def lease_kept(ctx: Context, job_id: str, token: str, chunk: int | None = None) -> Iterator[None]:
    """Keep the claim's lease (on the job, or on one of its chunks) renewed while the block
    runs."""
    beat = Heartbeat(ctx, job_id, token, chunk)
    beat.start()
    try:
        yield
    finally:
        beat.stop()


@contextmanager
def settled(
    ctx: Context, job_id: str, token: str, unexpected: str, chunk: int | None = None
) -> Iterator[None]:
    """Run a claimed job's work, its lease renewed while it runs (``lease_kept``); whatever
    goes wrong leaves the job in a clear state. With ``chunk``, the claim is on that chunk of
    a split import, and a failure in it fails the whole job.

    - the claim was lost to another delivery: stop quietly, that delivery owns the job;
    - a file or job problem (``JobProblem``): FAILED with its message for the person;
    - the database went away: give the job back at once and re-raise, so the task retries;
    - the job ran out of time (``Context.time_limit_errors``): FAILED, saying so;
    - the file store failed (``FileStoreUnavailable``): FAILED, saying so in its words;
    - anything else: FAILED with ``unexpected``, the details in the worker's log.
    """
    # A chunk's token is no claim on the job: a chunk ends its job by id.
    job_token = token if chunk is None else None
    try:
        with lease_kept(ctx, job_id, token, chunk):
            yield
    except TransitionRefused:
        log.warning("job %s: claim lost to another delivery; stopping", job_id)
    except JobProblem as exc:
        with ctx.engine.begin() as conn:
            job_rows.finish(conn, job_id, job_token, JobStatus.FAILED, error=str(exc))
    except OperationalError:
        log.warning("job %s: database error; releasing the job for a retry", job_id)
        try:
            with ctx.engine.begin() as conn:
                if chunk is None:
                    job_rows.release(conn, job_id, token)
                else:
                    chunk_rows.release(conn, job_id, chunk, token)
        except OperationalError:
            pass  # the lease runs out by itself
        raise
    except Exception as exc:
        message = _failure(ctx, job_id, exc, unexpected)
        with ctx.engine.begin() as conn:
            job_rows.finish(conn, job_id, job_token, JobStatus.FAILED, error=message)


def _failure(ctx: Context, job_id: str, exc: Exception, unexpected: str) -> str:
    """What a FAILED job tells the person, for an error that is not theirs."""
    if isinstance(exc, ctx.time_limit_errors):
        log.warning("job %s: stopped at its time limit", job_id)
        return TIME_LIMIT
    if isinstance(exc, FileStoreUnavailable):
        log.warning("job %s: the file store failed: %s", job_id, exc)
        return f"The job's files could not be stored or read ({exc}); run it again later."
    log.error("job %s: unexpected error: %s", job_id, without_values(exc))
    return unexpected


def send_or_fail(ctx: Context, kind: JobKind, job_id: str, input_bytes: int = 0) -> None:
    """Send a committed job to the workers; if the queue cannot be reached, end the job FAILED
    and raise ``QueueUnreachable``: a caller never reports a job started that is lost.
    ``input_bytes``, the size of the job's input file, chooses its queue."""
    try:
        ctx.enqueue(kind, job_id, input_bytes)
    except Exception:
        log.exception("job %s: could not reach the job queue", job_id)
        with ctx.engine.begin() as conn:
            job_rows.finish(conn, job_id, None, JobStatus.FAILED, error=NEVER_SENT)
        raise QueueUnreachable(QUEUE_DOWN, job_id) from None
