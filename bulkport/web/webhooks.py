"""The job notifications page, for admins: whether the store has a signing secret, a button
that makes a new one and shows it this once, and the store's default address."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from bulkport.http.deps import ContextDep
from bulkport.schemas.accounts import Permission
from bulkport.storage.sessions import WebSession
from bulkport.usecases import webhooks
from bulkport.web import auth
from bulkport.web.auth import SignedIn
from bulkport.web.pages import render

router = APIRouter(include_in_schema=False)
ADMINS_ONLY = "Only admins see and change the store's job notifications."


def _admin(web: WebSession) -> None:
    if not web.user.can(Permission.JOBS_ADMIN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, ADMINS_ONLY)


@router.get("/webhooks")
def webhooks_page(request: Request, ctx: ContextDep, web: SignedIn) -> HTMLResponse:
    """The store's notification settings (never its secret)."""
    _admin(web)
    shown = webhooks.webhook_settings(ctx, web.user)
    return render(request, ctx, "webhooks.html", web, nav="webhooks", settings=shown)


@router.post("/webhooks/secret")
async def new_secret(request: Request, ctx: ContextDep, web: SignedIn) -> HTMLResponse:
    """Make a new signing secret and show it this once."""
    _admin(web)
    form = await request.form(max_files=0, max_fields=5)
    auth.check_csrf(web.csrf_token, str(form.get("csrf") or ""))
    secret = webhooks.rotate_secret(ctx, web.user)
    shown = webhooks.webhook_settings(ctx, web.user)
    return render(request, ctx, "webhooks.html", web, nav="webhooks", settings=shown, secret=secret)
