"""The HTTP answer of each bulkport error: one table, for the API and the pages alike."""

from __future__ import annotations

import logging

from fastapi import status
from starlette.exceptions import HTTPException

from bulkport.errors import (
    AddressRefused,
    BulkportError,
    Conflict,
    FileStoreUnavailable,
    Gone,
    Invalid,
    LinkRefused,
    NotFound,
    Stale,
    TooLarge,
    Unavailable,
)

log = logging.getLogger(__name__)
# First match wins: a QueueUnreachable is a JobProblem and Unavailable, and answers 503.
STATUS_OF: tuple[tuple[type[BulkportError], int], ...] = (
    (LinkRefused, status.HTTP_403_FORBIDDEN),
    (AddressRefused, status.HTTP_403_FORBIDDEN),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Conflict, status.HTTP_409_CONFLICT),
    (Gone, status.HTTP_410_GONE),
    (Stale, status.HTTP_412_PRECONDITION_FAILED),
    (TooLarge, status.HTTP_413_CONTENT_TOO_LARGE),
    (Invalid, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (Unavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
)
# What waits a moment is asked to come back in that moment.
RETRY_SECONDS = "30"


def as_http(exc: BulkportError) -> HTTPException:
    """The status, words and headers that answer ``exc``; a file or job problem not in the
    table is the request's to fix (422)."""
    code = next((c for kind, c in STATUS_OF if isinstance(exc, kind)), None)
    detail = str(exc)
    if isinstance(exc, FileStoreUnavailable):
        log.warning("the file store is unavailable: %s", exc)
        detail = f"Files cannot be stored or read just now: {exc}. Try again in a few minutes."
    if code == status.HTTP_503_SERVICE_UNAVAILABLE:
        return HTTPException(code, detail, headers={"Retry-After": RETRY_SECONDS})
    return HTTPException(code or status.HTTP_422_UNPROCESSABLE_CONTENT, detail)
