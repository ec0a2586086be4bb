"""What the `bulkport` commands share: the home's database and file store, its stores, and
addresses fit to print."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bulkport.config import Settings, get_settings
from bulkport.errors import Conflict, NotFound
from bulkport.schemas.accounts import Permission
from bulkport.storage.db import migrate as migrate_database
from bulkport.tasks.context import Enqueue, run_here
from bulkport.usecases import accounts

if TYPE_CHECKING:
    from bulkport.tasks.context import Context


def broker_address(settings: Settings) -> str:
    """The broker a command sends jobs to, fit to print."""
    from bulkport.worker.app import DEFAULT_BROKER

    return hide_password(settings.broker_url or DEFAULT_BROKER)


def hide_password(url: str) -> str:
    """A URL fit to print: its password replaced by stars."""
    from sqlalchemy import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def job_queue(settings: Settings, inline: bool) -> Enqueue:
    """Where the command's job goes: nowhere when it runs here, else to the Celery workers."""
    if inline:
        return run_here
    from bulkport.worker.app import configure, enqueue

    configure(settings)
    return enqueue


def open_context(settings: Settings, enqueue: Enqueue = run_here) -> Context:
    """The home's database and file store; a SQLite file that is not there is an error, never
    a new empty database in whatever folder the command runs in."""
    from sqlalchemy import make_url

    from bulkport.tasks.context import Context

    url = make_url(settings.database)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise click.ClickException(
            f"No database at {url.database}: start `bulkport up` (or `bulkport users create`) "
            "for this home first, or set BULKPORT_HOME to the folder that holds it."
        )
    migrate_database(settings.database)
    return Context.from_settings(settings, enqueue)


def store_id_of(ctx: Context, store_name: str | None) -> int:
    """The store a command names, or the only one there is; else a plain error."""
    if store_name:
        found = accounts.store_id_named(ctx, store_name)
        if found is None:
            raise click.ClickException(
                f"No store is named {store_name!r} in {hide_password(ctx.settings.database)}."
            )
        return found
    names = accounts.store_names(ctx)
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
    found = accounts.store_id_named(ctx, names[0])
    assert found is not None
    return found


def open_store(store_name: str | None, *, inline: bool) -> tuple[Settings, Context, int]:
    """A job command's settings, context (its jobs run here with ``inline``, else go to the
    workers) and store."""
    settings = get_settings()
    ctx = open_context(settings, job_queue(settings, inline))
    store_id = store_id_of(ctx, store_name)
    if not inline:
        check_broker(settings)
    return settings, ctx, store_id


def check_broker(settings: Settings) -> None:
    """Refuse to queue a job when neither a broker is configured nor this home's stack runs:
    a Redis at the default address may be anyone's, and its workers anyone's too."""
    if settings.broker_url is None:
        raise click.ClickException(
            f"No bulkport stack is running for home {settings.home}; start it with `make run` "
            "(or `bulkport up`), or use --inline."
        )


def starting_user(ctx: Context, store_id: int, email: str | None, needs: Permission) -> int | None:
    """The store's user a job is started for (``--as``), who must be enabled and allowed what
    the job does; None when no one is named (the job then shows as started from the command
    line)."""
    if email is None:
        return None
    try:
        user = accounts.enabled_user(ctx, store_id, email)
    except (NotFound, Conflict) as exc:
        raise click.BadParameter(str(exc), param_hint="--as") from None
    if not user.can(needs):
        raise click.BadParameter(f"{user.email} does not have {needs.value}", param_hint="--as")
    return user.id
