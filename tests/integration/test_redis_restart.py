"""Redis restarted in the middle of a job: the worker reconnects, the job ends READY, once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import csv_text, get_job, stage_import, stored_customers

from bulkport.cli.services import Supervisor, redis_reachable, redis_server_binary, wait_until
from bulkport.config import Settings
from bulkport.schemas.jobs import JobStatus
from bulkport.storage.accounts import User
from bulkport.storage.db import migrate
from bulkport.tasks.context import Context


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """SQLite is enough here: what is tested is the broker going away. A database of its own,
    so that rows other tests left in the shared one do not count."""
    url = f"sqlite:///{tmp_path / 'bulkport.db'}"
    migrate(url)
    return Settings(home=tmp_path / "home", database_url=url, batch_size=50)


def start_redis(supervisor: Supervisor, name: str, port: int, data: Path) -> None:
    argv = [
        redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
        "--appendonly", "yes", "--appendfsync", "always", "--save", "",
    ]  # fmt: skip
    supervisor.start(name, argv)
    wait_until(lambda: redis_reachable(f"redis://127.0.0.1:{port}/0", 0.2), 15, "redis")


def test_a_job_survives_redis_restarting_under_it(
    ctx: Context, admin: User, tmp_path: Path, redis_url: str
) -> None:
    from bulkport.cli.services import free_port
    from bulkport.worker.app import app, import_customers

    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    data = tmp_path / "redis"
    data.mkdir()
    supervisor = Supervisor()
    log = tmp_path / "worker.log"
    try:
        start_redis(supervisor, "redis-1", port, data)
        env = dict(
            os.environ,
            BULKPORT_DATABASE_URL=ctx.settings.database,
            BULKPORT_BROKER_URL=broker,
            BULKPORT_HOME=str(ctx.settings.home),
            BULKPORT_FILES_DIR=str(ctx.settings.files_root),
            BULKPORT_BATCH_SIZE="50",
        )
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "bulkport.worker.app", "worker",
                 "--pool=prefork", "--concurrency=1", "--without-mingle", "--without-gossip",
                 "--loglevel=INFO"],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(lambda: "ready." in log.read_text(errors="replace"), 60, "the worker")

        content = csv_text([["Email"], *([f"r{i}@example.com"] for i in range(4000))])
        job_id = stage_import(ctx, admin, content)
        with app.connection_for_write(broker) as connection:
            import_customers.apply_async(args=(job_id,), connection=connection)  # type: ignore[call-arg]
        deadline = time.monotonic() + 60
        while get_job(ctx, admin, job_id).counts.processed < 200:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)

        redis_process = supervisor.children.pop("redis-1")
        redis_process.terminate()  # Redis goes away mid-job ...
        redis_process.wait(15)
        time.sleep(2)
        start_redis(supervisor, "redis-2", port, data)  # ... and comes back

        deadline = time.monotonic() + 120
        while not get_job(ctx, admin, job_id).status.finished:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        job = get_job(ctx, admin, job_id)
        assert job.status is JobStatus.READY
        assert (job.counts.created, job.counts.processed) == (4000, 4000)
        assert len(stored_customers(ctx, admin)) == 4000

        # The worker reconnected and takes the next job.
        after = stage_import(ctx, admin, csv_text([["Email"], ["next@example.com"]]))
        with app.connection_for_write(broker) as connection:
            import_customers.apply_async(args=(after,), connection=connection)  # type: ignore[call-arg]
        deadline = time.monotonic() + 60
        while not get_job(ctx, admin, after).status.finished:
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert get_job(ctx, admin, after).status is JobStatus.READY
    finally:
        if "worker" in locals():
            worker.terminate()
            worker.wait(30)
        supervisor.stop()
