"""Erasures a restored database undid: how many there are, and erasing them again."""

from __future__ import annotations

from bulkport.tasks import replay
from bulkport.tasks.context import Context

REPLAY_HINT = "run `bulkport privacy replay`"


def undone_erasures(ctx: Context) -> int:
    """How many customers the erasure log names hold personal data again (after a restore)."""
    return replay.undone_count(ctx)


def undone_warning(ctx: Context) -> str | None:
    """The warning `bulkport up` and ``/readyz`` give while erasures are undone (a count only)."""
    count = undone_erasures(ctx)
    if not count:
        return None
    return (
        f"{count} erased customer(s) hold personal data again (a restored backup?): {REPLAY_HINT}."
    )


def replay_erasures(ctx: Context) -> int:
    """Erase again everyone logged as erased who holds personal data; how many were."""
    return replay.replay(ctx)
