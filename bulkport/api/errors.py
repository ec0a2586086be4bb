"""One shape for every API error: ``{"detail": "plain words"}``, documented in the schema."""

from __future__ import annotations

from typing import Any

from fastapi import Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from bulkport.rules.text import strip_control
from bulkport.schemas.jobs import Problem

# The errors any authenticated route may answer with, for the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid API token"},
    403: {"model": Problem, "description": "The role does not allow this"},
    404: {"model": Problem, "description": "No such thing in the caller's store"},
    422: {"model": Problem, "description": "The request is not valid; the reason is given"},
}
# And those of a route that reads a body.
BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body cannot be read (not JSON, not a form)"},
    413: {"model": Problem, "description": "The body is over the size limit"},
}


def _where(location: tuple[Any, ...]) -> str:
    parts = [
        strip_control(str(p)) for p in location if p not in ("body", "query", "path", "header")
    ]
    return ".".join(parts) or "request"


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    """A request FastAPI could not validate, told like every other error: one sentence."""
    assert isinstance(exc, RequestValidationError)
    reasons = "; ".join(f"{_where(tuple(e['loc']))}: {e['msg']}" for e in exc.errors())
    return JSONResponse(
        {"detail": reasons or "The request is not valid."},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    """405 whose ``Allow`` names every method the API document lists for the path (routing
    alone names only those of the first route that matched it)."""
    methods: set[str] = set()
    for path, operations in request.app.openapi()["paths"].items():
        if compile_path(path)[0].match(request.url.path):
            methods |= {method.upper() for method in operations}
    allow = ", ".join(sorted(methods))
    if not allow and isinstance(exc, HTTPException) and exc.headers:
        allow = exc.headers.get("Allow", "")
    return JSONResponse(
        {"detail": f"{request.method} is not allowed here."},
        status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
        headers={"Allow": allow},
    )
