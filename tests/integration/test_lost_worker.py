"""A worker lost whole (as with its machine) has its job finished by another within 30 seconds.

Two worker processes with homes of their own share PostgreSQL, Redis and the file store, as
workers on two machines would. The first is killed outright, its main process first, so its
message stays unacknowledged in Redis until the visibility timeout (an hour): only the reaper,
run by the other worker's beat, can send the job again.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
import support
from support import assert_imported_once, get_job, pool_children, start_worker, worker_env

from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.worker.app import import_customers

ROWS = 20_000
TAKE_OVER_SECONDS = 30


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_job_whose_whole_worker_was_lost_is_finished_by_another_within_30_seconds(
    ctx: Context, admin: User, redis_url: str, tmp_path: Path
) -> None:
    bulkport = [sys.executable, "-m", "bulkport", "worker", "--concurrency", "1"]
    first_env = worker_env(ctx, redis_url, BULKPORT_HOME=str(tmp_path / "first"))
    second_env = worker_env(ctx, redis_url, BULKPORT_HOME=str(tmp_path / "second"))
    first = start_worker([*bulkport, "--name", "first@%h"], first_env, tmp_path / "first.log")
    second = None
    try:
        content = support.csv_text(
            [["First Name", "Email"]] + [[f"N{i}", f"u{i}@example.com"] for i in range(ROWS)]
        )
        job_id = support.stage_import(ctx, admin, content)
        import_customers.apply_async(args=(job_id,), queue="small")
        deadline = time.monotonic() + 60
        while get_job(ctx, admin, job_id).counts.processed < 500:
            assert time.monotonic() < deadline, "the import never got going"
            time.sleep(0.02)
        children = pool_children(first.pid)
        os.kill(first.pid, signal.SIGKILL)  # the main process first: nothing gives the task back
        for child in children:
            os.kill(child, signal.SIGKILL)
        killed = time.monotonic()
        first.wait(10)
        second_argv = [*bulkport, "--name", "second@%h", "--beat"]
        second = start_worker(second_argv, second_env, tmp_path / "second.log")
        job = support.wait_finished(ctx, admin, job_id, seconds=TAKE_OVER_SECONDS)
        finished = time.monotonic() - killed
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(30)
    print(f"READY {finished:.1f} s after its worker was lost")
    assert finished < TAKE_OVER_SECONDS
    assert job.attempts == 2
    assert_imported_once(ctx, admin, job, ROWS)
