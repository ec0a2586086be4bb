"""Moments in API requests: RFC 3339 date-times with their offset, and nothing looser."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def rfc3339(value: object) -> object:
    """Let through a ``datetime`` or an RFC 3339 string; refuse numbers, bare dates and
    moments without an offset, which pydantic would otherwise read as something else."""
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise PydanticCustomError(
        "rfc3339",
        "must be a date-time with its offset (RFC 3339), e.g. 2026-11-22T08:15:00Z",
    )


Timestamp = Annotated[
    datetime,
    BeforeValidator(rfc3339),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
