"""How a job ends when something goes wrong: the same rules for every kind of job."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, OperationalError

from bulkport.errors import FileStoreUnavailable, JobProblem, QueueUnreachable, TransitionRefused
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage import chunks as chunk_rows
from bulkport.storage import job_rows
from bulkport.tasks.context import Context
from bulkport.tasks.heartbeat import lease_kept

log = logging.getLogger(__name__)
# Exceptions that mean "the job ran out of time"; the worker fills this in with Celery's.
TIME_LIMIT_ERRORS: tuple[type[BaseException], ...] = ()
NEVER_SENT = "The job queue could not be reached, so the job never ran. Start it again in a moment."
QUEUE_DOWN = (
    "The job queue cannot be reached right now, so the job was not started. Try again in a moment."
)
TIME_LIMIT = (
    "The job ran longer than its time limit and was stopped. Rows counted as processed were "
    "kept; the rest were not. Split the file, or ask your administrator to raise the limit."
)


@contextmanager
def settled(
    ctx: Context, job_id: str, token: str, unexpected: str, chunk: int | None = None
) -> Iterator[None]:
    """Run a claimed job's work, its lease renewed while it runs (``heartbeat``); whatever
    goes wrong leaves the job in a clear state. With ``chunk``, the claim is on that chunk of
    a split import, and a failure in it fails the whole job.

    - the claim was lost to another delivery: stop quietly, that delivery owns the job;
    - a file or job problem (``JobProblem``): FAILED with its message for the person;
    - the database went away: give the job back at once and re-raise, so the task retries;
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
        message = _failure(job_id, exc, unexpected)
        with ctx.engine.begin() as conn:
            job_rows.finish(conn, job_id, job_token, JobStatus.FAILED, error=message)


def _failure(job_id: str, exc: Exception, unexpected: str) -> str:
    """What a FAILED job tells the person, for an error that is not theirs."""
    if isinstance(exc, TIME_LIMIT_ERRORS):
        log.warning("job %s: stopped at its time limit", job_id)
        return TIME_LIMIT
    if isinstance(exc, FileStoreUnavailable):
        log.warning("job %s: the file store failed: %s", job_id, exc)
        return f"The job's files could not be stored or read ({exc}); run it again later."
    log.error("job %s: unexpected error: %s", job_id, without_values(exc))
    return unexpected


def without_values(exc: BaseException) -> str:
    """An unexpected error for the log: its type, the database's error code and where it was
    raised, never its message, which may quote a customer's values (a database's "Key
    (email)=(…) already exists", a parser's input)."""
    kind = type(exc).__name__
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "sqlite_errorname", None)
        kind = f"{kind} from {type(exc.orig).__name__}" + (f" ({code})" if code else "")
    frames = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    return f"{kind}\n{frames}"


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
        raise QueueUnreachable(QUEUE_DOWN) from None
