"""One large import split across worker processes that share nothing but PostgreSQL, Redis and
an S3 bucket (a local moto server), as workers on several machines would: each has a home of
its own on a disk of its own. (Two processes of one machine share a SQLite file the same way;
the first test runs on it too.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import support
from sqlalchemy import select
from support import assert_imported_once, get_job, pool_children, start_worker, worker_env

from bulkport.config import Settings
from bulkport.storage import chunks as chunk_rows
from bulkport.storage.accounts import User
from bulkport.storage.tables import import_chunks
from bulkport.tasks.context import Context
from bulkport.worker.app import import_customers

ROWS = 12_000
CHUNK_ROWS = 1_000
TAKE_OVER_SECONDS = 30
BULKPORT = [sys.executable, "-m", "bulkport", "worker", "--concurrency", "1"]


@pytest.fixture
def ctx(s3_ctx: Context) -> Context:
    """The test's context, its files in a bucket of the local S3 server (moto)."""
    return s3_ctx


@pytest.fixture
def shared_files(s3_settings: Settings) -> dict[str, str]:
    """The settings that give every worker the same file store: the bucket, as machines that
    share no disk would."""
    return support.s3_env(s3_settings)


def left_on_disk(home: Path) -> list[Path]:
    """Files a worker's home still holds in its file folder and scratch folder."""
    return [p for folder in ("files", "scratch") for p in (home / folder).rglob("*") if p.is_file()]


@contextmanager
def workers(
    ctx: Context, redis_url: str, tmp_path: Path, files: dict[str, str], *names: str
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Worker processes, each with a home of its own; the last one also runs beat. The
    broker starts empty: no message another test left (a retry waiting for its time) reaches
    these workers."""
    broker = redis.Redis.from_url(redis_url)
    broker.flushdb()
    broker.close()
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in names:
            env = worker_env(
                ctx, redis_url, BULKPORT_HOME=str(tmp_path / name),
                BULKPORT_FILES_DIR=str(tmp_path / name / "files"),
                BULKPORT_CHUNK_ROWS=str(CHUNK_ROWS), **files,
            )  # fmt: skip
            argv = [*BULKPORT, "--name", f"{name}@%h"]
            if name == names[-1]:
                argv.append("--beat")
            started[name] = start_worker(argv, env, tmp_path / f"{name}.log")
        yield started
    finally:
        for process in started.values():
            if process.poll() is None:
                process.terminate()
                process.wait(30)


def upload(ctx: Context, admin: User) -> str:
    """A 12,000-row import, sent to the workers; returns its id."""
    content = support.csv_text(
        [["First Name", "Email"]] + [[f"N{i}", f"u{i}@example.com"] for i in range(ROWS)]
    )
    job_id = support.stage_import(ctx, admin, content)
    import_customers.apply_async(args=(job_id,), queue="large")
    return job_id


def chunk_lines(log: Path, what: str) -> int:
    """How many chunk tasks a worker's log shows ``received`` or ``succeeded``."""
    lines = log.read_text(errors="replace").splitlines()
    return sum("bulkport.import_chunk[" in line and what in line for line in lines)


def chunks_done(log: Path) -> int:
    """How many chunks a worker's log shows it completed."""
    return chunk_lines(log, "succeeded")


def mid_way(ctx: Context, job_id: str) -> list[int]:
    """The chunks being imported now, at least two batches past their start and four from
    their end (a batch is 50 rows): a worker holds each of them for a while yet."""
    with ctx.engine.connect() as conn:
        chunks = chunk_rows.chunks_of(conn, job_id)
    return [
        c.number
        for c in chunks
        if c.status.value == "processing" and 100 <= c.checkpoint <= c.rows - 200
    ]


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_a_large_import_is_shared_by_two_workers_and_ends_with_one_report(
    ctx: Context, admin: User, redis_url: str, tmp_path: Path, shared_files: dict[str, str]
) -> None:
    with workers(ctx, redis_url, tmp_path, shared_files, "first", "second"):
        job_id = upload(ctx, admin)
        seen: list[int] = []
        deadline = time.monotonic() + 240
        while not (job := get_job(ctx, admin, job_id)).status.finished:
            seen.append(job.counts.processed)
            assert time.monotonic() < deadline, f"still {job.status} at {seen[-1]} rows"
            time.sleep(0.05)
    assert job.chunks == ROWS // CHUNK_ROWS
    assert_imported_once(ctx, admin, job, ROWS)
    # Progress was live: the one job counted rows while its chunks ran.
    assert seen == sorted(seen)
    assert any(0 < processed < ROWS for processed in seen)
    ran = {name: chunks_done(tmp_path / f"{name}.log") for name in ("first", "second")}
    assert min(ran.values()) >= 1, ran
    assert sum(ran.values()) == ROWS // CHUNK_ROWS
    # Everything went through the bucket: no worker kept a job file on its own disk.
    assert [left_on_disk(tmp_path / name) for name in ("first", "second")] == [[], []]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("lost", ["pool process", "whole worker"])
def test_a_chunk_whose_worker_was_killed_is_taken_up_within_30_seconds(
    ctx: Context,
    admin: User,
    redis_url: str,
    tmp_path: Path,
    shared_files: dict[str, str],
    lost: str,
) -> None:
    """A pool process killed: Celery gives its message back at once, and the chunk is taken
    up when its lease lapses. The whole worker killed, main process first: its message stays
    unacknowledged in Redis, and the reaper (the other worker's beat) sends the chunk again."""
    with workers(ctx, redis_url, tmp_path, shared_files, "first", "second") as running:
        job_id = upload(ctx, admin)
        deadline = time.monotonic() + 120
        # Killed mid-chunk: once both workers are in the middle of a chunk each (two chunks
        # several batches from either end), so one of them is surely the first worker's.
        while len(mid_way(ctx, job_id)) < 2:
            assert time.monotonic() < deadline, "the import never got going"
            time.sleep(0.02)
        first = running["first"]
        children = pool_children(first.pid)
        if lost == "whole worker":
            os.kill(first.pid, signal.SIGKILL)  # main process first: no one gives the task back
        for child in children:
            os.kill(child, signal.SIGKILL)
        killed = time.monotonic()
        if lost == "whole worker":
            first.wait(10)
        with ctx.engine.connect() as conn:
            held = [c for c in chunk_rows.chunks_of(conn, job_id) if c.status.value == "processing"]
        # Every chunk held at the kill is done, or taken up again, within 30 seconds.
        while True:
            with ctx.engine.connect() as conn:
                now_chunks = {c.number: c for c in chunk_rows.chunks_of(conn, job_id)}
            if all(
                now_chunks[c.number].status.value == "done"
                or now_chunks[c.number].attempts > c.attempts
                for c in held
            ):
                break
            assert time.monotonic() - killed < TAKE_OVER_SECONDS, "a chunk was not taken up"
            time.sleep(0.1)
        taken_up = time.monotonic() - killed
        job = support.wait_finished(ctx, admin, job_id, seconds=240)
    print(f"chunks taken up {taken_up:.1f} s after the {lost} holding them was killed")
    with ctx.engine.connect() as conn:
        attempts = conn.execute(
            select(import_chunks.c.attempts).where(import_chunks.c.job_id == job_id)
        ).scalars()
        assert max(attempts) == 2  # the killed worker's chunk ran twice, resumed
    assert_imported_once(ctx, admin, job, ROWS)
