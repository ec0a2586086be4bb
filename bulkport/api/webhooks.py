"""A store's job notifications: its signing secret and default address (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.http.deps import ContextDep, require
from bulkport.schemas.accounts import Permission
from bulkport.schemas.jobs import NotifyUrl
from bulkport.storage.accounts import User
from bulkport.usecases import webhooks

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], responses=ERROR_RESPONSES)
Admin = Annotated[User, require(Permission.JOBS_ADMIN)]


class WebhookSettings(BaseModel):
    """A store's notification settings; the secret itself is shown only when made."""

    has_secret: bool
    default_url: str | None


class NewSecret(BaseModel):
    """A signing secret, shown this once (Standard Webhooks' ``whsec_`` form)."""

    secret: str


class DefaultUrl(BaseModel):
    """The address notified for jobs that name none; null clears it."""

    url: NotifyUrl | None = None


@router.get("", name="get", response_model=WebhookSettings)
def get_settings(ctx: ContextDep, user: Admin) -> WebhookSettings:
    """Whether the store has a signing secret, and its default address."""
    return WebhookSettings.model_validate(webhooks.webhook_settings(ctx, user))


@router.post("/secret", name="rotate_secret", response_model=NewSecret)
def rotate_secret(ctx: ContextDep, user: Admin) -> NewSecret:
    """Make a new signing secret, replacing the old one at once. Keep it: it is not shown
    again (a lost one is replaced by calling this again)."""
    return NewSecret(secret=webhooks.rotate_secret(ctx, user))


@router.put("/default", name="set_default", response_model=WebhookSettings)
def set_default(ctx: ContextDep, user: Admin, body: DefaultUrl) -> WebhookSettings:
    """Set the address notified when a job names no ``notify_url``."""
    webhooks.set_default_url(ctx, user, body.url)
    return WebhookSettings.model_validate(webhooks.webhook_settings(ctx, user))
