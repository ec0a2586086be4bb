"""`bulkport backup` and `bulkport restore`: the database to a file or the file store, and back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bulkport.cli.home import open_context
from bulkport.config import get_settings

if TYPE_CHECKING:
    from bulkport.tasks.context import Context


@contextmanager
def _one_of(path: Path | None, key: str | None, usage: str) -> Iterator[Context]:
    """The home's context, once exactly one of a file and a file store key is given."""
    if (path is None) == (key is None):
        raise click.UsageError(usage)
    ctx = open_context(get_settings())
    try:
        yield ctx
    finally:
        ctx.close()


@click.command("backup")
@click.argument("target", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--to-store", "name", default=None, metavar="NAME",
    help="Keep it in the file store as backups/NAME instead (NAME '-': named by the time).",
)  # fmt: skip
def backup(target: Path | None, name: str | None) -> None:
    """Back up the database to TARGET (SQLite: online; PostgreSQL: pg_dump)."""
    from bulkport.usecases.backups import back_up, back_up_to_store, store_key

    with _one_of(target, name, "Give either TARGET or --to-store NAME.") as ctx:
        if target is not None:
            back_up(ctx.settings, target)
            click.echo(f"Backup written to {target}")
        else:
            key = store_key(None if name == "-" else name)
            back_up_to_store(ctx, key)
            click.echo(f"Backup kept in the file store as {key}")


@click.command("restore")
@click.argument("source", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from-store", "key", default=None, metavar="KEY", help="A backup in the store.")
def restore(source: Path | None, key: str | None) -> None:
    """Replace the database with the backup in SOURCE (the stack must be stopped), then say
    whether erasures it undid need `bulkport privacy replay`."""
    from bulkport.usecases.backups import restore as restore_file
    from bulkport.usecases.backups import restore_from_store
    from bulkport.usecases.erasures import undone_warning

    with _one_of(source, key, "Give either SOURCE or --from-store KEY.") as ctx:
        if source is not None:
            restore_file(ctx, source)
        else:
            restore_from_store(ctx, key or "")
        click.echo(f"Restored the database from {source or key}")
        warning = undone_warning(ctx)
    if warning:
        click.echo(f"Warning: {warning}", err=True)


COMMANDS = (backup, restore)
