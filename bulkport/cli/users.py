"""`bulkport users …`: create users, set their passwords and permissions, issue, list and
revoke their API tokens, disable them."""

from __future__ import annotations

from contextlib import closing

import click

from bulkport.cli.home import open_context
from bulkport.config import get_settings
from bulkport.errors import Invalid
from bulkport.schemas.accounts import Permission, Role
from bulkport.storage.accounts import DEFAULT_TOKEN_NAME
from bulkport.storage.db import migrate as migrate_database
from bulkport.usecases import accounts


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
    default=DEFAULT_TOKEN_NAME,
    show_default=True,
    help="What to call the new token (to tell it apart in `users tokens`).",
)
@click.option("--password", default=None, help="A password for the pages (10+ characters).")
def users_create(
    store_name: str, email: str, role: str, token_name: str, password: str | None
) -> None:
    """Create a user (or give an existing one a new token); prints the token last."""
    from bulkport.tasks.context import Context

    if not 1 <= len(token_name.strip()) <= 100 or not token_name.isprintable():
        raise click.BadParameter(
            "give 1 to 100 characters, none of them control characters", param_hint="--token-name"
        )
    settings = get_settings()
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    migrate_database(settings.database)
    with closing(Context.from_settings(settings)) as ctx:
        try:
            created = accounts.create_user(
                ctx, store_name, email, Role(role), token_name=token_name.strip(), password=password
            )
        except Invalid as exc:
            raise click.UsageError(str(exc)) from None
    user, token_id, ended = created.user, created.token_id, created.sessions_ended
    if ended is not None:
        click.echo(_password_set(user.email, ended))
    click.echo(
        f"User {user.email} ({user.role}) of store {store_name!r}. API token {token_id}, "
        f"valid for {settings.token_days} days:"
    )
    click.echo(created.token)


# The store of a user named by email: needed only when several stores have that email.
_store_of_user = click.option(
    "--store", "store_name", default=None, help="Store name (if the email is in several)."
)


@users.command("tokens")
@click.argument("email")
@_store_of_user
def users_tokens(email: str, store_name: str | None) -> None:
    """List a user's API tokens: id, name, created, expires, last used, state."""
    from bulkport.storage.db import now

    with closing(open_context(get_settings())) as ctx:
        user, found = accounts.user_tokens(ctx, email, store_name)
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
    with closing(open_context(get_settings())) as ctx:
        accounts.revoke_token(ctx, token_id)
    click.echo(f"Token {token_id} is revoked.")


@users.command("disable")
@click.argument("email")
@_store_of_user
def users_disable(email: str, store_name: str | None) -> None:
    """Disable a user: every token and signed-in session of theirs ends at once."""
    with closing(open_context(get_settings())) as ctx:
        done = accounts.disable_user(ctx, email, store_name)
    user, revoked, ended = done.user, done.tokens_revoked, done.sessions_ended
    click.echo(f"{user.email} is disabled; {revoked} token(s) revoked, {ended} session(s) ended.")


def _set_permission(email: str, permission: str, store_name: str | None, granted: bool) -> None:
    from bulkport.tasks.context import Context

    with closing(Context.from_settings(get_settings())) as ctx:
        user = accounts.set_user_permission(ctx, email, Permission(permission), store_name, granted)
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


@users.command("set-password")
@click.argument("email")
@_store_of_user
@click.password_option(help="The new password (asked for twice, hidden, if not given).")
def users_set_password(email: str, store_name: str | None, password: str) -> None:
    """Set a user's password for the pages; signs them out everywhere."""
    with closing(open_context(get_settings())) as ctx:
        try:
            user, ended = accounts.set_password(ctx, email, store_name, password)
        except Invalid as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(_password_set(user.email, ended))


def _password_set(email: str, ended: int) -> str:
    """What a command that set a password says: a new password signs the user out."""
    return f"Password set for {email}; {ended} signed-in session(s) ended."
