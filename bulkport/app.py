"""The composition root: one process's context, the API and the pages side by side, and how
each error is answered (JSON for API clients, a page in plain words for people)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from bulkport import __version__, logs
from bulkport.api import routes as api
from bulkport.api.errors import method_not_allowed, validation_failed
from bulkport.config import Settings, get_settings
from bulkport.errors import BulkportError
from bulkport.http import access_log, guard
from bulkport.http.errors import as_http
from bulkport.http.links import operation_id
from bulkport.tasks.context import Context, Enqueue
from bulkport.web import routes as pages

# Paths whose errors stay JSON, as API clients expect.
API_PATHS = ("/api/", "/healthz", "/readyz", "/docs", "/openapi.json")


def create_app(
    settings: Settings | None = None,
    *,
    enqueue: Enqueue,
    broker_check: Callable[[], None] | None = None,
) -> FastAPI:
    """Build the API and the pages for the given settings (the environment's by default);
    ``enqueue`` sends the jobs they create to the workers (``bulkport.worker.app.enqueue``
    outside tests), and ``broker_check`` raises when their queue cannot be reached
    (``broker_ready``; without one, as in-process tests build it, `/readyz` does not check a
    queue)."""
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
    app.state.broker_check = broker_check
    guard.install(app, context)
    access_log.install()
    logs.install_for_api()
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(405, method_not_allowed)
    app.add_exception_handler(HTTPException, answer_http_error)
    app.add_exception_handler(BulkportError, answer_bulkport_error)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(packages=[("bulkport.web", "static")]), name="static")
    return app


async def answer_http_error(request: Request, exc: Exception) -> Response:
    """An HTTP error as JSON under the API's paths, as a page everywhere else."""
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(API_PATHS):
        return await http_exception_handler(request, exc)
    return await pages.problem_page(request, exc)


async def answer_bulkport_error(request: Request, exc: Exception) -> Response:
    """A bulkport error that reached no handler of its own: its answer from the one table."""
    assert isinstance(exc, BulkportError)
    return await answer_http_error(request, as_http(exc))
