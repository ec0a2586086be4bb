"""Per-user permissions: an admin grants a permission beyond a user's role, or revokes it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.http.deps import ContextDep, RowId, require
from bulkport.schemas.accounts import Permission
from bulkport.schemas.jobs import Problem
from bulkport.storage.accounts import User
from bulkport.usecases.accounts import change_permission

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=ERROR_RESPONSES)
Admin = Annotated[User, require(Permission.JOBS_ADMIN)]
_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "It would leave the store without an admin"}
}


def _set(
    ctx: ContextDep, admin: User, user_id: int, permission: Permission, granted: bool
) -> JSONResponse:
    changed = change_permission(ctx, admin, user_id, permission, granted)
    return JSONResponse(
        {"user_id": user_id, "permission": permission.value, "allowed": changed.can(permission)}
    )


@router.put("/{user_id}/permissions/{permission}", name="grant_permission")
def grant_permission(
    ctx: ContextDep, admin: Admin, user_id: RowId, permission: Permission
) -> JSONResponse:
    """Grant one permission to one user of the store, beyond the role (admins only)."""
    return _set(ctx, admin, user_id, permission, True)


@router.delete("/{user_id}/permissions/{permission}", name="revoke_permission", responses=_REFUSED)
def revoke_permission(
    ctx: ContextDep, admin: Admin, user_id: RowId, permission: Permission
) -> JSONResponse:
    """Revoke one permission from one user of the store, even one the role grants."""
    return _set(ctx, admin, user_id, permission, False)
