"""Retention: every file a job wrote is deleted once its time is up, whatever the job's end."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from bulkport.storage import undo_data, upkeep
from bulkport.storage.db import now
from bulkport.tasks.context import Context

log = logging.getLogger(__name__)
# A preview's upload lives for one request; anything older was left by a crash.
PREVIEW_SECONDS = 3600


def expire_files(ctx: Context, moment: datetime | None = None) -> int:
    """Delete the files of jobs finished longer ago than ``BULKPORT_FILE_TTL`` and mark them
    expired (a download then answers 410); returns how many jobs lost their files.

    Then any other folder under ``jobs/`` whose job ended before then, or that no job owns,
    goes whole: what a job marked expired by a purge still held, or a crash left behind."""
    moment = moment or now()
    cutoff = moment - ctx.settings.file_ttl
    with ctx.engine.connect() as conn:
        due = upkeep.files_due(conn, cutoff)
    for job_id in due:
        # Files first: a crash between the two leaves a job marked live with no files, which a
        # download reports as gone, rather than files nobody will ever delete.
        ctx.files.delete_tree(f"jobs/{job_id}")
        with ctx.engine.begin() as conn:
            upkeep.mark_files_expired(conn, job_id, moment)
    _sweep_job_folders(ctx, cutoff)
    sweep_previews(ctx)
    with ctx.engine.begin() as conn:
        undo_data.purge_before(conn, moment - timedelta(days=ctx.settings.undo_days))
    ctx.files.forget_dead_copies()
    if due:
        log.info("retention: deleted the files of %d jobs", len(due))
    return len(due)


def _sweep_job_folders(ctx: Context, cutoff: datetime) -> None:
    stale = ctx.files.stale_folders("jobs", cutoff.timestamp())
    with ctx.engine.connect() as conn:
        kept = upkeep.jobs_keeping_files(conn, stale, cutoff)
    for job_id in stale:
        if job_id not in kept:
            ctx.files.delete_tree(f"jobs/{job_id}")


def sweep_previews(ctx: Context) -> None:
    """Delete the uploads left on the mapping screen for longer than a preview lives."""
    for name in ctx.files.stale_folders("previews", time.time() - PREVIEW_SECONDS):
        ctx.files.delete_tree(f"previews/{name}")
