"""Signing in to the pages: a password checked, and the web sessions that follow from it."""

from __future__ import annotations

from datetime import timedelta

from bulkport.storage import accounts, sessions
from bulkport.storage.accounts import User
from bulkport.storage.sessions import WebSession
from bulkport.tasks.context import Context


def sign_in(ctx: Context, email: str, password: str) -> User | None:
    """The enabled user with this email and password; None when none matches."""
    with ctx.uow.reading() as conn:
        return accounts.user_for_password(conn, email, password)


def start_session(ctx: Context, user_id: int) -> tuple[str, timedelta]:
    """A new session for the user, lasting the configured hours: its token and lifetime."""
    lifetime = timedelta(hours=ctx.settings.session_hours)
    with ctx.uow.writing() as conn:
        return sessions.start(conn, user_id, lifetime), lifetime


def end_session(ctx: Context, token: str) -> None:
    """The session's token stops working."""
    with ctx.uow.writing() as conn:
        sessions.end(conn, token)


def current_session(ctx: Context, token: str) -> WebSession | None:
    """The live session a token belongs to: not expired, not revoked, of an enabled user."""
    with ctx.uow.reading() as conn:
        return sessions.find(conn, token)
