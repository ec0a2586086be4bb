"""No job stays QUEUED or PROCESSING forever: the reaper and bounded attempts, both databases;
the reaper itself stays out of Flower's list."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update
from support import (
    csv_text,
    get_job,
    stage_import,
    start_worker,
    stored_customers,
    task_events,
    wait_finished,
    worker_env,
)

from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage import job_rows
from bulkport.storage.accounts import User
from bulkport.storage.db import now
from bulkport.storage.tables import jobs
from bulkport.tasks.context import Context
from bulkport.tasks.imports import run_import
from bulkport.tasks.reaper import Requeue, reap
from bulkport.worker.app import IMPORT_TASK, REAPER_TASK

CONTENT = csv_text([["Email"], *([f"p{i}@example.com"] for i in range(120))])


def stall(ctx: Context, job_id: str, *, attempts: int, processed: int = 0) -> None:
    """Make a job look like its worker died a while ago."""
    long_ago = now() - timedelta(hours=1)
    with ctx.engine.begin() as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(
                status="PROCESSING", lease_until=long_ago, attempts=attempts,
                total=120, processed=processed, succeeded=processed, updated_at=long_ago,
            )
        )  # fmt: skip


def test_a_job_whose_worker_died_is_sent_again(ctx: Context, admin: User) -> None:
    job_id = stage_import(ctx, admin, CONTENT)
    stall(ctx, job_id, attempts=1)
    reaped = reap(ctx)
    assert reaped.requeue == [Requeue(job_id, JobKind.IMPORT, len(CONTENT))]
    assert reaped.failed == []
    assert reap(ctx).requeue == []  # not again on the next round
    run_import(ctx, job_id)
    assert get_job(ctx, admin, job_id).status is JobStatus.READY


def test_a_job_out_of_attempts_ends_failed_with_its_rows_counted(ctx: Context, admin: User) -> None:
    job_id = stage_import(ctx, admin, CONTENT)
    stall(ctx, job_id, attempts=ctx.settings.max_attempts, processed=50)
    reaped = reap(ctx)
    assert reaped.failed == [job_id] and reaped.requeue == []
    job = get_job(ctx, admin, job_id)
    assert job.status is JobStatus.FAILED
    assert job.error is not None and "50 of 120 rows were processed" in job.error
    assert job.counts.unprocessed == 70
    assert job.counts.processed + job.counts.unprocessed == job.counts.total


def test_a_redelivered_job_out_of_attempts_is_not_run_again(ctx: Context, admin: User) -> None:
    job_id = stage_import(ctx, admin, CONTENT)
    stall(ctx, job_id, attempts=ctx.settings.max_attempts)
    outcome = run_import(ctx, job_id)
    assert outcome == job_rows.Finished(JobStatus.FAILED)
    assert get_job(ctx, admin, job_id).status is JobStatus.FAILED
    assert stored_customers(ctx, admin) == []


def test_a_job_queued_too_long_is_sent_again_and_a_fresh_one_is_not(
    ctx: Context, admin: User
) -> None:
    old = stage_import(ctx, admin, CONTENT)
    fresh = stage_import(ctx, admin, CONTENT)
    with ctx.engine.begin() as conn:
        conn.execute(
            update(jobs).where(jobs.c.id == old).values(updated_at=now() - timedelta(hours=1))
        )
    assert reap(ctx).requeue == [Requeue(old, JobKind.IMPORT, len(CONTENT))]
    assert fresh not in [sent.job_id for sent in reap(ctx).requeue]


def test_a_job_with_a_live_lease_is_left_alone(ctx: Context, admin: User) -> None:
    job_id = stage_import(ctx, admin, CONTENT)
    with ctx.engine.begin() as conn:
        assert isinstance(job_rows.claim(conn, job_id, 60), job_rows.Claimed)
    assert reap(ctx) == reap(ctx).__class__(requeue=[], failed=[])


def test_a_job_whose_lease_lapsed_moments_ago_is_sent_again_at_once(
    ctx: Context, admin: User
) -> None:
    # The heartbeat renews a live job's lease every few seconds: a lapsed one means a dead
    # worker, and the next round (every 10 s) sends the job again, not minutes later.
    job_id = stage_import(ctx, admin, CONTENT)
    moment = now()
    with ctx.engine.begin() as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(
                status="PROCESSING", attempts=1, lease_until=moment - timedelta(seconds=1),
                updated_at=moment - timedelta(seconds=ctx.settings.job_lease_seconds + 1),
            )
        )  # fmt: skip
    assert [sent.job_id for sent in reap(ctx, moment).requeue] == [job_id]


def test_flower_sees_the_job_the_reaper_sends_again_but_never_the_reaper(
    ctx: Context, admin: User, redis_url: str, tmp_path: Path
) -> None:
    """A real beat running the reaper every second and a real worker sending events: the
    events Flower would list are the job's alone."""
    with task_events(ctx.settings) as events:
        env = worker_env(ctx, redis_url, BULKPORT_REAPER_SECONDS="1")
        celery = [sys.executable, "-m", "celery", "-A", "bulkport.worker.app"]
        worker_log = tmp_path / "worker.log"
        worker = start_worker(
            [*celery, "worker", "--pool=prefork", "--concurrency=1", "-Q", "small", "-E",
             "--without-mingle", "--without-gossip", "--loglevel=INFO"],
            env, worker_log,
        )  # fmt: skip
        beat_log = tmp_path / "beat.log"
        with beat_log.open("wb") as out:
            beat = subprocess.Popen(
                [*celery, "beat", "--loglevel=INFO", f"--schedule={tmp_path / 'schedule'}"],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            job_id = stage_import(ctx, admin, CONTENT)
            stall(ctx, job_id, attempts=1)
            assert wait_finished(ctx, admin, job_id, seconds=60).status is JobStatus.READY
            time.sleep(3)  # a few more rounds of the reaper, with nothing to do
        finally:
            beat.terminate()
            worker.terminate()
            beat.wait(30)
            worker.wait(30)
    rounds = worker_log.read_text().count(f"Task {REAPER_TASK}[")
    assert rounds >= 3, worker_log.read_text()  # the reaper did run, and took the job over
    tasks = [e for e in events if e["type"].startswith("task-")]
    names = {e["uuid"]: e["name"] for e in tasks if "name" in e}
    assert REAPER_TASK not in names.values()
    assert set(names.values()) == {IMPORT_TASK}
    assert {e["uuid"] for e in tasks} == set(names)  # no nameless event of another task
    assert {"task-sent", "task-received", "task-started", "task-succeeded"} <= {
        e["type"] for e in tasks
    }
