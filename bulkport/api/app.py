"""The FastAPI application: routers, health check and the process's context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from bulkport import __version__
from bulkport.api import (
    access_log,
    audit,
    customer_lists,
    customers,
    downloads,
    exports,
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
from bulkport.config import Settings, get_settings
from bulkport.storage.db import ping
from bulkport.tasks.context import Context, Enqueue
from bulkport.web import routes as pages


def create_app(settings: Settings | None = None, *, enqueue: Enqueue) -> FastAPI:
    """Build the API for the given settings (the environment's by default); ``enqueue`` sends
    the jobs it creates to the workers (``bulkport.worker.app.enqueue`` outside tests)."""
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
    )
    app.state.context = context
    guard.install(app, context)
    access_log.install()
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
    app.mount("/static", StaticFiles(packages=[("bulkport.web", "static")]), name="static")
    app.include_router(customers.router)
    app.include_router(privacy.router)
    app.include_router(sales.router)
    app.include_router(customer_lists.router)
    app.include_router(users.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> JSONResponse:
        """200 when the database answers; 503 otherwise."""
        try:
            ping(context.engine)
        except Exception:
            return JSONResponse({"status": "degraded", "database": "unreachable"}, 503)
        return JSONResponse({"status": "ok", "database": "ok", "version": __version__})

    return app
