"""Customers one at a time: list and search, create, read, change (with ETags), their sales,
archive, un-archive and merge."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from bulkport.api.errors import BODY_RESPONSES, ERROR_RESPONSES
from bulkport.http.deps import ContextDep, Deleter, RowId, Staff
from bulkport.http.links import link
from bulkport.rules.customer import RowParser, record_problems
from bulkport.rules.problems import CellProblem
from bulkport.rules.text import CleanText
from bulkport.schemas.customer_body import CustomerChange, NewCustomer, given
from bulkport.schemas.exports import ArchivedFilter
from bulkport.schemas.jobs import Problem, RowOutcome
from bulkport.schemas.lifecycle import Confirmed, MergeRequest, SaleView, customer_view
from bulkport.storage import customer_records as records
from bulkport.storage.accounts import User
from bulkport.storage.db import reading
from bulkport.tasks.context import Context
from bulkport.tasks.customer_changes import archive, change_one, merge, unarchive
from bulkport.tasks.customer_lists import Apply, Change, Verdict
from bulkport.tasks.deletions import delete_one, merge_holder

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], responses=ERROR_RESPONSES)
EMAIL_TAKEN = "Another customer of this store has this email."
# Refusals that mean the customer is not there for the caller.
_MISSING = frozenset({"unknown_customer"})
_TAKEN: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "Another customer of this store has this email"}
}
_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "The lifecycle rules refuse it, with why"}
}


def _said(problems: list[CellProblem]) -> str:
    return "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)


class FieldsRefused(HTTPException):
    """Values the import's rules refuse, each problem naming its field, so that a page can
    show each one beside its field."""

    def __init__(self, code: int, problems: list[CellProblem]) -> None:
        super().__init__(code, _said(problems))
        self.problems = problems


def checked_values(body: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The body's field values checked by the import's rules: 422 for a value they refuse; for
    a change, 409 when the customer it would leave breaks a whole-customer rule (the body alone
    cannot, so the document cannot say so)."""
    keys = list(body)
    parser = RowParser(dict(enumerate(keys)), headers=keys)
    values, problems = parser.parse([body[k] for k in keys])
    if problems:
        raise FieldsRefused(status.HTTP_422_UNPROCESSABLE_CONTENT, problems)
    broken = record_problems({**(current or {}), **values})
    if broken:
        whole = status.HTTP_409_CONFLICT if current is not None else None
        raise FieldsRefused(whole or status.HTTP_422_UNPROCESSABLE_CONTENT, broken)
    return values


def etag(customer: dict[str, Any]) -> str:
    """The version of a customer: changes whenever it is written."""
    return f'"{customer["id"]}-{customer["updated_at"].timestamp():.6f}"'


def _answer(customer: dict[str, Any], code: int = 200) -> JSONResponse:
    return JSONResponse(customer_view(customer), code, headers={"ETag": etag(customer)})


def stored_customer(ctx: Context, user: User, customer_id: int) -> dict[str, Any]:
    """The user's store's customer (deleted ones too); 404 for any other."""
    with reading(ctx.engine) as conn:
        found = records.get(conn, user.store_id, customer_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such customer.")
    return found


@router.get("", name="list")
def list_customers(
    ctx: ContextDep,
    user: Staff,
    # Checked here, with the filters' own rule, so that a bad term is a 422 naming it.
    search: Annotated[CleanText | None, Query(max_length=200)] = None,
    archived: ArchivedFilter = ArchivedFilter.EXCLUDE,
    cursor: Annotated[
        int | None, Query(ge=1, description="`next_cursor` of the page before.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JSONResponse:
    """The store's customers, newest first, searched over name, email, phone and company;
    archived ones only when asked for; deleted ones never."""
    with reading(ctx.engine) as conn:
        found = records.search(
            conn, user.store_id, text=search, archived=archived, before_id=cursor, limit=limit
        )
    next_cursor = found[-1]["id"] if len(found) == limit else None
    return JSONResponse(
        {"customers": [customer_view(c) for c in found], "next_cursor": next_cursor}
    )


@router.post(
    "", name="create", status_code=status.HTTP_201_CREATED, responses={**BODY_RESPONSES, **_TAKEN}
)
def create_customer(ctx: ContextDep, user: Staff, body: NewCustomer) -> JSONResponse:
    """A new customer, checked by the import's rules; 409 if its email is another's."""
    customer_id = add_customer(ctx, user, given(body))
    return _answer(stored_customer(ctx, user, customer_id), status.HTTP_201_CREATED)


def add_customer(ctx: Context, user: User, body: dict[str, Any]) -> int:
    """Create a customer from a body's fields and return its id: ``FieldsRefused`` for values
    the import's rules refuse, 409 when the email is another customer's."""
    values = checked_values(body)
    try:
        with ctx.engine.begin() as conn:
            customer_id = records.create(conn, user.store_id, values)
            records.add_events(
                conn,
                [{"store_id": user.store_id, "customer_id": customer_id, "action": "created",
                  "user_id": user.id}],
            )  # fmt: skip
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, EMAIL_TAKEN) from None
    return customer_id


@router.get("/{customer_id}", name="get")
def get_customer(ctx: ContextDep, user: Staff, customer_id: RowId) -> JSONResponse:
    """One customer, with its ETag; a merged one shows ``merged_into_id``, a deleted one only
    its anonymized identifier."""
    return _answer(stored_customer(ctx, user, customer_id))


@router.patch(
    "/{customer_id}",
    name="update",
    responses={
        **BODY_RESPONSES,
        409: {
            "model": Problem,
            "description": "The customer is deleted, the email is another's, or the change would "
            "leave it without a name, email or phone, or tax exempt without a Sales Tax Number",
        },
        412: {"model": Problem, "description": "Changed since it was read"},
    },
)
def change_customer(
    ctx: ContextDep,
    user: Staff,
    customer_id: RowId,
    body: CustomerChange,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Change some fields (checked by the import's rules). With ``If-Match``, a customer
    written since that ETag answers 412; a deleted customer 409."""
    change_fields(ctx, user, customer_id, given(body), if_match)
    return _answer(stored_customer(ctx, user, customer_id))


def change_fields(
    ctx: Context, user: User, customer_id: int, body: dict[str, Any], if_match: str | None
) -> None:
    """Write a change of some fields in one transaction: 404 for a customer not there, 409 for a
    deleted one or a taken email, 412 when ``if_match`` is not the stored version, and
    ``FieldsRefused`` for values the import's rules refuse."""
    try:
        with ctx.engine.begin() as conn:
            current = records.locked(conn, user.store_id, [customer_id]).get(customer_id)
            if current is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "No such customer.")
            if current["deleted_at"] is not None:
                raise HTTPException(status.HTTP_409_CONFLICT, "A deleted customer cannot change.")
            # A blank If-Match names no version (an empty list of entity tags): no condition.
            if if_match and if_match.strip() not in ("", etag(current), "*"):
                raise HTTPException(
                    status.HTTP_412_PRECONDITION_FAILED,
                    "The customer changed since you read it; read it again and redo the change.",
                )
            values = checked_values(body, current)
            records.change(conn, customer_id, values)
            records.add_events(
                conn,
                [{"store_id": user.store_id, "customer_id": customer_id, "action": "updated",
                  "user_id": user.id, "detail": {"fields": sorted(values)}}],
            )  # fmt: skip
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, EMAIL_TAKEN) from None


@router.get("/{customer_id}/sales", name="sales", response_model=list[SaleView])
def customer_sales(ctx: ContextDep, user: Staff, customer_id: RowId) -> list[SaleView]:
    """The customer's sales, newest first."""
    stored_customer(ctx, user, customer_id)
    with reading(ctx.engine) as conn:
        return [SaleView(**s) for s in records.sales_of(conn, user.store_id, customer_id)]


def run_change(
    ctx: Context, user: User, apply: Apply, customer_id: int, other_id: int | None = None
) -> RowOutcome:
    """Apply one lifecycle rule now: 404 for a customer not there, 409 with the reason."""
    return settled_verdict(
        change_one(ctx, apply, Change(user.store_id, user.id), customer_id, other_id)
    )


def settled_verdict(verdict: Verdict) -> RowOutcome:
    """The outcome of a rule applied to one customer; its refusal as 404 for a customer not
    there, else 409 with the reason."""
    if isinstance(verdict, tuple):
        code = status.HTTP_404_NOT_FOUND if verdict[0] in _MISSING else status.HTTP_409_CONFLICT
        raise HTTPException(code, verdict[1])
    return verdict


@router.post("/{customer_id}/archive", name="archive", responses=_REFUSED)
def archive_customer(ctx: ContextDep, user: Staff, customer_id: RowId) -> JSONResponse:
    """Archive: leaves lists unless asked for, cannot be sold to, keeps everything."""
    run_change(ctx, user, archive, customer_id)
    return _answer(stored_customer(ctx, user, customer_id))


@router.post("/{customer_id}/unarchive", name="unarchive", responses=_REFUSED)
def unarchive_customer(ctx: ContextDep, user: Staff, customer_id: RowId) -> JSONResponse:
    """Un-archive; a deleted customer cannot be (409)."""
    run_change(ctx, user, unarchive, customer_id)
    return _answer(stored_customer(ctx, user, customer_id))


@router.post("/{primary_id}/merge", name="merge", responses={**BODY_RESPONSES, **_REFUSED})
def merge_customers(
    ctx: ContextDep, user: Staff, primary_id: RowId, body: MergeRequest
) -> JSONResponse:
    """Merge the secondary into this customer: this one's values kept, its empty
    fields filled from the secondary, the secondary's sales moved, the secondary archived with
    ``merged_into_id``."""
    if body.secondary_id == primary_id:
        raise HTTPException(status.HTTP_409_CONFLICT, "A customer cannot be merged into itself.")
    run_change(ctx, user, merge, primary_id, body.secondary_id)
    return _answer(stored_customer(ctx, user, primary_id))


@router.post(
    "/{customer_id}/delete",
    name="delete",
    responses={403: {"model": Problem, "description": "No customers:delete"}, **_REFUSED},
)
def delete_customer(
    request: Request,
    ctx: ContextDep,
    user: Deleter,
    customer_id: RowId,
    confirm: Annotated[Confirmed, Query()],
) -> JSONResponse:
    """Delete for privacy, now (needs customers:delete and ``confirm=true``): archived, every
    personal field erased, the id kept as the anonymized identifier with its sales, and the
    person removed from every stored file and row error. A record merged into another answers
    ``held_by``: that customer, the same person, still holds their details; its ``delete``
    link erases them too."""
    settled_verdict(delete_one(ctx, user.store_id, user.id, customer_id))
    customer = stored_customer(ctx, user, customer_id)
    holder = merge_holder(ctx, user.store_id, customer_id)
    if holder is None:
        return _answer(customer)
    held_by = {
        "id": holder.id, "name": holder.name, "copied_fields": list(holder.copied),
        "message": holder.said(deleted=True),
        "delete": link(request, "customers-get", customer_id=str(holder.id)) + "/delete",
    }  # fmt: skip
    return JSONResponse({**customer_view(customer), "held_by": held_by},
                        headers={"ETag": etag(customer)})  # fmt: skip
