"""SQL of job notifications: a store's signing secret and default address, and each job's
delivery row (one per job, so a job is announced once however often its task runs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from bulkport.storage.db import as_utc, now
from bulkport.storage.tables import store_webhooks, webhook_deliveries

PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class StoreWebhooks:
    """A store's notification settings."""

    secret: str | None
    default_url: str | None


@dataclass(frozen=True)
class Delivery:
    """One job's end-of-job POST."""

    job_id: str
    store_id: int
    url: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime


def store_settings(conn: Connection, store_id: int) -> StoreWebhooks:
    """The store's secret and default address (both None when never set)."""
    row = conn.execute(
        select(store_webhooks.c.secret, store_webhooks.c.default_url).where(
            store_webhooks.c.store_id == store_id
        )
    ).first()
    return StoreWebhooks(row.secret, row.default_url) if row else StoreWebhooks(None, None)


def _upsert(conn: Connection, store_id: int, **values: object) -> None:
    changed = conn.execute(
        update(store_webhooks).where(store_webhooks.c.store_id == store_id).values(**values)
    )
    if changed.rowcount == 0:
        conn.execute(insert(store_webhooks).values(store_id=store_id, **values))


def set_secret(conn: Connection, store_id: int, secret: str) -> None:
    """Replace the store's signing secret."""
    _upsert(conn, store_id, secret=secret, rotated_at=now())


def set_default_url(conn: Connection, store_id: int, url: str | None) -> None:
    """Set (or with None clear) the address used by jobs that name none."""
    _upsert(conn, store_id, default_url=url)


def open_delivery(conn: Connection, store_id: int, job_id: str, url: str) -> bool:
    """Record a PENDING delivery for the job; False when it already has one."""
    moment = now()
    try:
        with conn.begin_nested():
            conn.execute(
                insert(webhook_deliveries).values(
                    job_id=job_id, store_id=store_id, url=url, state=PENDING,
                    attempts=0, created_at=moment, updated_at=moment,
                )
            )  # fmt: skip
    except IntegrityError:
        return False
    return True


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        job_id=row.job_id,
        store_id=row.store_id,
        url=row.url,
        state=row.state,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=cast("datetime", as_utc(row.created_at)),  # the column is NOT NULL
    )


def delivery_for_worker(conn: Connection, job_id: str) -> Delivery | None:
    """A job's delivery by job id alone (the notification task carries nothing else)."""
    row = conn.execute(
        select(webhook_deliveries).where(webhook_deliveries.c.job_id == job_id)
    ).first()
    return _delivery(row) if row else None


def delivery_of(conn: Connection, store_id: int, job_id: str) -> Delivery | None:
    """A store's job's delivery, or None."""
    row = conn.execute(
        select(webhook_deliveries).where(
            webhook_deliveries.c.job_id == job_id, webhook_deliveries.c.store_id == store_id
        )
    ).first()
    return _delivery(row) if row else None


def record_attempt(conn: Connection, job_id: str, state: str, error: str | None) -> None:
    """Count one attempt and set the delivery's state (only while it is PENDING)."""
    if error is not None and len(error) > MAX_ERROR_CHARS:
        error = error[: MAX_ERROR_CHARS - 1] + "…"
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.job_id == job_id, webhook_deliveries.c.state == PENDING)
        .values(
            state=state,
            attempts=webhook_deliveries.c.attempts + 1,
            last_error=error,
            updated_at=now(),
        )
    )
