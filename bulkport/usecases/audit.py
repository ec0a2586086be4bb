"""The store's audit log: recording who read a job's data, and reading the log back."""

from __future__ import annotations

from typing import Any

from bulkport.storage import accounts, audit
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context


def record_access(
    ctx: Context, action: str, job_id: str, *, store_id: int, user_id: int | None,
    client: str | None,
) -> None:  # fmt: skip
    """Audit a read of a job's data, with the client's address (ids only, no personal data)."""
    with ctx.uow.writing() as conn:
        audit.record(
            conn, store_id=store_id, user_id=user_id, action=action, job_id=job_id,
            detail={"client": client},
        )  # fmt: skip


def audit_events(ctx: Context, user: User, limit: int) -> list[dict[str, Any]]:
    """The user's store's newest audit events."""
    with ctx.uow.reading() as conn:
        return audit.events(conn, user.store_id, limit=limit)


def named_audit_events(
    ctx: Context, user: User, limit: int
) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The store's newest audit events and the email of each user they name (who did it, and
    whom a permission, token or disabling was about), for saying them in words."""
    with ctx.uow.reading() as conn:
        found = audit.events(conn, user.store_id, limit=limit)
        named = {e["user_id"] for e in found if e["user_id"]}
        named |= {e["detail"].get("user_id") for e in found if isinstance(e["detail"], dict)}
        emails = accounts.emails_by_id(conn, {i for i in named if isinstance(i, int)})
    return found, emails
