"""A store's job notifications: its signing secret (made or replaced, shown once), its
default address, and each job's delivery as the job's JSON shows it."""

from __future__ import annotations

import base64
import secrets

from bulkport.storage import audit
from bulkport.storage import webhooks as rows
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.notifications import check_address

# Bytes of randomness in a secret (Standard Webhooks asks for 24 to 64).
SECRET_BYTES = 32


def rotate_secret(ctx: Context, user: User) -> str:
    """Make the store a new signing secret, replacing any earlier one at once; the secret is
    returned here and never shown again."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
    with ctx.uow.writing() as conn:
        rows.set_secret(conn, user.store_id, secret)
        audit.record(conn, store_id=user.store_id, user_id=user.id, action="webhooks.secret")
    return secret


def set_default_url(ctx: Context, user: User, url: str | None) -> None:
    """Set (or with None clear) the address notified for jobs that name none (its form is
    checked by ``NotifyUrl``; ``AddressRefused`` for one bulkport may not reach)."""
    if url is not None:
        check_address(url, ctx.settings)
    with ctx.uow.writing() as conn:
        rows.set_default_url(conn, user.store_id, url)
        audit.record(conn, store_id=user.store_id, user_id=user.id, action="webhooks.default")


def webhook_settings(ctx: Context, user: User) -> dict[str, object]:
    """Whether the store has a secret (never the secret) and its default address."""
    with ctx.uow.reading() as conn:
        found = rows.store_settings(conn, user.store_id)
    return {"has_secret": found.secret is not None, "default_url": found.default_url}


def delivery_view(ctx: Context, store_id: int, job_id: str) -> dict[str, object] | None:
    """A job's notification as its JSON shows it, or None when it has none (yet)."""
    with ctx.uow.reading() as conn:
        found = rows.delivery_of(conn, store_id, job_id)
    if found is None:
        return None
    return {
        "url": found.url,
        "state": found.state,
        "attempts": found.attempts,
        "last_error": found.last_error,
    }
