"""The customer pages: the searchable list, adding a customer by hand, one customer's page with
its edit form and sales, archive and un-archive, and starting a privacy export. Every change
is the use case the API's customer routes call, so the rules, events and audit entries are the
same."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic_core import PydanticCustomError

from bulkport.errors import Conflict, FieldsRefused, Stale
from bulkport.http.deps import ContextDep, RowId
from bulkport.rules.text import refuse_control, strip_control
from bulkport.schemas.accounts import Permission
from bulkport.schemas.exports import ArchivedFilter
from bulkport.schemas.lifecycle import display_name as display_name  # the pages import it here
from bulkport.storage.accounts import User
from bulkport.storage.sessions import WebSession
from bulkport.tasks.context import Context
from bulkport.usecases import customers
from bulkport.usecases.customers import EMAIL_TAKEN, etag
from bulkport.usecases.privacy import start_privacy_export
from bulkport.web import auth
from bulkport.web.auth import SignedIn
from bulkport.web.customer_form import DATE_FORMATS, SECTIONS, DateFormat, changed_fields, shown
from bulkport.web.pages import render

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
SALES_SHOWN = 50
SHOW_CHOICES = {
    ArchivedFilter.EXCLUDE: "Active",
    ArchivedFilter.ONLY: "Archived",
    ArchivedFilter.INCLUDE: "All",
}
# What a change redirected here says; only these words are ever shown.
DONE = {
    "created": "Added the customer.",
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


def search_problem(text: str | None) -> str | None:
    """Why the search cannot be run, in plain words (the rule every search term keeps), or None."""
    try:
        refuse_control(text or "")
    except PydanticCustomError as exc:
        return f"The search {exc.message()}. Type it again without them."
    return None


def page_customer(ctx: Context, web: WebSession, customer_id: int) -> dict[str, Any]:
    """The store's customer, or the 404 page (another store's is as if it did not exist)."""
    return customers.stored_customer(ctx, web.user, customer_id)


def store_dates(ctx: Context, web: WebSession) -> DateFormat:
    """How the signed-in person's store writes dates (its import date order)."""
    return DATE_FORMATS[customers.store_date_order(ctx, web.user)]


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
    problem = search_problem(text)
    found: list[dict[str, Any]] = []
    archived_match = False
    if problem is None:
        found, archived_match = _customers_found(ctx, web, text, show, cursor)
    shown_rows = found[:PER_PAGE]
    return render(
        request, ctx, "customers.html", web, nav="customers",
        customers=[{**c, "name": display_name(c)} for c in shown_rows],
        search=strip_control(text or ""), problem=problem, show=show, show_choices=SHOW_CHOICES,
        cursor=cursor, archived_match=archived_match,
        next_cursor=shown_rows[-1]["id"] if len(found) > PER_PAGE else None,
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if problem else status.HTTP_200_OK,
    )  # fmt: skip


def _customers_found(
    ctx: Context, web: WebSession, text: str | None, show: ArchivedFilter, cursor: int | None
) -> tuple[list[dict[str, Any]], bool]:
    """A page of the search (one row more than shown, to know of a next page), and whether
    archived customers would match when none is found: "try Show: All" only when true."""
    found = customers.search_customers(
        ctx, web.user, text=text, archived=show, before_id=cursor, limit=PER_PAGE + 1
    )
    archived_match = bool(
        text and not found and show is ArchivedFilter.EXCLUDE
        and customers.archived_would_match(ctx, web.user, text)
    )  # fmt: skip
    return found, archived_match


def customer_values(
    ctx: Context, web: WebSession, customer: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """What the customer page shows of a customer as stored, with their newest sales."""
    dates = store_dates(ctx, web)
    related = customers.related_to(ctx, web.user, customer)
    sales, primary = related.sales, related.merged_into
    values: dict[str, Any] = {
        "customer": customer,
        "customer_name": display_name(customer),
        "customer_version": etag(customer),
        "sections": SECTIONS,
        "dates": dates,
        "form": {f.key: shown(customer, f.key, dates) for s in SECTIONS for f in s.fields},
        "problems": {},
        "can_delete": web.user.can(Permission.CUSTOMERS_DELETE),
        "can_merge": customer["deleted_at"] is None and customer["merged_into_id"] is None,
        "sales": sales[:SALES_SHOWN],
        "sales_count": len(sales),
        "sales_total": sum((s["amount"] for s in sales), Decimal(0)),
        "merged_into": primary and {"id": primary["id"], "name": display_name(primary)},
    }
    if customer["merged_into_id"] is not None:
        values["held_by"] = related.held_by
    return {**values, **extra}


def field_problems(exc: FieldsRefused) -> dict[str, str]:
    """Each refused value's message, under its field (a whole-customer rule's under "")."""
    return {p.field or "": p.message for p in exc.problems}


def conflict_problems(exc: Conflict) -> dict[str, str]:
    """A refusal of the whole form: beside the email when it is another customer's."""
    return {"email" if str(exc) == EMAIL_TAKEN else "": str(exc)}


def _form_problem(problems: dict[str, str]) -> str:
    return problems.get("") or "Some fields need a change: see the messages below."


@router.get("/customers/new")
def new_customer_page(request: Request, ctx: ContextDep, web: SignedIn) -> HTMLResponse:
    """An empty customer form, with the same fields and rules as editing one."""
    return _new_form(request, ctx, web, {}, {})


def _new_form(
    request: Request,
    ctx: Context,
    web: WebSession,
    answer: dict[str, str],
    problems: dict[str, str],
    status_code: int = status.HTTP_200_OK,
) -> HTMLResponse:
    keys = [f.key for s in SECTIONS for f in s.fields]
    return render(
        request, ctx, "customer_new.html", web, nav="customers", sections=SECTIONS,
        dates=store_dates(ctx, web), form={k: answer.get(k, "") for k in keys},
        problems=problems, problem=_form_problem(problems) if problems else None,
        status_code=status_code,
    )  # fmt: skip


@router.post("/customers/new")
async def create_customer(request: Request, ctx: ContextDep, web: SignedIn) -> Response:
    """Add the customer the form describes, by the API's create rule; the form again, with a
    message beside each field it refuses."""
    form = await request.form(max_files=0, max_fields=200)
    auth.check_csrf(web.csrf_token, str(form.get("csrf") or ""))
    answer = {k: v for k, v in form.items() if isinstance(v, str)}
    body, problems = changed_fields({}, answer, store_dates(ctx, web))
    if not problems:
        try:
            customer_id = customers.add_customer(ctx, web.user, body)
        except FieldsRefused as exc:
            problems = field_problems(exc)
        except Conflict as exc:
            problems = conflict_problems(exc)
        else:
            return RedirectResponse(
                f"/customers/{customer_id}?done=created", status.HTTP_303_SEE_OTHER
            )
    return _new_form(request, ctx, web, answer, problems, status.HTTP_422_UNPROCESSABLE_CONTENT)


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
    body, problems = changed_fields(current, answer, store_dates(ctx, web))
    if not body and not problems:
        return RedirectResponse(
            f"/customers/{customer_id}?done=unchanged", status.HTTP_303_SEE_OTHER
        )
    if not problems:
        try:
            customers.change_customer(ctx, web.user, customer_id, body, answer.get("version", ""))
        except FieldsRefused as exc:
            problems = field_problems(exc)
        except Stale:
            return _changed_meanwhile(request, ctx, web, customer_id)
        except Conflict as exc:
            # The email is another customer's, or the customer was deleted meanwhile.
            problems = conflict_problems(exc)
        else:
            return RedirectResponse(
                f"/customers/{customer_id}?done=saved", status.HTTP_303_SEE_OTHER
            )
    values = customer_values(ctx, web, current, problems=problems)
    values["form"].update({k: answer[k] for k in values["form"] if k in answer})
    values["problem"] = _form_problem(problems)
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
    request: Request,
    ctx: Context,
    web: WebSession,
    customer_id: int,
    rule: Callable[[Context, User, int], object],
    done: str,
) -> RedirectResponse:
    """Apply a lifecycle rule to the customer as the API does, then show them with ``done``."""
    await _checked_form(request, web)
    rule(ctx, web.user, customer_id)
    return RedirectResponse(f"/customers/{customer_id}?done={done}", status.HTTP_303_SEE_OTHER)


@router.post("/customers/{customer_id}/archive")
async def archive_customer(
    request: Request, ctx: ContextDep, web: SignedIn, customer_id: RowId
) -> RedirectResponse:
    """Archive, by the rule the API and the archive jobs use."""
    return await _apply(request, ctx, web, customer_id, customers.archive_customer, "archived")


@router.post("/customers/{customer_id}/unarchive")
async def unarchive_customer(
    request: Request, ctx: ContextDep, web: SignedIn, customer_id: RowId
) -> RedirectResponse:
    """Un-archive, by the rule the API and the un-archive jobs use."""
    return await _apply(request, ctx, web, customer_id, customers.unarchive_customer, "unarchived")


@router.post("/customers/{customer_id}/privacy-export")
async def privacy_export(
    request: Request, ctx: ContextDep, web: SignedIn, customer_id: RowId
) -> RedirectResponse:
    """Start the privacy export job; its page offers the download when it is READY."""
    await _checked_form(request, web)
    job = start_privacy_export(
        ctx, store_id=web.user.store_id, user_id=web.user.id, customer_id=customer_id
    )
    return RedirectResponse(f"/jobs/{job.id}", status.HTTP_303_SEE_OTHER)
