"""An undo in a real Celery worker process, killed part way (SIGKILL), on SQLite and
PostgreSQL: the next delivery resumes where the last committed batch ended."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from sqlalchemy import func, select
from support import csv_text, import_now, local_files, pool_children, wait_finished
from test_worker import (  # noqa: F401  fixtures of the worker processes, shared
    KILLED_ROWS,
    pids,
    processed,
    rows,
    settings,
    shared_files,
    workers,
)

from bulkport.schemas.jobs import JobStatus
from bulkport.storage.accounts import User
from bulkport.storage.tables import customers
from bulkport.tasks.context import Context
from bulkport.tasks.reports import outcomes_key
from bulkport.usecases.undos import undo_import
from bulkport.worker.app import undo_import as undo_task

HEADER = ["First Name", "Email"]


def test_a_worker_killed_mid_undo_resumes_and_undoes_each_customer_once(
    ctx: Context,
    admin: User,
    workers: Callable[[Context], str],  # noqa: F811  the fixture
) -> None:
    queue = workers(ctx)
    imported = import_now(ctx, admin, csv_text([HEADER, *rows(KILLED_ROWS)]))
    assert imported.counts.created == KILLED_ROWS
    undo = undo_import(ctx, admin.store_id, admin.id, imported.id, dry_run=False)
    undo_task.apply_async(args=(undo.id,), queue=queue)
    deadline = time.monotonic() + 60
    while processed(ctx, undo.id) < 2000:
        assert time.monotonic() < deadline, "the undo never got going"
        time.sleep(0.005)
    for child in pool_children(pids[queue]):
        os.kill(child, signal.SIGKILL)

    job = wait_finished(ctx, admin, undo.id, seconds=120)
    assert job.status is JobStatus.READY, job.error
    assert job.attempts >= 2  # taken up again after the kill
    assert (job.counts.processed, job.counts.succeeded) == (KILLED_ROWS, KILLED_ROWS)
    with ctx.engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(customers)).scalar_one()
    assert left == 0
    report = local_files(ctx).path(outcomes_key(undo.id)).read_text().splitlines()
    assert len(report) == KILLED_ROWS + 1  # one line per customer: none reported twice
