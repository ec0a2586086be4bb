"""Customer rows: looking up a batch's keys and writing a batch in few statements."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, bindparam, func, insert, or_, select, update

from bulkport.schemas.exports import ArchivedFilter, ExportFilters
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


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching(store_id: int, filters: ExportFilters) -> list[ColumnElement[bool]]:
    """The conditions that pick a store's customers for an export (deleted ones never)."""
    c = customers.c
    where: list[ColumnElement[bool]] = [c.store_id == store_id, c.deleted_at.is_(None)]
    if filters.archived is ArchivedFilter.EXCLUDE:
        where.append(c.archived.is_(False))
    elif filters.archived is ArchivedFilter.ONLY:
        where.append(c.archived.is_(True))
    if filters.search:
        pattern = _like(filters.search.strip())
        searched = (c.first_name, c.last_name, c.email, c.phone, c.mobile, c.company)
        where.append(or_(*(func.lower(col).like(pattern, escape="\\") for col in searched)))
    if filters.customer_type:
        where.append(c.customer_type == filters.customer_type)
    for name in ("tax_exempt", "accepts_marketing"):
        wanted = getattr(filters, name)
        if wanted is True:
            where.append(c[name].is_(True))
        elif wanted is False:
            where.append(or_(c[name].is_(False), c[name].is_(None)))
    for column, low, high in (
        (c.created_at, filters.created_from, filters.created_to),
        (c.updated_at, filters.updated_from, filters.updated_to),
    ):
        if low is not None:
            where.append(column >= low)
        if high is not None:
            where.append(column <= high)
    if filters.ids is not None:
        where.append(c.id.in_(filters.ids))
    return where


def count_matching(conn: Connection, store_id: int, filters: ExportFilters) -> int:
    """How many customers an export will write."""
    query = select(func.count()).select_from(customers).where(*matching(store_id, filters))
    return int(conn.execute(query).scalar_one())


def stream_matching(
    conn: Connection, store_id: int, filters: ExportFilters, keys: list[str], batch: int
) -> Iterator[Sequence[Row[Any]]]:
    """The chosen columns of the matching customers, in id order, a batch at a time, from a
    server-side cursor: memory does not grow with the number of customers."""
    query = (
        select(*(customers.c[key] for key in keys))
        .where(*matching(store_id, filters))
        .order_by(customers.c.id)
    )
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    yield from result.partitions(batch)
