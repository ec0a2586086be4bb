"""One store's large imports never hold up another store's small import, nor an export.

The workers are started as `bulkport up` starts them (``services.up_workers``), as real
processes on the real Redis. The large import is kept busy by holding its job row locked in
PostgreSQL: its worker then waits at its next batch for as long as the test needs, however fast
the machine, with no hook in the code under test. So these tests run on PostgreSQL only.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from support import csv_text, get_job, stage_import, start_worker, wait_finished, worker_env

from bulkport.cli.services import up_workers
from bulkport.schemas.accounts import Role
from bulkport.schemas.exports import ExportFormat, ExportRequest
from bulkport.schemas.jobs import JobStatus
from bulkport.storage import accounts
from bulkport.storage.accounts import User
from bulkport.storage.tables import jobs
from bulkport.tasks.context import Context
from bulkport.tasks.exports import submit_export
from bulkport.worker.app import QUEUES, app, enqueue

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
HEADER = ["First Name", "Email"]
LARGE_ROWS = 30_000
# Uploads above this go to `large` in these tests (the 10-row file is far below it).
SMALL_JOB_BYTES = 4_000
# A small job or an export behind large imports must be READY within this many seconds.
SMALL_JOB_SECONDS = 10


def rows(prefix: str, n: int) -> list[list[str]]:
    return [[f"Name{i}", f"{prefix}{i}@example.com"] for i in range(n)]


@pytest.fixture
def up_stack(ctx: Context, redis_url: str, tmp_path: Path) -> Iterator[None]:
    """The workers of `bulkport up` with its default two processes, on this test's database."""
    client = redis.Redis.from_url(redis_url)
    client.delete(*QUEUES)
    env = worker_env(ctx, redis_url, BULKPORT_BATCH_SIZE="500")
    bulkport = [sys.executable, "-m", "bulkport"]
    started = []
    try:
        for plan in up_workers(2):
            log = tmp_path / f"{plan.name}.log"
            started.append(start_worker(plan.argv(bulkport), env, log))
        yield
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(30)
        client.delete(*QUEUES)


@pytest.fixture
def sent(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> Context:
    """The test's context, sending jobs as the API does: through the real enqueue."""
    monkeypatch.setitem(app.conf, "bulkport_small_job_bytes", SMALL_JOB_BYTES)
    return dataclasses.replace(ctx, enqueue=enqueue)


@pytest.fixture
def other_store(ctx: Context) -> User:
    with ctx.engine.begin() as conn:
        store_id = accounts.ensure_store(conn, "south")
        return accounts.ensure_user(conn, store_id, "admin@south.example", Role.ADMIN)


def wait_status(ctx: Context, user: User, job_id: str, status: JobStatus) -> None:
    deadline = time.monotonic() + 60
    while get_job(ctx, user, job_id).status is not status:
        assert time.monotonic() < deadline, f"job never {status}"
        time.sleep(0.05)


@contextmanager
def held_large_imports(sent: Context, admin: User) -> Iterator[tuple[str, str]]:
    """Two large imports of one store: the first running and held, the second waiting; both
    must end READY with every row once they are let go."""
    first = stage_import(sent, admin, csv_text([HEADER, *rows("first", LARGE_ROWS)]))
    second = stage_import(sent, admin, csv_text([HEADER, *rows("second", LARGE_ROWS)]))
    wait_status(sent, admin, first, JobStatus.PROCESSING)
    with sent.engine.connect() as holder, holder.begin():
        holder.execute(select(jobs.c.id).where(jobs.c.id == first).with_for_update())
        yield first, second
    for job_id in (first, second):
        job = wait_finished(sent, admin, job_id)
        assert job.status is JobStatus.READY, job.error
        assert (job.counts.created, job.counts.processed) == (LARGE_ROWS, LARGE_ROWS)


def ready_within(ctx: Context, user: User, job_id: str) -> float:
    started = time.monotonic()
    job = wait_finished(ctx, user, job_id, seconds=SMALL_JOB_SECONDS)
    assert job.status is JobStatus.READY, job.error
    return time.monotonic() - started


@pytest.mark.usefixtures("up_stack")
def test_a_small_import_of_another_store_is_ready_while_large_imports_hold_the_workers(
    sent: Context, admin: User, other_store: User
) -> None:
    with held_large_imports(sent, admin) as (first, second):
        small = stage_import(sent, other_store, csv_text([HEADER, *rows("small", 10)]))
        seconds = ready_within(sent, other_store, small)
        print(f"10-row import READY {seconds:.1f} s after it was sent")
        assert get_job(sent, admin, first).status is JobStatus.PROCESSING
        assert get_job(sent, admin, second).status is JobStatus.QUEUED
    job = get_job(sent, other_store, small)
    assert (job.counts.created, job.counts.processed) == (10, 10)


@pytest.mark.usefixtures("up_stack")
def test_an_export_sent_behind_a_large_import_does_not_wait_for_it(
    sent: Context, admin: User
) -> None:
    with held_large_imports(sent, admin) as (first, second):
        export = submit_export(
            sent,
            store_id=admin.store_id,
            user_id=admin.id,
            request=ExportRequest(format=ExportFormat.CSV),
        )
        seconds = ready_within(sent, admin, export)
        print(f"export READY {seconds:.1f} s after it was sent")
        assert get_job(sent, admin, first).status is JobStatus.PROCESSING
        assert get_job(sent, admin, second).status is JobStatus.QUEUED
