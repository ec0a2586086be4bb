"""Customer rows: looking up a batch's keys and writing a batch in few statements."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from bulkport.schemas.fields import WRITABLE_KEYS
from bulkport.storage.db import now
from bulkport.storage.tables import customers

_FIELD_COLUMNS = [customers.c[key] for key in WRITABLE_KEYS]
_LOOKUP_COLUMNS = [customers.c.id, customers.c.email_key, *_FIELD_COLUMNS]
# SQLite allows 32,766 bound parameters per statement; stay well below for IN lists.
_CHUNK = 5000


def email_key(email: str | None) -> str | None:
    """The form emails are compared in: case-insensitive."""
    return email.lower() if email else None


def _chunks(values: Collection[Any]) -> Iterable[list[Any]]:
    items = list(values)
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def by_ids(conn: Connection, store_id: int, ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """The store's customers (not deleted) with these record ids."""
    found: dict[int, dict[str, Any]] = {}
    for part in _chunks(ids):
        query = select(*_LOOKUP_COLUMNS).where(
            customers.c.store_id == store_id,
            customers.c.id.in_(part),
            customers.c.deleted_at.is_(None),
        )
        for row in conn.execute(query):
            found[row.id] = dict(row._mapping)
    return found


def by_email_keys(
    conn: Connection, store_id: int, keys: Collection[str]
) -> dict[str, dict[str, Any]]:
    """The store's customers (not deleted) whose email matches, case-insensitively."""
    found: dict[str, dict[str, Any]] = {}
    for part in _chunks(keys):
        query = select(*_LOOKUP_COLUMNS).where(
            customers.c.store_id == store_id,
            customers.c.email_key.in_(part),
            customers.c.deleted_at.is_(None),
        )
        for row in conn.execute(query):
            found[row.email_key] = dict(row._mapping)
    return found


def insert_many(conn: Connection, store_id: int, records: list[dict[str, Any]]) -> None:
    """Create customers; each record holds field values only (ids are assigned here)."""
    if not records:
        return
    moment = now()
    rows = [
        {
            **{key: record.get(key) for key in WRITABLE_KEYS},
            "store_id": store_id,
            "email_key": email_key(record.get("email")),
            "archived": False,
            "created_at": moment,
            "updated_at": moment,
        }
        for record in records
    ]
    conn.execute(insert(customers), rows)


def update_many(conn: Connection, store_id: int, changes: list[dict[str, Any]]) -> None:
    """Apply changes ``{"id": …, field: value, …}``; rows changing the same fields share one
    executemany."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for change in changes:
        fields = tuple(sorted(key for key in change if key != "id"))
        groups[fields].append(change)
    moment = now()
    for fields, rows in groups.items():
        values: dict[str, Any] = {key: bindparam(f"v_{key}") for key in fields}
        if "email" in fields:
            values["email_key"] = bindparam("v_email_key")
        values["updated_at"] = moment
        statement = (
            update(customers)
            .where(customers.c.id == bindparam("v_id"), customers.c.store_id == store_id)
            .values(**values)
        )
        params = []
        for row in rows:
            param = {f"v_{key}": value for key, value in row.items()}
            if "email" in fields:
                param["v_email_key"] = email_key(row.get("email"))
            params.append(param)
        conn.execute(statement, params)


def count(conn: Connection, store_id: int) -> int:
    """How many customers the store has (not deleted)."""
    query = select(func.count()).where(
        customers.c.store_id == store_id, customers.c.deleted_at.is_(None)
    )
    return int(conn.execute(query).scalar_one())


def all_records(conn: Connection, store_id: int) -> list[dict[str, Any]]:
    """Every customer of a store, oldest first (small stores, tests and the CLI)."""
    query = (
        select(customers)
        .where(customers.c.store_id == store_id, customers.c.deleted_at.is_(None))
        .order_by(customers.c.id)
    )
    return [dict(row._mapping) for row in conn.execute(query)]
