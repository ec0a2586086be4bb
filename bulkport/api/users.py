"""Per-user permissions: an admin grants a permission beyond a user's role, or revokes it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.http.deps import ContextDep, RowId, require
from bulkport.schemas.accounts import Permission
from bulkport.schemas.jobs import Problem
from bulkport.storage import accounts, audit
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=ERROR_RESPONSES)
Admin = Annotated[User, require(Permission.JOBS_ADMIN)]
LAST_ADMIN = (
    "{} is the store's last admin: grant jobs:admin to another user before revoking it here."
)
_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "It would leave the store without an admin"}
}


def change_permission(
    ctx: Context, admin: User, user_id: int, permission: Permission, granted: bool
) -> User:
    """Grant or revoke one permission of one user of the admin's store, audited, and return
    the user as changed: 404 for a user not in the store, 409 when it would leave the store
    with no enabled user who may administer it."""
    with ctx.engine.begin() as conn:
        target = accounts.user_in_store(conn, admin.store_id, user_id)
        if target is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such user.")
        if permission is Permission.JOBS_ADMIN and not granted:
            others = [
                u for u, disabled in accounts.store_users(conn, admin.store_id)
                if u.id != user_id and not disabled and u.can(Permission.JOBS_ADMIN)
            ]  # fmt: skip
            if not others and target.can(Permission.JOBS_ADMIN):
                raise HTTPException(status.HTTP_409_CONFLICT, LAST_ADMIN.format(target.email))
        accounts.set_permission(conn, user_id, permission, granted)
        audit.record(
            conn, store_id=admin.store_id, user_id=admin.id,
            action="permission.grant" if granted else "permission.revoke",
            detail={"user_id": user_id, "permission": permission.value},
        )  # fmt: skip
        changed = accounts.user_in_store(conn, admin.store_id, user_id)
    assert changed is not None
    return changed


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
