"""One shape for every API error: ``{"detail": "plain words"}``, documented in the schema."""

from __future__ import annotations

from typing import Any

from fastapi import Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from bulkport.schemas.jobs import Problem

# The errors any authenticated route may answer with, for the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid API token"},
    403: {"model": Problem, "description": "The role does not allow this"},
    404: {"model": Problem, "description": "No such thing in the caller's store"},
    422: {"model": Problem, "description": "The request is not valid; the reason is given"},
}


def _where(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    """A request FastAPI could not validate, told like every other error: one sentence."""
    assert isinstance(exc, RequestValidationError)
    reasons = "; ".join(f"{_where(tuple(e['loc']))}: {e['msg']}" for e in exc.errors())
    return JSONResponse(
        {"detail": reasons or "The request is not valid."},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )
