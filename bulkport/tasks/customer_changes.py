"""The rules of archiving, un-archiving and merging customers, for one customer or a batch.

Each apply function takes the targets of one transaction with their customers locked as they
stand, and answers a verdict per target: changed (``updated``), already so (``unchanged``), or
a refusal in plain words. The API's single-customer calls and the bulk jobs run the same ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from bulkport.rules.fields import WRITABLE_KEYS
from bulkport.schemas.jobs import JobKind, RowOutcome
from bulkport.storage import audit
from bulkport.storage import customer_records as records
from bulkport.tasks.context import Context
from bulkport.tasks.customer_lists import (
    Apply,
    Change,
    Entry,
    ListKind,
    Refusal,
    Target,
    Verdict,
)

DELETED: Refusal = ("deleted_customer", "This customer was deleted; nothing can change it now.")
NOT_FOUND: Refusal = ("unknown_customer", "No customer of this store has this id.")


def _event(change: Change, customer_id: int, action: str, **detail: Any) -> dict[str, Any]:
    return {
        "store_id": change.store_id,
        "customer_id": customer_id,
        "action": action,
        "job_id": change.job_id,
        "user_id": change.user_id,
        "detail": detail or None,
    }


def _set_archived(
    conn: Connection,
    change: Change,
    targets: Sequence[Target],
    found: dict[int, dict[str, Any]],
    archived: bool,
) -> list[Verdict]:
    verdicts: list[Verdict] = []
    changing: list[int] = []
    for t in targets:
        customer = found[t.customer_id]
        if customer["deleted_at"] is not None:
            verdicts.append(DELETED)
        elif bool(customer["archived"]) is archived or t.customer_id in changing:
            verdicts.append(RowOutcome.UNCHANGED)
        else:
            verdicts.append(RowOutcome.UPDATED)
            changing.append(t.customer_id)
    if changing and not change.dry_run:
        records.set_archived(conn, changing, archived)
        action = "archived" if archived else "unarchived"
        records.add_events(conn, (_event(change, i, action) for i in changing))
        if change.job_id is None:
            audit.record(
                conn, store_id=change.store_id, user_id=change.user_id,
                action=f"customer.{action[:-1]}", detail={"customer_ids": changing},
            )  # fmt: skip
    return verdicts


def archive(
    conn: Connection, change: Change, targets: Sequence[Target], found: dict[int, dict[str, Any]]
) -> list[Verdict]:
    """Archive: the customer leaves lists and cannot be sold to, and keeps everything."""
    return _set_archived(conn, change, targets, found, True)


def unarchive(
    conn: Connection, change: Change, targets: Sequence[Target], found: dict[int, dict[str, Any]]
) -> list[Verdict]:
    """Un-archive; a deleted customer cannot be."""
    return _set_archived(conn, change, targets, found, False)


def filled_fields(primary: dict[str, Any], secondary: dict[str, Any]) -> dict[str, Any]:
    """The primary's empty fields that the secondary has a value for: a merge fills only what
    the primary lacks."""
    return {
        key: secondary[key]
        for key in WRITABLE_KEYS
        if primary.get(key) in (None, "") and secondary.get(key) not in (None, "")
    }


def merge_refusal(primary: dict[str, Any], secondary: dict[str, Any]) -> Refusal | None:
    """Why these two cannot be merged, or None when they can."""
    if primary["id"] == secondary["id"]:
        return ("self_merge", "A customer cannot be merged into itself.")
    if primary["deleted_at"] is not None or secondary["deleted_at"] is not None:
        return ("deleted_customer", "A deleted customer cannot be merged.")
    if secondary["merged_into_id"] is not None:
        return ("already_merged", "The secondary was already merged into another customer.")
    if primary["merged_into_id"] is not None:
        return ("already_merged", "The primary was merged into another customer; use that one.")
    return None


def merge(
    conn: Connection, change: Change, targets: Sequence[Target], found: dict[int, dict[str, Any]]
) -> list[Verdict]:
    """Merge each secondary into its primary: the primary's values kept, its empty fields filled
    from the secondary, the secondary's sales moved, the secondary archived and pointing to it.

    An email that fills the primary's leaves the secondary (one customer per email)."""
    verdicts: list[Verdict] = []
    merges: list[tuple[int, int, dict[str, Any]]] = []
    events: list[dict[str, Any]] = []
    for t in targets:
        assert t.other_id is not None
        primary, secondary = found[t.customer_id], found[t.other_id]
        refusal = merge_refusal(primary, secondary)
        if refusal is not None:
            verdicts.append(refusal)
            continue
        verdicts.append(RowOutcome.UPDATED)
        fill = filled_fields(primary, secondary)
        merges.append((primary["id"], secondary["id"], fill))
        # Later pairs of the batch see the customers as they will stand.
        primary.update(fill)
        secondary.update(archived=True, merged_into_id=primary["id"])
        events += [
            _event(change, secondary["id"], "merged_into", other_id=primary["id"]),
            _event(
                change, primary["id"], "merged_from", other_id=secondary["id"], fields=sorted(fill)
            ),
        ]
    if merges and not change.dry_run:
        records.merge_many(conn, merges)
        records.add_events(conn, events)
        if change.job_id is None:
            for primary_id, secondary_id, _ in merges:
                audit.record(
                    conn, store_id=change.store_id, user_id=change.user_id,
                    action="customer.merge",
                    detail={"primary_id": primary_id, "secondary_id": secondary_id},
                )  # fmt: skip
    return verdicts


ARCHIVE = ListKind(JobKind.ARCHIVE, "archived", archive, columns=records.STATE_COLUMNS)
UNARCHIVE = ListKind(JobKind.UNARCHIVE, "unarchived", unarchive, columns=records.STATE_COLUMNS)
MERGE = ListKind(JobKind.MERGE, "merged", merge, pairs=True)


def change_one(
    ctx: Context,
    apply: Apply,
    change: Change,
    customer_id: int,
    other_id: int | None = None,
) -> Verdict:
    """Apply a kind's rule to one customer (and a merge's secondary) in one transaction."""
    target = Target(Entry(0, 0, customer_id, None, other_id), customer_id, other_id)
    with ctx.engine.begin() as conn:
        ids = [customer_id] if other_id is None else [customer_id, other_id]
        found = records.locked(conn, change.store_id, ids)
        if any(i not in found for i in ids):
            return NOT_FOUND
        return apply(conn, change, [target], found)[0]
