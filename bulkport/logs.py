"""Log records that never quote a customer: an exception is logged with its type and where it
was raised, never with its message.

An unexpected error's message may hold the values it failed on (pydantic's ``input_value``, a
database's "Key (email)=(…) already exists", a parser's input), and the loggers of the servers
bulkport runs print it: uvicorn's "Exception in ASGI application" and Celery's "Task … raised
unexpected: ValueError('…')". The filter rewrites such records before any handler formats
them; the API and the worker install it when they start.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import DBAPIError

# Where uvicorn logs an exception a request raised, and where Celery logs a task's failure or
# retry (its message quotes the exception as ``%(exc)s``).
API_LOGGERS = ("uvicorn.error",)
WORKER_LOGGERS = ("celery.app.trace", "celery.worker.request")
WITHHELD = "(message withheld from the log)"
DONE = "bulkport_without_values"
# Celery's text of an exception: its repr, ``Kind('…')``; of a retry, ``Retry in 2s: Kind('…')``.
_REPR = re.compile(r"(?P<retry>Retry (?:in|at) .*?(?=: |\Z))?(?:: )?(?P<kind>[A-Za-z_][\w.]*)\(")
_RETRY_ALONE = re.compile(r"Retry (?:in|at) [^(]*\Z")


def without_values(exc: BaseException) -> str:
    """An unexpected error for the log: its type, the database's error code and where it was
    raised, never its message, which may quote a customer's values (a database's "Key
    (email)=(…) already exists", a parser's input)."""
    kind = type(exc).__name__
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "sqlite_errorname", None)
        kind = f"{kind} from {type(exc.orig).__name__}" + (f" ({code})" if code else "")
    frames = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    return f"{kind}\n{frames}"


def exception_kind(text: str) -> str:
    """Celery's text of an exception, without the message: ``ValueError('x')`` → ``ValueError``,
    a retry keeps its delay; any other text is withheld, since it may be a message."""
    if _RETRY_ALONE.fullmatch(text):
        return text
    found = _REPR.match(text)
    if found is None:
        return WITHHELD
    retry = found.group("retry")
    return f"{retry}: {found.group('kind')}" if retry else found.group("kind")


class WithoutValues(logging.Filter):
    """Renders a record's exception as ``without_values`` does and replaces the exception text
    in Celery's messages and extras by its kind; the record itself is always kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        # A record passes a logger's filter and then its handlers': rewrite it once.
        if getattr(record, DONE, False):
            return True
        setattr(record, DONE, True)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = without_values(record.exc_info[1])
            record.exc_info = None
        if isinstance(record.args, Mapping):
            record.args = _shown(record.args)
        data = getattr(record, "data", None)
        if isinstance(data, Mapping):
            record.data = _shown(data)
        return True


def _shown(values: Mapping[str, Any]) -> dict[str, Any]:
    """Celery's log context with ``exc`` reduced to its kind and no ``traceback`` text."""
    shown = dict(values)
    if isinstance(shown.get("exc"), str):
        shown["exc"] = exception_kind(shown["exc"])
    if "traceback" in shown:
        shown["traceback"] = WITHHELD
    return shown


def _add(target: logging.Logger | logging.Handler) -> None:
    if not any(isinstance(f, WithoutValues) for f in target.filters):
        target.addFilter(WithoutValues())


def install_for_api() -> None:
    """Filter the loggers through which uvicorn reports a request's exception."""
    for name in API_LOGGERS:
        _add(logging.getLogger(name))


def install_for_worker() -> None:
    """Filter Celery's task loggers now, and every handler Celery's logging set-up attaches
    (so that any logger's exception reaches the worker's output without its message)."""
    # Imported here: the jobs' code logs through this module and needs nothing of Celery.
    from celery.signals import after_setup_logger, after_setup_task_logger

    for name in WORKER_LOGGERS:
        _add(logging.getLogger(name))
    after_setup_logger.connect(_filter_handlers, weak=False)
    after_setup_task_logger.connect(_filter_handlers, weak=False)


def _filter_handlers(logger: logging.Logger | None = None, **_: Any) -> None:
    if logger is not None:
        for handler in logger.handlers:
            _add(handler)
