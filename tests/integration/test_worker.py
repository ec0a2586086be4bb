"""A real Celery worker process on the real Redis, against SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from support import (
    assert_imported_once,
    csv_text,
    get_job,
    import_now,
    local_files,
    pool_children,
    stage_import,
    start_worker,
    stored_customers,
    wait_finished,
    worker_env,
)

from bulkport.config import Settings
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.schemas.lifecycle import ListOptions
from bulkport.storage import job_rows
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.worker.app import enqueue, import_customers

HEADER = ["First Name", "Email"]


def rows(n: int) -> list[list[str]]:
    return [[f"Name{i}", f"user{i}@example.com"] for i in range(n)]


@pytest.fixture(scope="module")
def shared_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file store for the tests and the worker processes of this module."""
    return tmp_path_factory.mktemp("files")


@pytest.fixture
def settings(database_url: str, tmp_path: Path, shared_files: Path) -> Settings:
    """The default test settings, but with the file store the workers also use."""
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        files_dir=shared_files,
        batch_size=50,
    )


@pytest.fixture(scope="module")
def workers(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[Context], str]]:
    """Starts (once per database) a worker process on its own queue; gives the queue name."""
    started: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    pids.clear()

    def worker_for(ctx: Context) -> str:
        url = ctx.settings.database
        if url not in started:
            queue = f"bulkport-test-{len(started)}-{os.getpid()}"
            log = tmp_path_factory.mktemp("worker") / "worker.log"
            env = worker_env(ctx, redis_url, BULKPORT_JOB_LEASE_SECONDS="5")
            argv = [
                sys.executable, "-m", "celery", "-A", "bulkport.worker.app", "worker",
                "--pool=prefork", "--concurrency=2", "-Q", queue, "-E",
                "--without-mingle", "--without-gossip", "--loglevel=INFO",
            ]  # fmt: skip
            process = start_worker(argv, env, log)
            started[url] = (process, queue)
            pids[queue] = process.pid
        return started[url][1]

    yield worker_for
    for process, _ in started.values():
        process.terminate()
        process.wait(30)


# Queue name → pid of the worker's main process (its pool children do the work).
pids: dict[str, int] = {}


def test_worker_takes_an_import_to_ready(
    ctx: Context, admin: User, workers: Callable[[Context], str]
) -> None:
    queue = workers(ctx)
    job_id = stage_import(ctx, admin, csv_text([HEADER, *rows(130), ["x", "broken@"]]))
    import_customers.apply_async(args=(job_id,), queue=queue)
    job = wait_finished(ctx, admin, job_id)
    assert job.status is JobStatus.READY
    assert (job.counts.created, job.counts.failed, job.counts.processed) == (130, 1, 131)
    assert job.report_file is not None and ctx.files.exists(job.report_file)


def test_the_same_message_delivered_twice_applies_once_even_when_two_processes_race(
    ctx: Context, admin: User, workers: Callable[[Context], str]
) -> None:
    queue = workers(ctx)
    job_id = stage_import(ctx, admin, csv_text([HEADER, *rows(120)]))
    import_customers.apply_async(args=(job_id,), queue=queue)
    import_customers.apply_async(args=(job_id,), queue=queue)
    job = wait_finished(ctx, admin, job_id)
    time.sleep(1.5)  # give the second delivery its turn
    again = get_job(ctx, admin, job_id)
    assert again.attempts == 1
    assert again.counts == job.counts
    assert job.counts.created == 120
    assert len(stored_customers(ctx, admin)) == 120


def test_a_hostile_file_fails_and_the_worker_takes_the_next_job(
    ctx: Context, admin: User, workers: Callable[[Context], str]
) -> None:
    queue = workers(ctx)
    bad = stage_import(ctx, admin, b"First Name\r\n\x00\x01\x02garbage\x00")
    good = stage_import(ctx, admin, csv_text([HEADER, *rows(3)]))
    # Bypass the upload check so that the worker itself meets the bad file.
    with ctx.engine.begin() as conn:
        from sqlalchemy import update

        from bulkport.storage.tables import jobs

        conn.execute(
            update(jobs)
            .where(jobs.c.id == bad)
            .values(status="QUEUED", error=None, finished_at=None)
        )
    import_customers.apply_async(args=(bad,), queue=queue)
    import_customers.apply_async(args=(good,), queue=queue)
    failed = wait_finished(ctx, admin, bad)
    assert failed.status is JobStatus.FAILED
    assert failed.error and "not a text spreadsheet" in failed.error
    assert wait_finished(ctx, admin, good).status is JobStatus.READY


def test_task_messages_carry_the_job_id_and_no_personal_data(
    ctx: Context, admin: User, redis_url: str
) -> None:
    job_id = stage_import(ctx, admin, csv_text([HEADER, ["Secret", "secret@example.com"]]))
    queue = f"inspect-only-{os.getpid()}"
    import_customers.apply_async(args=(job_id,), queue=queue)
    client = redis.Redis.from_url(redis_url)
    raw = client.lpop(queue)
    client.delete(queue)
    assert isinstance(raw, bytes)
    message = json.loads(raw)
    assert message["content-type"] == "application/json"
    body = json.loads(base64.b64decode(message["body"]))
    assert body[0] == [job_id] and body[1] == {}
    assert b"secret" not in raw.lower() and b"Secret" not in base64.b64decode(message["body"])


def test_a_sent_job_shows_flower_its_id_alone_in_the_queue_its_size_chooses(
    ctx: Context, admin: User, redis_url: str
) -> None:
    content = csv_text([HEADER, ["Secret", "secret@example.com"]])
    job_id = stage_import(ctx, admin, content)
    client = redis.Redis.from_url(redis_url)
    client.delete("small", "large")
    enqueue(JobKind.IMPORT, job_id, ctx.settings.small_job_bytes + 1)
    raw = client.lpop("large")
    assert client.llen("small") == 0
    client.delete("large")
    assert isinstance(raw, bytes)
    headers = json.loads(raw)["headers"]
    assert headers["argsrepr"] == repr((job_id,))
    assert headers["kwargsrepr"] == "{}"
    assert headers["task"] == "bulkport.import"


# Rows of the imports cut short below: enough that the job is still running when the kill
# (or the dropped connection) lands, however fast the machine.
KILLED_ROWS = 20_000


def test_a_worker_killed_mid_import_loses_and_repeats_nothing(
    ctx: Context, admin: User, workers: Callable[[Context], str]
) -> None:
    queue = workers(ctx)
    content = csv_text([HEADER, *rows(KILLED_ROWS)])
    clean = stage_import(ctx, admin, content, dry_run=True)
    import_customers.apply_async(args=(clean,), queue=queue)
    expected = wait_finished(ctx, admin, clean).counts

    job_id = stage_import(ctx, admin, content)
    import_customers.apply_async(args=(job_id,), queue=queue)
    deadline = time.monotonic() + 60
    while get_job(ctx, admin, job_id).counts.processed < 500:
        assert time.monotonic() < deadline, "the import never got going"
        time.sleep(0.02)
    for child in pool_children(pids[queue]):
        os.kill(child, signal.SIGKILL)  # as the kernel's OOM killer would

    job = wait_finished(ctx, admin, job_id, seconds=120)
    assert job.status is JobStatus.READY, job.error
    assert job.attempts >= 2  # it was taken up again after the kill
    assert job.counts == expected
    stored = stored_customers(ctx, admin)
    assert len(stored) == KILLED_ROWS == len({row["email"] for row in stored})


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_dropped_database_connection_rolls_back_the_batch_and_the_task_retries(
    ctx: Context, admin: User, workers: Callable[[Context], str]
) -> None:
    # PostgreSQL, whose server can cut a client's connections from its side.
    from sqlalchemy import text

    queue = workers(ctx)
    content = csv_text([HEADER, *rows(KILLED_ROWS)])
    job_id = stage_import(ctx, admin, content)
    import_customers.apply_async(args=(job_id,), queue=queue)
    deadline = time.monotonic() + 60
    while get_job(ctx, admin, job_id).counts.processed < 300:
        assert time.monotonic() < deadline, "the import never got going"
        time.sleep(0.02)
    with ctx.engine.connect() as conn:  # the server drops every other session: the worker's
        dropped = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    assert dropped >= 1

    job = wait_finished(ctx, admin, job_id, seconds=120)
    assert_imported_once(ctx, admin, job, KILLED_ROWS)


def test_a_worker_killed_mid_archive_job_resumes_and_archives_each_customer_once(
    ctx: Context, admin: User, workers: Callable[[Context], str]
) -> None:
    from sqlalchemy import func, select

    from bulkport.storage.tables import customer_events
    from bulkport.tasks.customer_changes import ARCHIVE
    from bulkport.tasks.customer_lists import list_key, submit_list
    from bulkport.tasks.reports import outcomes_key
    from bulkport.worker.app import archive_customers

    queue = workers(ctx)
    import_now(ctx, admin, csv_text([HEADER, *rows(KILLED_ROWS)]))
    job_id = job_rows.new_job_id()
    listing = csv_text([["Customer Record ID"], *[[str(i)] for i in range(1, KILLED_ROWS + 1)]])
    with ctx.files.writer(list_key(job_id)) as out:
        out.write(listing.encode())
    submit_list(ctx, ARCHIVE, store_id=admin.store_id, user_id=admin.id, job_id=job_id,
                options=ListOptions())  # fmt: skip
    archive_customers.apply_async(args=(job_id,), queue=queue)
    deadline = time.monotonic() + 60
    while processed(ctx, job_id) < 500:
        assert time.monotonic() < deadline, "the archive job never got going"
        time.sleep(0.005)
    for child in pool_children(pids[queue]):
        os.kill(child, signal.SIGKILL)

    job = wait_finished(ctx, admin, job_id, seconds=120)
    assert job.status is JobStatus.READY, job.error
    assert job.attempts >= 2
    assert (job.counts.updated, job.counts.unchanged, job.counts.failed) == (KILLED_ROWS, 0, 0)
    with ctx.engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(customer_events)).scalar_one()
    assert events == KILLED_ROWS  # one "archived" event per customer: no row applied twice
    report = local_files(ctx).path(outcomes_key(job_id)).read_text().splitlines()
    assert len(report) == KILLED_ROWS + 1


def processed(ctx: Context, job_id: str) -> int:
    """Rows a job has processed, read without waiting for SQLite's write lock (a job that
    writes batch after batch would starve a reader that asks for it)."""
    from bulkport.storage.db import reading

    with reading(ctx.engine) as conn:
        job = job_rows.job_for_worker(conn, job_id)
    assert job is not None
    return job.counts.processed


# A job whose worker died goes on within this many seconds (docs/deploy.md).
TAKE_OVER_SECONDS = 30


def test_a_killed_pool_process_s_import_is_taken_over_within_30_seconds(
    ctx: Context, admin: User, redis_url: str, tmp_path: Path
) -> None:
    # A worker with the default lease (not the module's short test lease), so the time
    # measured is the one production gets.
    queue = f"bulkport-take-over-{os.getpid()}"
    env = worker_env(ctx, redis_url)
    argv = [
        sys.executable, "-m", "celery", "-A", "bulkport.worker.app", "worker",
        "--pool=prefork", "--concurrency=1", "-Q", queue,
        "--without-mingle", "--without-gossip", "--loglevel=INFO",
    ]  # fmt: skip
    worker = start_worker(argv, env, tmp_path / "worker.log")
    try:
        job_id = stage_import(ctx, admin, csv_text([HEADER, *rows(KILLED_ROWS)]))
        import_customers.apply_async(args=(job_id,), queue=queue)
        deadline = time.monotonic() + 60
        while get_job(ctx, admin, job_id).counts.processed < 500:
            assert time.monotonic() < deadline, "the import never got going"
            time.sleep(0.02)
        for child in pool_children(worker.pid):
            os.kill(child, signal.SIGKILL)
        killed = time.monotonic()
        while get_job(ctx, admin, job_id).attempts < 2:
            assert time.monotonic() - killed < TAKE_OVER_SECONDS, "never taken over"
            time.sleep(0.1)
        taken_over = time.monotonic() - killed
        job = wait_finished(ctx, admin, job_id, seconds=TAKE_OVER_SECONDS)
        finished = time.monotonic() - killed
    finally:
        worker.terminate()
        worker.wait(30)
    print(f"taken over {taken_over:.1f} s and READY {finished:.1f} s after the kill")
    assert finished < TAKE_OVER_SECONDS
    assert_imported_once(ctx, admin, job, KILLED_ROWS)
