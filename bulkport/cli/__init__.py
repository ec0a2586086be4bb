"""The `bulkport` command: run the whole stack or one part, manage users, import from a shell.

Every command starts with a umask of 077, so that whatever it writes under the home is
readable by its owner only, and ends an expected failure (a database or queue that does not
answer, a port in use, a missing file, an unknown store) with one line and exit code 1.

The commands live one module a concern: `running` (the stack and its parts), `users` (users
and their tokens) and `jobs` (imports, exports and the lifecycle jobs); `home` holds what they
share. This module is the group and the mapping of expected failures to one line.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import click

from bulkport.cli import backups, jobs, privacy, running, undo, users
from bulkport.cli.home import broker_address, hide_password
from bulkport.cli.running import api_app
from bulkport.config import Settings, get_settings
from bulkport.errors import BulkportError, CustomerDeleted, NoSuchCustomer, QueueUnreachable

# uvicorn's factory for `bulkport api` is named as ``bulkport.cli:api_app``.
__all__ = ["Commands", "api_app", "main", "one_line"]


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

    if isinstance(exc, NoSuchCustomer):
        return f"The store has no customer {exc.customer_id}."
    if isinstance(exc, CustomerDeleted):
        return f"Customer {exc.customer_id} was deleted: nothing personal is held to export."
    if isinstance(exc, QueueUnreachable):
        return f"Job {exc.job_id}: {exc} ({broker_address(get_settings())})"
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
        return f"The job queue cannot be reached ({broker_address(settings)}): {_first_line(exc)}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or _first_line(exc)}{where}"
    return None


def _first_line(exc: object) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


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


for _command in (
    *running.COMMANDS,
    users.users,
    *jobs.COMMANDS,
    *privacy.COMMANDS,
    *backups.COMMANDS,
    undo.undo_job,
):
    main.add_command(_command)
