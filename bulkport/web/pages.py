"""Rendering a page: the templates, what every page shows (store, navigation) and its headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from bulkport import __version__
from bulkport.schemas import job_words
from bulkport.schemas.accounts import Permission
from bulkport.storage.sessions import WebSession
from bulkport.tasks.context import Context
from bulkport.usecases.accounts import store_name

# Every value is escaped unless a template says otherwise (none does).
templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=True)
)
# Every page names a job in its kind's own words.
templates.env.globals.update(job_title=job_words.title, job_about=job_words.about)


def flower_url(ctx: Context) -> str:
    """Where admins find Flower."""
    settings = ctx.settings
    return settings.flower_url or f"http://{settings.flower_host}:{settings.flower_port}/"


def render(
    request: Request,
    ctx: Context,
    name: str,
    web: WebSession | None,
    *,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """A page for the signed-in person (or the sign-in page); never kept by a cache."""
    shared: dict[str, Any] = {"web": web, "version": __version__}
    if web is not None:
        shared["store_name"] = store_name(ctx, web.user)
        shared["csrf"] = web.csrf_token
        shared["is_admin"] = web.user.can(Permission.JOBS_ADMIN)
        shared["flower_url"] = flower_url(ctx)
    response = templates.TemplateResponse(
        request, name, {**shared, **values}, status_code=status_code
    )
    response.headers["Cache-Control"] = "no-store"
    return response
