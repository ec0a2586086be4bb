"""Job rows: creating, claiming with a lease, checkpointed progress and state changes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from bulkport.errors import TransitionRefused
from bulkport.schemas.jobs import Counts, JobKind, JobStatus, RowErrorView, sources_of
from bulkport.storage.db import as_utc, now
from bulkport.storage.tables import job_row_errors, jobs

COUNTER_NAMES: tuple[str, ...] = (
    "processed",
    "succeeded",
    "failed",
    "skipped",
    "created",
    "updated",
    "unchanged",
)


@dataclass(frozen=True)
class Job:
    """A job row as the code uses it."""

    id: str
    store_id: int
    kind: JobKind
    status: JobStatus
    options: dict[str, Any]
    counts: Counts
    checkpoint: int
    attempts: int
    created_by: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    lease_until: datetime | None
    input_file: str | None
    report_file: str | None
    mapping: dict[str, str] | None
    ignored_columns: list[str] | None
    source: dict[str, Any] | None
    output_file: str | None
    backup_job_id: str | None
    files_expired_at: datetime | None
    error: str | None
    chunks: int | None = None  # a split import: the number of its chunks


def _job(row: Any) -> Job:
    m = row._mapping
    return Job(
        id=m["id"],
        store_id=m["store_id"],
        kind=JobKind(m["kind"]),
        status=JobStatus(m["status"]),
        options=dict(m["options"] or {}),
        counts=Counts(total=m["total"], **{name: m[name] for name in COUNTER_NAMES}),
        checkpoint=m["checkpoint"],
        attempts=m["attempts"],
        created_by=m["created_by"],
        created_at=as_utc(m["created_at"]),  # type: ignore[arg-type]
        started_at=as_utc(m["started_at"]),
        finished_at=as_utc(m["finished_at"]),
        lease_until=as_utc(m["lease_until"]),
        input_file=m["input_file"],
        report_file=m["report_file"],
        mapping=m["mapping"],
        ignored_columns=m["ignored_columns"],
        source=m["source"],
        output_file=m["output_file"],
        backup_job_id=m["backup_job_id"],
        files_expired_at=as_utc(m["files_expired_at"]),
        error=m["error"],
        chunks=m["chunks"],
    )


def create_job(
    conn: Connection,
    *,
    store_id: int,
    kind: JobKind,
    options: dict[str, Any],
    created_by: int | None,
    idempotency_key: str | None = None,
    job_id: str | None = None,
) -> str:
    """A new QUEUED job; returns its id (generated unless given)."""
    job_id = job_id or new_job_id()
    moment = now()
    conn.execute(
        insert(jobs).values(
            id=job_id,
            store_id=store_id,
            kind=kind.value,
            status=JobStatus.QUEUED.value,
            options=options,
            idempotency_key=kept_key(idempotency_key),
            created_by=created_by,
            created_at=moment,
            updated_at=moment,
        )
    )
    return job_id


def kept_key(key: str | None) -> str | None:
    """What a job keeps of a client's idempotency key: its SHA-256 only. A key is only ever
    compared, and a client may build it from what it sends (an email), which no purge reads."""
    return None if key is None else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


# Longest error text a job keeps.
MAX_ERROR_CHARS = 2000


def new_job_id() -> str:
    """A fresh, unguessable job id."""
    return uuid.uuid4().hex


def set_input_file(conn: Connection, job_id: str, key: str) -> None:
    """Record where the job's uploaded file is stored."""
    conn.execute(update(jobs).where(jobs.c.id == job_id).values(input_file=key))


def get_job(conn: Connection, store_id: int, job_id: str) -> Job | None:
    """A store's job, or None: another store's job does not exist for the caller."""
    row = conn.execute(select(jobs).where(jobs.c.id == job_id, jobs.c.store_id == store_id)).first()
    return _job(row) if row else None


def job_for_worker(conn: Connection, job_id: str) -> Job | None:
    """A job by id alone: the worker's task carries the id and nothing else."""
    row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
    return _job(row) if row else None


def find_by_idempotency_key(conn: Connection, store_id: int, key: str) -> Job | None:
    """The job a store already started under this idempotency key."""
    row = conn.execute(
        select(jobs).where(jobs.c.store_id == store_id, jobs.c.idempotency_key == kept_key(key))
    ).first()
    return _job(row) if row else None


def list_jobs(
    conn: Connection,
    store_id: int,
    *,
    kind: JobKind | None = None,
    status: JobStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Job]:
    """A store's jobs, newest first."""
    query = select(jobs).where(jobs.c.store_id == store_id)
    if kind is not None:
        query = query.where(jobs.c.kind == kind.value)
    if status is not None:
        query = query.where(jobs.c.status == status.value)
    query = query.order_by(jobs.c.created_at.desc(), jobs.c.id).limit(limit).offset(offset)
    return [_job(row) for row in conn.execute(query)]


@dataclass(frozen=True)
class Claimed:
    """This delivery owns the job until ``lease_until``; it must present ``token``."""

    job: Job
    token: str


@dataclass(frozen=True)
class Busy:
    """Another delivery holds a live claim on the job."""

    retry_after: float


@dataclass(frozen=True)
class Finished:
    """The job is over (or gone); nothing to do."""

    status: JobStatus | None


def claim(
    conn: Connection,
    job_id: str,
    lease_seconds: int,
    max_attempts: int = 5,
    gave_up: Callable[[int, int, int | None], str] | None = None,
) -> Claimed | Busy | Finished:
    """Take the job for this delivery with one conditional UPDATE.

    A QUEUED job, or a PROCESSING one whose lease ran out (its worker died), is claimed; a
    second delivery while the first still renews its lease gets ``Busy`` and changes nothing.
    A job already started ``max_attempts`` times (one that kills its worker, say) is not run
    again: it ends FAILED with the message ``gave_up`` writes. A split import is never claimed
    here: its chunks carry it (``Finished`` with its status; ``chunks.claim_finish`` ends it).
    """
    moment = now()
    token = secrets.token_hex(16)
    expired = and_(
        jobs.c.status == JobStatus.PROCESSING.value,
        jobs.c.lease_until < moment,
        jobs.c.chunks.is_(None),
    )
    if gave_up is not None:
        tired = conn.execute(
            select(jobs.c.attempts, jobs.c.processed, jobs.c.total).where(
                jobs.c.id == job_id, expired, jobs.c.attempts >= max_attempts
            )
        ).first()
        if tired is not None:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, expired)
                .values(
                    status=JobStatus.FAILED.value,
                    error=gave_up(tired.attempts, tired.processed, tired.total),
                    finished_at=moment,
                    updated_at=moment,
                    claim_token=None,
                    lease_until=None,
                )
            )
            return Finished(JobStatus.FAILED)
    claimable = or_(jobs.c.status == JobStatus.QUEUED.value, expired)
    result = conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, claimable)
        .values(
            status=JobStatus.PROCESSING.value,
            claim_token=token,
            lease_until=moment + timedelta(seconds=lease_seconds),
            attempts=jobs.c.attempts + 1,
            started_at=func.coalesce(jobs.c.started_at, moment),
            updated_at=moment,
        )
    )
    job = job_for_worker(conn, job_id)
    if job is None:
        return Finished(None)
    if result.rowcount == 1:
        return Claimed(job, token)
    if job.status.finished or job.chunks is not None:
        return Finished(job.status)
    lease = job.lease_until or moment
    return Busy(max(1.0, (lease - moment).total_seconds()))


def _owned(job_id: str, token: str) -> Any:
    return and_(
        jobs.c.id == job_id,
        jobs.c.claim_token == token,
        jobs.c.status == JobStatus.PROCESSING.value,
    )


def record_plan(
    conn: Connection,
    job_id: str,
    token: str,
    *,
    total: int,
    mapping: dict[str, str],
    ignored_columns: Sequence[str],
    source: dict[str, Any],
) -> None:
    """Record what the job found in its file before the first batch."""
    _must(
        conn.execute(
            update(jobs)
            .where(_owned(job_id, token))
            .values(
                total=total,
                mapping=mapping,
                ignored_columns=list(ignored_columns),
                source=source,
            )
        ).rowcount
    )


def advance(
    conn: Connection,
    job_id: str,
    token: str,
    *,
    expected_checkpoint: int,
    rows: int,
    counts: dict[str, int],
    lease_seconds: int,
) -> None:
    """Add one batch's counters and move the checkpoint, renewing the lease.

    Runs inside the batch's transaction; if the claim was lost or the checkpoint moved, it
    raises and the whole batch rolls back, so no row is applied twice.
    """
    moment = now()
    values: dict[str, Any] = {
        name: getattr(jobs.c, name) + counts.get(name, 0) for name in COUNTER_NAMES
    }
    values.update(
        checkpoint=expected_checkpoint + rows,
        lease_until=moment + timedelta(seconds=lease_seconds),
        updated_at=moment,
    )
    _must(
        conn.execute(
            update(jobs)
            .where(_owned(job_id, token), jobs.c.checkpoint == expected_checkpoint)
            .values(**values)
        ).rowcount
    )


def finish(
    conn: Connection,
    job_id: str,
    token: str | None,
    status: JobStatus,
    *,
    error: str | None = None,
    report_file: str | None = None,
    output_file: str | None = None,
) -> bool:
    """Move a job to a final state; with a token, only while that claim still holds.
    The error is kept to ``MAX_ERROR_CHARS``: a message quoting a file is for a person."""
    moment = now()
    if error is not None and len(error) > MAX_ERROR_CHARS:
        error = error[: MAX_ERROR_CHARS - 1] + "…"
    condition = jobs.c.id == job_id
    if token is not None:
        condition = _owned(job_id, token)
    result = conn.execute(
        update(jobs)
        .where(condition, jobs.c.status.in_([s.value for s in sources_of(status)]))
        .values(
            status=status.value,
            error=error,
            report_file=report_file,
            output_file=output_file,
            finished_at=moment,
            updated_at=moment,
            claim_token=None,
            lease_until=None,
        )
    )
    return result.rowcount == 1


def start_over(conn: Connection, job_id: str, token: str, *, total: int) -> None:
    """Reset the counters of a job that is done again from the start (an export)."""
    values: dict[str, Any] = {name: 0 for name in COUNTER_NAMES}
    _must(
        conn.execute(
            update(jobs).where(_owned(job_id, token)).values(total=total, checkpoint=0, **values)
        ).rowcount
    )


def set_backup(conn: Connection, job_id: str, token: str, backup_job_id: str) -> None:
    """Link an import to the export of the customers made before it changed any."""
    _must(
        conn.execute(
            update(jobs).where(_owned(job_id, token)).values(backup_job_id=backup_job_id)
        ).rowcount
    )


def renew(conn: Connection, job_id: str, token: str, lease_seconds: int) -> bool:
    """Extend this delivery's lease; False once the claim is gone (the job ended, was
    cancelled or was taken over), when the one renewing should stop."""
    moment = now()
    result = conn.execute(
        update(jobs)
        .where(_owned(job_id, token))
        .values(lease_until=moment + timedelta(seconds=lease_seconds))
    )
    return result.rowcount == 1


def release(conn: Connection, job_id: str, token: str) -> None:
    """End this delivery's lease early so a retry can claim the job straight away."""
    conn.execute(update(jobs).where(_owned(job_id, token)).values(lease_until=now()))


def _must(rowcount: int) -> None:
    if rowcount != 1:
        raise TransitionRefused("this worker no longer holds the job")


def add_row_errors(conn: Connection, job_id: str, errors: Iterable[RowErrorView]) -> None:
    """Store a batch's row errors (in the batch's transaction)."""
    rows = [{"job_id": job_id, **error.model_dump()} for error in errors]
    if rows:
        conn.execute(insert(job_row_errors), rows)


def _error_views() -> Any:
    return select(
        job_row_errors.c.row,
        job_row_errors.c.column,
        job_row_errors.c.field,
        job_row_errors.c.code,
        job_row_errors.c.message,
        job_row_errors.c.value,
    )


def row_errors(conn: Connection, job_id: str, *, offset: int, limit: int) -> list[RowErrorView]:
    """A page of a job's row errors, in spreadsheet order."""
    query = (
        _error_views()
        .where(job_row_errors.c.job_id == job_id)
        .order_by(job_row_errors.c.row, job_row_errors.c.id)
        .offset(offset)
        .limit(limit)
    )
    return [RowErrorView(**row._mapping) for row in conn.execute(query)]


def error_counts(conn: Connection, job_id: str) -> dict[str, int]:
    """How many of a job's rows failed with each error code."""
    query = (
        select(job_row_errors.c.code, func.count(func.distinct(job_row_errors.c.row)))
        .where(job_row_errors.c.job_id == job_id)
        .group_by(job_row_errors.c.code)
    )
    return {str(code): int(n) for code, n in conn.execute(query)}


def failed_row_messages(conn: Connection, job_id: str) -> Iterable[tuple[int, str]]:
    """Each failed row's number with its messages joined, in row order (for the report)."""
    query = (
        select(job_row_errors.c.row, job_row_errors.c.column, job_row_errors.c.message)
        .where(job_row_errors.c.job_id == job_id)
        .order_by(job_row_errors.c.row, job_row_errors.c.id)
    )
    current: int | None = None
    parts: list[str] = []
    for row, column, message in conn.execute(query):
        if row != current and current is not None:
            yield current, "; ".join(parts)
            parts = []
        current = row
        parts.append(f"{column}: {message}" if column else message)
    if current is not None:
        yield current, "; ".join(parts)


def rows_failed_only_with(conn: Connection, job_id: str, codes: Iterable[str]) -> list[int]:
    """The numbers of the job's failed rows whose every error has one of ``codes``, in order."""
    codes = list(codes)
    other = select(job_row_errors.c.row).where(
        job_row_errors.c.job_id == job_id, job_row_errors.c.code.not_in(codes)
    )
    query = (
        select(job_row_errors.c.row)
        .where(
            job_row_errors.c.job_id == job_id,
            job_row_errors.c.code.in_(codes),
            job_row_errors.c.row.not_in(other),
        )
        .distinct()
        .order_by(job_row_errors.c.row)
    )
    return [int(row) for row in conn.scalars(query)]


def errors_of_rows(conn: Connection, job_id: str, first: int, last: int) -> list[RowErrorView]:
    """The job's row errors on rows ``first`` to ``last``, in spreadsheet order."""
    query = (
        _error_views()
        .where(
            job_row_errors.c.job_id == job_id,
            job_row_errors.c.row >= first,
            job_row_errors.c.row <= last,
        )
        .order_by(job_row_errors.c.row, job_row_errors.c.id)
    )
    return [RowErrorView(**row._mapping) for row in conn.execute(query)]
