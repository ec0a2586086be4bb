"""Stores, users, their passwords (argon2 hashes) and API tokens (kept only as SHA-256 hashes)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update

from bulkport.schemas.accounts import PERMISSIONS, Permission, Role
from bulkport.storage.db import now
from bulkport.storage.tables import api_tokens, stores, users

TOKEN_PREFIX = "bp_"  # noqa: S105 (a visible prefix, not a secret)
MIN_PASSWORD_CHARS = 10
_hasher = PasswordHasher()
# Checked when no user has the email, so that a wrong email takes as long as a wrong password.
_STAND_IN_HASH = _hasher.hash("no such user")


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


def set_password(conn: Connection, user_id: int, password: str) -> None:
    """Keep an argon2 hash of the user's new password; raises ValueError if it is too short."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"A password needs at least {MIN_PASSWORD_CHARS} characters.")
    conn.execute(
        update(users).where(users.c.id == user_id).values(password_hash=_hasher.hash(password))
    )


def user_for_password(conn: Connection, email: str, password: str) -> User | None:
    """The user with this email and password; None if no user of any store matches."""
    rows = conn.execute(
        select(users.c.id, users.c.store_id, users.c.email, users.c.role, users.c.password_hash)
        .where(users.c.email == email.strip().lower())
        .order_by(users.c.id)
    ).all()
    hashes = [row.password_hash for row in rows if row.password_hash]
    if not hashes:
        _verified(_STAND_IN_HASH, password)
    for row in rows:
        if row.password_hash and _verified(row.password_hash, password):
            return User(id=row.id, store_id=row.store_id, email=row.email, role=Role(row.role))
    return None


def _verified(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def user_by_email(conn: Connection, store_id: int, email: str) -> User | None:
    """The store's user with this email, or None."""
    row = conn.execute(
        select(users.c.id, users.c.store_id, users.c.email, users.c.role).where(
            users.c.store_id == store_id, users.c.email == email.strip().lower()
        )
    ).first()
    if row is None:
        return None
    return User(id=row.id, store_id=row.store_id, email=row.email, role=Role(row.role))


def store_name(conn: Connection, store_id: int) -> str:
    """A store's name."""
    return str(conn.execute(select(stores.c.name).where(stores.c.id == store_id)).scalar_one())


def emails_by_id(conn: Connection, user_ids: set[int]) -> dict[int, str]:
    """The emails of these users, to say who started a job."""
    if not user_ids:
        return {}
    rows = conn.execute(select(users.c.id, users.c.email).where(users.c.id.in_(user_ids)))
    return {int(row.id): str(row.email) for row in rows}
