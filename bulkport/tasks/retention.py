"""Retention: uploads, reports and exports are deleted once their time is up."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import select, update

from bulkport.schemas.jobs import JobStatus
from bulkport.storage.db import now
from bulkport.storage.tables import jobs
from bulkport.tasks.context import Context

log = logging.getLogger(__name__)
# A preview's upload lives for one request; anything older was left by a crash.
PREVIEW_SECONDS = 3600
FINISHED = [s.value for s in JobStatus if s.finished]


def expire_files(ctx: Context, moment: datetime | None = None) -> int:
    """Delete the files of jobs finished longer ago than ``BULKPORT_FILE_TTL`` and mark them
    expired (a download then answers 410); returns how many jobs lost their files."""
    moment = moment or now()
    cutoff = moment - ctx.settings.file_ttl
    with ctx.engine.connect() as conn:
        due = list(
            conn.execute(
                select(jobs.c.id).where(
                    jobs.c.status.in_(FINISHED),
                    jobs.c.finished_at < cutoff,
                    jobs.c.files_expired_at.is_(None),
                )
            ).scalars()
        )
    for job_id in due:
        # Files first: a crash between the two leaves a job marked live with no files, which a
        # download reports as gone, rather than files nobody will ever delete.
        ctx.files.delete_tree(f"jobs/{job_id}")
        with ctx.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(files_expired_at=moment))
    _sweep_previews(ctx)
    if due:
        log.info("retention: deleted the files of %d jobs", len(due))
    return len(due)


def _sweep_previews(ctx: Context) -> None:
    root = ctx.files.root / "previews"
    if not root.is_dir():
        return
    old = time.time() - PREVIEW_SECONDS
    for folder in root.iterdir():
        if folder.stat().st_mtime < old:
            ctx.files.delete_tree(f"previews/{folder.name}")
