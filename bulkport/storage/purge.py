"""The queries that remove deleted customers' traces: their stored values, the files and row
errors of the store's jobs, and the database's own leftovers (dead tuples, free pages, the WAL)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, inspect, select, update

from bulkport.schemas.jobs import JobStatus
from bulkport.storage import tables
from bulkport.storage.customer_records import PERSONAL_KEYS
from bulkport.storage.db import now
from bulkport.storage.tables import audit_events, customers, job_row_errors, jobs, pending_purges

FILE_COLUMNS = ("input_file", "report_file", "output_file")
FINISHED = [s.value for s in JobStatus if s.finished]
ERASED_MESSAGE = "Removed: the customer was deleted."
# Tables that hold what deleted customers were; VACUUM cleans them after a delete job.
_VACUUMED = (
    "customers", "job_row_errors", "customer_events", "jobs", "audit_events", "pending_purges",
)  # fmt: skip
_BATCH = 500


def personal_values(
    conn: Connection, store_id: int, customer_ids: Collection[int]
) -> Iterator[dict[str, Any]]:
    """The personal fields of the store's customers among ``customer_ids`` (others' ids are
    ignored), a dict per customer."""
    ids = list(customer_ids)
    columns = [customers.c[key] for key in PERSONAL_KEYS]
    for start in range(0, len(ids), _BATCH):
        query = select(*columns).where(
            customers.c.store_id == store_id, customers.c.id.in_(ids[start : start + _BATCH])
        )
        for row in conn.execute(query):
            yield dict(row._mapping)


@dataclass(frozen=True)
class StoredFile:
    """One file a job of the store keeps: which job, which column names it, its key."""

    job_id: str
    kind: str
    column: str
    key: str


def stored_files(conn: Connection, store_id: int, *, except_job: str | None) -> list[StoredFile]:
    """The files of the store's finished jobs whose files retention has not yet deleted."""
    query = select(jobs.c.id, jobs.c.kind, *(jobs.c[c] for c in FILE_COLUMNS)).where(
        jobs.c.store_id == store_id,
        jobs.c.status.in_(FINISHED),
        jobs.c.files_expired_at.is_(None),
    )
    found: list[StoredFile] = []
    for row in conn.execute(query.order_by(jobs.c.id)):
        if row.id == except_job:
            continue
        found.extend(
            StoredFile(row.id, row.kind, column, key)
            for column in FILE_COLUMNS
            if (key := row._mapping[column]) is not None
        )
    return found


@dataclass(frozen=True)
class EndedJob:
    """A finished job of the store that has files in the store: the keys its row still names
    (read by downloads and commits) and whether retention or a purge already let them go."""

    id: str
    named: frozenset[str]
    expired: bool


def ended_jobs(conn: Connection, store_id: int, job_ids: Collection[str]) -> list[EndedJob]:
    """The store's finished jobs among ``job_ids`` (other stores' and running jobs left out)."""
    ids = sorted(job_ids)
    found: list[EndedJob] = []
    for start in range(0, len(ids), _BATCH):
        query = select(
            jobs.c.id, jobs.c.files_expired_at, *(jobs.c[c] for c in FILE_COLUMNS)
        ).where(
            jobs.c.store_id == store_id,
            jobs.c.status.in_(FINISHED),
            jobs.c.id.in_(ids[start : start + _BATCH]),
        )
        found.extend(
            EndedJob(
                row.id,
                frozenset(k for c in FILE_COLUMNS if (k := row._mapping[c]) is not None),
                row.files_expired_at is not None,
            )
            for row in conn.execute(query.order_by(jobs.c.id))
        )
    return found


def mark_files_gone(conn: Connection, store_id: int, job_id: str, moment: datetime) -> None:
    """The job's folder was deleted whole: its downloads answer 410 from then on."""
    conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.store_id == store_id, jobs.c.files_expired_at.is_(None))
        .values(files_expired_at=moment)
    )


def forget_file(
    conn: Connection, store_id: int, job_id: str, column: str, moment: datetime | None
) -> None:
    """A deleted file no longer belongs to its job; with ``moment``, the job shows its files as
    deleted from then on (its downloads answer 410)."""
    values: dict[str, Any] = {column: None}
    if moment is not None:
        values["files_expired_at"] = moment
    conn.execute(
        update(jobs).where(jobs.c.id == job_id, jobs.c.store_id == store_id).values(**values)
    )


@dataclass(frozen=True)
class StoredError:
    """A row error that still holds a value or a message of its own."""

    id: int
    job_id: str
    row: int
    value: str | None
    message: str


def row_errors_of_store(conn: Connection, store_id: int) -> Iterator[StoredError]:
    """The row errors of the store's jobs not yet erased, streamed."""
    e = job_row_errors.c
    query = (
        select(e.id, e.job_id, e.row, e.value, e.message)
        .join(jobs, jobs.c.id == e.job_id)
        .where(jobs.c.store_id == store_id, e.message != ERASED_MESSAGE)
    )
    for row in conn.execute(query.execution_options(yield_per=5_000)):
        yield StoredError(row.id, row.job_id, row.row, row.value, row.message)


def erase_row_errors(conn: Connection, ids: Iterable[int]) -> None:
    """Forget the value and message of these row errors (the code and position stay)."""
    params = [{"error_id": i} for i in ids]
    if params:
        conn.execute(
            update(job_row_errors)
            .where(job_row_errors.c.id == bindparam("error_id"))
            .values(value=None, message=ERASED_MESSAGE),
            params,
        )


def erase_rows_of(conn: Connection, rows: Iterable[tuple[str, int]]) -> None:
    """Forget every error of these (job, row) pairs: all of a row is about one person."""
    params = [{"j": job_id, "r": row} for job_id, row in rows]
    if params:
        conn.execute(
            update(job_row_errors)
            .where(
                job_row_errors.c.job_id == bindparam("j"), job_row_errors.c.row == bindparam("r")
            )
            .values(value=None, message=ERASED_MESSAGE),
            params,
        )


# A job's JSON columns that quote its file: the headers it mapped or ignored (a file with no
# header row has a person's values as headers), and the sheet it read.
HEADER_COLUMNS = ("mapping", "ignored_columns", "source")


@dataclass(frozen=True)
class JobDetails:
    """What a job keeps that a person may have typed: its options (a file name, a search text),
    its error text, and what it kept of its file's header row (``HEADER_COLUMNS``)."""

    id: str
    options: dict[str, Any]
    error: str | None
    headers: dict[str, Any]


def job_details(conn: Connection, store_id: int) -> Iterator[JobDetails]:
    """Options, error text and kept headers of the store's jobs."""
    query = select(
        jobs.c.id, jobs.c.options, jobs.c.error, *(jobs.c[c] for c in HEADER_COLUMNS)
    ).where(jobs.c.store_id == store_id)
    for row in conn.execute(query):
        headers = {c: row._mapping[c] for c in HEADER_COLUMNS}
        yield JobDetails(row.id, dict(row.options or {}), row.error, headers)


def replace_job_details(conn: Connection, details: JobDetails) -> None:
    """Store a job's cleaned options, error text and headers."""
    conn.execute(
        update(jobs)
        .where(jobs.c.id == details.id)
        .values(options=details.options, error=details.error, **details.headers)
    )


def saved_mappings_of(conn: Connection, store_id: int) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """The store's saved mappings: id, name and columns (header → field)."""
    query = select(
        tables.saved_mappings.c.id, tables.saved_mappings.c.name, tables.saved_mappings.c.columns
    ).where(tables.saved_mappings.c.store_id == store_id)
    for row in conn.execute(query):
        yield row.id, row.name, dict(row.columns)


def replace_saved_mapping(conn: Connection, mapping_id: int, columns: dict[str, Any]) -> None:
    conn.execute(
        update(tables.saved_mappings)
        .where(tables.saved_mappings.c.id == mapping_id)
        .values(columns=columns)
    )


def delete_saved_mapping(conn: Connection, mapping_id: int) -> None:
    conn.execute(delete(tables.saved_mappings).where(tables.saved_mappings.c.id == mapping_id))


def clean_audit_details(
    conn: Connection, store_id: int, clean: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    """Replace audit details that ``clean`` changes: details hold ids and counts by design,
    but an upload's file name is the person's own words."""
    query = select(audit_events.c.id, audit_events.c.detail).where(
        audit_events.c.store_id == store_id
    )
    changed = []
    for row in conn.execute(query):
        detail = dict(row.detail or {})
        if (cleaned := clean(detail)) != detail:
            changed.append({"event_id": row.id, "detail": cleaned})
    if changed:
        conn.execute(
            update(audit_events)
            .where(audit_events.c.id == bindparam("event_id"))
            .values(detail=bindparam("detail")),
            changed,
        )


def remember_traces(conn: Connection, store_id: int, job_id: str, traces: dict[str, Any]) -> None:
    """Keep the traces of people erased in the caller's transaction until ``take_traces``."""
    conn.execute(
        insert(pending_purges).values(
            store_id=store_id, job_id=job_id, traces=traces, created_at=now()
        )
    )


def take_traces(conn: Connection, store_id: int, limit: int) -> list[dict[str, Any]]:
    """The oldest ``limit`` pending purges' traces of the store, removed in the caller's
    transaction: they are gone once that transaction, which purges what they name, commits."""
    query = select(pending_purges.c.id, pending_purges.c.traces).where(
        pending_purges.c.store_id == store_id
    )
    rows = conn.execute(query.order_by(pending_purges.c.id).limit(limit).with_for_update()).all()
    if rows:
        conn.execute(delete(pending_purges).where(pending_purges.c.id.in_([r.id for r in rows])))
    return [dict(r.traces) for r in rows]


def forget_database_leftovers(engine: Engine) -> None:
    """Remove what the database keeps of erased values besides the live rows.

    SQLite (``secure_delete`` is on for every connection, see ``db``): a checkpoint copies the
    WAL into the database, which zeroes freed space, then truncates the WAL to nothing.
    PostgreSQL: VACUUM turns the dead versions of erased rows into free space (it cannot run in
    a transaction, hence the autocommit connection).
    """
    if engine.dialect.name == "sqlite":
        # On the driver's connection: SQLAlchemy's would open a transaction (BEGIN IMMEDIATE),
        # and a checkpoint inside one cannot truncate the WAL.
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        finally:
            raw.close()
        return
    present = set(inspect(engine).get_table_names())
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in _VACUUMED:
            if name in present:
                conn.exec_driver_sql(f"VACUUM (ANALYZE) {name}")
