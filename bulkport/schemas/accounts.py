"""Roles and the permissions each grants."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Permission(StrEnum):
    """What a user may do."""

    CUSTOMERS_BASIC = "customers:basic"
    CUSTOMERS_DELETE = "customers:delete"
    JOBS_ADMIN = "jobs:admin"


class Role(StrEnum):
    """A user's role in a store."""

    ADMIN = "admin"
    STAFF = "staff"


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.STAFF: frozenset({Permission.CUSTOMERS_BASIC}),
}


class TokenView(BaseModel):
    """An API token as its owner may see it: never the secret or its hash."""

    id: int
    name: str
    created_at: datetime
    expires_at: datetime = Field(description="After this moment the token no longer works.")
    last_used_at: datetime | None = Field(
        description="When it was last used, to the minute (noted at most once a minute)."
    )
    revoked_at: datetime | None = Field(description="When it was revoked, if it was.")
