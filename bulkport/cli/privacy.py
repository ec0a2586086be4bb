"""The `privacy` commands: `replay` erases again, after a restore, who the erasure log names."""

from __future__ import annotations

import click

from bulkport.cli.home import open_context
from bulkport.config import get_settings


@click.group("privacy")
def privacy() -> None:
    """Privacy upkeep: erasures a restored backup brought back."""


@privacy.command("replay")
def replay() -> None:
    """Erase again every customer the erasure log names who holds personal data (run it
    after restoring a backup; a second run finds nobody)."""
    from bulkport.usecases.erasures import replay_erasures

    ctx = open_context(get_settings())
    try:
        count = replay_erasures(ctx)
    finally:
        ctx.close()
    click.echo(f"Erased again: {count} customer(s).")


COMMANDS = (privacy,)
