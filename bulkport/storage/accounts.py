"""Stores, users, their passwords (argon2 hashes) and API tokens (kept only as SHA-256 hashes)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, or_, select, update

from bulkport.rules.text import strip_control
from bulkport.schemas.accounts import PERMISSIONS, Permission, Role, TokenView
from bulkport.storage.db import as_utc, now
from bulkport.storage.tables import api_tokens, stores, user_permissions, users, web_sessions

TOKEN_PREFIX = "bp_"  # noqa: S105 (a visible prefix, not a secret)
DEFAULT_TOKEN_NAME = "API token"  # noqa: S105 (a label, not a secret)
# A token's last use is written at most this often: a write on every request would queue each
# call behind SQLite's one write lock (and leave PostgreSQL a dead row per call) to learn
# nothing that a minute's precision does not already tell.
LAST_USED_EVERY = timedelta(minutes=1)
MIN_PASSWORD_CHARS = 10
_hasher = PasswordHasher()
# An email has a user in at most this many stores, and a sign-in verifies exactly this many
# hashes whatever the email (its users' and stand-ins): the time it takes tells an unknown email
# from none of its stores. One more store costs every sign-in one verification more.
MAX_STORES_PER_EMAIL = 2
_STAND_IN_HASH = _hasher.hash("no such user")


@dataclass(frozen=True)
class User:
    """Who is calling, and in which store."""

    id: int
    store_id: int
    email: str
    role: Role
    # The token the caller presented, when found by one (not part of who the user is).
    token_id: int | None = field(default=None, compare=False)
    # Permissions granted to this user beyond the role, and revoked from it.
    granted: frozenset[Permission] = field(default=frozenset(), compare=False)
    revoked: frozenset[Permission] = field(default=frozenset(), compare=False)

    def can(self, permission: Permission) -> bool:
        """Whether the user's role, or a grant to this user, allows ``permission`` (a
        revocation for this user wins over the role)."""
        if permission in self.revoked:
            return False
        return permission in PERMISSIONS[self.role] or permission in self.granted


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
    """The store's user with this email (its role updated), created if missing; ValueError if
    the email already has users in ``MAX_STORES_PER_EMAIL`` other stores."""
    email = email.strip().lower()
    row = conn.execute(
        select(users.c.id).where(users.c.store_id == store_id, users.c.email == email)
    ).first()
    if row is None and len(users_by_email(conn, email)) >= MAX_STORES_PER_EMAIL:
        raise ValueError(
            f"{email} already has users in {MAX_STORES_PER_EMAIL} stores, the most an email "
            "may have; give this store's user another email."
        )
    if row is None:
        result = conn.execute(
            insert(users).values(store_id=store_id, email=email, role=role.value, created_at=now())
        )
        user_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    else:
        user_id = int(row.id)
        conn.execute(update(users).where(users.c.id == user_id).values(role=role.value))
    return User(id=user_id, store_id=store_id, email=email, role=role)


def issue_token(
    conn: Connection, user_id: int, *, name: str = DEFAULT_TOKEN_NAME, days: int = 90
) -> str:
    """A new API token for the user, working for ``days`` (the ``token_days`` setting); only
    its hash is kept, so this is the one time it shows."""
    return issue_named_token(conn, user_id, name=name, days=days)[1]


def issue_named_token(conn: Connection, user_id: int, *, name: str, days: int) -> tuple[int, str]:
    """``issue_token`` that also answers the new token's id (for the audit log)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    moment = now()
    result = conn.execute(
        insert(api_tokens).values(
            user_id=user_id,
            name=name,
            token_hash=hash_token(token),
            created_at=moment,
            expires_at=moment + timedelta(days=days),
        )
    )
    return int(result.inserted_primary_key[0]), token  # type: ignore[index]


@dataclass(frozen=True)
class Authenticated:
    """The caller a token names, and whether its last use is due to be written."""

    user: User
    use_to_note: bool


def authenticate(conn: Connection, token: str, moment: datetime) -> Authenticated | None:
    """The user a bearer token belongs to, if the token is known, not revoked, not expired
    and its user not disabled. Reads only."""
    row = conn.execute(
        select(
            users.c.id,
            users.c.store_id,
            users.c.email,
            users.c.role,
            api_tokens.c.id.label("token_id"),
            api_tokens.c.last_used_at,
        )
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(
            api_tokens.c.token_hash == hash_token(token),
            api_tokens.c.revoked_at.is_(None),
            api_tokens.c.expires_at > moment,
            users.c.disabled_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    granted, revoked = permission_changes(conn, row.id)
    user = User(
        id=row.id,
        store_id=row.store_id,
        email=row.email,
        role=Role(row.role),
        token_id=row.token_id,
        granted=granted,
        revoked=revoked,
    )
    last_used = as_utc(row.last_used_at)
    return Authenticated(user, last_used is None or last_used <= moment - LAST_USED_EVERY)


def user_for_token(conn: Connection, token: str) -> User | None:
    """The user a bearer token belongs to, if it still works (see ``authenticate``)."""
    found = authenticate(conn, token, now())
    return None if found is None else found.user


def note_use(conn: Connection, token_id: int, moment: datetime) -> None:
    """Record that a token was used, unless another request did less than a minute ago: the
    condition keeps it to one write a minute however many requests arrive together."""
    conn.execute(
        update(api_tokens)
        .where(
            api_tokens.c.id == token_id,
            or_(
                api_tokens.c.last_used_at.is_(None),
                api_tokens.c.last_used_at <= moment - LAST_USED_EVERY,
            ),
        )
        .values(last_used_at=moment)
    )


def tokens_of(conn: Connection, user_id: int) -> list[TokenView]:
    """A user's tokens, newest first: what each is, never its secret or hash."""
    query = (
        select(
            api_tokens.c.id,
            api_tokens.c.name,
            api_tokens.c.created_at,
            api_tokens.c.expires_at,
            api_tokens.c.last_used_at,
            api_tokens.c.revoked_at,
        )
        .where(api_tokens.c.user_id == user_id)
        .order_by(api_tokens.c.id.desc())
    )
    return [
        TokenView(
            id=row.id,
            name=row.name,
            created_at=as_utc(row.created_at),
            expires_at=as_utc(row.expires_at),
            last_used_at=as_utc(row.last_used_at),
            revoked_at=as_utc(row.revoked_at),
        )
        for row in conn.execute(query)
    ]


def token_owner(conn: Connection, token_id: int) -> User | None:
    """The user a token (by id) belongs to."""
    row = conn.execute(
        select(users.c.id, users.c.store_id, users.c.email, users.c.role)
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(api_tokens.c.id == token_id)
    ).first()
    if row is None:
        return None
    return User(id=row.id, store_id=row.store_id, email=row.email, role=Role(row.role))


def revoke_token(conn: Connection, token_id: int) -> bool:
    """End a token now; False if there is none of that id or it was already revoked."""
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return result.rowcount == 1


def users_by_email(conn: Connection, email: str, store_name: str | None = None) -> list[User]:
    """The users with this email, of the named store or of every store (an email is unique
    within a store only)."""
    query = (
        select(users.c.id, users.c.store_id, users.c.email, users.c.role)
        .where(users.c.email == email.strip().lower())
        .order_by(users.c.store_id)
    )
    if store_name is not None:
        query = query.join(stores, stores.c.id == users.c.store_id).where(
            stores.c.name == store_name
        )
    rows = conn.execute(query)
    return [User(id=r.id, store_id=r.store_id, email=r.email, role=Role(r.role)) for r in rows]


def is_disabled(conn: Connection, user_id: int) -> bool:
    """Whether the user was disabled."""
    found = conn.execute(select(users.c.disabled_at).where(users.c.id == user_id)).scalar()
    return found is not None


def disable_user(conn: Connection, user_id: int) -> int:
    """Disable the user and revoke every token still open; answers how many were."""
    moment = now()
    conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.disabled_at.is_(None))
        .values(disabled_at=moment)
    )
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=moment)
    )
    return int(result.rowcount)


def set_password(conn: Connection, user_id: int, password: str) -> int:
    """Keep an argon2 hash of the user's new password and end every page session of theirs,
    whoever changes it (so no caller can forget to); answers how many sessions ended. Raises
    ValueError if the password is too short."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"A password needs at least {MIN_PASSWORD_CHARS} characters.")
    conn.execute(
        update(users).where(users.c.id == user_id).values(password_hash=_hasher.hash(password))
    )
    return end_sessions(conn, user_id)


def end_sessions(conn: Connection, user_id: int) -> int:
    """End every page session of a user (a new password, a user disabled); returns how many."""
    result = conn.execute(
        update(web_sessions)
        .where(web_sessions.c.user_id == user_id, web_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return int(result.rowcount)


def user_for_password(conn: Connection, email: str, password: str) -> User | None:
    """The user with this email and password; None if no user of any store matches. Every
    sign-in verifies ``MAX_STORES_PER_EMAIL`` hashes, found or not, and all of them."""
    query = (
        select(users.c.id, users.c.store_id, users.c.email, users.c.role, users.c.password_hash)
        .where(users.c.email == email.strip().lower(), users.c.disabled_at.is_(None))
        .order_by(users.c.id)
    )
    # No user's email has a control character (and PostgreSQL refuses NUL in a query).
    rows = conn.execute(query).all() if strip_control(email) == email else []
    hashes = [row.password_hash or _STAND_IN_HASH for row in rows]
    hashes += [_STAND_IN_HASH] * (MAX_STORES_PER_EMAIL - len(hashes))
    verified = [_verified(stored, password) for stored in hashes]
    for row, matched in zip(rows, verified, strict=False):
        if matched and row.password_hash:
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


def permission_changes(
    conn: Connection, user_id: int
) -> tuple[frozenset[Permission], frozenset[Permission]]:
    """The permissions granted to a user beyond the role, and those revoked from it."""
    rows = conn.execute(
        select(user_permissions.c.permission, user_permissions.c.granted).where(
            user_permissions.c.user_id == user_id
        )
    ).all()
    known = {p.value for p in Permission}
    granted = frozenset(
        Permission(r.permission) for r in rows if r.granted and r.permission in known
    )
    revoked = frozenset(
        Permission(r.permission) for r in rows if not r.granted and r.permission in known
    )
    return granted, revoked


def set_permission(conn: Connection, user_id: int, permission: Permission, granted: bool) -> None:
    """Grant ``permission`` to one user beyond the role, or revoke it from the user."""
    conn.execute(
        delete(user_permissions).where(
            user_permissions.c.user_id == user_id,
            user_permissions.c.permission == permission.value,
        )
    )
    conn.execute(
        insert(user_permissions).values(
            user_id=user_id, permission=permission.value, granted=granted
        )
    )


def user_in_store(conn: Connection, store_id: int, user_id: int) -> User | None:
    """A store's user by id; another store's is None."""
    row = conn.execute(
        select(users.c.id, users.c.store_id, users.c.email, users.c.role).where(
            users.c.id == user_id, users.c.store_id == store_id
        )
    ).first()
    if row is None:
        return None
    granted, revoked = permission_changes(conn, row.id)
    return User(
        id=row.id, store_id=row.store_id, email=row.email, role=Role(row.role),
        granted=granted, revoked=revoked,
    )  # fmt: skip


def store_users(conn: Connection, store_id: int) -> list[tuple[User, bool]]:
    """The store's users by email, each with their permission changes and whether disabled."""
    rows = conn.execute(
        select(users.c.id, users.c.email, users.c.role, users.c.disabled_at)
        .where(users.c.store_id == store_id)
        .order_by(users.c.email)
    ).all()
    changes = conn.execute(
        select(user_permissions).where(user_permissions.c.user_id.in_([r.id for r in rows]))
    ).all()
    known = {p.value for p in Permission}
    found = []
    for row in rows:
        mine = [c for c in changes if c.user_id == row.id and c.permission in known]
        user = User(
            id=row.id, store_id=store_id, email=row.email, role=Role(row.role),
            granted=frozenset(Permission(c.permission) for c in mine if c.granted),
            revoked=frozenset(Permission(c.permission) for c in mine if not c.granted),
        )  # fmt: skip
        found.append((user, row.disabled_at is not None))
    return found
