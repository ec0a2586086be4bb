"""Erasing again, after a restore, every logged erasure that the restored database undid.

A database restored from a backup taken before an erasure holds the customer's row as it was:
same id, not marked deleted. The erasure log (``storage/erasure_log.py``) is kept apart from
the database, so it still names them; replay runs the deletion's own code on each store's
customers found so (stored files first, then the rows in one transaction, then the database's
leftovers), and finds nobody on a second run.
"""

from __future__ import annotations

from sqlalchemy import Connection

from bulkport.storage import customer_records as records
from bulkport.storage import erasure_log
from bulkport.storage.db import reading
from bulkport.tasks.context import Context
from bulkport.tasks.customer_lists import Change, Entry, Target
from bulkport.tasks.deletions import delete
from bulkport.tasks.purge import after_deletion, purge_files, traces_of


def _undone(conn: Connection, ctx: Context) -> dict[int, list[int]]:
    """Each store's logged customers whose row is not erased (a restore brought it back)."""
    found: dict[int, list[int]] = {}
    for store_id, ids in erasure_log.logged(ctx.settings.erasure_log).items():
        live = records.live_ids(conn, store_id, ids)
        if live:
            found[store_id] = live
    return found


def undone_count(ctx: Context) -> int:
    """How many erased customers hold personal data again (a count: never who)."""
    with reading(ctx.engine) as conn:
        return sum(len(ids) for ids in _undone(conn, ctx).values())


def replay(ctx: Context) -> int:
    """Erase again everyone the log names who holds personal data; how many were."""
    with reading(ctx.engine) as conn:
        undone = _undone(conn, ctx)
    for store_id, ids in undone.items():
        with ctx.engine.connect() as conn:
            traces = traces_of(conn, store_id, records.with_merged(conn, store_id, ids))
        purge_files(ctx, store_id, traces, job_id="", user_id=None)
        # Already in the log: the erasure is not logged twice.
        change = Change(store_id, None)
        with ctx.engine.begin() as conn:
            found = records.locked(conn, store_id, ids, records.STATE_COLUMNS)
            targets = [Target(Entry(0, 0, i, None, None), i, None) for i in found]
            delete(conn, change, targets, found)
    if undone:
        after_deletion(ctx)
    return sum(len(ids) for ids in undone.values())
