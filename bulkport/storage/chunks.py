"""Chunk rows of a split import: created with the split, claimed with a lease, checkpointed,
counted done; and the one claim that lets a single worker finish the job."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, exists, insert, or_, select, update

from bulkport.errors import TransitionRefused
from bulkport.schemas.jobs import JobStatus
from bulkport.storage.db import as_utc, now
from bulkport.storage.job_rows import COUNTER_NAMES, Busy, Finished, finish
from bulkport.storage.tables import import_chunks, jobs

# The chunk's own counters (the job's are their sum, added batch by batch).
CHUNK_COUNTERS = ("created", "updated", "failed")


class ChunkStatus(StrEnum):
    """A chunk's life: QUEUED → PROCESSING → DONE (PROCESSING again after its worker died)."""

    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"


@dataclass(frozen=True)
class ChunkSpan:
    """Where a chunk lies in the file: its first data row's number and its row count."""

    first_row: int
    rows: int


@dataclass(frozen=True)
class Chunk:
    """A chunk row as the code uses it."""

    job_id: str
    number: int
    first_row: int
    rows: int
    status: ChunkStatus
    checkpoint: int
    attempts: int
    lease_until: datetime | None


def _chunk(row: Any) -> Chunk:
    m = row._mapping
    return Chunk(
        job_id=m["job_id"],
        number=m["number"],
        first_row=m["first_row"],
        rows=m["rows"],
        status=ChunkStatus(m["status"]),
        checkpoint=m["checkpoint"],
        attempts=m["attempts"],
        lease_until=as_utc(m["lease_until"]),
    )


def split_job(conn: Connection, job_id: str, token: str, spans: Sequence[ChunkSpan]) -> None:
    """Record the job's chunks and hand the job to them: its own claim ends here (the chunks
    hold leases of their own). One transaction: a job is split whole or not at all."""
    moment = now()
    released = conn.execute(
        update(jobs)
        .where(
            jobs.c.id == job_id,
            jobs.c.claim_token == token,
            jobs.c.status == JobStatus.PROCESSING.value,
        )
        .values(chunks=len(spans), claim_token=None, lease_until=None, updated_at=moment)
    ).rowcount
    if released != 1:
        raise TransitionRefused("this worker no longer holds the job")
    conn.execute(
        insert(import_chunks),
        [
            {
                "job_id": job_id,
                "number": number,
                "first_row": span.first_row,
                "rows": span.rows,
                "status": ChunkStatus.QUEUED.value,
                "updated_at": moment,
            }
            for number, span in enumerate(spans)
        ],
    )


def chunks_of(conn: Connection, job_id: str) -> list[Chunk]:
    """A split job's chunks, in file order."""
    query = select(import_chunks).where(import_chunks.c.job_id == job_id)
    return [_chunk(row) for row in conn.execute(query.order_by(import_chunks.c.number))]


@dataclass(frozen=True)
class ChunkClaimed:
    """This delivery owns the chunk until its lease ends; it must present ``token``."""

    chunk: Chunk
    token: str


def _job_running(job_id: str) -> Any:
    return exists().where(jobs.c.id == job_id, jobs.c.status == JobStatus.PROCESSING.value)


def claim(
    conn: Connection,
    job_id: str,
    number: int,
    lease_seconds: int,
    max_attempts: int,
    gave_up: Callable[[int, int, int | None], str],
) -> ChunkClaimed | Busy | Finished:
    """Take a chunk with one conditional UPDATE: QUEUED, or PROCESSING with its lease lapsed
    (its worker died), and its job still PROCESSING.

    ``Finished`` when there is nothing to do: the chunk is done or its job is over. A chunk
    already started ``max_attempts`` times ends its job FAILED with the message ``gave_up``
    writes, as a job started too often does.
    """
    moment = now()
    token = secrets.token_hex(16)
    c = import_chunks.c
    this = and_(c.job_id == job_id, c.number == number)
    lapsed = or_(
        c.status == ChunkStatus.QUEUED.value,
        and_(c.status == ChunkStatus.PROCESSING.value, c.lease_until < moment),
    )
    tired = conn.execute(
        select(c.attempts, jobs.c.processed, jobs.c.total)
        .join(jobs, jobs.c.id == c.job_id)
        .where(this, lapsed, c.attempts >= max_attempts, _job_running(job_id))
    ).first()
    if tired is not None:
        error = gave_up(tired.attempts, tired.processed, tired.total)
        finish(conn, job_id, None, JobStatus.FAILED, error=error)
        return Finished(JobStatus.FAILED)
    result = conn.execute(
        update(import_chunks)
        .where(this, lapsed, _job_running(job_id))
        .values(
            status=ChunkStatus.PROCESSING.value,
            claim_token=token,
            lease_until=moment + timedelta(seconds=lease_seconds),
            attempts=c.attempts + 1,
            updated_at=moment,
        )
    )
    row = conn.execute(select(import_chunks).where(this)).first()
    job = conn.execute(select(jobs.c.status).where(jobs.c.id == job_id)).scalar()
    if row is None or job is None:
        return Finished(None)
    chunk = _chunk(row)
    if result.rowcount == 1:
        return ChunkClaimed(chunk, token)
    if chunk.status is ChunkStatus.DONE or job != JobStatus.PROCESSING.value:
        return Finished(JobStatus(job))
    held = chunk.lease_until or moment
    return Busy(max(1.0, (held - moment).total_seconds()))


def _owned(job_id: str, number: int, token: str) -> Any:
    c = import_chunks.c
    return and_(
        c.job_id == job_id,
        c.number == number,
        c.claim_token == token,
        c.status == ChunkStatus.PROCESSING.value,
    )


def renew(conn: Connection, job_id: str, number: int, token: str, lease_seconds: int) -> bool:
    """Extend this delivery's lease on the chunk; False once the claim is gone."""
    moment = now()
    result = conn.execute(
        update(import_chunks)
        .where(_owned(job_id, number, token), _job_running(job_id))
        .values(lease_until=moment + timedelta(seconds=lease_seconds))
    )
    return result.rowcount == 1


def advance(
    conn: Connection,
    job_id: str,
    number: int,
    token: str,
    *,
    expected_checkpoint: int,
    rows: int,
    counts: dict[str, int],
    lease_seconds: int,
) -> None:
    """Move the chunk's checkpoint and add the batch's counters to the chunk and to its job
    (the job shows live progress), in the batch's transaction.

    Raises ``TransitionRefused`` (the batch rolls back) when the claim was lost, the checkpoint
    moved, or the job is no longer PROCESSING (cancelled, or failed by another chunk).
    """
    moment = now()
    c = import_chunks.c
    chunk_values: dict[str, Any] = {
        name: getattr(c, name) + counts.get(name, 0) for name in CHUNK_COUNTERS
    }
    moved = conn.execute(
        update(import_chunks)
        .where(_owned(job_id, number, token), c.checkpoint == expected_checkpoint)
        .values(
            checkpoint=expected_checkpoint + rows,
            lease_until=moment + timedelta(seconds=lease_seconds),
            updated_at=moment,
            **chunk_values,
        )
    ).rowcount
    job_values: dict[str, Any] = {
        name: getattr(jobs.c, name) + counts.get(name, 0) for name in COUNTER_NAMES
    }
    counted = conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == JobStatus.PROCESSING.value)
        .values(updated_at=moment, **job_values)
    ).rowcount
    if moved != 1 or counted != 1:
        raise TransitionRefused("this worker no longer holds the chunk")


def complete(conn: Connection, job_id: str, number: int, token: str) -> None:
    """Mark the chunk DONE (only while this delivery holds it)."""
    done = conn.execute(
        update(import_chunks)
        .where(_owned(job_id, number, token))
        .values(status=ChunkStatus.DONE.value, claim_token=None, lease_until=None, updated_at=now())
    ).rowcount
    if done != 1:
        raise TransitionRefused("this worker no longer holds the chunk")


def release(conn: Connection, job_id: str, number: int, token: str) -> None:
    """End this delivery's lease early so a retry can claim the chunk straight away."""
    conn.execute(
        update(import_chunks).where(_owned(job_id, number, token)).values(lease_until=now())
    )


def _chunks_left(job_id: Any) -> Any:
    return exists().where(
        import_chunks.c.job_id == job_id, import_chunks.c.status != ChunkStatus.DONE.value
    )


def claim_finish(conn: Connection, job_id: str, lease_seconds: int) -> str | None:
    """The claim on a split job of the one worker that writes its report and ends it: granted
    by one conditional UPDATE only when every chunk is DONE and no live finisher holds the job,
    so of two workers racing to it exactly one wins. Returns its token, or None."""
    moment = now()
    token = secrets.token_hex(16)
    won = conn.execute(
        update(jobs)
        .where(
            jobs.c.id == job_id,
            jobs.c.status == JobStatus.PROCESSING.value,
            jobs.c.chunks.is_not(None),
            or_(jobs.c.claim_token.is_(None), jobs.c.lease_until < moment),
            ~_chunks_left(job_id),
        )
        .values(
            claim_token=token,
            lease_until=moment + timedelta(seconds=lease_seconds),
            updated_at=moment,
        )
    ).rowcount
    return token if won == 1 else None


@dataclass(frozen=True)
class StalledChunk:
    """A chunk the reaper looks at: its lease lapsed, or QUEUED for too long."""

    job_id: str
    number: int


def stalled_chunks(
    conn: Connection, moment: datetime, lease_seconds: int, queued_since: datetime
) -> list[StalledChunk]:
    """Chunks of running jobs whose worker stopped renewing, or that waited too long: a chunk
    sent again is touched, so it is sent at most once a lease while it waits."""
    c = import_chunks.c
    lapsed = and_(
        c.status == ChunkStatus.PROCESSING.value,
        c.lease_until < moment,
        c.updated_at < moment - timedelta(seconds=lease_seconds),
    )
    forgotten = and_(c.status == ChunkStatus.QUEUED.value, c.updated_at < queued_since)
    query = (
        select(c.job_id, c.number)
        .join(jobs, jobs.c.id == c.job_id)
        .where(jobs.c.status == JobStatus.PROCESSING.value, or_(lapsed, forgotten))
        .order_by(c.job_id, c.number)
    )
    return [StalledChunk(row.job_id, row.number) for row in conn.execute(query)]


def touch(conn: Connection, job_id: str, number: int, moment: datetime) -> None:
    """Note that the chunk was sent again now."""
    conn.execute(
        update(import_chunks)
        .where(import_chunks.c.job_id == job_id, import_chunks.c.number == number)
        .values(updated_at=moment)
    )


def unfinished_splits(conn: Connection, before: datetime) -> list[tuple[str, str | None]]:
    """Split jobs whose chunks are all DONE but that nobody finished (the worker that should
    have died first), quiet since ``before``: their ids and input files."""
    query = select(jobs.c.id, jobs.c.input_file).where(
        jobs.c.status == JobStatus.PROCESSING.value,
        jobs.c.chunks.is_not(None),
        jobs.c.claim_token.is_(None),
        jobs.c.updated_at < before,
        ~_chunks_left(jobs.c.id),
    )
    return [(row.id, row.input_file) for row in conn.execute(query)]
