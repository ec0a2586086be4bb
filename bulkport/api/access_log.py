"""The access log without signed-link tokens: whoever reads a log must not get a download."""

from __future__ import annotations

import logging
import re

# uvicorn's access logger; its record's arguments are (client, method, path, version, status).
ACCESS_LOGGER = "uvicorn.access"
_SIGNED = re.compile(r"(/api/v1/downloads/)[^/?#\s\"]+")


def without_tokens(path: str) -> str:
    """``path`` with the token of a signed download link replaced by ``…``."""
    return _SIGNED.sub(r"\1…", path)


class HideLinkTokens(logging.Filter):
    """Rewrites the logged request path; the record itself is always kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                without_tokens(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = without_tokens(record.msg)
        return True


def install() -> None:
    """Attach the filter to uvicorn's access logger, once per process."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, HideLinkTokens) for f in logger.filters):
        logger.addFilter(HideLinkTokens())
