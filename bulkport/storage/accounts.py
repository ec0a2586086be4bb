"""Stores, users and their API tokens (kept only as SHA-256 hashes)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from bulkport.schemas.accounts import PERMISSIONS, Permission, Role
from bulkport.storage.db import now
from bulkport.storage.tables import api_tokens, stores, users

TOKEN_PREFIX = "bp_"  # noqa: S105 (a visible prefix, not a secret)


@dataclass(frozen=True)
class User:
    """Who is calling, and in which store."""

    id: int
    store_id: int
    email: str
    role: Role

    def can(self, permission: Permission) -> bool:
        """Whether the user's role grants ``permission``."""
        return permission in PERMISSIONS[self.role]


def hash_token(token: str) -> str:
    """The stored form of a token: tokens are random, so a plain SHA-256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_store(conn: Connection, name: str) -> int:
    """The id of the store with this name, created if missing."""
    found = conn.execute(select(stores.c.id).where(stores.c.name == name)).scalar()
    if found is not None:
        return int(found)
    result = conn.execute(insert(stores).values(name=name, created_at=now()))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def store_id_by_name(conn: Connection, name: str) -> int | None:
    """A store's id, or None."""
    found = conn.execute(select(stores.c.id).where(stores.c.name == name)).scalar()
    return None if found is None else int(found)


def store_date_order(conn: Connection, store_id: int) -> str:
    """How the store's staff write ambiguous dates ("dmy" or "mdy")."""
    found = conn.execute(select(stores.c.date_order).where(stores.c.id == store_id)).scalar()
    return str(found or "dmy")


def store_names(conn: Connection) -> list[str]:
    """All stores' names."""
    return list(conn.execute(select(stores.c.name).order_by(stores.c.name)).scalars())


def ensure_user(conn: Connection, store_id: int, email: str, role: Role) -> User:
    """The store's user with this email (its role updated), created if missing."""
    email = email.strip().lower()
    row = conn.execute(
        select(users.c.id).where(users.c.store_id == store_id, users.c.email == email)
    ).first()
    if row is None:
        result = conn.execute(
            insert(users).values(store_id=store_id, email=email, role=role.value, created_at=now())
        )
        user_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    else:
        user_id = int(row.id)
        conn.execute(update(users).where(users.c.id == user_id).values(role=role.value))
    return User(id=user_id, store_id=store_id, email=email, role=role)


def issue_token(conn: Connection, user_id: int) -> str:
    """A new API token for the user; only its hash is kept, so this is the one time it shows."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        insert(api_tokens).values(user_id=user_id, token_hash=hash_token(token), created_at=now())
    )
    return token


def user_for_token(conn: Connection, token: str) -> User | None:
    """The user a bearer token belongs to, if it is known and not revoked."""
    row = conn.execute(
        select(users.c.id, users.c.store_id, users.c.email, users.c.role)
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    return User(id=row.id, store_id=row.store_id, email=row.email, role=Role(row.role))
