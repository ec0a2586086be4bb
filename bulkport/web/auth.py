"""Who is signed in to the pages: the session cookie, CSRF tokens and the limit on failed sign-ins.

The cookie holds a random token signed with the service's key; the database keeps only the
token's hash in a session row with an expiry, so signing out, a new password or revoking a
user's sessions ends them at once. Every form carries the session's CSRF token in a hidden
field; the sign-in form, before there is a session, carries one that matches a signed cookie.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status
from itsdangerous import BadSignature, Signer

from bulkport.config import Settings
from bulkport.http.deps import ContextDep
from bulkport.http.rate_limits import minute_count
from bulkport.schemas.accounts import Permission
from bulkport.storage.sessions import WebSession
from bulkport.tasks.context import Context
from bulkport.usecases import sessions

SESSION_COOKIE = "bulkport_session"
SIGN_IN_COOKIE = "bulkport_sign_in"
SIGN_IN_PATH = "/sign-in"
# Over https a cookie's name carries this prefix: browsers then keep it only if it is Secure,
# for the whole site (Path=/) and this host alone (no Domain), so no sibling subdomain or
# plain-http page can plant or overwrite it.
HOST_PREFIX = "__Host-"


def served_over_https(request: Request, settings: Settings) -> bool:
    """Whether browsers reach the pages over https: the public URL says so when it is set
    (TLS often ends at a proxy), else the request's own scheme."""
    if settings.public_url:
        return settings.public_url.startswith("https://")
    return request.url.scheme == "https"


def cookie_name(request: Request, settings: Settings, name: str) -> str:
    """The name a cookie has on this site: ``__Host-`` first when served over https."""
    return HOST_PREFIX + name if served_over_https(request, settings) else name


def _signer(settings: Settings, purpose: str) -> Signer:
    return Signer(settings.secret(), salt=f"bulkport.web.{purpose}")


def _unsigned(settings: Settings, purpose: str, value: str | None) -> str | None:
    if not value:
        return None
    try:
        return _signer(settings, purpose).unsign(value).decode()
    except BadSignature:
        return None


def _set_cookie(
    request: Request, response: Response, settings: Settings, name: str, value: str, age: int
) -> None:
    response.set_cookie(
        cookie_name(request, settings, name),
        value,
        max_age=age,
        httponly=True,
        samesite="lax",
        secure=served_over_https(request, settings),
        path="/",
    )


def _cookie(request: Request, settings: Settings, name: str) -> str | None:
    return request.cookies.get(cookie_name(request, settings, name))


def _delete_cookie(request: Request, response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(
        cookie_name(request, settings, name),
        path="/",
        secure=served_over_https(request, settings),
        httponly=True,
        samesite="lax",
    )


def current_session(request: Request, ctx: ContextDep) -> WebSession | None:
    """The live session the request's cookie names, if any."""
    token = _unsigned(ctx.settings, "session", _cookie(request, ctx.settings, SESSION_COOKIE))
    if token is None:
        return None
    return sessions.current_session(ctx, token)


def signed_in(
    request: Request, found: Annotated[WebSession | None, Depends(current_session)]
) -> WebSession:
    """The signed-in staff member; anyone else is sent to the sign-in page."""
    if found is None:
        raise HTTPException(
            status.HTTP_303_SEE_OTHER,
            "Sign in first.",
            headers={"Location": SIGN_IN_PATH, "Cache-Control": "no-store"},
        )
    if not found.user.can(Permission.CUSTOMERS_BASIC):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Your role does not allow this.")
    return found


SignedIn = Annotated[WebSession, Depends(signed_in)]


def check_csrf(expected: str, sent: str | None) -> None:
    """403 unless a form sent back the token its page was given."""
    if not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "This form is out of date or did not come from this site. "
            "Go back, reload the page and try again.",
        )


def start_session(request: Request, response: Response, ctx: Context, user_id: int) -> None:
    """Sign the user in: a new session row and its cookie."""
    token, lifetime = sessions.start_session(ctx, user_id)
    value = _signer(ctx.settings, "session").sign(token).decode()
    age = int(lifetime.total_seconds())
    _set_cookie(request, response, ctx.settings, SESSION_COOKIE, value, age)
    _delete_cookie(request, response, ctx.settings, SIGN_IN_COOKIE)


def end_session(request: Request, response: Response, ctx: Context) -> None:
    """Sign out: the session row is revoked and the cookie removed."""
    token = _unsigned(ctx.settings, "session", _cookie(request, ctx.settings, SESSION_COOKIE))
    if token is not None:
        sessions.end_session(ctx, token)
    _delete_cookie(request, response, ctx.settings, SESSION_COOKIE)


def sign_in_token(request: Request, ctx: Context) -> str:
    """The sign-in form's CSRF token: the one its cookie already holds, else a new one."""
    return _unsigned(ctx.settings, "sign-in", _cookie(request, ctx.settings, SIGN_IN_COOKIE)) or (
        secrets.token_urlsafe(32)
    )


def keep_sign_in_token(request: Request, response: Response, ctx: Context, token: str) -> None:
    """Put the sign-in form's token in its signed cookie."""
    value = _signer(ctx.settings, "sign-in").sign(token).decode()
    _set_cookie(request, response, ctx.settings, SIGN_IN_COOKIE, value, 3600)


def check_sign_in_csrf(request: Request, ctx: Context, sent: str | None) -> None:
    """403 unless the sign-in form sent back the token in its cookie."""
    expected = _unsigned(ctx.settings, "sign-in", _cookie(request, ctx.settings, SIGN_IN_COOKIE))
    check_csrf(expected or secrets.token_urlsafe(32), sent)


def _attempt_keys(request: Request, email: str) -> tuple[str, str]:
    address = request.client.host if request.client else "unknown"
    return f"sign-in-email:{email.strip().lower()}", f"sign-in-address:{address}"


def refuse_when_over_limit(request: Request, ctx: Context, email: str) -> None:
    """429 once this email or this client address failed too often this minute."""
    limit = ctx.settings.sign_ins_per_minute
    for key in _attempt_keys(request, email):
        count = minute_count(ctx.settings.broker_url, key, add=0)
        if count is not None and count.value >= limit:
            retry = count.seconds_left
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"Too many failed sign-ins. Wait {retry} seconds, then try again.",
                headers={"Retry-After": str(retry)},
            )


def count_failure(request: Request, ctx: Context, email: str) -> None:
    """Count a failed sign-in against the email and the client address."""
    for key in _attempt_keys(request, email):
        minute_count(ctx.settings.broker_url, key)
