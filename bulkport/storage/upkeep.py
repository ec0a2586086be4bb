"""The scheduled upkeep's queries: stalled and forgotten jobs for the reaper, old files for
retention."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, or_, select, update

from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage.tables import jobs

FINISHED = [s.value for s in JobStatus if s.finished]


@dataclass(frozen=True)
class Stalled:
    """A job the reaper looks at: PROCESSING with a lapsed lease, or QUEUED for too long."""

    id: str
    kind: JobKind
    processing: bool
    attempts: int
    processed: int
    total: int | None
    input_file: str | None


@dataclass(frozen=True)
class Quiet:
    """How long a job may be still: its lease, and the time since anything happened to it."""

    moment: datetime
    lease_seconds: int
    quiet_seconds: int

    def stalled(self) -> ColumnElement[bool]:
        """PROCESSING and its lease lapsed: a live job's heartbeat renews it long before.
        A job sent again is touched, so it is sent at most once a lease while it waits for a
        worker to take it."""
        return and_(
            jobs.c.status == JobStatus.PROCESSING.value,
            jobs.c.lease_until < self.moment,
            jobs.c.updated_at < self.moment - timedelta(seconds=self.lease_seconds),
        )

    def forgotten(self) -> ColumnElement[bool]:
        """QUEUED, and nothing happened for a while."""
        return and_(jobs.c.status == JobStatus.QUEUED.value, jobs.c.updated_at < self.since())

    def since(self) -> datetime:
        """The moment before which a job counts as still."""
        return self.moment - timedelta(seconds=self.quiet_seconds)


def stalled_jobs(conn: Connection, quiet: Quiet) -> list[Stalled]:
    """Jobs stalled while PROCESSING or forgotten while QUEUED."""
    c = jobs.c
    query = select(c.id, c.kind, c.status, c.attempts, c.processed, c.total, c.input_file).where(
        or_(quiet.stalled(), quiet.forgotten())
    )
    return [
        Stalled(
            id=row.id,
            kind=JobKind(row.kind),
            processing=row.status == JobStatus.PROCESSING.value,
            attempts=row.attempts,
            processed=row.processed,
            total=row.total,
            input_file=row.input_file,
        )
        for row in conn.execute(query).all()
    ]


def end_stalled(conn: Connection, job_id: str, quiet: Quiet, error: str) -> bool:
    """End a job FAILED if it is still stalled (no worker took it up meanwhile)."""
    ended = conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, quiet.stalled())
        .values(
            status=JobStatus.FAILED.value,
            error=error,
            finished_at=quiet.moment,
            updated_at=quiet.moment,
            claim_token=None,
            lease_until=None,
        )
    ).rowcount
    return bool(ended)


def touch(conn: Connection, job_id: str, moment: datetime) -> None:
    """Mark that something happened to the job now."""
    conn.execute(update(jobs).where(jobs.c.id == job_id).values(updated_at=moment))


def files_due(conn: Connection, cutoff: datetime) -> list[str]:
    """Jobs finished before ``cutoff`` whose files are still kept."""
    query = select(jobs.c.id).where(
        jobs.c.status.in_(FINISHED),
        jobs.c.finished_at < cutoff,
        jobs.c.files_expired_at.is_(None),
    )
    return list(conn.execute(query).scalars())


def mark_files_expired(conn: Connection, job_id: str, moment: datetime) -> None:
    """Note that the job's files were deleted (its downloads then answer 410)."""
    conn.execute(update(jobs).where(jobs.c.id == job_id).values(files_expired_at=moment))


def jobs_keeping_files(conn: Connection, job_ids: Collection[str], cutoff: datetime) -> set[str]:
    """Those of ``job_ids`` whose files are still wanted: jobs running, or finished since
    ``cutoff``. Any other folder is a leftover (a job long ended, or none at all)."""
    ids = sorted(job_ids)
    kept: set[str] = set()
    for start in range(0, len(ids), 500):
        query = select(jobs.c.id).where(
            jobs.c.id.in_(ids[start : start + 500]),
            or_(jobs.c.status.not_in(FINISHED), jobs.c.finished_at >= cutoff),
        )
        kept.update(conn.execute(query).scalars())
    return kept
