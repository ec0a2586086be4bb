"""A large import split into chunks, run in this process on SQLite and PostgreSQL: the same
outcome as one pass, one finish, chunks taken up again, cancel and give-up."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from support import (
    assert_counts_add_up,
    csv_text,
    get_job,
    holding_chunks,
    stage_import,
    stored_customers,
)
from xlsx_parts import inline_workbook

from bulkport.config import Settings
from bulkport.schemas.accounts import Role
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage import accounts, job_rows
from bulkport.storage import chunks as chunk_rows
from bulkport.storage.accounts import User
from bulkport.storage.db import now
from bulkport.storage.tables import import_chunks
from bulkport.tasks import pipeline
from bulkport.tasks.chunks import chunks_prefix, finish_split, run_chunk
from bulkport.tasks.context import Context
from bulkport.tasks.imports import run_import
from bulkport.tasks.job_lifecycle import gave_up_message
from bulkport.tasks.reaper import reap

HEADER = ["Customer Record ID", "First Name", "Last Name", "Email", "Date of Birth", "Notes"]
ROWS = 2000
CHUNK_ROWS = 500


def upload_rows() -> list[list[str]]:
    """2,000 rows cut into four chunks of 500, with what chunks must agree on: repeated keys
    within and across chunks (one across a boundary), a date order only row 1,952 (chunk
    four) settles, updates of stored customers, failing and blank rows."""
    rows = []
    for i in range(ROWS):
        email = f"p{i}@example.com" if i % 97 else f"p{i}@@example.com"
        row = ["", f"First{i}", f"Last{i}", email, "03/04/1990", ""]
        if 400 <= i < 420:
            row[3], row[5] = f"seed{i - 400}@example.com", "updated"
        rows.append(row)
    rows[10][3] = rows[700][3] = "early@example.com"  # repeated from chunk one in chunk two
    rows[700][3] = "EARLY@example.com"
    rows[499][3], rows[500][3] = "edge@example.com", "Edge@example.com"  # across a boundary
    rows[30][0] = rows[1500][0] = "999999"  # no such customer, then a repeat of that id
    rows[40][3] = rows[45][3] = "same@example.com"  # repeated within a chunk
    rows[1900] = [""] * len(HEADER)  # blank: skipped
    rows[1950][4] = "12/25/1990"  # only a month-first reading fits: the file is m/d/y
    return rows


def seed(ctx: Context, user: User) -> None:
    """Twenty stored customers the upload updates by email."""
    from bulkport.storage import customer_writes

    with ctx.engine.begin() as conn:
        customer_writes.insert_many(
            conn,
            user.store_id,
            [{"email": f"seed{k}@example.com", "first_name": f"Seed{k}"} for k in range(20)],
        )


def other_store(ctx: Context) -> User:
    with ctx.engine.begin() as conn:
        store_id = accounts.ensure_store(conn, "south")
        return accounts.ensure_user(conn, store_id, "admin@south.example", Role.ADMIN)


@pytest.fixture
def split_ctx(settings: Settings) -> Iterator[Context]:
    """A context that splits imports of more than 500 rows (chunks run in this process)."""
    context = Context.from_settings(settings.model_copy(update={"chunk_rows": CHUNK_ROWS}))
    yield context
    context.close()


def outcome(ctx: Context, user: User, job: job_rows.Job) -> dict[str, Any]:
    """What an import left: counters, row errors, report, customers (without ids, times and
    the job that created each)."""
    with ctx.engine.connect() as conn:
        errors = job_rows.row_errors(conn, job.id, offset=0, limit=10_000)
    report: object = None
    if job.report_file is not None:
        with ctx.files.open(job.report_file) as handle:
            report = data = handle.read()
        if job.report_file.endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(data)) as book:
                # The parts holding the rows; docProps and the zip's times hold the moment.
                names = [n for n in book.namelist() if not n.startswith("docProps/")]
                report = {name: book.read(name) for name in names}
    skip = {"id", "store_id", "created_at", "updated_at", "created_by_job"}  # job ids differ
    people = [
        {k: v for k, v in row.items() if k not in skip} for row in stored_customers(ctx, user)
    ]
    return {
        "status": job.status,
        "counts": job.counts,
        "errors": [e.model_dump() for e in errors],
        "report": report,
        "customers": people,
    }


@pytest.mark.parametrize(("fmt", "dry_run"), [("csv", False), ("csv", True), ("xlsx", False)])
def test_a_split_import_ends_exactly_as_the_same_import_in_one_pass(
    ctx: Context, split_ctx: Context, admin: User, fmt: str, dry_run: bool
) -> None:
    south = other_store(ctx)
    seed(ctx, admin)
    seed(ctx, south)
    rows = [HEADER, *upload_rows()]
    content = csv_text(rows) if fmt == "csv" else inline_workbook(rows)
    name = f"customers.{fmt}"

    whole_id = stage_import(ctx, admin, content, filename=name, dry_run=dry_run)
    run_import(ctx, whole_id)
    whole = get_job(ctx, admin, whole_id)
    split_id = stage_import(split_ctx, south, content, filename=name, dry_run=dry_run)
    run_import(split_ctx, split_id)
    split = get_job(split_ctx, south, split_id)

    assert (whole.chunks, split.chunks) == (None, ROWS // CHUNK_ROWS)
    assert split.status is JobStatus.READY, split.error
    assert_counts_add_up(split)
    assert outcome(split_ctx, south, split) == outcome(ctx, admin, whole)
    codes = {(e["row"], e["code"]) for e in outcome(split_ctx, south, split)["errors"]}
    assert {(702, "duplicate_in_file"), (502, "duplicate_in_file")} <= codes
    assert {(32, "not_found"), (1502, "duplicate_in_file"), (47, "duplicate_in_file")} <= codes
    assert not split_ctx.files.exists(f"{chunks_prefix(split_id)}/0/rows")
    if not dry_run:
        by_email = {row["email"]: row for row in stored_customers(split_ctx, south)}
        assert str(by_email["p1@example.com"]["date_of_birth"]) == "1990-03-04"
        assert by_email["seed3@example.com"]["notes"] == "updated"


def split_but_not_run(split_ctx: Context, user: User, rows: int = 1200) -> str:
    """A split import whose chunks were sent but not yet run; returns its id."""
    sending, sent = holding_chunks(split_ctx)
    people = [["", f"F{i}", "L", f"q{i}@example.com", "", ""] for i in range(rows)]
    job_id = stage_import(sending, user, csv_text([HEADER, *people]))
    run_import(sending, job_id)
    assert sent == [(job_id, n) for n in range(-(-rows // CHUNK_ROWS))]
    return job_id


def test_the_backup_before_a_split_import_is_made_once_before_its_chunks(
    split_ctx: Context, admin: User
) -> None:
    seed(split_ctx, admin)
    people = [["", f"F{i}", "L", f"q{i}@example.com", "", ""] for i in range(1200)]
    job_id = stage_import(split_ctx, admin, csv_text([HEADER, *people]), backup=True)
    run_import(split_ctx, job_id)
    job = get_job(split_ctx, admin, job_id)
    assert (job.status, job.chunks, job.counts.created) == (JobStatus.READY, 3, 1200)
    with split_ctx.engine.connect() as conn:
        exports = job_rows.list_jobs(conn, admin.store_id, kind=JobKind.EXPORT)
    assert [export.id for export in exports] == [job.backup_job_id]
    assert exports[0].status is JobStatus.READY
    assert exports[0].counts.succeeded == 20  # the customers before the import, no more


def test_only_one_of_two_workers_racing_to_the_end_finishes_the_job(
    split_ctx: Context, admin: User
) -> None:
    job_id = split_but_not_run(split_ctx, admin)
    for number in range(2):
        run_chunk(split_ctx, job_id, number)
    # The last chunk done, but neither worker has ended the job yet.
    with split_ctx.engine.begin() as conn:
        claim = chunk_rows.claim(conn, job_id, 2, 15, 5, gave_up_message)
        assert isinstance(claim, chunk_rows.ChunkClaimed)
        chunk_rows.complete(conn, job_id, 2, claim.token)
    start = threading.Barrier(2)
    won: list[bool] = []

    def finisher() -> None:
        start.wait()
        won.append(finish_split(split_ctx, job_id))

    threads = [threading.Thread(target=finisher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(won) == [False, True]
    job = get_job(split_ctx, admin, job_id)
    assert job.status is JobStatus.READY
    assert finish_split(split_ctx, job_id) is False  # and never again


def test_a_chunk_whose_worker_died_is_sent_again_and_resumes(
    split_ctx: Context, admin: User
) -> None:
    job_id = split_but_not_run(split_ctx, admin)
    with split_ctx.engine.begin() as conn:  # a worker took chunk 1, then died
        assert isinstance(
            chunk_rows.claim(conn, job_id, 1, 15, 5, gave_up_message), chunk_rows.ChunkClaimed
        )
    later = now() + timedelta(seconds=40)
    reaped = reap(split_ctx, later)
    assert (job_id, 1) in reaped.chunks
    assert (job_id, 0) not in reaped.chunks  # QUEUED and sent a moment ago
    assert reap(split_ctx, later).chunks == []  # sent once a lease, not every round
    for number in (0, 2):
        run_chunk(split_ctx, job_id, number)
    assert get_job(split_ctx, admin, job_id).status is JobStatus.PROCESSING
    with split_ctx.engine.begin() as conn:  # its lease ran out: the chunk is free again
        conn.execute(
            import_chunks.update()
            .where(import_chunks.c.job_id == job_id)
            .values(lease_until=now() - timedelta(seconds=1))
        )
    assert isinstance(run_chunk(split_ctx, job_id, 1), chunk_rows.ChunkClaimed)
    job = get_job(split_ctx, admin, job_id)
    assert job.status is JobStatus.READY
    assert (job.counts.created, job.counts.processed) == (1200, 1200)
    assert len(stored_customers(split_ctx, admin)) == 1200


def test_a_split_job_nobody_ended_is_ended_through_the_reaper(
    split_ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = split_but_not_run(split_ctx, admin)
    import bulkport.tasks.chunks as chunks_module

    # The worker completing the last chunk dies before it can end the job.
    monkeypatch.setattr(chunks_module, "finish_split", lambda ctx, job_id: False)
    for number in range(3):
        run_chunk(split_ctx, job_id, number)
    monkeypatch.undo()
    assert get_job(split_ctx, admin, job_id).status is JobStatus.PROCESSING
    reaped = reap(split_ctx, now() + timedelta(seconds=40))
    assert [r.job_id for r in reaped.requeue] == [job_id]
    run_import(split_ctx, job_id)  # the import task the reaper sends
    job = get_job(split_ctx, admin, job_id)
    assert job.status is JobStatus.READY
    assert job.counts.created == 1200


def test_a_chunk_started_too_often_fails_its_job_in_plain_words(
    split_ctx: Context, admin: User
) -> None:
    job_id = split_but_not_run(split_ctx, admin)
    run_chunk(split_ctx, job_id, 0)
    with split_ctx.engine.begin() as conn:  # chunk 1 killed its worker five times
        conn.execute(
            import_chunks.update()
            .where(import_chunks.c.job_id == job_id, import_chunks.c.number == 1)
            .values(status="processing", attempts=5, lease_until=now() - timedelta(seconds=1))
        )
    assert run_chunk(split_ctx, job_id, 1) == job_rows.Finished(JobStatus.FAILED)
    job = get_job(split_ctx, admin, job_id)
    assert job.status is JobStatus.FAILED
    assert job.error is not None and "stopped 5 times" in job.error
    assert "500 of 1,200 rows were processed" in job.error
    assert split_ctx.files.keys_under(chunks_prefix(job_id)) == []
    assert run_chunk(split_ctx, job_id, 2) == job_rows.Finished(JobStatus.FAILED)


def test_cancelling_a_split_import_stops_its_chunks(split_ctx: Context, admin: User) -> None:
    job_id = split_but_not_run(split_ctx, admin)
    run_chunk(split_ctx, job_id, 0)
    with split_ctx.engine.begin() as conn:
        job_rows.finish(conn, job_id, None, JobStatus.CANCELLED, error="Cancelled.")
    assert split_ctx.files.keys_under(chunks_prefix(job_id)) != []
    assert run_chunk(split_ctx, job_id, 1) == job_rows.Finished(JobStatus.CANCELLED)
    assert split_ctx.files.keys_under(chunks_prefix(job_id)) == []  # its rows go at once
    assert reap(split_ctx, now() + timedelta(hours=1)).chunks == []
    job = get_job(split_ctx, admin, job_id)
    assert (job.status, job.counts.processed) == (JobStatus.CANCELLED, 500)
    assert len(stored_customers(split_ctx, admin)) == 500


def test_a_chunk_batch_whose_email_another_chunk_wrote_meanwhile_is_planned_again(
    split_ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two chunks writing at once can both mean one new email: the record matched by id in
    one chunk and by email in the other. The later writer meets the unique index, plans its
    batch again, and its look-up then finds the record."""
    from bulkport.storage import customer_writes

    with split_ctx.engine.begin() as conn:
        customer_writes.insert_many(conn, admin.store_id, [{"email": "old@example.com"}])
    stored = stored_customers(split_ctx, admin)[0]
    job_id = split_but_not_run(split_ctx, admin)
    real_write = pipeline._write_batch
    raced = {"done": False}

    def other_chunk_writes_first(run: pipeline.BatchRun, *args: Any, **kwargs: Any) -> int:
        if run.chunk == 1 and not raced["done"]:  # chunk 1's first batch, planned, not written
            raced["done"] = True
            with split_ctx.engine.begin() as conn:  # another chunk: id → the same new email
                customer_writes.update_many(
                    conn, admin.store_id, [{"id": stored["id"], "email": "q510@example.com"}]
                )
        return real_write(run, *args, **kwargs)

    monkeypatch.setattr(pipeline, "_write_batch", other_chunk_writes_first)
    for number in range(3):
        run_chunk(split_ctx, job_id, number)
    job = get_job(split_ctx, admin, job_id)
    assert raced["done"]
    assert job.status is JobStatus.READY, job.error
    assert (job.counts.created, job.counts.updated, job.counts.failed) == (1199, 1, 0)
    assert len(stored_customers(split_ctx, admin)) == 1200
