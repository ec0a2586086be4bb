"""Customers one at a time, their sales and events, and the lifecycle changes of a batch."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, literal, or_, select, update

from bulkport.schemas.exports import ArchivedFilter, ExportFilters
from bulkport.schemas.fields import WRITABLE_KEYS
from bulkport.schemas.lifecycle import anonymized_name
from bulkport.storage.customer_reads import matching
from bulkport.storage.customer_writes import email_key
from bulkport.storage.db import now
from bulkport.storage.tables import customer_events, customers, sales

# Every personal field: what erasing a customer sets to NULL.
PERSONAL_KEYS: tuple[str, ...] = (*WRITABLE_KEYS, "email_key")


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def get(conn: Connection, store_id: int, customer_id: int) -> dict[str, Any] | None:
    """A store's customer, deleted or not; another store's is None."""
    row = conn.execute(
        select(customers).where(customers.c.id == customer_id, customers.c.store_id == store_id)
    ).first()
    return _row(row) if row else None


def locked(conn: Connection, store_id: int, ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """The store's customers with these ids, locked until the transaction ends (PostgreSQL;
    SQLite's write transaction already holds the whole database)."""
    if not ids:
        return {}
    query = (
        select(customers)
        .where(customers.c.store_id == store_id, customers.c.id.in_(list(ids)))
        .order_by(customers.c.id)
        .with_for_update()
    )
    return {row.id: _row(row) for row in conn.execute(query)}


def _chunks(values: Collection[Any]) -> Iterable[list[Any]]:
    # SQLite allows 32,766 bound parameters per statement.
    items = list(values)
    for start in range(0, len(items), 5000):
        yield items[start : start + 5000]


def ids_by_email(conn: Connection, store_id: int, keys: Collection[str]) -> dict[str, int]:
    """Email key → id of the store's customers (not deleted) with these emails."""
    found: dict[str, int] = {}
    for chunk in _chunks(keys):
        query = select(customers.c.email_key, customers.c.id).where(
            customers.c.store_id == store_id,
            customers.c.deleted_at.is_(None),
            customers.c.email_key.in_(chunk),
        )
        found.update((row.email_key, row.id) for row in conn.execute(query))
    return found


def live_ids(conn: Connection, store_id: int, ids: Collection[int]) -> list[int]:
    """Those of ``ids`` that are the store's customers, not deleted, in order."""
    found: list[int] = []
    for chunk in _chunks(ids):
        query = select(customers.c.id).where(
            customers.c.store_id == store_id,
            customers.c.deleted_at.is_(None),
            customers.c.id.in_(chunk),
        )
        found.extend(conn.execute(query).scalars())
    return sorted(found)


def search(
    conn: Connection,
    store_id: int,
    *,
    text: str | None,
    archived: ArchivedFilter,
    before_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """A page of the store's customers (never deleted ones), newest first, below a cursor."""
    where = matching(store_id, ExportFilters(search=text, archived=archived))
    if before_id is not None:
        where.append(customers.c.id < before_id)
    query = select(customers).where(*where).order_by(customers.c.id.desc()).limit(limit)
    return [_row(row) for row in conn.execute(query)]


def create(conn: Connection, store_id: int, values: dict[str, Any]) -> int:
    """A new customer from checked values; returns its id (raises IntegrityError for an
    email another customer of the store has)."""
    moment = now()
    result = conn.execute(
        insert(customers).values(
            store_id=store_id,
            **values,
            email_key=email_key(values.get("email")),
            archived=False,
            created_at=moment,
            updated_at=moment,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def change(conn: Connection, customer_id: int, values: dict[str, Any]) -> None:
    """Write checked values to a customer (email key kept in step), touching updated_at."""
    if "email" in values:
        values = {**values, "email_key": email_key(values["email"])}
    conn.execute(
        update(customers).where(customers.c.id == customer_id).values(**values, updated_at=now())
    )


def set_archived(conn: Connection, ids: Collection[int], archived: bool) -> None:
    """Archive or un-archive customers."""
    if ids:
        conn.execute(
            update(customers)
            .where(customers.c.id.in_(list(ids)))
            .values(archived=archived, updated_at=now())
        )


def merge(conn: Connection, primary_id: int, secondary_id: int, fill: dict[str, Any]) -> None:
    """Fill the primary's empty fields, move the secondary's sales, archive the secondary.

    An email that moves to the primary leaves the secondary first: the unique index covers
    every customer not deleted, archived ones too.
    """
    moment = now()
    secondary: dict[str, Any] = {"archived": True, "merged_into_id": primary_id}
    if "email" in fill:
        secondary.update(email=None, email_key=None)
    conn.execute(
        update(customers)
        .where(customers.c.id == secondary_id)
        .values(**secondary, updated_at=moment)
    )
    if fill:
        change(conn, primary_id, fill)
    conn.execute(
        update(sales).where(sales.c.customer_id == secondary_id).values(customer_id=primary_id)
    )


def erase(conn: Connection, ids: Collection[int]) -> None:
    """Archive customers and set every personal field to NULL; their id stays, marked deleted."""
    if ids:
        moment = now()
        conn.execute(
            update(customers)
            .where(customers.c.id.in_(list(ids)))
            .values(
                **dict.fromkeys(PERSONAL_KEYS),
                archived=True,
                deleted_at=moment,
                updated_at=moment,
            )
        )


def add_events(conn: Connection, events: Iterable[dict[str, Any]]) -> None:
    """Record customer events: store_id, customer_id, action, job_id, user_id, detail (ids and
    field keys only)."""
    moment = now()
    rows = [{"job_id": None, "user_id": None, "detail": None, **e, "at": moment} for e in events]
    if rows:
        conn.execute(insert(customer_events), rows)


def add_sale(
    conn: Connection, store_id: int, customer_id: int, amount: Decimal, sold_at: Any
) -> int:
    """Record a sale; returns its id."""
    result = conn.execute(
        insert(sales).values(
            store_id=store_id, customer_id=customer_id, amount=amount, sold_at=sold_at
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def sales_of(conn: Connection, store_id: int, customer_id: int) -> list[dict[str, Any]]:
    """A customer's sales, newest first."""
    query = (
        select(sales.c.id, sales.c.customer_id, sales.c.amount, sales.c.sold_at)
        .where(sales.c.store_id == store_id, sales.c.customer_id == customer_id)
        .order_by(sales.c.sold_at.desc(), sales.c.id.desc())
    )
    return [_row(row) for row in conn.execute(query)]


def sales_by_customer(
    conn: Connection, store_id: int, text: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Number and total of sales per customer, largest total first; ``text`` finds customers by
    name (a deleted customer has none, so is never found by it)."""
    c = customers.c
    name = func.trim(
        func.coalesce(c.first_name, "") + literal(" ") + func.coalesce(c.last_name, "")
    )
    query = (
        select(
            c.id,
            c.deleted_at,
            c.company,
            name.label("name"),
            func.count(sales.c.id).label("sales"),
            func.sum(sales.c.amount).label("total"),
        )
        .join(sales, sales.c.customer_id == c.id)
        .where(sales.c.store_id == store_id, c.store_id == store_id)
        .group_by(c.id, c.deleted_at, c.company, c.first_name, c.last_name)
        .order_by(func.sum(sales.c.amount).desc(), c.id)
        .limit(limit)
        .offset(offset)
    )
    if text:
        pattern = f"%{text.strip().lower()}%"
        query = query.where(
            or_(func.lower(c.first_name).like(pattern), func.lower(c.last_name).like(pattern))
        )
    return [
        {
            "customer_id": row.id,
            "name": anonymized_name(row.id)
            if row.deleted_at is not None
            else (row.name or row.company or ""),
            "sales": row.sales,
            "total": Decimal(row.total),
        }
        for row in conn.execute(query)
    ]
