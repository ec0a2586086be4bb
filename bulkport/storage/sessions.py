"""Signed-in web sessions: rows with an expiry, revocable one by one (all of a user's at once:
``accounts.end_sessions``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, insert, select, update

from bulkport.schemas.accounts import Role
from bulkport.storage.accounts import User, hash_token, permission_changes
from bulkport.storage.db import as_utc, now
from bulkport.storage.tables import users, web_sessions


@dataclass(frozen=True)
class WebSession:
    """Who is signed in, and the token their forms must send back."""

    user: User
    csrf_token: str


def start(conn: Connection, user_id: int, lifetime: timedelta) -> str:
    """A new web session for the user; returns its token (kept only as a hash)."""
    token = secrets.token_urlsafe(32)
    moment = now()
    conn.execute(
        insert(web_sessions).values(
            user_id=user_id,
            token_hash=hash_token(token),
            csrf_token=secrets.token_urlsafe(32),
            created_at=moment,
            expires_at=moment + lifetime,
        )
    )
    return token


def find(conn: Connection, token: str) -> WebSession | None:
    """The live session a token belongs to: not expired, not revoked."""
    row = conn.execute(
        select(
            users.c.id,
            users.c.store_id,
            users.c.email,
            users.c.role,
            web_sessions.c.csrf_token,
            web_sessions.c.expires_at,
        )
        .join(users, users.c.id == web_sessions.c.user_id)
        .where(
            web_sessions.c.token_hash == hash_token(token),
            web_sessions.c.revoked_at.is_(None),
            users.c.disabled_at.is_(None),
        )
    ).first()
    if row is None or as_utc(row.expires_at) <= now():  # type: ignore[operator]
        return None
    granted, revoked = permission_changes(conn, row.id)
    user = User(
        id=row.id, store_id=row.store_id, email=row.email, role=Role(row.role),
        granted=granted, revoked=revoked,
    )  # fmt: skip
    return WebSession(user=user, csrf_token=row.csrf_token)


def end(conn: Connection, token: str) -> None:
    """Sign out: the session's token stops working."""
    conn.execute(
        update(web_sessions)
        .where(web_sessions.c.token_hash == hash_token(token), web_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
