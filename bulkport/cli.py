"""The `bulkport` command: run the whole stack or one part, manage users, import from a shell."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click
from sqlalchemy import Engine

from bulkport.config import Settings, get_settings
from bulkport.errors import QueueUnreachable
from bulkport.schemas.accounts import Role
from bulkport.schemas.dates import DateOrder
from bulkport.schemas.exports import ArchivedFilter, ExportFormat, ExportRequest
from bulkport.schemas.jobs import BlankCells, ImportMode, ImportOptions, JobStatus, MatchOn
from bulkport.storage import accounts
from bulkport.storage import jobs as job_rows
from bulkport.storage.db import migrate as migrate_database
from bulkport.storage.db import reading
from bulkport.tasks.context import Enqueue, run_here

if TYPE_CHECKING:
    from fastapi import FastAPI


@click.group()
@click.version_option(package_name="bulkport")
def main() -> None:
    """bulkport: a store's bulk customer imports, exports and deletions, run as jobs."""


@main.command()
@click.option("--port", type=int, default=None, help="API port (default 8000).")
def up(port: int | None) -> None:
    """Start everything: API, a worker and Flower, plus a private Redis if none is reachable."""
    from bulkport import services

    settings = get_settings()
    home = settings.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    migrate_database(settings.database)
    supervisor = services.Supervisor()
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        broker = settings.broker_url
        if broker and services.redis_reachable(broker):
            click.echo(f"Redis: {_hide_password(broker)}")
        else:
            if broker:
                click.echo(
                    f"Redis at {_hide_password(broker)} does not answer; starting a private one."
                )
            broker = services.start_private_redis(supervisor, home / "redis")
            click.echo(f"Redis: private server at {broker} (data in {home / 'redis'})")
        api_port = port or settings.api_port
        env = services.child_env(
            BULKPORT_HOME=str(home),
            BULKPORT_BROKER_URL=broker,
            BULKPORT_API_PORT=str(api_port),
            FLOWER_BASIC_AUTH=f"{settings.flower_user}:{settings.flower_secret()}",
            FLOWER_UNAUTHENTICATED_API="false",
        )
        python = sys.executable
        concurrency = settings.worker_concurrency
        supervisor.start(
            "api",
            [python, "-m", "bulkport", "api", "--host", settings.api_host, "--port", str(api_port)],
            env,
        )
        supervisor.start(
            "worker",
            [python, "-m", "bulkport", "worker", "--beat", "--concurrency", str(concurrency)],
            env,
        )
        supervisor.start("flower", [python, "-m", "bulkport", "flower"], env)
        click.echo(f"API and docs: http://{settings.api_host}:{api_port}/docs")
        click.echo(
            f"Flower:       http://127.0.0.1:{settings.flower_port} "
            f"(user {settings.flower_user}, password in {home / 'flower-password'} "
            "unless BULKPORT_FLOWER_PASSWORD is set)"
        )
        click.echo("Create a user: bulkport users create --store NAME --email EMAIL --role admin")
        click.echo("Press Ctrl-C to stop.")
        while not stopping:
            exited = supervisor.first_exited()
            if exited is not None:
                name, code = exited
                click.echo(f"{name} stopped (exit code {code}); stopping the rest.", err=True)
                raise SystemExit(1)
            time.sleep(0.5)
    finally:
        click.echo("Stopping…")
        supervisor.stop()


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
def api(host: str | None, port: int | None) -> None:
    """Run the HTTP API."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "bulkport.cli:api_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
    )


def api_app() -> FastAPI:
    """The API, sending its jobs to the Celery workers (uvicorn's factory for ``api``)."""
    from bulkport.api.app import create_app
    from bulkport.worker.app import configure, enqueue

    settings = get_settings()
    configure(settings)
    return create_app(settings, enqueue=enqueue)


def _queue(settings: Settings, inline: bool) -> Enqueue:
    """Where the command's job goes: nowhere when it runs here, else to the Celery workers."""
    if inline:
        return run_here
    from bulkport.worker.app import configure, enqueue

    configure(settings)
    return enqueue


@main.command()
@click.option("--concurrency", type=int, default=None, help="Worker processes.")
@click.option("--beat", is_flag=True, help="Also run the schedule (hourly file clean-up).")
def worker(concurrency: int | None, beat: bool) -> None:
    """Run a Celery worker that processes jobs."""
    from bulkport.worker.app import configure

    settings = get_settings()
    app = configure(settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    argv = [
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency or settings.worker_concurrency}",
        "--events",
    ]
    app.worker_main([*argv, "--beat"] if beat else argv)


@main.command()
def beat() -> None:
    """Run the schedule on its own (one per deployment): the hourly file clean-up."""
    from bulkport.worker.app import configure

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    app = configure(settings)
    app.start(["beat", "--loglevel=INFO"])


@main.command()
def flower() -> None:
    """Run Flower with basic auth (on 127.0.0.1 unless BULKPORT_FLOWER_HOST says otherwise)."""
    settings = get_settings()
    os.environ.setdefault("FLOWER_BASIC_AUTH", f"{settings.flower_user}:{settings.flower_secret()}")
    from bulkport.worker.app import configure

    configure(settings).start(
        [
            "flower",
            f"--address={settings.flower_host}",
            f"--port={settings.flower_port}",
            "--persistent=False",
        ]
    )


@main.command()
def migrate() -> None:
    """Bring the database to the newest schema."""
    settings = get_settings()
    migrate_database(settings.database)
    click.echo("Database is up to date.")


@main.group()
def users() -> None:
    """Manage users and their API tokens."""


@users.command("create")
@click.option("--store", "store_name", required=True, help="Store name (created if new).")
@click.option("--email", required=True, help="The user's email.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.STAFF.value,
    show_default=True,
)
@click.option(
    "--token-name",
    default=accounts.DEFAULT_TOKEN_NAME,
    show_default=True,
    help="What to call the new token (to tell it apart in `users tokens`).",
)
def users_create(store_name: str, email: str, role: str, token_name: str) -> None:
    """Create a user (or give an existing one a new token); prints the token last."""
    from contextlib import closing

    from bulkport.storage import audit
    from bulkport.tasks.context import Context

    if not 1 <= len(token_name.strip()) <= 100 or not token_name.isprintable():
        raise click.BadParameter(
            "give 1 to 100 characters, none of them control characters", param_hint="--token-name"
        )
    settings = get_settings()
    migrate_database(settings.database)
    with closing(Context.from_settings(settings)) as ctx, ctx.engine.begin() as conn:
        store_id = accounts.ensure_store(conn, store_name)
        user = accounts.ensure_user(conn, store_id, email, Role(role))
        if accounts.is_disabled(conn, user.id):
            raise click.ClickException(f"{user.email} is disabled; a new token would not work.")
        token_id, token = accounts.issue_named_token(
            conn, user.id, name=token_name.strip(), days=settings.token_days
        )
        audit.record(
            conn,
            store_id=store_id,
            user_id=None,
            action="token.create",
            detail={"user_id": user.id, "token_id": token_id, "via": "cli"},
        )
    click.echo(
        f"User {user.email} ({user.role}) of store {store_name!r}. API token {token_id}, "
        f"valid for {settings.token_days} days:"
    )
    click.echo(token)


# The store of a user named by email: needed only when several stores have that email.
_store_of_user = click.option(
    "--store", "store_name", default=None, help="Store name (if the email is in several)."
)


@users.command("tokens")
@click.argument("email")
@_store_of_user
def users_tokens(email: str, store_name: str | None) -> None:
    """List a user's API tokens: id, name, created, expires, last used, state."""
    from contextlib import closing

    from bulkport.storage.db import now
    from bulkport.tasks.context import Context

    with closing(Context.from_settings(get_settings())) as ctx, reading(ctx.engine) as conn:
        user = _one_user(accounts.users_by_email(conn, email, store_name), email, store_name)
        found = accounts.tokens_of(conn, user.id)
    if not found:
        click.echo(f"{user.email} has no tokens.")
        return
    click.echo("id\tname\tcreated\texpires\tlast used\tstate (times in UTC)")
    moment = now()
    for token in found:
        state = (
            f"revoked {token.revoked_at:%Y-%m-%d %H:%M}"
            if token.revoked_at
            else "expired"
            if token.expires_at <= moment
            else "active"
        )
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        click.echo(
            f"{token.id}\t{token.name}\t{token.created_at:%Y-%m-%d %H:%M}\t"
            f"{token.expires_at:%Y-%m-%d %H:%M}\t{used}\t{state}"
        )


@users.command("revoke-token")
@click.argument("token_id", metavar="ID", type=int)
def users_revoke_token(token_id: int) -> None:
    """Revoke one API token by its id (see `users tokens`); it stops working at once."""
    from contextlib import closing

    from bulkport.storage import audit
    from bulkport.tasks.context import Context

    with closing(Context.from_settings(get_settings())) as ctx, ctx.engine.begin() as conn:
        owner = accounts.token_owner(conn, token_id)
        if owner is None or not accounts.revoke_token(conn, token_id):
            raise click.ClickException(f"No token {token_id} is open to revoke.")
        audit.record(
            conn,
            store_id=owner.store_id,
            user_id=None,
            action="token.revoke",
            detail={"user_id": owner.id, "token_id": token_id, "via": "cli"},
        )
    click.echo(f"Token {token_id} is revoked.")


@users.command("disable")
@click.argument("email")
@_store_of_user
def users_disable(email: str, store_name: str | None) -> None:
    """Disable a user: every token of theirs ends at once and none works again."""
    from contextlib import closing

    from bulkport.storage import audit
    from bulkport.tasks.context import Context

    with closing(Context.from_settings(get_settings())) as ctx, ctx.engine.begin() as conn:
        user = _one_user(accounts.users_by_email(conn, email, store_name), email, store_name)
        revoked = accounts.disable_user(conn, user.id)
        audit.record(
            conn,
            store_id=user.store_id,
            user_id=None,
            action="user.disable",
            detail={"user_id": user.id, "tokens_revoked": revoked, "via": "cli"},
        )
    click.echo(f"{user.email} is disabled; {revoked} token(s) revoked.")


def _set_permission(email: str, permission: str, store_name: str | None, granted: bool) -> None:
    from contextlib import closing

    from bulkport.schemas.accounts import Permission
    from bulkport.storage import audit
    from bulkport.tasks.context import Context

    with closing(Context.from_settings(get_settings())) as ctx, ctx.engine.begin() as conn:
        user = _one_user(accounts.users_by_email(conn, email, store_name), email, store_name)
        accounts.set_permission(conn, user.id, Permission(permission), granted)
        audit.record(
            conn,
            store_id=user.store_id,
            user_id=None,
            action="permission.grant" if granted else "permission.revoke",
            detail={"user_id": user.id, "permission": permission, "via": "cli"},
        )
    click.echo(f"{user.email}: {permission} {'granted' if granted else 'revoked'}.")


_PERMISSION = click.Choice(["customers:basic", "customers:delete", "jobs:admin"])


@users.command("grant")
@click.argument("email")
@click.argument("permission", type=_PERMISSION)
@_store_of_user
def users_grant(email: str, permission: str, store_name: str | None) -> None:
    """Grant PERMISSION to one user, beyond the role (e.g. customers:delete to a staff user)."""
    _set_permission(email, permission, store_name, True)


@users.command("revoke")
@click.argument("email")
@click.argument("permission", type=_PERMISSION)
@_store_of_user
def users_revoke(email: str, permission: str, store_name: str | None) -> None:
    """Revoke PERMISSION from one user, even one the role grants."""
    _set_permission(email, permission, store_name, False)


def _one_user(found: list[accounts.User], email: str, store_name: str | None) -> accounts.User:
    """The one user an email (and maybe a store) names, else a plain error."""
    if not found:
        where = f" in store {store_name!r}" if store_name else ""
        raise click.ClickException(f"No user has the email {email.strip().lower()}{where}.")
    if len(found) > 1:
        raise click.ClickException(
            f"{len(found)} stores have a user with this email; name one with --store."
        )
    return found[0]


@main.command("import")
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
@click.option("--dry-run", is_flag=True, help="Check the file and report; change nothing.")
@click.option("--wait", is_flag=True, help="Wait for the job to end and show its result.")
@click.option("--inline", is_flag=True, help="Run the job in this process, without a worker.")
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
    dry_run: bool,
    wait: bool,
    inline: bool,
) -> None:
    """Import customers from FILE (CSV or XLSX)."""
    from pydantic import ValidationError

    from bulkport.tasks.context import Context
    from bulkport.tasks.imports import resolve_options, run_import, submit_import, upload_key

    settings = get_settings()
    migrate_database(settings.database)
    ctx = Context.from_settings(settings, _queue(settings, inline))
    store_id = _store_id(ctx.engine, store_name)
    job_id = job_rows.new_job_id()
    key = upload_key(job_id)
    given = {
        "mode": mode, "blank_cells": blank_cells, "dry_run": dry_run, "filename": file.name,
        "match_on": match_on, "encoding": encoding, "delimiter": delimiter, "sheet": sheet,
        "header_row": header_row, "date_order": date_order, "mapping_name": mapping_name,
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
    try:
        queued = submit_import(
            ctx, store_id=store_id, user_id=None, job_id=job_id, key=key, options=options
        )
    except QueueUnreachable as exc:
        raise click.ClickException(f"Job {job_id}: {exc}") from None
    click.echo(f"Job {job_id}")
    if queued and inline:
        run_import(ctx, job_id)
    if wait or inline or not queued:
        job = _wait(ctx.engine, store_id, job_id)
        _show(ctx.engine, job)
        if job.status is not JobStatus.READY:
            raise SystemExit(1)


def _list_job(kind: str, file: Path, store_name: str | None, flags: dict[str, bool]) -> None:
    """Create a lifecycle job for FILE, run it here (``--inline``) or wait for a worker."""
    from bulkport.schemas.lifecycle import ListOptions
    from bulkport.tasks.context import Context
    from bulkport.tasks.customer_changes import ARCHIVE, MERGE, UNARCHIVE
    from bulkport.tasks.customer_lists import list_key, run_list, submit_list
    from bulkport.tasks.deletions import DELETE

    spec = {s.kind.value: s for s in (ARCHIVE, UNARCHIVE, MERGE, DELETE)}[kind]
    settings = get_settings()
    migrate_database(settings.database)
    ctx = Context.from_settings(settings, _queue(settings, flags["inline"]))
    store_id = _store_id(ctx.engine, store_name)
    job_id = job_rows.new_job_id()
    with file.open("rb") as source, ctx.files.writer(list_key(job_id)) as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    options = ListOptions(dry_run=flags["dry_run"], confirm=flags["confirm"], filename=file.name)
    try:
        submit_list(ctx, spec, store_id=store_id, user_id=None, job_id=job_id, options=options)
    except QueueUnreachable as exc:
        raise click.ClickException(f"Job {job_id}: {exc}") from None
    click.echo(f"Job {job_id}")
    if flags["inline"]:
        run_list(ctx, job_id, spec)
    if flags["wait"] or flags["inline"]:
        job = _wait(ctx.engine, store_id, job_id, bar=True)
        _show(ctx.engine, job)
        if job.status is not JobStatus.READY:
            raise SystemExit(1)


def _list_command(kind: str, about: str) -> None:
    """Register `bulkport KIND FILE` with the options every lifecycle job has."""

    @main.command(kind, help=about)
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--store", "store_name", default=None, help="Store name (needed if several).")
    @click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
    @click.option("--wait", is_flag=True, help="Wait for the job to end, with a progress bar.")
    @click.option("--inline", is_flag=True, help="Run the job in this process, without a worker.")
    @click.option("--confirm", is_flag=True, hidden=kind != "delete", help="Deletions: required.")
    def command(file: Path, store_name: str | None, **flags: bool) -> None:
        if kind == "delete" and not (flags["confirm"] or flags["dry_run"]):
            raise click.ClickException("Deleting erases customers for good: add --confirm.")
        _list_job(kind, file, store_name, flags)


_list_command("archive", "Archive the customers of FILE (Customer Record IDs or emails).")
_list_command("unarchive", "Un-archive the customers of FILE (Customer Record IDs or emails).")
_list_command("merge", "Merge each row's Secondary ID into its Primary ID (FILE of pairs).")
_list_command("delete", "Delete for privacy the customers of FILE (needs --confirm).")


@main.command("export")
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
def export_file(
    store_name: str | None,
    fmt: str,
    archived: str,
    search: str | None,
    columns: tuple[str, ...],
    output: Path | None,
    inline: bool,
) -> None:
    """Export customers to CSV or XLSX, showing progress, and save the file."""
    from pydantic import ValidationError

    from bulkport.tasks.context import Context
    from bulkport.tasks.exports import run_export, submit_export

    settings = get_settings()
    migrate_database(settings.database)
    ctx = Context.from_settings(settings, _queue(settings, inline))
    store_id = _store_id(ctx.engine, store_name)
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
    try:
        job_id = submit_export(ctx, store_id=store_id, user_id=None, request=request)
    except QueueUnreachable as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Job {job_id}", err=True)
    if inline:
        run_export(ctx, job_id)
    job = _wait(ctx.engine, store_id, job_id, bar=True)
    if job.status is not JobStatus.READY or job.output_file is None:
        raise click.ClickException(f"The export {job.status}: {job.error or 'no file'}")
    target = output or Path(f"customers-{job.created_at:%Y-%m-%dT%H%M}.{fmt}")
    shutil.copyfile(ctx.files.path(job.output_file), target)
    click.echo(f"{job.counts.succeeded:,} customers written to {target}")


@main.command("privacy-export")
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
def privacy_export(
    customer_id: int, store_name: str | None, wait: bool, output: Path | None, inline: bool
) -> None:
    """Export everything held about one customer (record, sales, history) as a zip."""
    from bulkport.tasks import privacy_exports
    from bulkport.tasks.context import Context

    settings = get_settings()
    migrate_database(settings.database)
    ctx = Context.from_settings(settings, _queue(settings, inline))
    store_id = _store_id(ctx.engine, store_name)
    try:
        job_id = privacy_exports.submit_privacy_export(
            ctx, store_id=store_id, user_id=None, customer_id=customer_id
        )
    except privacy_exports.NoSuchCustomer:
        raise click.ClickException(f"The store has no customer {customer_id}.") from None
    except privacy_exports.CustomerDeleted:
        raise click.ClickException(
            f"Customer {customer_id} was deleted: nothing personal is held to export."
        ) from None
    except QueueUnreachable as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Job {job_id}", err=True)
    if inline:
        privacy_exports.run_privacy_export(ctx, job_id)
    if not (wait or inline or output):
        return
    job = _wait(ctx.engine, store_id, job_id, bar=True)
    if job.status is not JobStatus.READY or job.output_file is None:
        raise click.ClickException(f"The privacy export {job.status}: {job.error or 'no file'}")
    target = output or Path(privacy_exports.file_name(customer_id, job.created_at))
    shutil.copyfile(ctx.files.path(job.output_file), target)
    click.echo(f"Everything held about customer {customer_id} written to {target}")


def _store_id(engine: Engine, store_name: str | None) -> int:
    with engine.connect() as conn:
        if store_name:
            found = accounts.store_id_by_name(conn, store_name)
            if found is None:
                raise click.ClickException(f"No store is named {store_name!r}.")
            return found
        names = accounts.store_names(conn)
        if len(names) != 1:
            raise click.ClickException(
                "Name the store with --store"
                + (
                    f" (one of: {', '.join(names)})."
                    if names
                    else "; create one with `bulkport users create`."
                )
            )
        found = accounts.store_id_by_name(conn, names[0])
        assert found is not None
        return found


def _wait(engine: Engine, store_id: int, job_id: str, bar: bool = False) -> job_rows.Job:
    """Poll the job until it ends, showing its progress."""
    shown = 0
    progress = None
    try:
        while True:
            with reading(engine) as conn:
                job = job_rows.get_job(conn, store_id, job_id)
            assert job is not None
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


def _show(engine: Engine, job: job_rows.Job) -> None:
    c = job.counts
    click.echo(f"Status: {job.status}")
    if job.error:
        click.echo(f"Error: {job.error}")
    click.echo(
        f"Rows: {c.total or 0} total, {c.succeeded} succeeded "
        f"({c.created} created, {c.updated} updated, {c.unchanged} unchanged), "
        f"{c.failed} failed, {c.skipped} skipped"
    )
    with engine.connect() as conn:
        errors = job_rows.row_errors(conn, job.id, offset=0, limit=20)
    for error in errors:
        where = f"row {error.row}" + (f", {error.column}" if error.column else "")
        click.echo(f"  {where}: {error.message}")
    if c.failed > len(errors):
        click.echo(f"  … see the job's report for all {c.failed} failed rows")
