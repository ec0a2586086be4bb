"""Links the API and the pages answer with: the configured public URL and a path, never the
Host header."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute

from bulkport.http.deps import get_context


def operation_id(route: APIRoute) -> str:
    """An operation's id, ``area-action`` (``imports-create``, ``jobs-get``): what a generated
    client names its function after, so each route of the document has one tag, its area.
    Pages are left out of the document and have no area: their route name is enough."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def _paths(app: FastAPI) -> dict[str, str]:
    """Each operation id's path template, read from the API's own document (built once)."""
    paths: dict[str, str] | None = getattr(app.state, "operation_paths", None)
    if paths is None:
        paths = {
            operation["operationId"]: path
            for path, operations in app.openapi()["paths"].items()
            for operation in operations.values()
        }
        app.state.operation_paths = paths
    return paths


def link(request: Request, operation: str, **params: str) -> str:
    """The URL of ``operation`` (its id): ``BULKPORT_PUBLIC_URL`` + its path, or the path alone.

    By id, not route name: the short names (``get``, ``commit``) repeat across areas. A
    request's ``Host`` header is the client's to choose; a link built from it would send the
    next reader, with a valid signed token, to whatever host the client named.
    """
    path = _paths(request.app)[operation].format_map(
        {name: quote(value, safe="") for name, value in params.items()}
    )
    base = get_context(request).settings.public_url
    return f"{base}{path}" if base else path
