"""The audit log: who uploaded, downloaded, deleted, merged or undid what, and when."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from bulkport.storage.db import now
from bulkport.storage.tables import audit_events


def record(
    conn: Connection,
    *,
    store_id: int,
    user_id: int | None,
    action: str,
    job_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit event; ``detail`` holds no personal data (ids, file names, counts)."""
    conn.execute(
        insert(audit_events).values(
            store_id=store_id,
            user_id=user_id,
            action=action,
            job_id=job_id,
            detail=detail or {},
            created_at=now(),
        )
    )


def events(conn: Connection, store_id: int, *, limit: int = 100) -> list[dict[str, Any]]:
    """A store's newest audit events."""
    query = (
        select(audit_events)
        .where(audit_events.c.store_id == store_id)
        .order_by(audit_events.c.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in conn.execute(query)]
