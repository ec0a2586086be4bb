"""The `bulkport` command: run the whole stack or one part, manage users, import from a shell.

Every command starts with a umask of 077, so that whatever it writes under the home is
readable by its owner only, and ends an expected failure (a database or queue that does not
answer, a port in use, a missing file, an unknown store) with one line and exit code 1.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import Engine

from bulkport import stack
from bulkport.config import Settings, get_settings
from bulkport.errors import BulkportError, PortInUse, QueueUnreachable
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

    from bulkport.services import PrivateRedis, Supervisor

if TYPE_CHECKING:
    from bulkport.tasks.context import Context

# Seconds to wait for a worker's answer before saying that none reads the queue.
PING_SECONDS = 2.0


class Commands(click.Group):
    """The command group: expected failures end in one line, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            message = one_line(exc)
            if message is None:
                raise
            raise click.ClickException(message) from None


def one_line(exc: Exception) -> str | None:
    """The sentence for an expected failure, or None for a defect (shown with its traceback)."""
    from kombu.exceptions import OperationalError as QueueError
    from pydantic import ValidationError
    from redis import RedisError
    from sqlalchemy.exc import OperationalError as DatabaseError

    if isinstance(exc, BulkportError):
        return str(exc)
    if isinstance(exc, ValidationError) and exc.title == Settings.__name__:
        return "; ".join(
            f"BULKPORT_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
    settings = get_settings()
    if isinstance(exc, DatabaseError):
        return (
            f"The database cannot be reached ({hide_password(settings.database)}): "
            f"{_first_line(exc.orig or exc)}"
        )
    if isinstance(exc, QueueError | RedisError):
        return f"The job queue cannot be reached ({_broker(settings)}): {_first_line(exc)}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or _first_line(exc)}{where}"
    return None


def _first_line(exc: object) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _broker(settings: Settings) -> str:
    from bulkport.worker.app import DEFAULT_BROKER

    return hide_password(settings.broker_url or DEFAULT_BROKER)


@click.group(cls=Commands)
@click.version_option(package_name="bulkport")
def main() -> None:
    """bulkport: a store's bulk customer imports and exports, run as background jobs."""
    # Before anything is created: the database and its WAL, Redis's files, uploads, reports,
    # logs and secrets are the owner's alone (0600 files in 0700 folders).
    os.umask(0o077)
    # Warnings reach the user as the one line a command ends with, not also as a log line;
    # the API and the worker configure their own logging.
    logging.getLogger("bulkport").addHandler(logging.NullHandler())


@main.command()
@click.option("--port", type=int, default=None, help="API port (default 8000).")
def up(port: int | None) -> None:
    """Start everything: API, a worker and Flower, plus a private Redis if none is reachable."""
    from bulkport import services

    settings = get_settings()
    api_port, flower_port = _prepare_up(settings, port)
    supervisor = services.Supervisor()
    private: services.PrivateRedis | None = None
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        broker, private = _start_broker(settings, supervisor)
        _start_parts(settings, supervisor, broker, api_port, flower_port)
        while not stopping:
            exited = supervisor.first_exited()
            if exited is not None:
                name, code = exited
                click.echo(f"{name} stopped (exit code {code}); stopping the rest.", err=True)
                raise SystemExit(1)
            time.sleep(0.5)
    finally:
        try:
            click.echo("Stopping…")
        finally:  # even when the terminal is gone
            supervisor.stop()
            stack.forget(settings.home, os.getpid())
            if private is not None:
                services.remove_socket_dir(private)


def _prepare_up(settings: Settings, port: int | None) -> tuple[int, int]:
    """Everything `up` checks before it starts a process; returns the API's and Flower's ports."""
    from bulkport import services

    home = settings.home
    running = stack.running(home)
    if running is not None:
        raise click.ClickException(
            f"bulkport up already runs for {home} (process {running.pid}, API {running.api_url})."
        )
    api_port = port or settings.api_port
    _check_api_port(settings.api_host, api_port)
    flower_port = settings.flower_port
    if not services.port_free(settings.flower_host, flower_port):
        flower_port = services.free_port(settings.flower_host)
        click.echo(
            f"Flower's port {settings.flower_port} is in use; using {flower_port} "
            "(BULKPORT_FLOWER_PORT chooses another)."
        )
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    click.echo(f"Home:         {home} ({_home_origin(settings)})")
    warning = open_home_warning(home)
    if warning:
        click.echo(warning, err=True)
    migrate_database(settings.database)
    return api_port, flower_port


def _start_broker(settings: Settings, supervisor: Supervisor) -> tuple[str, PrivateRedis | None]:
    """The configured Redis if it answers, else a private one on a socket in the home."""
    from bulkport import services

    broker = settings.broker_url
    if broker and services.redis_reachable(broker):
        click.echo(f"Redis:        {hide_password(broker)}")
        return broker, None
    if broker:
        click.echo(f"Redis at {hide_password(broker)} does not answer; starting a private one.")
    private = services.start_private_redis(supervisor, settings.home / "redis")
    click.echo(f"Redis:        private server on {private.socket} (no TCP port)")
    return private.url, private


def _start_parts(
    settings: Settings, supervisor: Supervisor, broker: str, api_port: int, flower_port: int
) -> None:
    """Start the API, the workers (one kept for short jobs; one runs the schedule) and Flower;
    record the stack in its home."""
    from bulkport import services

    home = settings.home
    api_url = f"http://{settings.api_host}:{api_port}"
    flower_url = f"http://{settings.flower_host}:{flower_port}"
    env = services.child_env(
        BULKPORT_HOME=str(home),
        BULKPORT_BROKER_URL=broker,
        BULKPORT_API_PORT=str(api_port),
        BULKPORT_FLOWER_PORT=str(flower_port),
        FLOWER_BASIC_AUTH=f"{settings.flower_user}:{settings.flower_secret()}",
        FLOWER_UNAUTHENTICATED_API="false",
    )
    bulkport = [sys.executable, "-m", "bulkport"]
    supervisor.start(
        "api", [*bulkport, "api", "--host", settings.api_host, "--port", str(api_port)], env
    )
    for plan in services.up_workers(settings.worker_concurrency):
        supervisor.start(plan.name, plan.argv(bulkport), env)
    supervisor.start("flower", [*bulkport, "flower"], env)
    stack.record(home, stack.Stack(os.getpid(), broker, api_url, flower_url))
    password = (
        "BULKPORT_FLOWER_PASSWORD"
        if settings.flower_password is not None
        else home / "flower-password"
    )
    click.echo(f"API and docs: {api_url}/docs")
    click.echo(f"Flower:       {flower_url} (user {settings.flower_user}, password in {password})")
    click.echo("Create a user: bulkport users create --store NAME --email EMAIL --role admin")
    click.echo("Press Ctrl-C to stop.")


def _check_api_port(host: str, port: int) -> None:
    from bulkport import services

    if not services.port_free(host, port):
        raise PortInUse(
            f"The API's port {port} on {host} is in use: stop what uses it, "
            "or choose another with --port or BULKPORT_API_PORT."
        )


def open_home_warning(home: Path) -> str | None:
    """One line when other users may read or enter the home, else None."""
    mode = home.stat().st_mode & 0o777
    if not mode & 0o077:
        return None
    return f"Warning: {home} is open to other users (mode {mode:o}); `chmod 700 {home}` closes it."


def _home_origin(settings: Settings) -> str:
    """Why the home is where it is, for the banner."""
    from bulkport.config import CHECKOUT

    if "home" in settings.model_fields_set:
        return "BULKPORT_HOME"
    where = "the checkout's var/" if settings.home == CHECKOUT / "var" else "the per-user default"
    return f"{where}; BULKPORT_HOME chooses another"


def hide_password(url: str) -> str:
    """A URL fit to print: its password replaced by stars."""
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
    host = host or settings.api_host
    port = port or settings.api_port
    _check_api_port(host, port)
    from bulkport.api.serving import server_options

    uvicorn.run(
        "bulkport.cli:api_app",
        factory=True,
        host=host,
        port=port,
        log_level="info",
        **server_options(settings),
    )


def api_app() -> FastAPI:
    """The API, sending its jobs to the Celery workers (uvicorn's factory for ``api``)."""
    from bulkport.api.app import create_app
    from bulkport.worker.app import broker_ready, configure, enqueue

    settings = get_settings()
    configure(settings)
    return create_app(settings, enqueue=enqueue, broker_check=broker_ready)


def _queue(settings: Settings, inline: bool) -> Enqueue:
    """Where the command's job goes: nowhere when it runs here, else to the Celery workers."""
    if inline:
        return run_here
    from bulkport.worker.app import configure, enqueue

    configure(settings)
    return enqueue


@main.command()
@click.option("--concurrency", type=int, default=None, help="Worker processes.")
@click.option(
    "--queues",
    default=None,
    help="Comma-separated queues to read: small, large, exports (default all three).",
)
@click.option("--name", default=None, help="Node name, e.g. short@%h (default celery@HOST).")
@click.option("--beat", is_flag=True, help="Also run the schedule (reaper, file clean-up).")
def worker(concurrency: int | None, queues: str | None, name: str | None, beat: bool) -> None:
    """Run a Celery worker that processes jobs."""
    from bulkport.worker.app import QUEUES, configure

    settings = get_settings()
    app = configure(settings)
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    argv = [
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency or settings.worker_concurrency}",
        "--events",
        f"--queues={_queues(queues, QUEUES)}",
    ]
    if name:
        argv.append(f"--hostname={name}")
    # The schedule's files go into the home, not into the folder the command runs in.
    schedule = f"--schedule={settings.home / 'celerybeat-schedule'}"
    app.worker_main([*argv, "--beat", schedule] if beat else argv)


def _queues(given: str | None, known: tuple[str, ...]) -> str:
    """The queues a worker reads, checked: a misspelt one would be read by nobody else."""
    if not given:
        return ",".join(known)
    names = [name.strip() for name in given.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise click.BadParameter(
            f"unknown queue {', '.join(unknown) or given!r}; choose from {', '.join(known)}",
            param_hint="--queues",
        )
    return ",".join(names)


@main.command()
def beat() -> None:
    """Run the schedule on its own (one per deployment): the reaper and the file clean-up."""
    from bulkport.worker.app import configure

    settings = get_settings()
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    app = configure(settings)
    app.start(["beat", "--loglevel=INFO", f"--schedule={settings.home / 'celerybeat-schedule'}"])


@main.command()
def flower() -> None:
    """Run Flower with basic auth (on 127.0.0.1 unless BULKPORT_FLOWER_HOST says otherwise)."""
    from bulkport import services

    settings = get_settings()
    if not services.port_free(settings.flower_host, settings.flower_port):
        raise PortInUse(
            f"Flower's port {settings.flower_port} on {settings.flower_host} is in use: "
            "choose another with BULKPORT_FLOWER_PORT."
        )
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
@click.option("--password", default=None, help="A password for the pages (10+ characters).")
def users_create(
    store_name: str, email: str, role: str, token_name: str, password: str | None
) -> None:
    """Create a user (or give an existing one a new token); prints the token last."""
    from contextlib import closing

    from bulkport.storage import audit
    from bulkport.tasks.context import Context

    if not 1 <= len(token_name.strip()) <= 100 or not token_name.isprintable():
        raise click.BadParameter(
            "give 1 to 100 characters, none of them control characters", param_hint="--token-name"
        )
    settings = get_settings()
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    migrate_database(settings.database)
    with closing(Context.from_settings(settings)) as ctx, ctx.engine.begin() as conn:
        store_id = accounts.ensure_store(conn, store_name)
        user = accounts.ensure_user(conn, store_id, email, Role(role))
        if accounts.is_disabled(conn, user.id):
            raise click.ClickException(f"{user.email} is disabled; a new token would not work.")
        if password is not None:
            try:
                accounts.set_password(conn, user.id, password)
            except ValueError as exc:
                raise click.UsageError(str(exc)) from None
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

    with closing(_context(get_settings())) as ctx, reading(ctx.engine) as conn:
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

    with closing(_context(get_settings())) as ctx, ctx.engine.begin() as conn:
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
    """Disable a user: every token and signed-in session of theirs ends at once."""
    from contextlib import closing

    from bulkport.storage import audit, sessions

    with closing(_context(get_settings())) as ctx, ctx.engine.begin() as conn:
        user = _one_user(accounts.users_by_email(conn, email, store_name), email, store_name)
        revoked = accounts.disable_user(conn, user.id)
        ended = sessions.end_all(conn, user.id)
        audit.record(
            conn,
            store_id=user.store_id,
            user_id=None,
            action="user.disable",
            detail={
                "user_id": user.id,
                "tokens_revoked": revoked,
                "sessions_ended": ended,
                "via": "cli",
            },
        )
    click.echo(f"{user.email} is disabled; {revoked} token(s) revoked, {ended} session(s) ended.")


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


@users.command("set-password")
@click.argument("email")
@_store_of_user
@click.password_option(help="The new password (asked for twice, hidden, if not given).")
def users_set_password(email: str, store_name: str | None, password: str) -> None:
    """Set a user's password for the pages; signs them out everywhere."""
    from contextlib import closing

    from bulkport.storage import sessions

    with closing(_context(get_settings())) as ctx, ctx.engine.begin() as conn:
        user = _one_user(accounts.users_by_email(conn, email, store_name), email, store_name)
        try:
            accounts.set_password(conn, user.id, password)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        ended = sessions.end_all(conn, user.id)
    click.echo(f"Password set for {user.email}; {ended} signed-in session(s) ended.")


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

    from bulkport.tasks.imports import resolve_options, run_import, submit_import, upload_key

    settings = get_settings()
    ctx = _context(settings, _queue(settings, inline))
    store_id = _store_id(ctx, store_name)
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
        raise click.ClickException(f"Job {job_id}: {exc} ({_broker(settings)})") from None
    click.echo(f"Job {job_id}")
    if queued and inline:
        run_import(ctx, job_id)
    elif queued and wait:
        _expect_worker(ctx, job_id)
    if wait or inline or not queued:
        job = _wait(ctx.engine, store_id, job_id)
        _show(ctx.engine, job)
        if job.status is not JobStatus.READY:
            raise SystemExit(1)


def _list_job(kind: str, file: Path, store_name: str | None, flags: dict[str, bool]) -> None:
    """Create a lifecycle job for FILE, run it here (``--inline``) or wait for a worker."""
    from bulkport.schemas.lifecycle import ListOptions
    from bulkport.tasks.customer_changes import ARCHIVE, MERGE, UNARCHIVE
    from bulkport.tasks.customer_lists import list_key, run_list, submit_list
    from bulkport.tasks.deletions import DELETE

    spec = {s.kind.value: s for s in (ARCHIVE, UNARCHIVE, MERGE, DELETE)}[kind]
    settings = get_settings()
    ctx = _context(settings, _queue(settings, flags["inline"]))
    store_id = _store_id(ctx, store_name)
    job_id = job_rows.new_job_id()
    with file.open("rb") as source, ctx.files.writer(list_key(job_id)) as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    options = ListOptions(dry_run=flags["dry_run"], confirm=flags["confirm"], filename=file.name)
    try:
        submit_list(ctx, spec, store_id=store_id, user_id=None, job_id=job_id, options=options)
    except QueueUnreachable as exc:
        raise click.ClickException(f"Job {job_id}: {exc} ({_broker(settings)})") from None
    click.echo(f"Job {job_id}")
    if flags["inline"]:
        run_list(ctx, job_id, spec)
    elif flags["wait"]:
        _expect_worker(ctx, job_id)
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

    from bulkport.tasks.exports import run_export, submit_export

    settings = get_settings()
    ctx = _context(settings, _queue(settings, inline))
    store_id = _store_id(ctx, store_name)
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
        raise click.ClickException(f"{exc} ({_broker(settings)})") from None
    click.echo(f"Job {job_id}", err=True)
    if inline:
        run_export(ctx, job_id)
    else:
        _expect_worker(ctx, job_id)
    job = _wait(ctx.engine, store_id, job_id, bar=True)
    if job.status is not JobStatus.READY or job.output_file is None:
        raise click.ClickException(f"The export {job.status}: {job.error or 'no file'}")
    target = output or Path(f"customers-{job.created_at:%Y-%m-%dT%H%M}.{fmt}")
    ctx.files.copy_to(job.output_file, target)
    click.echo(f"{job.counts.succeeded:,} customers written to {target}")


def _context(settings: Settings, enqueue: Enqueue = run_here) -> Context:
    """The home's database and file store; a SQLite file that is not there is an error, never
    a new empty database in whatever folder the command runs in."""
    from sqlalchemy.engine import make_url

    from bulkport.tasks.context import Context

    url = make_url(settings.database)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise click.ClickException(
            f"No database at {url.database}: start `bulkport up` (or `bulkport users create`) "
            "for this home first, or set BULKPORT_HOME to the folder that holds it."
        )
    migrate_database(settings.database)
    return Context.from_settings(settings, enqueue)


def _expect_worker(ctx: Context, job_id: str) -> None:
    """Before waiting for a queued job, make sure a worker reads that queue."""
    from bulkport.worker.app import configure

    if not configure(ctx.settings).control.inspect(timeout=PING_SECONDS, limit=1).ping():
        raise click.ClickException(
            f"Job {job_id} is queued, but no worker reads the queue at {_broker(ctx.settings)}: "
            f"start `bulkport up` with BULKPORT_HOME={ctx.settings.home} (or `bulkport worker`), "
            "or use --inline."
        )


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

    settings = get_settings()
    ctx = _context(settings, _queue(settings, inline))
    store_id = _store_id(ctx, store_name)
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
        raise click.ClickException(f"{exc} ({_broker(settings)})") from None
    click.echo(f"Job {job_id}", err=True)
    if inline:
        privacy_exports.run_privacy_export(ctx, job_id)
    if not (wait or inline or output):
        return
    if not inline:
        _expect_worker(ctx, job_id)
    job = _wait(ctx.engine, store_id, job_id, bar=True)
    if job.status is not JobStatus.READY or job.output_file is None:
        raise click.ClickException(f"The privacy export {job.status}: {job.error or 'no file'}")
    target = output or Path(privacy_exports.file_name(customer_id, job.created_at))
    ctx.files.copy_to(job.output_file, target)
    click.echo(f"Everything held about customer {customer_id} written to {target}")


def _store_id(ctx: Context, store_name: str | None) -> int:
    with ctx.engine.connect() as conn:
        if store_name:
            found = accounts.store_id_by_name(conn, store_name)
            if found is None:
                raise click.ClickException(
                    f"No store is named {store_name!r} in {hide_password(ctx.settings.database)}."
                )
            return found
        names = accounts.store_names(conn)
        if len(names) != 1:
            raise click.ClickException(
                "Name the store with --store"
                + (
                    f" (one of: {', '.join(names)})."
                    if names
                    else f"; {hide_password(ctx.settings.database)} has none yet: create one "
                    "with `bulkport users create`."
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
