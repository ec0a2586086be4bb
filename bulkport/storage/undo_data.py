"""What an import changed, kept so that it can be undone: the customers it created (marked by
``customers.created_by_job``) and, per customer it updated, ``{field: [stored, imported]}``."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from bulkport.rules.fields import FIELDS_BY_KEY, FieldKind
from bulkport.storage.db import now
from bulkport.storage.tables import customer_events, customers, import_changes, sales


def as_json(value: object) -> object:
    """A field's value as the undo data holds it (dates as ISO text)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def as_field(key: str, value: object) -> object:
    """A value of the undo data as the field takes it again."""
    field = FIELDS_BY_KEY.get(key)
    if field is not None and field.kind is FieldKind.DATE and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def record_updates(
    conn: Connection,
    store_id: int,
    job_id: str,
    updates: Sequence[dict[str, Any]],
    previous: Sequence[dict[str, Any]],
) -> None:
    """Keep, for each update of a batch, each changed field's stored and imported value.

    On the import's hot path: the batch's rows go as one JSON document (``json`` writes it in
    C, dates through ``_json_value``) that the database splits itself, in one statement."""
    if not updates:
        return
    changes = [
        (change["id"], {k: [old.get(k), v] for k, v in change.items() if k not in _NOT_FIELDS})
        for change, old in zip(updates, previous, strict=True)
    ]
    document = json.dumps(
        [{"c": customer_id, "f": fields} for customer_id, fields in changes],
        default=_json_value, ensure_ascii=False, check_circular=False,
    )  # fmt: skip
    moment = now()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "INSERT INTO import_changes (store_id, job_id, customer_id, changes, created_at) "
            "SELECT %s, %s, v.c, v.f, %s FROM json_to_recordset(%s::json) AS v(c bigint, f json)",
            (store_id, job_id, moment, document),
        )
        return
    stamp = moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    conn.exec_driver_sql(
        "INSERT INTO import_changes (store_id, job_id, customer_id, changes, created_at) "
        "SELECT ?, ?, json_extract(value, '$.c'), json_extract(value, '$.f'), ? "
        "FROM json_each(?)",
        (store_id, job_id, stamp, document),
    )


_NOT_FIELDS = frozenset({"id", "search_words"})


def _json_value(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no JSON for a {type(value).__name__}")


def first_created(conn: Connection, store_id: int, job_id: str) -> int | None:
    """The lowest id of the customers the import created that an undo has not reached."""
    query = select(func.min(customers.c.id)).where(
        customers.c.store_id == store_id, customers.c.created_by_job == job_id
    )
    found = conn.execute(query).scalar()
    return None if found is None else int(found)


def created_batch(
    conn: Connection, store_id: int, job_id: str, start: int, limit: int
) -> list[int]:
    """Up to ``limit`` ids of customers the import created, from id ``start`` on, in order."""
    query = (
        select(customers.c.id)
        .where(
            customers.c.store_id == store_id,
            customers.c.id >= start,
            customers.c.created_by_job == job_id,
        )
        .order_by(customers.c.id)
        .limit(limit)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def changes_batch(
    conn: Connection, store_id: int, job_id: str, limit: int, before: int | None = None
) -> list[tuple[int, int, dict[str, list[Any]]]]:
    """Up to ``limit`` updates of the import, newest first (an undo takes the last change of a
    customer back first): (change id, customer id, {field: [stored, imported]})."""
    query = select(import_changes.c.id, import_changes.c.customer_id, import_changes.c.changes)
    query = query.where(import_changes.c.store_id == store_id, import_changes.c.job_id == job_id)
    if before is not None:
        query = query.where(import_changes.c.id < before)
    query = query.order_by(import_changes.c.id.desc()).limit(limit)
    return [
        (int(row.id), int(row.customer_id), _loaded(row.changes)) for row in conn.execute(query)
    ]


def _loaded(changes: Any) -> dict[str, list[Any]]:
    found = json.loads(changes) if isinstance(changes, str) else changes
    assert isinstance(found, dict)
    return found


def with_sales(conn: Connection, ids: Collection[int]) -> set[int]:
    """Which of these customers have sales."""
    if not ids:
        return set()
    query = select(sales.c.customer_id).where(sales.c.customer_id.in_(list(ids))).distinct()
    return {int(i) for i in conn.execute(query).scalars()}


def forget_created(conn: Connection, ids: Collection[int]) -> None:
    """Unmark customers an undo keeps (archived, or changed since the import)."""
    if ids:
        conn.execute(
            update(customers).where(customers.c.id.in_(list(ids))).values(created_by_job=None)
        )


def delete_created(conn: Connection, store_id: int, ids: Collection[int]) -> None:
    """Delete customers an import created (they have no sales), with their events and undo
    data."""
    if not ids:
        return
    chosen = list(ids)
    conn.execute(delete(customer_events).where(customer_events.c.customer_id.in_(chosen)))
    conn.execute(delete(import_changes).where(import_changes.c.customer_id.in_(chosen)))
    conn.execute(
        delete(customers).where(customers.c.store_id == store_id, customers.c.id.in_(chosen))
    )


def drop_changes(conn: Connection, change_ids: Collection[int]) -> None:
    """Remove undo data an undo has applied."""
    if change_ids:
        conn.execute(delete(import_changes).where(import_changes.c.id.in_(list(change_ids))))


def erase_customers(conn: Connection, customer_ids: Collection[int]) -> None:
    """Erase the undo data of customers deleted for privacy: nothing of them may stay."""
    if customer_ids:
        conn.execute(
            delete(import_changes).where(import_changes.c.customer_id.in_(list(customer_ids)))
        )


def purge_before(conn: Connection, moment: datetime) -> int:
    """Remove undo data older than ``moment`` (its import can no longer be undone)."""
    old = delete(import_changes).where(import_changes.c.created_at < moment)
    return int(conn.execute(old).rowcount)
