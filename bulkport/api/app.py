"""The FastAPI application: routers, liveness and readiness checks, the process's context."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from bulkport import __version__, logs
from bulkport.api import (
    access_log,
    audit,
    customer_lists,
    customers,
    downloads,
    exports,
    fields,
    guard,
    imports,
    jobs,
    mappings,
    privacy,
    sales,
    tokens,
    users,
)
from bulkport.api.errors import method_not_allowed, validation_failed
from bulkport.api.links import operation_id
from bulkport.config import Settings, get_settings
from bulkport.storage.db import ping
from bulkport.storage.files import FileStoreUnavailable
from bulkport.tasks.context import Context, Enqueue
from bulkport.web import routes as pages

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    enqueue: Enqueue,
    broker_check: Callable[[], None] | None = None,
) -> FastAPI:
    """Build the API for the given settings (the environment's by default); ``enqueue`` sends
    the jobs it creates to the workers (``bulkport.worker.app.enqueue`` outside tests), and
    ``broker_check`` raises when their queue cannot be reached (``broker_ready``; without
    one, as in-process tests build it, `/readyz` does not check a queue)."""
    context = Context.from_settings(settings or get_settings(), enqueue)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        context.close()

    app = FastAPI(
        title="bulkport",
        version=__version__,
        description="Bulk import and export of a store's customers, run as jobs.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.context = context
    guard.install(app, context)
    access_log.install()
    logs.install_for_api()
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(405, method_not_allowed)
    app.include_router(imports.router)
    app.include_router(jobs.router)
    app.include_router(mappings.router)
    app.include_router(exports.router)
    app.include_router(downloads.router)
    app.include_router(audit.router)
    app.include_router(tokens.router)
    app.include_router(pages.router)
    app.add_exception_handler(StarletteHTTPException, pages.problem_page)
    app.add_exception_handler(FileStoreUnavailable, store_unavailable)
    app.mount("/static", StaticFiles(packages=[("bulkport.web", "static")]), name="static")
    app.include_router(customers.router)
    app.include_router(privacy.router)
    app.include_router(sales.router)
    app.include_router(customer_lists.router)
    app.include_router(users.router)
    app.include_router(fields.router)

    @app.get("/healthz", name="live", tags=["health"])
    def healthz() -> JSONResponse:
        """200 while the process serves requests (liveness: restart it when this fails)."""
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get(
        "/readyz",
        name="ready",
        tags=["health"],
        responses={503: {"description": "Not ready: `failing` names each part that fails"}},
    )
    def readyz() -> JSONResponse:
        """200 when the database, the job queue and the file store all work; else 503 with
        each failing part named (readiness: send no traffic here meanwhile)."""
        checks = readiness(context, broker_check)
        failing = [name for name, state in checks.items() if state not in (OK, NOT_CHECKED)]
        body = {"status": "not ready" if failing else "ready", "failing": failing, **checks}
        return JSONResponse(body, 503 if failing else 200)

    return app


OK = "ok"
NOT_CHECKED = "not checked"
# Each part's failure is named, never described: the reason is in the log, not the answer.
# The one exception is a file store that knows why in plain words ("S3 bucket 'x' does not
# exist"): an operator needs that, and it names no secret.
FAILED = {"database": "unreachable", "broker": "unreachable", "files": "not writable"}


async def store_unavailable(request: Request, exc: Exception) -> Response:
    """A file store that cannot take or give files now: 503 with its plain reason (a page
    for the pages, JSON for the API), never a 500."""
    log.warning("the file store is unavailable: %s", exc)
    down = StarletteHTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        f"Files cannot be stored or read just now: {exc}. Try again in a few minutes.",
        headers={"Retry-After": "30"},
    )
    return await pages.problem_page(request, down)


def readiness(context: Context, broker_check: Callable[[], None] | None) -> dict[str, str]:
    """Each part the API needs, with ``ok`` or why not."""
    checks: dict[str, Callable[[], None]] = {
        "database": lambda: ping(context.engine),
        "files": context.files.check_writable,
    }
    if broker_check is not None:
        checks["broker"] = broker_check
    states = {"broker": NOT_CHECKED}
    for name, check in checks.items():
        try:
            check()
        except FileStoreUnavailable as exc:
            log.warning("readiness: the %s check failed: %s", name, exc)
            states[name] = str(exc)
        except Exception:
            log.warning("readiness: the %s check failed", name, exc_info=True)
            states[name] = FAILED[name]
        else:
            states[name] = OK
    return states
