"""The API's routes under ``/api/v1``, and the liveness and readiness checks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bulkport import __version__
from bulkport.api import (
    audit,
    customer_lists,
    customers,
    downloads,
    exports,
    fields,
    fixes,
    imports,
    jobs,
    mappings,
    privacy,
    sales,
    tokens,
    undos,
    users,
    webhooks,
)
from bulkport.usecases.health import NOT_CHECKED, OK, readiness, warnings

router = APIRouter()
for _part in (imports, jobs, mappings, exports, downloads, audit, tokens, customers, privacy,
              sales, customer_lists, users, fields, fixes, webhooks, undos):  # fmt: skip
    router.include_router(_part.router)


@router.get("/healthz", name="live", tags=["health"])
def healthz() -> JSONResponse:
    """200 while the process serves requests (liveness: restart it when this fails)."""
    return JSONResponse({"status": "ok", "version": __version__})


@router.get(
    "/readyz",
    name="ready",
    tags=["health"],
    responses={503: {"description": "Not ready: `failing` names each part that fails"}},
)
def readyz(request: Request) -> JSONResponse:
    """200 when the database, the job queue and the file store all work; else 503 with
    each failing part named (readiness: send no traffic here meanwhile)."""
    checks = readiness(request.app.state.context, request.app.state.broker_check)
    failing = [name for name, state in checks.items() if state not in (OK, NOT_CHECKED)]
    body = {
        "status": "not ready" if failing else "ready",
        "failing": failing,
        **checks,
        "warnings": warnings(request.app.state.context),
    }
    return JSONResponse(body, 503 if failing else 200)
