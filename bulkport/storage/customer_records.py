"""Customers one at a time, their sales and events, and the lifecycle changes of a batch."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, literal, or_, select, update

from bulkport.rules.fields import WRITABLE_KEYS
from bulkport.rules.search_words import SEARCHED_KEYS, customer_words
from bulkport.schemas.exports import ArchivedFilter, ExportFilters
from bulkport.schemas.lifecycle import anonymized_name
from bulkport.storage.customer_reads import newest_matching
from bulkport.storage.customer_writes import SEARCHED, email_key
from bulkport.storage.db import now
from bulkport.storage.tables import customer_events, customers, sales

# Every personal field: what erasing a customer sets to NULL.
PERSONAL_KEYS: tuple[str, ...] = (*WRITABLE_KEYS, "email_key", "search_words")


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def get(conn: Connection, store_id: int, customer_id: int) -> dict[str, Any] | None:
    """A store's customer, deleted or not; another store's is None."""
    row = conn.execute(
        select(customers).where(customers.c.id == customer_id, customers.c.store_id == store_id)
    ).first()
    return _row(row) if row else None


# What a list of customers shows of each: enough to name them.
NAME_COLUMNS: tuple[str, ...] = ("id", "first_name", "last_name", "email", "phone", "deleted_at")


def names_of(conn: Connection, store_id: int, ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """The store's customers with these ids, only the columns that name them (no lock)."""
    found: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        query = select(*(customers.c[name] for name in NAME_COLUMNS)).where(
            customers.c.store_id == store_id, customers.c.id.in_(chunk)
        )
        found.update((row.id, _row(row)) for row in conn.execute(query))
    return found


# What archiving, un-archiving and deleting read of a customer: its state, not its values.
STATE_COLUMNS: tuple[str, ...] = ("id", "archived", "deleted_at", "merged_into_id")


def locked(
    conn: Connection, store_id: int, ids: Collection[int], columns: Sequence[str] | None = None
) -> dict[int, dict[str, Any]]:
    """The store's customers with these ids (every column, or ``columns``), locked until the
    transaction ends (PostgreSQL; SQLite's write transaction already holds the database)."""
    if not ids:
        return {}
    chosen = [customers.c[name] for name in columns] if columns else [customers]
    query = (
        select(*chosen)
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


def with_merged(conn: Connection, store_id: int, ids: Collection[int]) -> list[int]:
    """``ids`` and every customer, not deleted, merged into one of them (and into those, …):
    a merged secondary is the same person's former record."""
    found = set(ids)
    frontier = list(found)
    while frontier:
        fresh: list[int] = []
        for chunk in _chunks(frontier):
            query = select(customers.c.id).where(
                customers.c.store_id == store_id,
                customers.c.deleted_at.is_(None),
                customers.c.merged_into_id.in_(chunk),
            )
            fresh.extend(i for i in conn.execute(query).scalars() if i not in found)
        found.update(fresh)
        frontier = fresh
    return sorted(found)


def merge_holder(conn: Connection, store_id: int, customer_id: int) -> dict[str, Any] | None:
    """The customer a merged record's person lives on in: the end of its chain of
    ``merged_into_id`` (a primary merged on in turn), or None when it was never merged or
    that customer is deleted too."""
    seen = {customer_id}
    current = get(conn, store_id, customer_id)
    while current is not None and current["merged_into_id"] is not None:
        if current["merged_into_id"] in seen:
            return None  # a cycle cannot be made by merge; never loop on one
        seen.add(current["merged_into_id"])
        current = get(conn, store_id, current["merged_into_id"])
    if current is None or current["id"] == customer_id or current["deleted_at"] is not None:
        return None
    return current


def fields_merged_from(
    conn: Connection, store_id: int, primary_id: int, secondary_id: int
) -> list[str]:
    """The field keys that merging ``secondary_id`` copied into ``primary_id``."""
    query = select(customer_events.c.detail).where(
        customer_events.c.store_id == store_id,
        customer_events.c.customer_id == primary_id,
        customer_events.c.action == "merged_from",
    )
    fields: set[str] = set()
    for detail in conn.execute(query).scalars():
        if detail and detail.get("other_id") == secondary_id:
            fields.update(detail.get("fields") or [])
    return sorted(fields)


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
    filters = ExportFilters(search=text, archived=archived)
    return [_row(row) for row in newest_matching(conn, store_id, filters, before_id, limit)]


def create(conn: Connection, store_id: int, values: dict[str, Any]) -> int:
    """A new customer from checked values; returns its id (raises IntegrityError for an
    email another customer of the store has)."""
    moment = now()
    result = conn.execute(
        insert(customers).values(
            store_id=store_id,
            **values,
            email_key=email_key(values.get("email")),
            search_words=customer_words(values),
            archived=False,
            created_at=moment,
            updated_at=moment,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def change(conn: Connection, customer_id: int, values: dict[str, Any]) -> None:
    """Write checked values to a customer (email key and search words kept in step),
    touching updated_at."""
    if "email" in values:
        values = {**values, "email_key": email_key(values["email"])}
    conn.execute(
        update(customers).where(customers.c.id == customer_id).values(**values, updated_at=now())
    )
    if not SEARCHED.isdisjoint(values):
        _refresh_search_words(conn, [customer_id])


def _refresh_search_words(conn: Connection, ids: Collection[int]) -> None:
    """Write again the search words of customers whose searched fields were just changed."""
    query = select(customers.c.id, *(customers.c[key] for key in SEARCHED_KEYS)).where(
        customers.c.id.in_(list(ids))
    )
    rows = [{"cid": row.id, "words": customer_words(row._mapping)} for row in conn.execute(query)]
    if rows:
        conn.execute(
            update(customers)
            .where(customers.c.id == bindparam("cid"))
            .values(search_words=bindparam("words")),
            rows,
        )


def set_archived(conn: Connection, ids: Collection[int], archived: bool) -> None:
    """Archive or un-archive customers."""
    if ids:
        conn.execute(
            update(customers)
            .where(customers.c.id.in_(list(ids)))
            .values(archived=archived, updated_at=now())
        )


def merge_many(conn: Connection, merges: Sequence[tuple[int, int, dict[str, Any]]]) -> None:
    """Merge each (primary, secondary, fill) of a batch: the secondary archived and pointing to
    its primary, the primary's empty fields filled, the secondary's sales moved; a few
    statements for the whole batch.

    An email that moves to the primary leaves its secondary first: the unique index covers
    every customer not deleted, archived ones too.
    """
    if not merges:
        return
    moment = now()
    for gives_email in (True, False):
        rows = [
            {"sid": s, "pid": p, "moment": moment}
            for p, s, fill in merges
            if ("email" in fill) is gives_email
        ]
        if rows:
            values: dict[str, Any] = {
                "archived": True,
                "merged_into_id": bindparam("pid"),
                "updated_at": bindparam("moment"),
            }
            if gives_email:
                values.update(email=None, email_key=None)
            conn.execute(
                update(customers).where(customers.c.id == bindparam("sid")).values(**values), rows
            )
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for p, _, fill in merges:
        if fill:
            row = {f"v_{k}": v for k, v in fill.items()}
            if "email" in fill:
                row["v_email_key"] = email_key(fill["email"])
            by_keys.setdefault(tuple(sorted(row)), []).append({**row, "pid": p, "moment": moment})
    for keys, rows in by_keys.items():
        values = {k[2:]: bindparam(k) for k in keys}
        statement = update(customers).where(customers.c.id == bindparam("pid"))
        conn.execute(statement.values(**values, updated_at=bindparam("moment")), rows)
    # The secondaries that gave their email, and the primaries filled with a searched field.
    _refresh_search_words(
        conn,
        {s for _, s, fill in merges if "email" in fill}
        | {p for p, _, fill in merges if not SEARCHED.isdisjoint(fill)},
    )
    conn.execute(
        update(sales)
        .where(sales.c.customer_id == bindparam("sid"))
        .values(customer_id=bindparam("pid")),
        [{"sid": s, "pid": p} for p, s, _ in merges],
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
