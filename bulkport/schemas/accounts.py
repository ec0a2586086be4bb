"""Roles and the permissions each grants."""

from __future__ import annotations

from enum import StrEnum


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
