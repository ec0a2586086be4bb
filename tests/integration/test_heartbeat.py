"""A claimed job's lease is renewed while its work runs, and no longer once the claim is gone."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

from support import csv_text, get_job, stage_import

from bulkport.schemas.jobs import JobStatus
from bulkport.storage import job_rows
from bulkport.storage.accounts import User
from bulkport.storage.db import now
from bulkport.tasks.context import Context
from bulkport.tasks.job_lifecycle import BEATS_PER_LEASE, Heartbeat, lease_kept

LEASE = 5  # the shortest lease the settings allow: beats every 1.7 s
CONTENT = csv_text([["Email"], ["a@example.com"]])


def short_lease(ctx: Context) -> Context:
    settings = ctx.settings.model_copy(update={"job_lease_seconds": LEASE})
    return dataclasses.replace(ctx, settings=settings)


def claimed(ctx: Context, admin: User) -> job_rows.Claimed:
    job_id = stage_import(ctx, admin, CONTENT)
    with ctx.engine.begin() as conn:
        claim = job_rows.claim(conn, job_id, LEASE)
    assert isinstance(claim, job_rows.Claimed)
    return claim


def test_a_running_job_keeps_its_lease_past_the_lease_time(ctx: Context, admin: User) -> None:
    ctx = short_lease(ctx)
    claim = claimed(ctx, admin)
    with lease_kept(ctx, claim.job.id, claim.token):
        time.sleep(LEASE + 1)
        lease = get_job(ctx, admin, claim.job.id).lease_until
    assert lease is not None
    assert lease > now() + timedelta(seconds=LEASE - LEASE / BEATS_PER_LEASE - 1.5)


def test_the_heartbeat_stops_by_itself_once_the_job_has_ended(ctx: Context, admin: User) -> None:
    ctx = short_lease(ctx)
    claim = claimed(ctx, admin)
    beat = Heartbeat(ctx, claim.job.id, claim.token)
    beat.start()
    with ctx.engine.begin() as conn:
        job_rows.finish(conn, claim.job.id, claim.token, JobStatus.CANCELLED)
    beat.thread.join(timeout=LEASE)
    assert not beat.thread.is_alive()
    job = get_job(ctx, admin, claim.job.id)
    assert job.status is JobStatus.CANCELLED and job.lease_until is None
