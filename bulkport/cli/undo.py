"""`bulkport undo JOB [--dry-run]`: undo an ended import, run here (`--inline`) or by a worker."""

from __future__ import annotations

import click

from bulkport.cli.home import open_store, starting_user
from bulkport.cli.jobs import _as_user, _expect_worker, _show, _wait
from bulkport.schemas.accounts import Permission
from bulkport.schemas.jobs import JobStatus


@click.command("undo")
@click.argument("job_id")
@click.option("--store", "store_name", default=None, help="Store name (needed if several).")
@click.option("--dry-run", is_flag=True, help="Report what the undo would do; change nothing.")
@click.option("--wait", is_flag=True, help="Wait for the undo to end and show its result.")
@click.option("--inline", is_flag=True, help="Run the undo in this process, without a worker.")
@_as_user
def undo_job(
    job_id: str, store_name: str | None, dry_run: bool, wait: bool, inline: bool,
    as_email: str | None,
) -> None:  # fmt: skip
    """Undo an ended import JOB_ID: delete the customers it created (archive those with sales)
    and restore the fields it changed; fields changed since are left and reported."""
    from bulkport.tasks.undo import run_undo
    from bulkport.usecases.undos import undo_import

    _, ctx, store_id = open_store(store_name, inline=inline)
    user_id = starting_user(ctx, store_id, as_email, Permission.CUSTOMERS_BASIC)
    job = undo_import(ctx, store_id, user_id, job_id, dry_run=dry_run)
    click.echo(f"Job {job.id}")
    if inline:
        run_undo(ctx, job.id)
    elif wait:
        _expect_worker(ctx, job.id)
    if wait or inline:
        job = _wait(ctx, job.store_id, job.id)
        _show(ctx, job)
        if job.status is not JobStatus.READY:
            raise SystemExit(1)
