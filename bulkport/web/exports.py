"""The export page: format, filters and columns; the job page then offers the download."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from bulkport.http.deps import ContextDep
from bulkport.rules.fields import FIELDS
from bulkport.schemas.exports import ArchivedFilter, ExportFormat, ExportRequest
from bulkport.usecases.exports import queue_export
from bulkport.web import auth
from bulkport.web.auth import SignedIn
from bulkport.web.pages import render

router = APIRouter(include_in_schema=False)
YES_NO = {"yes": True, "no": False}


def _form_page(
    request: Request, ctx: ContextDep, web: SignedIn, problem: str | None = None, code: int = 200
) -> HTMLResponse:
    return render(
        request, ctx, "export_new.html", web, nav="exports", status_code=code, problem=problem,
        formats=list(ExportFormat), archived_choices=list(ArchivedFilter), fields=FIELDS,
    )  # fmt: skip


@router.get("/exports/new")
def new_export(request: Request, ctx: ContextDep, web: SignedIn) -> HTMLResponse:
    """Choose what to export."""
    return _form_page(request, ctx, web)


@router.post("/exports/new")
async def start_export(request: Request, ctx: ContextDep, web: SignedIn) -> Response:
    """Queue the export and show its job page, where the file is downloaded when READY."""
    form = await request.form(max_files=0, max_fields=200)
    auth.check_csrf(web.csrf_token, str(form.get("csrf") or ""))
    filters: dict[str, object] = {"archived": form.get("archived") or "exclude"}
    if search := str(form.get("search") or "").strip():
        filters["search"] = search
    if customer_type := form.get("customer_type"):
        filters["customer_type"] = customer_type
    for name in ("tax_exempt", "accepts_marketing"):
        if (answer := form.get(name)) in YES_NO:
            filters[name] = YES_NO[str(answer)]
    columns = [str(c) for c in form.getlist("columns")] or None
    try:
        body = ExportRequest.model_validate(
            {"format": form.get("format") or "csv", "filters": filters, "columns": columns}
        )
    except ValidationError as exc:
        problem = "; ".join(str(e["msg"]) for e in exc.errors())
        return _form_page(request, ctx, web, problem, status.HTTP_422_UNPROCESSABLE_CONTENT)
    job = queue_export(ctx, store_id=web.user.store_id, user_id=web.user.id, request=body)
    return RedirectResponse(f"/jobs/{job.id}", status.HTTP_303_SEE_OTHER)
