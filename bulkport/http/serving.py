"""How uvicorn serves the API: which proxies it believes, what it tells about itself."""

from __future__ import annotations

from typing import Any

from bulkport.config import Settings


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config`` beside the app, host and port.

    uvicorn believes ``X-Forwarded-For``/``-Proto`` from 127.0.0.1 unless told otherwise, so
    any local user could choose the client address the audit log records; here only the
    proxies in ``BULKPORT_FORWARDED_ALLOW_IPS`` are believed, none by default.
    """
    proxies = [ip.strip() for ip in settings.forwarded_allow_ips.split(",") if ip.strip()]
    return {
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or None,
        "server_header": False,
    }
