"""`bulkport users …`: create users, set their passwords and permissions, issue, list and
revoke their API tokens, disable them."""

from __future__ import annotations

import click

from bulkport.cli.home import open_context
from bulkport.config import get_settings
from bulkport.schemas.accounts import Role
from bulkport.storage import accounts
from bulkport.storage.db import migrate as migrate_database
from bulkport.storage.db import reading


@click.group()
def users() -> None:
    """Manage users and their API tokens."""


@users.command("create")
@click.option("--store", "store_name", required=True, help="Store name (created if new).")
@click.option("--email", required=True, help="The user's email.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.STAFF.value,
    show_default=True,
)
@click.option(
    "--token-name",
    default=accounts.DEFAULT_TOKEN_NAME,
    show_default=True,
    help="What to call the new token (to tell it apart in `users tokens`).",
)
@click.option("--password", default=None, help="A password for the pages (10+ characters).")
def users_create(
    store_name: str, email: str, role: str, token_name: str, password: str | None
) -> None:
    """Create a user (or give an existing one a new token); prints the token last."""
    from contextlib import closing

    from bulkport.storage import audit
    from bulkport.tasks.context import Context

    if not 1 <= len(token_name.strip()) <= 100 or not token_name.isprintable():
        raise click.BadParameter(
            "give 1 to 100 characters, none of them control characters", param_hint="--token-name"
        )
    settings = get_settings()
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    migrate_database(settings.database)
    with closing(Context.from_settings(settings)) as ctx, ctx.engine.begin() as conn:
        store_id = accounts.ensure_store(conn, store_name)
        try:
            user = accounts.ensure_user(conn, store_id, email, Role(role))
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        if accounts.is_disabled(conn, user.id):
            raise click.ClickException(f"{user.email} is disabled; a new token would not work.")
        ended = None
        if password is not None:
            try:
                ended = accounts.set_password(conn, user.id, password)
            except ValueError as exc:
                raise click.UsageError(str(exc)) from None
        token_id, token = accounts.issue_named_token(
            conn, user.id, name=token_name.strip(), days=settings.token_days
        )
        audit.record(
            conn,
            store_id=store_id,
            user_id=None,
            action="token.create",
            detail={"user_id": user.id, "token_id": token_id, "via": "cli"},
        )
    if ended is not None:
        click.echo(_password_set(user.email, ended))
    click.echo(
        f"User {user.email} ({user.role}) of store {store_name!r}. API token {token_id}, "
        f"valid for {settings.token_days} days:"
    )
    click.echo(token)


# The store of a user named by email: needed only when several stores have that email.
_store_of_user = click.option(
    "--store", "store_name", default=None, help="Store name (if the email is in several)."
)


@users.command("tokens")
@click.argument("email")
@_store_of_user
def users_tokens(email: str, store_name: str | None) -> None:
    """List a user's API tokens: id, name, created, expires, last used, state."""
    from contextlib import closing

    from bulkport.storage.db import now

    with closing(open_context(get_settings())) as ctx, reading(ctx.engine) as conn:
        user = _one_user(accounts.users_by_email(conn, email, store_name), email, store_name)
        found = accounts.tokens_of(conn, user.id)
    if not found:
        click.echo(f"{user.email} has no tokens.")
        return
    click.echo("id\tname\tcreated\texpires\tlast used\tstate (times in UTC)")
    moment = now()
    for token in found:
        state = (
            f"revoked {token.revoked_at:%Y-%m-%d %H:%M}"
            if token.revoked_at
            else "expired"
            if token.expires_at <= moment
            else "active"
        )
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        click.echo(
            f"{token.id}\t{token.name}\t{token.created_at:%Y-%m-%d %H:%M}\t"
            f"{token.expires_at:%Y-%m-%d %H:%M}\t{used}\t{state}"
        )


@users.command("revoke-token")
@click.argument("token_id", metavar="ID", type=int)
def users_revoke_token(token_id: int) -> None:
    """Revoke one API token by its id (see `users tokens`); it stops working at once."""
    from contextlib import closing

    from bulkport.storage import audit

    with closing(open_context(get_settings())) as ctx, ctx.engine.begin() as conn:
        owner = accounts.token_owner(conn, token_id)
        if owner is None or not accounts.revoke_token(conn, token_id):
            raise click.ClickException(f"No token {token_id} is open to revoke.")
        audit.record(
            conn,
            store_id=owner.store_id,
            user_id=None,
            action="token.revoke",
            detail={"user_id": owner.id, "token_id": token_id, "via": "cli"},
        )
    click.echo(f"Token {token_id} is revoked.")


@users.command("disable")
@click.argument("email")
@_store_of_user
def users_disable(email: str, store_name: str | None) -> None:
    """Disable a user: every token and signed-in session of theirs ends at once."""
    from contextlib import closing

    from bulkport.storage import audit

    with closing(open_context(get_settings())) as ctx, ctx.engine.begin() as conn:
        user = _one_user(accounts.users_by_email(conn, email, store_name), email, store_name)
        revoked = accounts.disable_user(conn, user.id)
        ended = accounts.end_sessions(conn, user.id)
        audit.record(
            conn,
            store_id=user.store_id,
            user_id=None,
            action="user.disable",
            detail={
                "user_id": user.id,
                "tokens_revoked": revoked,
                "sessions_ended": ended,
                "via": "cli",
            },
        )
    click.echo(f"{user.email} is disabled; {revoked} token(s) revoked, {ended} session(s) ended.")


def _set_permission(email: str, permission: str, store_name: str | None, granted: bool) -> None:
    from contextlib import closing

    from bulkport.schemas.accounts import Permission
    from bulkport.storage import audit
    from bulkport.tasks.context import Context

    with closing(Context.from_settings(get_settings())) as ctx, ctx.engine.begin() as conn:
        user = _one_user(accounts.users_by_email(conn, email, store_name), email, store_name)
        accounts.set_permission(conn, user.id, Permission(permission), granted)
        audit.record(
            conn,
            store_id=user.store_id,
            user_id=None,
            action="permission.grant" if granted else "permission.revoke",
            detail={"user_id": user.id, "permission": permission, "via": "cli"},
        )
    click.echo(f"{user.email}: {permission} {'granted' if granted else 'revoked'}.")


_PERMISSION = click.Choice(["customers:basic", "customers:delete", "jobs:admin"])


@users.command("grant")
@click.argument("email")
@click.argument("permission", type=_PERMISSION)
@_store_of_user
def users_grant(email: str, permission: str, store_name: str | None) -> None:
    """Grant PERMISSION to one user, beyond the role (e.g. customers:delete to a staff user)."""
    _set_permission(email, permission, store_name, True)


@users.command("revoke")
@click.argument("email")
@click.argument("permission", type=_PERMISSION)
@_store_of_user
def users_revoke(email: str, permission: str, store_name: str | None) -> None:
    """Revoke PERMISSION from one user, even one the role grants."""
    _set_permission(email, permission, store_name, False)


def _one_user(found: list[accounts.User], email: str, store_name: str | None) -> accounts.User:
    """The one user an email (and maybe a store) names, else a plain error."""
    if not found:
        where = f" in store {store_name!r}" if store_name else ""
        raise click.ClickException(f"No user has the email {email.strip().lower()}{where}.")
    if len(found) > 1:
        raise click.ClickException(
            f"{len(found)} stores have a user with this email; name one with --store."
        )
    return found[0]


@users.command("set-password")
@click.argument("email")
@_store_of_user
@click.password_option(help="The new password (asked for twice, hidden, if not given).")
def users_set_password(email: str, store_name: str | None, password: str) -> None:
    """Set a user's password for the pages; signs them out everywhere."""
    from contextlib import closing

    with closing(open_context(get_settings())) as ctx, ctx.engine.begin() as conn:
        user = _one_user(accounts.users_by_email(conn, email, store_name), email, store_name)
        try:
            ended = accounts.set_password(conn, user.id, password)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(_password_set(user.email, ended))


def _password_set(email: str, ended: int) -> str:
    """What a command that set a password says: a new password signs the user out."""
    return f"Password set for {email}; {ended} signed-in session(s) ended."
