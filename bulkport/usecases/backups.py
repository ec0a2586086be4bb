"""Backing up the database, to a file or into the file store, and restoring a backup."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bulkport.config import Settings, running
from bulkport.errors import Conflict, NotFound
from bulkport.storage import backups
from bulkport.storage.db import migrate, now
from bulkport.tasks.context import Context

# Where backups go in the file store; retention reads only jobs/ and previews/.
STORE_PREFIX = "backups/"


def store_key(name: str | None = None) -> str:
    """A backup's key in the file store: the name given, else one made of the time."""
    return STORE_PREFIX + (name or f"bulkport-{now():%Y%m%dT%H%M%SZ}.backup")


def back_up(settings: Settings, target: Path) -> None:
    """Write a backup of the home's database to ``target`` (the stack may go on running)."""
    backups.backup(settings.database, target, settings.pg_bin)


def back_up_to_store(ctx: Context, key: str) -> None:
    """Write a backup of the database into the file store under ``key``."""
    with _passing_file(ctx.settings) as part:
        back_up(ctx.settings, part)
        with part.open("rb") as source, ctx.files.writer(key) as out:
            shutil.copyfileobj(source, out)


def restore(ctx: Context, source: Path) -> None:
    """Replace the database with a backup. Refused while `bulkport up` runs for the home: its
    workers would write into a database being replaced."""
    settings = ctx.settings
    found = running(settings.home)
    if found is not None:
        raise Conflict(
            f"bulkport up runs for {settings.home} (process {found.pid}): stop it before "
            "restoring a backup."
        )
    if not source.is_file():
        raise NotFound(f"No backup at {source}.")
    # This process's idle connections would hold SQLite's file, or PostgreSQL's tables.
    ctx.engine.dispose()
    backups.restore(settings.database, source, settings.pg_bin)
    # A backup made by an older release is brought to this one's schema.
    migrate(settings.database)


def restore_from_store(ctx: Context, key: str) -> None:
    """Restore the backup kept in the file store under ``key``."""
    if not ctx.files.exists(key):
        raise NotFound(f"The file store holds no backup {key}.")
    with _passing_file(ctx.settings) as part:
        with ctx.files.open(key) as source, part.open("wb") as out:
            shutil.copyfileobj(source, out)
        restore(ctx, part)


@contextmanager
def _passing_file(settings: Settings) -> Iterator[Path]:
    """A file in a 0700 folder of the home, gone on leaving (a backup holds personal data)."""
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.home, prefix="backup-") as folder:
        yield Path(folder) / "backup"
