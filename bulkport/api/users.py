"""Per-user permissions: an admin grants a permission beyond a user's role, or revokes it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse

from bulkport.api.deps import ContextDep, RowId, require
from bulkport.api.errors import ERROR_RESPONSES
from bulkport.schemas.accounts import Permission
from bulkport.storage import accounts, audit
from bulkport.storage.accounts import User

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=ERROR_RESPONSES)
Admin = Annotated[User, require(Permission.JOBS_ADMIN)]


def _set(
    ctx: ContextDep, admin: User, user_id: int, permission: Permission, granted: bool
) -> JSONResponse:
    with ctx.engine.begin() as conn:
        target = accounts.user_in_store(conn, admin.store_id, user_id)
        if target is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such user.")
        accounts.set_permission(conn, user_id, permission, granted)
        audit.record(
            conn, store_id=admin.store_id, user_id=admin.id,
            action="permission.grant" if granted else "permission.revoke",
            detail={"user_id": user_id, "permission": permission.value},
        )  # fmt: skip
        changed = accounts.user_in_store(conn, admin.store_id, user_id)
    assert changed is not None
    return JSONResponse(
        {"user_id": user_id, "permission": permission.value, "allowed": changed.can(permission)}
    )


@router.put("/{user_id}/permissions/{permission}", name="grant_permission")
def grant_permission(
    ctx: ContextDep, admin: Admin, user_id: RowId, permission: Permission
) -> JSONResponse:
    """Grant one permission to one user of the store, beyond the role (admins only)."""
    return _set(ctx, admin, user_id, permission, True)


@router.delete("/{user_id}/permissions/{permission}", name="revoke_permission")
def revoke_permission(
    ctx: ContextDep, admin: Admin, user_id: RowId, permission: Permission
) -> JSONResponse:
    """Revoke one permission from one user of the store, even one the role grants."""
    return _set(ctx, admin, user_id, permission, False)
