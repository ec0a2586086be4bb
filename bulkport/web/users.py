"""The users page, for admins: each user of the store with what they may do, and buttons to
grant or revoke a permission by the same rule as the API (the store always keeps an admin)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from bulkport.errors import Conflict
from bulkport.http.deps import ContextDep, RowId
from bulkport.schemas.accounts import PERMISSIONS, Permission
from bulkport.storage.accounts import User
from bulkport.storage.sessions import WebSession
from bulkport.tasks.context import Context
from bulkport.usecases.accounts import change_permission, store_users
from bulkport.web import auth
from bulkport.web.auth import SignedIn
from bulkport.web.pages import render

router = APIRouter(include_in_schema=False)
ADMINS_ONLY = "Only admins see and change users' permissions."
# What each permission lets a person do, in the words the page shows.
ABOUT = {
    Permission.CUSTOMERS_BASIC: "Customers: see, edit, import, export, archive and merge",
    Permission.CUSTOMERS_DELETE: "Customers - Customer Deletion: delete for privacy",
    Permission.JOBS_ADMIN: "Admin: users, audit log and Flower",
}
DONE = {"granted": "{email} may now {what}.", "revoked": "{email} may no longer {what}."}
_VERB = {
    Permission.CUSTOMERS_BASIC: "work with customers",
    Permission.CUSTOMERS_DELETE: "delete customers",
    Permission.JOBS_ADMIN: "administer the store",
}


@dataclass(frozen=True)
class Allowance:
    """One permission of one user as the page shows it: allowed or not, and why."""

    permission: Permission
    allowed: bool
    why: str


def _allowances(user: User) -> list[Allowance]:
    shown = []
    for permission in Permission:
        from_role = permission in PERMISSIONS[user.role]
        if permission in user.revoked:
            why = "revoked from the role" if from_role else "revoked"
        elif permission in user.granted and not from_role:
            why = "granted"
        else:
            why = f"the {user.role.value} role" if from_role else "not given"
        shown.append(Allowance(permission, user.can(permission), why))
    return shown


def _admin(web: WebSession) -> None:
    if not web.user.can(Permission.JOBS_ADMIN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, ADMINS_ONLY)


def _page(
    request: Request, ctx: Context, web: WebSession, *, message: str | None = None,
    problem: str | None = None, status_code: int = status.HTTP_200_OK,
) -> HTMLResponse:  # fmt: skip
    people = [
        {"user": user, "disabled": disabled, "allowances": _allowances(user)}
        for user, disabled in store_users(ctx, web.user)
    ]
    return render(
        request, ctx, "users.html", web, nav="users", people=people, about=ABOUT,
        message=message, problem=problem, status_code=status_code,
    )  # fmt: skip


@router.get("/users")
def users_page(request: Request, ctx: ContextDep, web: SignedIn) -> HTMLResponse:
    """The store's users and their permissions, for admins."""
    _admin(web)
    return _page(request, ctx, web)


@router.post("/users/{user_id}/permissions")
async def set_permission(
    request: Request, ctx: ContextDep, web: SignedIn, user_id: RowId
) -> Response:
    """Grant or revoke one permission of one user, then show the users again."""
    _admin(web)
    form = await request.form(max_files=0, max_fields=20)
    auth.check_csrf(web.csrf_token, str(form.get("csrf") or ""))
    try:
        permission = Permission(str(form.get("permission") or ""))
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "No such permission.") from None
    granted = form.get("change") == "grant"
    try:
        changed = change_permission(ctx, web.user, user_id, permission, granted)
    except Conflict as exc:
        return _page(request, ctx, web, problem=str(exc), status_code=status.HTTP_409_CONFLICT)
    said = DONE["granted" if granted else "revoked"].format(
        email=changed.email, what=_VERB[permission]
    )
    return _page(request, ctx, web, message=said)
