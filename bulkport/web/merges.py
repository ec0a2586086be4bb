"""Merging two customers from the pages: pick the secondary, preview field by field what the
primary keeps and takes (from the merge's own rule, ``filled_fields``), then confirm."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bulkport.errors import Conflict
from bulkport.http.deps import ContextDep, RowId
from bulkport.rules.fields import FIELDS_BY_KEY, WRITABLE_KEYS
from bulkport.rules.text import strip_control
from bulkport.schemas.exports import ArchivedFilter
from bulkport.storage.sessions import WebSession
from bulkport.tasks.context import Context
from bulkport.tasks.customer_changes import filled_fields, merge_refusal
from bulkport.usecases import customers
from bulkport.web import auth
from bulkport.web.auth import SignedIn
from bulkport.web.customer_form import shown
from bulkport.web.customers import display_name, page_customer, search_problem, store_dates
from bulkport.web.pages import render

router = APIRouter(include_in_schema=False)
CANDIDATES = 20


@router.get("/customers/{customer_id}/merge")
def pick_secondary(
    request: Request,
    ctx: ContextDep,
    web: SignedIn,
    customer_id: RowId,
    search: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Find the duplicate to merge into this customer, by name, email or phone."""
    primary = page_customer(ctx, web, customer_id)
    text = (search or "").strip() or None
    problem = search_problem(text)
    found: list[dict[str, Any]] = []
    refusal = _primary_refusal(primary)
    if text and refusal is None and problem is None:
        found = customers.search_customers(
            ctx, web.user, text=text, archived=ArchivedFilter.INCLUDE, before_id=None,
            limit=CANDIDATES,
        )  # fmt: skip
    candidates = [
        {**c, "name": display_name(c)}
        for c in found
        if c["id"] != customer_id and c["merged_into_id"] is None
    ]
    return render(
        request, ctx, "merge_pick.html", web, nav="customers", primary=primary,
        primary_name=display_name(primary), search=strip_control(text or ""),
        candidates=candidates, refusal=refusal, problem=problem,
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if problem else status.HTTP_200_OK,
    )  # fmt: skip


def _primary_refusal(primary: dict[str, Any]) -> str | None:
    """Why nothing can be merged into this customer (merged away, or deleted), or None."""
    if primary["merged_into_id"] is not None:
        return (
            "This customer was merged into another and is archived: merge duplicates into that one."
        )
    if primary["deleted_at"] is not None:
        return "A deleted customer cannot be merged."
    return None


def merge_heading(primary: dict[str, Any], secondary: dict[str, Any]) -> str:
    """ "Merge A into B"; with each one's ID when the names alone cannot tell them apart."""
    names = [display_name(primary), display_name(secondary)]
    if names[0] == names[1]:
        names = [
            f"{name} (ID {c['id']})" for name, c in zip(names, (primary, secondary), strict=True)
        ]
    return f"Merge {names[1]} into {names[0]}"


def _preview(ctx: Context, web: WebSession, primary_id: int, secondary_id: int) -> dict[str, Any]:
    """Each writable field: the primary's value, the secondary's, and what the merge does."""
    primary = page_customer(ctx, web, primary_id)
    secondary = page_customer(ctx, web, secondary_id)
    refusal = merge_refusal(primary, secondary)
    fill = filled_fields(primary, secondary)
    dates = store_dates(ctx, web)
    rows = []
    for key in WRITABLE_KEYS:
        mine, theirs = shown(primary, key, dates), shown(secondary, key, dates)
        if key in fill:
            outcome, result = "takes", theirs
        elif mine:
            outcome, result = ("keeps-conflict" if theirs and theirs != mine else "keeps"), mine
        else:
            outcome, result = "empty", ""
        rows.append(
            {"label": FIELDS_BY_KEY[key].label, "primary": mine, "secondary": theirs,
             "outcome": outcome, "result": result}
        )  # fmt: skip
    sales = len(customers.customer_sales(ctx, web.user, secondary_id))
    # Fields empty in both are named in one line, not a row each: the table stays short
    # enough to read on a phone.
    empty = [r["label"] for r in rows if r["outcome"] == "empty"]
    return {
        "primary": primary, "secondary": secondary, "primary_name": display_name(primary),
        "secondary_name": display_name(secondary), "taken": len(fill), "empty": empty,
        "rows": [r for r in rows if r["outcome"] != "empty"],
        "heading": merge_heading(primary, secondary),
        "sales": sales, "refusal": refusal[1] if refusal else None, "email_moves": "email" in fill,
    }  # fmt: skip


@router.get("/customers/{customer_id}/merge/{secondary_id}")
def merge_preview(
    request: Request, ctx: ContextDep, web: SignedIn, customer_id: RowId, secondary_id: RowId
) -> HTMLResponse:
    """What this customer will hold after the merge, field by field, before confirming."""
    values = _preview(ctx, web, customer_id, secondary_id)
    return render(request, ctx, "merge_preview.html", web, nav="customers", **values)


@router.post("/customers/{customer_id}/merge/{secondary_id}")
async def merge_customers(
    request: Request, ctx: ContextDep, web: SignedIn, customer_id: RowId, secondary_id: RowId
) -> Response:
    """Merge as previewed, by the rule the API and the merge jobs use."""
    form = await request.form(max_files=0, max_fields=20)
    auth.check_csrf(web.csrf_token, str(form.get("csrf") or ""))
    try:
        customers.merge_customers(ctx, web.user, customer_id, secondary_id)
    except Conflict as exc:
        values = _preview(ctx, web, customer_id, secondary_id)
        values["refusal"] = str(exc)
        return render(
            request, ctx, "merge_preview.html", web, nav="customers",
            status_code=status.HTTP_409_CONFLICT, **values,
        )  # fmt: skip
    return RedirectResponse(f"/customers/{customer_id}?done=merged", status.HTTP_303_SEE_OTHER)
