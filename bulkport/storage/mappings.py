"""A store's saved column mappings, reused by name on later imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from bulkport.storage.db import as_utc, now
from bulkport.storage.tables import saved_mappings


@dataclass(frozen=True)
class SavedMapping:
    """A named mapping: header as written → field key (None ignores the column)."""

    name: str
    columns: dict[str, str | None]
    updated_at: datetime
    rules: dict[str, str] = field(default_factory=dict)  # field key → column rule


def _saved(row: Any) -> SavedMapping:
    return SavedMapping(
        name=row.name,
        columns=dict(row.columns),
        updated_at=as_utc(row.updated_at),  # type: ignore[arg-type]
        rules=dict(row.rules or {}),
    )


def save(
    conn: Connection,
    store_id: int,
    name: str,
    columns: dict[str, str | None],
    user_id: int | None,
    rules: dict[str, str] | None = None,
) -> bool:
    """Create or replace the store's mapping of this name; True when it was new."""
    moment = now()
    rules = rules or None
    changed = conn.execute(
        update(saved_mappings)
        .where(saved_mappings.c.store_id == store_id, saved_mappings.c.name == name)
        .values(columns=columns, rules=rules, updated_at=moment)
    ).rowcount
    if changed:
        return False
    conn.execute(
        insert(saved_mappings).values(
            store_id=store_id,
            name=name,
            columns=columns,
            rules=rules,
            created_by=user_id,
            created_at=moment,
            updated_at=moment,
        )
    )
    return True


def get(conn: Connection, store_id: int, name: str) -> SavedMapping | None:
    """The store's mapping of this name."""
    row = conn.execute(
        select(saved_mappings).where(
            saved_mappings.c.store_id == store_id, saved_mappings.c.name == name
        )
    ).first()
    return _saved(row) if row else None


def list_all(conn: Connection, store_id: int) -> list[SavedMapping]:
    """The store's mappings by name."""
    query = (
        select(saved_mappings)
        .where(saved_mappings.c.store_id == store_id)
        .order_by(saved_mappings.c.name)
    )
    return [_saved(row) for row in conn.execute(query)]


def remove(conn: Connection, store_id: int, name: str) -> bool:
    """Delete the store's mapping of this name; False if there was none."""
    result = conn.execute(
        delete(saved_mappings).where(
            saved_mappings.c.store_id == store_id, saved_mappings.c.name == name
        )
    )
    return result.rowcount == 1
