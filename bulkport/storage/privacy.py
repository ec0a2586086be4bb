"""The queries of a privacy export: one customer's history, including other records' events
that point at them (a merge in either direction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, or_, select

from bulkport.storage.tables import customer_events

# Events whose detail names another customer (``other_id``).
POINTING = ("merged_into", "merged_from")


def events_concerning(conn: Connection, store_id: int, customer_id: int) -> list[dict[str, Any]]:
    """The customer's own events and the merge events of others that name them, oldest first."""
    e = customer_events.c
    query = (
        select(e.id, e.customer_id, e.at, e.action, e.job_id, e.detail)
        .where(
            e.store_id == store_id,
            or_(e.customer_id == customer_id, e.action.in_(POINTING)),
        )
        .order_by(e.at, e.id)
    )
    found = []
    for row in conn.execute(query):
        detail = dict(row.detail or {})
        if row.customer_id == customer_id or detail.get("other_id") == customer_id:
            found.append({**row._mapping, "detail": detail})
    return found
