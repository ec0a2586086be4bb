"""Lifecycle lists: a spreadsheet of customers to delete, archive, un-archive or merge becomes
a job; a READY dry run of one runs for real, changing exactly the customers it showed."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bulkport.errors import (
    AddressRefused,
    Conflict,
    DryRunGone,
    Invalid,
    JobProblem,
    NotCommittable,
    QueueUnreachable,
)
from bulkport.schemas.lifecycle import ListOptions
from bulkport.storage import customer_records as records
from bulkport.storage import job_rows
from bulkport.storage.accounts import User
from bulkport.tasks import customer_lists
from bulkport.tasks.context import Context
from bulkport.tasks.customer_lists import ListKind
from bulkport.tasks.deletions import DELETE
from bulkport.usecases.imports import submit_once
from bulkport.usecases.jobs import get_job

CONFIRM = "Deleting erases the customers for good: send confirm=true to go ahead."


@dataclass(frozen=True)
class ReportLine:
    """A row of a list job's report: the customer (and a merge's secondary, else 0)."""

    row: int
    customer_id: int
    other_id: int


def list_options(
    ctx: Context, spec: ListKind, job_id: str, fields: Mapping[str, object]
) -> ListOptions:
    """A list upload's options, checked (a delete needs ``confirm`` or ``dry_run``); when
    refused, the upload stored for ``job_id`` is removed."""
    try:
        options = ListOptions.model_validate(dict(fields))
    except ValidationError as exc:
        ctx.files.delete_tree(f"jobs/{job_id}")
        raise Invalid("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())) from None
    if spec is DELETE and not (options.confirm or options.dry_run):
        ctx.files.delete_tree(f"jobs/{job_id}")
        raise Invalid(CONFIRM)
    return options


def queue_list(
    ctx: Context,
    spec: ListKind,
    *,
    store_id: int,
    user_id: int | None,
    job_id: str,
    options: ListOptions,
    idempotency_key: str | None = None,
) -> job_rows.Job:
    """Queue the kind's job for the spreadsheet stored for ``job_id``. Raises
    ``QueueUnreachable`` (the job then FAILED), and ``DryRunGone`` when a committed dry run's
    report is no longer stored."""
    try:
        return submit_once(
            ctx, store_id, job_id, idempotency_key,
            lambda: customer_lists.submit_list(
                ctx, spec, store_id=store_id, user_id=user_id, job_id=job_id, options=options,
                idempotency_key=idempotency_key,
            ),
        )  # fmt: skip
    except QueueUnreachable:
        raise
    except (AddressRefused, Conflict):  # the job's notify_url
        ctx.files.delete_tree(f"jobs/{job_id}")
        raise
    except JobProblem as exc:
        ctx.files.delete_tree(f"jobs/{job_id}")
        raise DryRunGone(str(exc)) from None


def commit_list(ctx: Context, user: User, spec: ListKind, job_id: str) -> job_rows.Job:
    """Run a READY dry run of this kind for real; the job that does (the same one for a dry run
    committed before). Raises ``NotCommittable``, ``QueueUnreachable``, and ``DryRunGone``
    when the dry run's files are no longer stored."""
    get_job(ctx, user.store_id, job_id)
    try:
        started = customer_lists.commit_list(
            ctx, spec, store_id=user.store_id, user_id=user.id, dry_job_id=job_id
        )
    except (NotCommittable, QueueUnreachable, DryRunGone):
        raise
    except JobProblem as exc:
        raise DryRunGone(str(exc)) from None
    return get_job(ctx, user.store_id, started)


def committed_job(ctx: Context, user: User, dry_job_id: str) -> job_rows.Job | None:
    """The job that already ran this dry run for real, if any."""
    return customer_lists.committed_job(ctx, user.store_id, dry_job_id)


def report_customers(
    ctx: Context, user: User, job: job_rows.Job, outcome: str, shown: int
) -> tuple[list[ReportLine], dict[int, dict[str, Any]]]:
    """The first ``shown`` lines of a list job's report with this outcome, and the store's
    customers they name as stored now (ids only are in the report)."""
    lines = _report_lines(ctx, job, outcome, shown)
    ids = {i for line in lines for i in (line.customer_id, line.other_id) if i}
    with ctx.uow.reading() as conn:
        return lines, records.names_of(conn, user.store_id, ids)


def _report_lines(ctx: Context, job: job_rows.Job, outcome: str, shown: int) -> list[ReportLine]:
    key = job.report_file
    if key is None or job.files_expired_at is not None or not ctx.files.exists(key):
        return []
    found: list[ReportLine] = []
    with ctx.files.open(key) as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        reader = csv.reader(text)
        next(reader, None)
        for line in reader:
            if len(line) >= 4 and line[3] == outcome and line[1].isdigit():
                found.append(ReportLine(int(line[0]), int(line[1]), int(line[2] or 0)))
                if len(found) == shown:
                    break
    return found
