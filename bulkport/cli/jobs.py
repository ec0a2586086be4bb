"""The job commands: `import`, `export`, `privacy-export` and the lifecycle jobs (`archive`,
`unarchive`, `merge`, `delete`), each run here (`--inline`) or by a worker, waited for with
their progress shown."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bulkport.cli.home import broker_address, open_store, starting_user
from bulkport.rules.dates import DateOrder
from bulkport.schemas import job_words
from bulkport.schemas.accounts import Permission
from bulkport.schemas.exports import ArchivedFilter, ExportFormat, ExportRequest
from bulkport.schemas.jobs import BlankCells, ImportMode, ImportOptions, JobKind, JobStatus, MatchOn
from bulkport.storage import job_rows

if TYPE_CHECKING:
    from bulkport.tasks.context import Context

# Seconds to wait for a worker's answer before saying that none reads the queue.
PING_SECONDS = 2.0
# Whose job it is: shown on the jobs pages and in the audit log; without it, "command line".
_as_user = click.option(
    "--as", "as_email", default=None, metavar="EMAIL",
    help="Start the job as this user of the store (default: shown as the command line).",
)  # fmt: skip


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--store", "store_name", default=None, help="Store name (needed if several).")
@click.option("--mode", type=click.Choice([m.value for m in ImportMode]), default="upsert")
@click.option("--blank-cells", type=click.Choice([b.value for b in BlankCells]), default="keep")
@click.option("--match-on", type=click.Choice([m.value for m in MatchOn]), default=None)
@click.option("--encoding", default=None, help="CSV encoding (default: detected).")
@click.option("--delimiter", default=None, help="CSV delimiter: , ; | or tab (default: detected).")
@click.option("--sheet", default=None, help="XLSX sheet name (default: the first).")
@click.option("--header-row", type=int, default=None, help="Row of the header (default: found).")
@click.option("--date-order", type=click.Choice([d.value for d in DateOrder]), default=None)
@click.option("--mapping-name", default=None, help="A saved mapping of the store to use.")
@click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="FIELD=RULE",
    help="What an update does with a stored value of FIELD (key or label): overwrite, "
    "fill_empty or keep. Repeatable.",
)
@click.option("--dry-run", is_flag=True, help="Check the file and report; change nothing.")
@click.option("--notify-url", default=None, help="An address to POST the job to when it ends.")
@click.option("--wait", is_flag=True, help="Wait for the job to end and show its result.")
@click.option("--inline", is_flag=True, help="Run the job in this process, without a worker.")
@_as_user
def import_file(
    file: Path,
    store_name: str | None,
    mode: str,
    blank_cells: str,
    match_on: str | None,
    encoding: str | None,
    delimiter: str | None,
    sheet: str | None,
    header_row: int | None,
    date_order: str | None,
    mapping_name: str | None,
    rules: tuple[str, ...],
    dry_run: bool,
    notify_url: str | None,
    wait: bool,
    inline: bool,
    as_email: str | None,
) -> None:
    """Import customers from FILE (CSV or XLSX)."""
    from pydantic import ValidationError

    from bulkport.tasks.imports import resolve_options, upload_key
    from bulkport.usecases.imports import queue_import

    _, ctx, store_id = open_store(store_name, inline=inline)
    user_id = starting_user(ctx, store_id, as_email, Permission.CUSTOMERS_BASIC)
    job_id = job_rows.new_job_id()
    key = upload_key(job_id)
    given = {
        "mode": mode, "blank_cells": blank_cells, "dry_run": dry_run, "filename": file.name,
        "match_on": match_on, "encoding": encoding, "delimiter": delimiter, "sheet": sheet,
        "header_row": header_row, "date_order": date_order, "mapping_name": mapping_name,
        "column_rules": _column_rules(rules), "notify_url": notify_url,
    }  # fmt: skip
    try:
        options = resolve_options(
            ctx, store_id, ImportOptions.model_validate({k: v for k, v in given.items() if v})
        )
    except ValidationError as exc:
        raise click.ClickException("; ".join(str(e["msg"]) for e in exc.errors())) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    with file.open("rb") as source, ctx.files.writer(key) as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    job = queue_import(ctx, store_id=store_id, user_id=user_id, job_id=job_id, options=options)
    _follow_import(ctx, job, wait=wait, inline=inline)


@click.command("retry")
@click.argument("job_id")
@click.option("--store", "store_name", default=None, help="Store name (needed if several).")
@click.option("--wait", is_flag=True, help="Wait for the retry to end and show its result.")
@click.option("--inline", is_flag=True, help="Run the retry in this process, without a worker.")
@_as_user
def retry_job(
    job_id: str, store_name: str | None, wait: bool, inline: bool, as_email: str | None
) -> None:
    """Run an ended import's rows again, as uploaded: those it never reached and those that
    failed on another job's data. A second retry of JOB_ID shows the same retry job."""
    from bulkport.usecases.retries import retry_import

    _, ctx, store_id = open_store(store_name, inline=inline)
    user_id = starting_user(ctx, store_id, as_email, Permission.CUSTOMERS_BASIC)
    job = retry_import(ctx, store_id, user_id, job_id)
    click.echo(f"Retrying rows {job.options.get('only_rows')} of job {job_id}")
    _follow_import(ctx, job, wait=wait, inline=inline)


def _follow_import(ctx: Context, job: job_rows.Job, *, wait: bool, inline: bool) -> None:
    """Name the queued import; run it here (``inline``) or wait for it, then show how it
    ended (exit 1 unless READY)."""
    from bulkport.tasks.imports import run_import

    click.echo(f"Job {job.id}")
    # A file refused at once is a job FAILED before any worker claimed it, never sent.
    queued = job.status is not JobStatus.FAILED or job.started_at is not None
    if queued and inline:
        run_import(ctx, job.id)
    elif queued and wait:
        _expect_worker(ctx, job.id)
    if wait or inline or not queued:
        job = _wait(ctx, job.store_id, job.id)
        _show(ctx, job)
        if job.status is not JobStatus.READY:
            raise SystemExit(1)


def _column_rules(given: tuple[str, ...]) -> dict[str, str]:
    """``--rule FIELD=RULE`` options as the import's ``column_rules`` (checked there)."""
    rules = {}
    for text in given:
        name, sep, rule = text.partition("=")
        if not sep or not name.strip():
            raise click.ClickException(f"--rule {text!r}: write it as FIELD=RULE")
        rules[name.strip()] = rule.strip()
    return rules


def _list_job(
    kind: str, file: Path, store_name: str | None, as_email: str | None, flags: dict[str, bool]
) -> None:
    """Create a lifecycle job for FILE, run it here (``--inline``) or wait for a worker."""
    from bulkport.schemas.lifecycle import ListOptions
    from bulkport.tasks.customer_changes import ARCHIVE, MERGE, UNARCHIVE
    from bulkport.tasks.customer_lists import list_key, run_list
    from bulkport.tasks.deletions import DELETE
    from bulkport.usecases.lists import queue_list

    spec = {s.kind.value: s for s in (ARCHIVE, UNARCHIVE, MERGE, DELETE)}[kind]
    _, ctx, store_id = open_store(store_name, inline=flags["inline"])
    needs = Permission.CUSTOMERS_DELETE if kind == "delete" else Permission.CUSTOMERS_BASIC
    user_id = starting_user(ctx, store_id, as_email, needs)
    job_id = job_rows.new_job_id()
    with file.open("rb") as source, ctx.files.writer(list_key(job_id)) as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    options = ListOptions(dry_run=flags["dry_run"], confirm=flags["confirm"], filename=file.name)
    queue_list(ctx, spec, store_id=store_id, user_id=user_id, job_id=job_id, options=options)
    click.echo(f"Job {job_id}")
    if flags["inline"]:
        run_list(ctx, job_id, spec)
    elif flags["wait"]:
        _expect_worker(ctx, job_id)
    if flags["wait"] or flags["inline"]:
        job = _wait(ctx, store_id, job_id, bar=True)
        _show(ctx, job)
        if job.status is not JobStatus.READY:
            raise SystemExit(1)


def _list_command(kind: str, about: str) -> click.Command:
    """`bulkport KIND FILE`, with the options every lifecycle job has."""

    @click.command(kind, help=about)
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--store", "store_name", default=None, help="Store name (needed if several).")
    @click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
    @click.option("--wait", is_flag=True, help="Wait for the job to end, with a progress bar.")
    @click.option("--inline", is_flag=True, help="Run the job in this process, without a worker.")
    @click.option("--confirm", is_flag=True, hidden=kind != "delete", help="Deletions: required.")
    @_as_user
    def command(file: Path, store_name: str | None, as_email: str | None, **flags: bool) -> None:
        if kind == "delete" and not (flags["confirm"] or flags["dry_run"]):
            raise click.ClickException("Deleting erases customers for good: add --confirm.")
        _list_job(kind, file, store_name, as_email, flags)

    return command


LIST_COMMANDS = (
    _list_command("archive", "Archive the customers of FILE (Customer Record IDs or emails)."),
    _list_command("unarchive", "Un-archive the customers of FILE (Customer Record IDs or emails)."),
    _list_command("merge", "Merge each row's Secondary ID into its Primary ID (FILE of pairs)."),
    _list_command("delete", "Delete for privacy the customers of FILE (needs --confirm)."),
)


@click.command("export")
@click.option("--store", "store_name", default=None, help="Store name (needed if several).")
@click.option("--format", "fmt", type=click.Choice([f.value for f in ExportFormat]), default="csv")
@click.option("--archived", type=click.Choice([a.value for a in ArchivedFilter]), default="exclude")
@click.option("--search", default=None, help="Only customers whose name, email, … has this.")
@click.option("--column", "columns", multiple=True, help="A column to export (repeatable).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the file (default: customers-<time>.<format> here).",
)
@click.option("--inline", is_flag=True, help="Run the job in this process, without a worker.")
@_as_user
def export_file(
    store_name: str | None,
    fmt: str,
    archived: str,
    search: str | None,
    columns: tuple[str, ...],
    output: Path | None,
    inline: bool,
    as_email: str | None,
) -> None:
    """Export customers to CSV or XLSX, showing progress, and save the file."""
    from pydantic import ValidationError

    from bulkport.tasks.exports import run_export
    from bulkport.usecases.exports import queue_export

    _, ctx, store_id = open_store(store_name, inline=inline)
    user_id = starting_user(ctx, store_id, as_email, Permission.CUSTOMERS_BASIC)
    try:
        request = ExportRequest.model_validate(
            {
                "format": fmt,
                "filters": {"archived": archived, "search": search},
                "columns": list(columns) or None,
            }
        )
    except ValidationError as exc:
        raise click.ClickException("; ".join(str(e["msg"]) for e in exc.errors())) from None
    job_id = queue_export(ctx, store_id=store_id, user_id=user_id, request=request).id
    click.echo(f"Job {job_id}", err=True)
    job, target = _save_file(
        ctx,
        store_id,
        job_id,
        run=run_export if inline else None,
        what="export",
        place=lambda job: output or Path(f"customers-{job.created_at:%Y-%m-%dT%H%M}.{fmt}"),
    )
    click.echo(f"{job.counts.succeeded:,} customers written to {target}")


def _save_file(
    ctx: Context,
    store_id: int,
    job_id: str,
    *,
    run: Callable[[Context, str], object] | None,
    what: str,
    place: Callable[[job_rows.Job], Path],
) -> tuple[job_rows.Job, Path]:
    """Run a job that makes a file here (``run``) or wait for a worker to; then copy its file
    to where ``place`` says. Returns the ended job and that path."""
    if run is not None:
        run(ctx, job_id)
    else:
        _expect_worker(ctx, job_id)
    job = _wait(ctx, store_id, job_id, bar=True)
    if job.status is not JobStatus.READY or job.output_file is None:
        raise click.ClickException(f"The {what} {job.status}: {job.error or 'no file'}")
    target = place(job)
    ctx.files.copy_to(job.output_file, target)
    return job, target


def _expect_worker(ctx: Context, job_id: str) -> None:
    """Before waiting for a queued job, make sure a worker reads that queue."""
    from bulkport.worker.app import configure

    if not configure(ctx.settings).control.inspect(timeout=PING_SECONDS, limit=1).ping():
        broker = broker_address(ctx.settings)
        raise click.ClickException(
            f"Job {job_id} is queued, but no worker reads the queue at {broker}: "
            f"start `bulkport up` with BULKPORT_HOME={ctx.settings.home} (or `bulkport worker`), "
            "or use --inline."
        )


@click.command("privacy-export")
@click.argument("customer_id", type=int)
@click.option("--store", "store_name", default=None, help="Store name (needed if several).")
@click.option("--wait", is_flag=True, help="Wait for the job to end, then save its zip.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to save the zip (default: privacy-export-<id>-<time>.zip here); waits.",
)
@click.option("--inline", is_flag=True, help="Run the job in this process, without a worker.")
@_as_user
def privacy_export(
    customer_id: int,
    store_name: str | None,
    wait: bool,
    output: Path | None,
    inline: bool,
    as_email: str | None,
) -> None:
    """Export everything held about one customer (record, sales, history) as a zip."""
    from bulkport.tasks import privacy_exports
    from bulkport.usecases.privacy import start_privacy_export

    _, ctx, store_id = open_store(store_name, inline=inline)
    user_id = starting_user(ctx, store_id, as_email, Permission.CUSTOMERS_BASIC)
    job = start_privacy_export(ctx, store_id=store_id, user_id=user_id, customer_id=customer_id)
    click.echo(f"Job {job.id}", err=True)
    if not (wait or inline or output):
        return
    _, target = _save_file(
        ctx,
        store_id,
        job.id,
        run=privacy_exports.run_privacy_export if inline else None,
        what="privacy export",
        place=lambda job: output or Path(privacy_exports.file_name(customer_id, job.created_at)),
    )
    click.echo(f"Everything held about customer {customer_id} written to {target}")


def _wait(ctx: Context, store_id: int, job_id: str, bar: bool = False) -> job_rows.Job:
    """Poll the job until it ends, showing its progress."""
    from bulkport.usecases.jobs import get_job

    shown = 0
    progress = None
    try:
        while True:
            job = get_job(ctx, store_id, job_id)
            total = job.counts.total
            if bar and total and progress is None:
                progress = click.progressbar(length=total, label="Rows", file=sys.stderr)
                progress.__enter__()
            if job.counts.processed > shown and total:
                if progress is not None:
                    progress.update(job.counts.processed - shown)
                else:
                    click.echo(
                        f"{job.status}: {job.counts.processed:,} of {total:,} rows", err=True
                    )
                shown = job.counts.processed
            if job.status.finished:
                return job
            time.sleep(0.3)
    finally:
        if progress is not None:
            progress.__exit__(None, None, None)


def _show(ctx: Context, job: job_rows.Job) -> None:
    from bulkport.usecases.jobs import job_detail

    detail = job_detail(ctx, job.store_id, job.id, offset=0, limit=20)
    errors, failures = detail.errors, detail.failures
    c = job.counts
    click.echo(f"Status: {job.status}")
    if job.error:
        click.echo(f"Error: {job.error}")
    if job.kind is JobKind.IMPORT:
        click.echo(
            f"Rows: {c.total or 0} total, {c.succeeded} succeeded "
            f"({c.created} created, {c.updated} updated, {c.unchanged} unchanged), "
            f"{c.failed} failed, {c.skipped} skipped"
        )
    else:
        # A lifecycle job says what it did in its kind's words, as its page does.
        said = job_words.summary(job.kind, job.options, c, failures, job.source)
        click.echo(f"Rows: {c.total or 0} total. {said}")
    for error in errors:
        where = f"row {error.row}" + (f", {error.column}" if error.column else "")
        click.echo(f"  {where}: {error.message}")
    if c.failed > len(errors):
        click.echo(f"  … see the job's report for all {c.failed} failed rows")


COMMANDS = (import_file, retry_job, *LIST_COMMANDS, export_file, privacy_export)
