"""Whether this process can serve: the database, the job queue and the file store answer."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bulkport.errors import FileStoreUnavailable
from bulkport.storage.db import ping
from bulkport.tasks.context import Context

log = logging.getLogger(__name__)
OK = "ok"
NOT_CHECKED = "not checked"
# Each part's failure is named, never described: the reason is in the log, not the answer.
# The one exception is a file store that knows why in plain words ("S3 bucket 'x' does not
# exist"): an operator needs that, and it names no secret.
FAILED = {"database": "unreachable", "broker": "unreachable", "files": "not writable"}


def readiness(context: Context, broker_check: Callable[[], None] | None) -> dict[str, str]:
    """Each part the API needs, with ``ok`` or why not."""
    checks: dict[str, Callable[[], None]] = {
        "database": lambda: ping(context.engine),
        "files": context.files.check_writable,
    }
    if broker_check is not None:
        checks["broker"] = broker_check
    states = {"broker": NOT_CHECKED}
    for name, check in checks.items():
        try:
            check()
        except FileStoreUnavailable as exc:
            log.warning("readiness: the %s check failed: %s", name, exc)
            states[name] = str(exc)
        except Exception:
            log.warning("readiness: the %s check failed", name, exc_info=True)
            states[name] = FAILED[name]
        else:
            states[name] = OK
    return states


def warnings(context: Context) -> list[str]:
    """What an operator should act on while the API still serves: erasures a restore undid."""
    from bulkport.usecases.erasures import undone_warning

    try:
        found = undone_warning(context)
    except Exception:
        log.warning("readiness: the erasure log could not be checked", exc_info=True)
        return ["the erasure log could not be checked"]
    return [found] if found else []
