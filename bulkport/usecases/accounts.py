"""A store's users and their API tokens: creating, listing and disabling users, their passwords,
tokens and permissions, finding the caller by a token, and the stores a command names."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from bulkport.errors import Conflict, Invalid, NotFound
from bulkport.schemas.accounts import Permission, Role, TokenView
from bulkport.storage import accounts, audit
from bulkport.storage.accounts import User
from bulkport.storage.db import now
from bulkport.tasks.context import Context

LAST_ADMIN = (
    "{} is the store's last admin: grant jobs:admin to another user before revoking it here."
)
# What the command line adds to the audit entries it makes (it records no user).
VIA_CLI = {"via": "cli"}


@dataclass(frozen=True)
class Created:
    """A user as `users create` left them: with a new token, and maybe a new password."""

    user: User
    token_id: int
    token: str
    # Sessions a new password ended; None when no password was given.
    sessions_ended: int | None


@dataclass(frozen=True)
class Disabled:
    """A user just disabled, and what of theirs stopped working."""

    user: User
    tokens_revoked: int
    sessions_ended: int


def user_for_token(ctx: Context, token: str) -> User | None:
    """The user a bearer token belongs to, if it is valid (the one lookup every check uses)."""
    with ctx.uow.reading() as conn:
        return accounts.user_for_token(conn, token)


def authenticate(ctx: Context, token: str) -> User | None:
    """The caller a token names when it works (known, not revoked or expired, of a user who is
    not disabled), its use noted at most once a minute; None otherwise."""
    moment = now()
    with ctx.uow.reading() as conn:
        found = accounts.authenticate(conn, token, moment)
    if found is None:
        return None
    if found.use_to_note and found.user.token_id is not None:
        with ctx.uow.writing() as conn:
            accounts.note_use(conn, found.user.token_id, moment)
    return found.user


def tokens_of(ctx: Context, user: User) -> list[TokenView]:
    """The user's own tokens, newest first, never a secret."""
    with ctx.uow.reading() as conn:
        return accounts.tokens_of(conn, user.id)


def revoke_current_token(ctx: Context, user: User) -> None:
    """Revoke the token the caller was found by, audited."""
    assert user.token_id is not None  # a caller is always found by a token
    with ctx.uow.writing() as conn:
        accounts.revoke_token(conn, user.token_id)
        audit.record(
            conn, store_id=user.store_id, user_id=user.id, action="token.revoke",
            detail={"token_id": user.token_id},
        )  # fmt: skip


def store_users(ctx: Context, user: User) -> list[tuple[User, bool]]:
    """Every user of the caller's store, each with whether they are disabled."""
    with ctx.uow.reading() as conn:
        return accounts.store_users(conn, user.store_id)


def store_name(ctx: Context, user: User) -> str:
    """The name of the caller's store, as every page shows it."""
    with ctx.uow.reading() as conn:
        return accounts.store_name(conn, user.store_id)


def change_permission(
    ctx: Context, admin: User, user_id: int, permission: Permission, granted: bool
) -> User:
    """Grant or revoke one permission of one user of the admin's store, audited, and return
    the user as changed; refused for a user not in the store, and when it would leave the
    store with no enabled user who may administer it."""
    with ctx.uow.writing() as conn:
        target = accounts.user_in_store(conn, admin.store_id, user_id)
        if target is None:
            raise NotFound("No such user.")
        if permission is Permission.JOBS_ADMIN and not granted:
            others = [
                u for u, disabled in accounts.store_users(conn, admin.store_id)
                if u.id != user_id and not disabled and u.can(Permission.JOBS_ADMIN)
            ]  # fmt: skip
            if not others and target.can(Permission.JOBS_ADMIN):
                raise Conflict(LAST_ADMIN.format(target.email))
        _set_permission(conn, target, permission, granted, by=admin.id, detail={})
        changed = accounts.user_in_store(conn, admin.store_id, user_id)
    assert changed is not None
    return changed


def _set_permission(
    conn: Connection, user: User, permission: Permission, granted: bool, *, by: int | None,
    detail: dict[str, str],
) -> None:  # fmt: skip
    accounts.set_permission(conn, user.id, permission, granted)
    audit.record(
        conn, store_id=user.store_id, user_id=by,
        action="permission.grant" if granted else "permission.revoke",
        detail={"user_id": user.id, "permission": permission.value, **detail},
    )  # fmt: skip


def create_user(
    ctx: Context, store: str, email: str, role: Role, *, token_name: str, password: str | None
) -> Created:
    """The store (created if new) and its user with this email (created if new, the role set),
    a new named token for them and, when given, a new password; the token's issue audited."""
    with ctx.uow.writing() as conn:
        store_id = accounts.ensure_store(conn, store)
        try:
            user = accounts.ensure_user(conn, store_id, email, role)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        if accounts.is_disabled(conn, user.id):
            raise Conflict(f"{user.email} is disabled; a new token would not work.")
        ended = None if password is None else _new_password(conn, user, password)
        token_id, token = accounts.issue_named_token(
            conn, user.id, name=token_name, days=ctx.settings.token_days
        )
        audit.record(
            conn, store_id=store_id, user_id=None, action="token.create",
            detail={"user_id": user.id, "token_id": token_id, **VIA_CLI},
        )  # fmt: skip
    return Created(user, token_id, token, ended)


def _new_password(conn: Connection, user: User, password: str) -> int:
    try:
        return accounts.set_password(conn, user.id, password)
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def _one_user(conn: Connection, email: str, store: str | None) -> User:
    """The one user an email (and maybe a store) names."""
    found = accounts.users_by_email(conn, email, store)
    if not found:
        where = f" in store {store!r}" if store else ""
        raise NotFound(f"No user has the email {email.strip().lower()}{where}.")
    if len(found) > 1:
        raise Conflict(f"{len(found)} stores have a user with this email; name one with --store.")
    return found[0]


def user_tokens(ctx: Context, email: str, store: str | None) -> tuple[User, list[TokenView]]:
    """The user an email names and their tokens, newest first."""
    with ctx.uow.reading() as conn:
        user = _one_user(conn, email, store)
        return user, accounts.tokens_of(conn, user.id)


def revoke_token(ctx: Context, token_id: int) -> None:
    """Revoke one open token by its id, audited as the command line's doing."""
    with ctx.uow.writing() as conn:
        owner = accounts.token_owner(conn, token_id)
        if owner is None or not accounts.revoke_token(conn, token_id):
            raise NotFound(f"No token {token_id} is open to revoke.")
        audit.record(
            conn, store_id=owner.store_id, user_id=None, action="token.revoke",
            detail={"user_id": owner.id, "token_id": token_id, **VIA_CLI},
        )  # fmt: skip


def disable_user(ctx: Context, email: str, store: str | None) -> Disabled:
    """Disable the user an email names: every token and session of theirs ends, audited."""
    with ctx.uow.writing() as conn:
        user = _one_user(conn, email, store)
        revoked = accounts.disable_user(conn, user.id)
        ended = accounts.end_sessions(conn, user.id)
        audit.record(
            conn, store_id=user.store_id, user_id=None, action="user.disable",
            detail={
                "user_id": user.id, "tokens_revoked": revoked, "sessions_ended": ended,
                **VIA_CLI,
            },
        )  # fmt: skip
    return Disabled(user, revoked, ended)


def set_user_permission(
    ctx: Context, email: str, permission: Permission, store: str | None, granted: bool
) -> User:
    """Grant or revoke one permission of the user an email names, from the command line."""
    with ctx.uow.writing() as conn:
        user = _one_user(conn, email, store)
        _set_permission(conn, user, permission, granted, by=None, detail=VIA_CLI)
    return user


def set_password(ctx: Context, email: str, store: str | None, password: str) -> tuple[User, int]:
    """Set the password of the user an email names; answers how many sessions that ended."""
    with ctx.uow.writing() as conn:
        user = _one_user(conn, email, store)
        return user, _new_password(conn, user, password)


def store_id_named(ctx: Context, name: str) -> int | None:
    """The id of the store with this name, if there is one."""
    with ctx.uow.reading() as conn:
        return accounts.store_id_by_name(conn, name)


def store_names(ctx: Context) -> list[str]:
    """Every store's name."""
    with ctx.uow.reading() as conn:
        return accounts.store_names(conn)


def enabled_user(ctx: Context, store_id: int, email: str) -> User:
    """The store's user with this email, with their permissions, who must not be disabled."""
    with ctx.uow.reading() as conn:
        found = accounts.user_by_email(conn, store_id, email)
        user = found and accounts.user_in_store(conn, store_id, found.id)
        disabled = user is not None and accounts.is_disabled(conn, user.id)
    if user is None:
        raise NotFound(f"the store has no user {email.strip().lower()}")
    if disabled:
        raise Conflict(f"{user.email} is disabled")
    return user
