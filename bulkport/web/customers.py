"""The customer pages: the searchable list, one customer's page with its edit form, archive and
un-archive, and starting a privacy export. Every change goes through the functions the API's
customer routes use, so the rules, events and audit entries are the same."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bulkport.api.customers import (
    EMAIL_TAKEN,
    FieldsRefused,
    change_fields,
    etag,
    run_change,
    stored_customer,
)
from bulkport.api.deps import ContextDep, RowId
from bulkport.api.privacy import start_privacy_export
from bulkport.schemas.accounts import Permission
from bulkport.schemas.exports import ArchivedFilter
from bulkport.schemas.lifecycle import display_name as display_name  # the pages import it here
from bulkport.storage import customer_records as records
from bulkport.storage.db import reading
from bulkport.storage.sessions import WebSession
from bulkport.tasks.context import Context
from bulkport.tasks.customer_changes import archive, unarchive
from bulkport.tasks.customer_lists import Apply
from bulkport.tasks.deletions import merge_holder
from bulkport.web import auth
from bulkport.web.auth import SignedIn
from bulkport.web.customer_form import SECTIONS, changed_fields, shown
from bulkport.web.pages import render

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
SHOW_CHOICES = {
    ArchivedFilter.EXCLUDE: "Active",
    ArchivedFilter.ONLY: "Archived",
    ArchivedFilter.INCLUDE: "All",
}
# What a change redirected here says; only these words are ever shown.
DONE = {
    "saved": "Saved the changes.",
    "unchanged": "Nothing to save: no field was changed.",
    "archived": "Archived. The customer is hidden from the list and cannot be sold to; "
    "un-archive to bring them back.",
    "unarchived": "Un-archived. The customer is back in the list.",
    "merged": "Merged. The secondary customer's details filled this one's empty fields, its "
    "sales moved here, and it was archived.",
    "deleted": "Deleted. Every personal detail of this record is erased; the sales stay linked "
    "to this anonymized identifier.",
}
CHANGED_MEANWHILE = (
    "Someone else changed this customer while you were editing. Nothing of yours was saved: "
    "the form now shows their version. Make your change again and save."
)


def page_customer(ctx: Context, web: WebSession, customer_id: int) -> dict[str, Any]:
    """The store's customer, or the 404 page (another store's is as if it did not exist)."""
    return stored_customer(ctx, web.user, customer_id)


@router.get("/customers")
def customers_page(
    request: Request,
    ctx: ContextDep,
    web: SignedIn,
    search: Annotated[str | None, Query(max_length=200)] = None,
    show: ArchivedFilter = ArchivedFilter.EXCLUDE,
    cursor: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """The store's customers, newest first, searched as the API searches; archived ones shown
    only when asked for, and then greyed and marked."""
    text = (search or "").strip() or None
    with reading(ctx.engine) as conn:
        found = records.search(
            conn, web.user.store_id, text=text, archived=show, before_id=cursor,
            limit=PER_PAGE + 1,
        )  # fmt: skip
    shown_rows = found[:PER_PAGE]
    return render(
        request, ctx, "customers.html", web, nav="customers",
        customers=[{**c, "name": display_name(c)} for c in shown_rows], search=text or "",
        show=show, show_choices=SHOW_CHOICES, cursor=cursor,
        next_cursor=shown_rows[-1]["id"] if len(found) > PER_PAGE else None,
    )  # fmt: skip


def customer_values(
    ctx: Context, web: WebSession, customer: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """What the customer page shows of a customer as stored."""
    values: dict[str, Any] = {
        "customer": customer,
        "customer_name": display_name(customer),
        "customer_version": etag(customer),
        "sections": SECTIONS,
        "form": {f.key: shown(customer, f.key) for s in SECTIONS for f in s.fields},
        "problems": {},
        "can_delete": web.user.can(Permission.CUSTOMERS_DELETE),
    }
    if customer["merged_into_id"] is not None:
        with reading(ctx.engine) as conn:
            primary = records.get(conn, web.user.store_id, customer["merged_into_id"])
        values["merged_into"] = primary and {"id": primary["id"], "name": display_name(primary)}
        values["held_by"] = merge_holder(ctx, web.user.store_id, customer["id"])
    return {**values, **extra}


@router.get("/customers/{customer_id}")
def customer_page(
    request: Request, ctx: ContextDep, web: SignedIn, customer_id: RowId, done: str = ""
) -> HTMLResponse:
    """One customer: the record to edit, archive or un-archive, merge, delete, export."""
    customer = page_customer(ctx, web, customer_id)
    values = customer_values(ctx, web, customer, message=DONE.get(done))
    return render(request, ctx, "customer.html", web, nav="customers", **values)


@router.post("/customers/{customer_id}")
async def save_customer(
    request: Request, ctx: ContextDep, web: SignedIn, customer_id: RowId
) -> Response:
    """Save the edit form, only if the customer is still as the form showed it."""
    form = await request.form(max_files=0, max_fields=200)
    auth.check_csrf(web.csrf_token, str(form.get("csrf") or ""))
    answer = {k: v for k, v in form.items() if isinstance(v, str)}
    current = page_customer(ctx, web, customer_id)
    body, problems = changed_fields(current, answer)
    if not body:
        return RedirectResponse(
            f"/customers/{customer_id}?done=unchanged", status.HTTP_303_SEE_OTHER
        )
    if not problems:
        try:
            change_fields(ctx, web.user, customer_id, body, answer.get("version", ""))
        except FieldsRefused as exc:
            problems = {p.field or "": p.message for p in exc.problems}
        except HTTPException as exc:
            if exc.status_code == status.HTTP_412_PRECONDITION_FAILED:
                return _changed_meanwhile(request, ctx, web, customer_id)
            if exc.status_code == status.HTTP_404_NOT_FOUND:
                raise
            # The email is another customer's, or the customer was deleted meanwhile.
            problems = {"email" if exc.detail == EMAIL_TAKEN else "": str(exc.detail)}
        else:
            return RedirectResponse(
                f"/customers/{customer_id}?done=saved", status.HTTP_303_SEE_OTHER
            )
    values = customer_values(ctx, web, current, problems=problems)
    values["form"].update({k: answer[k] for k in values["form"] if k in answer})
    values["problem"] = problems.get("") or "Some fields need a change: see the messages below."
    return render(
        request, ctx, "customer.html", web, nav="customers",
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, **values,
    )  # fmt: skip


def _changed_meanwhile(
    request: Request, ctx: Context, web: WebSession, customer_id: int
) -> HTMLResponse:
    """The form again with what is stored now: the person's typing would overwrite it unseen."""
    fresh = page_customer(ctx, web, customer_id)
    values = customer_values(ctx, web, fresh, problem=CHANGED_MEANWHILE)
    return render(
        request, ctx, "customer.html", web, nav="customers",
        status_code=status.HTTP_409_CONFLICT, **values,
    )  # fmt: skip


async def _checked_form(request: Request, web: WebSession) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=20)
    auth.check_csrf(web.csrf_token, str(form.get("csrf") or ""))
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def _apply(
    request: Request, ctx: Context, web: WebSession, customer_id: int, rule: Apply, done: str
) -> RedirectResponse:
    """Apply a lifecycle rule to the customer as the API does, then show them with ``done``."""
    await _checked_form(request, web)
    run_change(ctx, web.user, rule, customer_id)
    return RedirectResponse(f"/customers/{customer_id}?done={done}", status.HTTP_303_SEE_OTHER)


@router.post("/customers/{customer_id}/archive")
async def archive_customer(
    request: Request, ctx: ContextDep, web: SignedIn, customer_id: RowId
) -> RedirectResponse:
    """Archive, by the rule the API and the archive jobs use."""
    return await _apply(request, ctx, web, customer_id, archive, "archived")


@router.post("/customers/{customer_id}/unarchive")
async def unarchive_customer(
    request: Request, ctx: ContextDep, web: SignedIn, customer_id: RowId
) -> RedirectResponse:
    """Un-archive, by the rule the API and the un-archive jobs use."""
    return await _apply(request, ctx, web, customer_id, unarchive, "unarchived")


@router.post("/customers/{customer_id}/privacy-export")
async def privacy_export(
    request: Request, ctx: ContextDep, web: SignedIn, customer_id: RowId
) -> RedirectResponse:
    """Start the privacy export job; its page offers the download when it is READY."""
    await _checked_form(request, web)
    job_id = start_privacy_export(ctx, web.user, customer_id)
    return RedirectResponse(f"/jobs/{job_id}", status.HTTP_303_SEE_OTHER)
