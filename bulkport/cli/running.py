"""The commands that run the stack: all of it (`up`) or one part (`api`, `worker`, `beat`,
`flower`), and the schema migration."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from bulkport.cli import stack
from bulkport.cli.home import hide_password
from bulkport.config import Settings, get_settings
from bulkport.errors import PortInUse
from bulkport.storage.db import migrate as migrate_database

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bulkport.cli.services import PrivateRedis, Supervisor


@click.command()
@click.option("--port", type=int, default=None, help="API port (default 8000).")
def up(port: int | None) -> None:
    """Start everything: API, a worker and Flower, plus a private Redis if none is reachable."""
    from bulkport.cli import services

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
    from bulkport.cli import services

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
    warn_undone_erasures(settings)
    return api_port, flower_port


def warn_undone_erasures(settings: Settings) -> None:
    """After a restore, the erasures it undid are named by count before anything serves."""
    from bulkport.tasks.context import Context
    from bulkport.usecases.erasures import undone_warning

    ctx = Context.from_settings(settings)
    try:
        warning = undone_warning(ctx)
    finally:
        ctx.close()
    if warning:
        click.echo(f"Warning: {warning}", err=True)


def _start_broker(settings: Settings, supervisor: Supervisor) -> tuple[str, PrivateRedis | None]:
    """The configured Redis if it answers, else a private one on a socket in the home."""
    from bulkport.cli import services

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
    from bulkport.cli import services

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
    from bulkport.cli import services

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


@click.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
def api(host: str | None, port: int | None) -> None:
    """Run the HTTP API."""
    import uvicorn

    settings = get_settings()
    host = host or settings.api_host
    port = port or settings.api_port
    _check_api_port(host, port)
    from bulkport.http.serving import server_options

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
    from bulkport.app import create_app
    from bulkport.worker.app import broker_ready, configure, enqueue

    settings = get_settings()
    configure(settings)
    return create_app(settings, enqueue=enqueue, broker_check=broker_ready)


@click.command()
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


@click.command()
def beat() -> None:
    """Run the schedule on its own (one per deployment): the reaper and the file clean-up."""
    from bulkport.worker.app import configure

    settings = get_settings()
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    app = configure(settings)
    app.start(["beat", "--loglevel=INFO", f"--schedule={settings.home / 'celerybeat-schedule'}"])


@click.command()
def flower() -> None:
    """Run Flower with basic auth (on 127.0.0.1 unless BULKPORT_FLOWER_HOST says otherwise)."""
    from bulkport.cli import services

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


@click.command()
def migrate() -> None:
    """Bring the database to the newest schema."""
    settings = get_settings()
    migrate_database(settings.database)
    click.echo("Database is up to date.")


COMMANDS = (up, api, worker, beat, flower, migrate)
