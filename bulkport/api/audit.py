"""The store's audit log, for admins: who uploaded, downloaded, cancelled what, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.http.deps import ContextDep, require
from bulkport.schemas.accounts import Permission
from bulkport.storage.accounts import User
from bulkport.storage.db import as_utc
from bulkport.usecases.audit import audit_events

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERROR_RESPONSES)
Admin = Annotated[User, require(Permission.JOBS_ADMIN)]


class AuditEvent(BaseModel):
    """One recorded action; ``detail`` holds ids, file names and counts, no personal data."""

    action: str
    user_id: int | None
    job_id: str | None
    detail: dict[str, Any]
    created_at: datetime


@router.get("", name="list", response_model=list[AuditEvent])
def list_events(
    ctx: ContextDep, user: Admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[AuditEvent]:
    """The store's newest audit events (admins only: 403 for staff)."""
    found = audit_events(ctx, user, limit)
    return [
        AuditEvent(
            action=event["action"],
            user_id=event["user_id"],
            job_id=event["job_id"],
            detail=event["detail"],
            created_at=as_utc(event["created_at"]),
        )
        for event in found
    ]
