"""The API's outermost layer: credentials before any body byte, bounded bodies, safe headers.

FastAPI reads and validates a body before it runs the dependency that checks the token, and
Starlette's ``BaseHTTPMiddleware`` buffers bodies, so this is a plain ASGI app around the rest:

- under ``/api/v1/`` (signed download links aside, they carry their own proof) a request without
  a valid bearer token is answered 401 before its body is read at all;
- a body is counted as it streams (a chunked request has no ``Content-Length``) and answered
  413 past ``BULKPORT_MAX_JSON_BYTES``; the upload routes stream their file to the file store
  and keep their own limit, ``BULKPORT_MAX_UPLOAD_BYTES``;
- every response carries the headers in ``SECURITY_HEADERS`` and a content policy:
  ``CONTENT_POLICY``, or the API document pages' own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

from fastapi import FastAPI, HTTPException, status
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bulkport.http.deps import UNAUTHENTICATED
from bulkport.http.uploads import ENVELOPE_BYTES
from bulkport.tasks.context import Context
from bulkport.usecases.accounts import user_for_token

API_PREFIX = "/api/v1/"
SIGNED_LINKS = "/api/v1/downloads/"
# The routes that stream a multipart upload into the file store (api/imports.py).
UPLOAD_PATHS = frozenset({"/api/v1/imports", "/api/v1/imports/preview"})

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    # Jobs, row errors, mappings and files hold personal data: no cache keeps a copy.
    (b"cache-control", b"no-store"),
)
# The pages' scripts and styles are static files of this site; Pico's icons are data: images.
# Nothing inline runs, so a value that slipped past escaping could not run either.
CONTENT_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's API document pages load Swagger UI and ReDoc from a CDN, with one inline script
# (allowed by its hash, worked out at start from the page FastAPI serves) and inline styles.
DOCS_SOURCES = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' {sources} {hashes}; "
    "style-src 'self' 'unsafe-inline' {sources} https://fonts.googleapis.com; "
    "img-src 'self' data: {sources} https://fastapi.tiangolo.com; "
    "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


class BodyTooLarge(HTTPException):
    """A request body passed its limit while it streamed."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"The request body is larger than the {limit:,} bytes this service accepts.",
        )


def install(app: FastAPI, context: Context) -> None:
    """Put the guard outside every other layer, the one that answers 500 included."""
    build = app.build_middleware_stack
    policies = docs_policies(app)

    def guarded() -> ASGIApp:
        return Guard(build(), context, policies)

    app.build_middleware_stack = guarded  # type: ignore[method-assign]


def docs_policies(app: FastAPI) -> dict[str, bytes]:
    """The content policy of each API document page, by path: its inline scripts as FastAPI
    writes them, allowed by their SHA-256."""
    pages: dict[str, bytes | memoryview] = {}
    if app.openapi_url and app.docs_url:
        pages[app.docs_url] = get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        ).body
        if app.swagger_ui_oauth2_redirect_url:
            redirect = get_swagger_ui_oauth2_redirect_html().body
            pages[app.swagger_ui_oauth2_redirect_url] = redirect
    if app.openapi_url and app.redoc_url:
        pages[app.redoc_url] = get_redoc_html(
            openapi_url=app.openapi_url, title=f"{app.title} - ReDoc"
        ).body
    return {path: _docs_policy(page) for path, page in pages.items()}


def _docs_policy(body: bytes | memoryview) -> bytes:
    page = bytes(body).decode()
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()}'"
        for code in _INLINE_SCRIPT.findall(page)
    )
    return DOCS_POLICY.format(sources=DOCS_SOURCES, hashes=hashes).replace("  ", " ").encode()


class Guard:
    """The ASGI app that checks a request before the application reads any of it."""

    def __init__(
        self, app: ASGIApp, context: Context, docs: dict[str, bytes] | None = None
    ) -> None:
        self.app = app
        self.context = context
        self.docs = docs or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        reply = _Reply(send, self.docs.get(path, CONTENT_POLICY.encode()))
        needs_token = path.startswith(API_PREFIX) and not path.startswith(SIGNED_LINKS)
        if needs_token and not await self._authenticated(scope):
            await reply.refuse(
                status.HTTP_401_UNAUTHORIZED, UNAUTHENTICATED, (b"www-authenticate", b"Bearer")
            )
            return
        limit = self.body_limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await reply.refuse(status.HTTP_413_CONTENT_TOO_LARGE, BodyTooLarge(limit).detail)
            return
        try:
            await self.app(scope, _counting(receive, limit, reply), reply.send)
        except BodyTooLarge as exc:
            if reply.started:
                raise
            await reply.refuse(exc.status_code, exc.detail)

    def body_limit(self, scope: Scope) -> int:
        """The most body bytes this request may send."""
        settings = self.context.settings
        if scope["method"] == "POST" and scope["path"] in UPLOAD_PATHS:
            return settings.max_upload_bytes + ENVELOPE_BYTES
        return settings.max_json_bytes

    async def _authenticated(self, scope: Scope) -> bool:
        scheme, token = get_authorization_scheme_param(_header(scope, b"authorization"))
        if scheme.lower() != "bearer" or not token:
            return False
        # The lookup is synchronous database work: off the event loop.
        return await run_in_threadpool(user_for_token, self.context, token) is not None


class _Reply:
    """The response side: adds the security headers, and closes the connection after a
    refusal so that the rest of an unread body is never waited for."""

    def __init__(self, send: Send, policy: bytes) -> None:
        self._send = send
        self.policy = policy
        self.started = False
        self.close = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
            if b"content-security-policy" not in present:
                headers.append((b"content-security-policy", self.policy))
            if self.close and b"connection" not in present:
                headers.append((b"connection", b"close"))
            message = {**message, "headers": headers}
        await self._send(message)

    async def refuse(self, code: int, detail: str, *extra: tuple[bytes, bytes]) -> None:
        self.close = True
        body = json.dumps({"detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ]
        await self.send({"type": "http.response.start", "status": code, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})


def _counting(receive: Receive, limit: int, reply: _Reply) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                reply.close = True
                raise BodyTooLarge(limit)
        return message

    return counted


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.strip().isdigit() else None
