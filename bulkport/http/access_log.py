"""The access log without query strings or signed-link tokens: a log must hold neither a
person's details (search terms are query parameters) nor a working download link."""

from __future__ import annotations

import logging
import re

# uvicorn's access logger; its record's arguments are (client, method, path, version, status).
ACCESS_LOGGER = "uvicorn.access"
# Path segments that are a secret (a signed link's token) or may be a person's details (a saved
# mapping's name is the client's text): the log shows that one was there, never what it said.
_SIGNED = re.compile(r"(/api/v1/(?:downloads|mappings)/)[^/?#\s\"]+")
# A query string inside a whole log line, up to the end of the request target.
_QUERY = re.compile(r"\?\S*")
# What a logged query string becomes: that there was one, never what it said.
QUERY_MARK = "?…"


def loggable(path: str) -> str:
    """``path`` fit for the log: any query string replaced by ``?…`` (a search term, a name or
    an email may be in it, and no list of harmless parameters stays right as pages grow), and
    the token of a signed download link or the name of a saved mapping by ``…``."""
    target, query, _ = path.partition("?")
    return _SIGNED.sub(r"\1…", target) + (QUERY_MARK if query else "")


def loggable_line(line: str) -> str:
    """A whole log line with every query string and link token hidden as in ``loggable``."""
    return _SIGNED.sub(r"\1…", _QUERY.sub(QUERY_MARK, line))


class HideQueriesAndTokens(logging.Filter):
    """Rewrites the logged request path; the record itself is always kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                loggable(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = loggable_line(record.msg)
        return True


def install() -> None:
    """Attach the filter to uvicorn's access logger, once per process."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, HideQueriesAndTokens) for f in logger.filters):
        logger.addFilter(HideQueriesAndTokens())
