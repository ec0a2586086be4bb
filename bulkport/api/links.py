"""Links the API answers with: the configured public URL and a path, never the Host header."""

from __future__ import annotations

from fastapi import Request

from bulkport.api.deps import get_context


def link(request: Request, name: str, **params: str) -> str:
    """The URL of the route ``name``: ``BULKPORT_PUBLIC_URL`` + its path, or the path alone.

    A request's ``Host`` header is the client's to choose; a link built from it would send
    the next reader, with a valid signed token, to whatever host the client named.
    """
    path = str(request.app.url_path_for(name, **params))
    base = get_context(request).settings.public_url
    return f"{base}{path}" if base else path
