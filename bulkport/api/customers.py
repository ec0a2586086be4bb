"""Customers one at a time: list and search, create, read, change (with ETags), their sales,
archive, un-archive and merge."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import JSONResponse

from bulkport.api.errors import BODY_RESPONSES, ERROR_RESPONSES
from bulkport.errors import Conflict
from bulkport.http.deps import ContextDep, Deleter, RowId, Staff
from bulkport.http.links import link
from bulkport.rules.text import CleanText
from bulkport.schemas.customer_body import CustomerChange, NewCustomer, given
from bulkport.schemas.exports import ArchivedFilter
from bulkport.schemas.jobs import Problem
from bulkport.schemas.lifecycle import Confirmed, MergeRequest, SaleView, customer_view
from bulkport.usecases import customers
from bulkport.usecases.customers import etag

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], responses=ERROR_RESPONSES)
_TAKEN: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "Another customer of this store has this email"}
}
_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "The lifecycle rules refuse it, with why"}
}


def _answer(customer: dict[str, Any], code: int = 200) -> JSONResponse:
    return JSONResponse(customer_view(customer), code, headers={"ETag": etag(customer)})


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
    found = customers.search_customers(
        ctx, user, text=search, archived=archived, before_id=cursor, limit=limit
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
    customer_id = customers.add_customer(ctx, user, given(body))
    return _answer(customers.stored_customer(ctx, user, customer_id), status.HTTP_201_CREATED)


@router.get("/{customer_id}", name="get")
def get_customer(ctx: ContextDep, user: Staff, customer_id: RowId) -> JSONResponse:
    """One customer, with its ETag; a merged one shows ``merged_into_id``, a deleted one only
    its anonymized identifier."""
    return _answer(customers.stored_customer(ctx, user, customer_id))


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
    return _answer(customers.change_customer(ctx, user, customer_id, given(body), if_match))


@router.get("/{customer_id}/sales", name="sales", response_model=list[SaleView])
def customer_sales(ctx: ContextDep, user: Staff, customer_id: RowId) -> list[SaleView]:
    """The customer's sales, newest first."""
    return [SaleView(**s) for s in customers.customer_sales(ctx, user, customer_id)]


@router.post("/{customer_id}/archive", name="archive", responses=_REFUSED)
def archive_customer(ctx: ContextDep, user: Staff, customer_id: RowId) -> JSONResponse:
    """Archive: leaves lists unless asked for, cannot be sold to, keeps everything."""
    return _answer(customers.archive_customer(ctx, user, customer_id))


@router.post("/{customer_id}/unarchive", name="unarchive", responses=_REFUSED)
def unarchive_customer(ctx: ContextDep, user: Staff, customer_id: RowId) -> JSONResponse:
    """Un-archive; a deleted customer cannot be (409)."""
    return _answer(customers.unarchive_customer(ctx, user, customer_id))


@router.post("/{primary_id}/merge", name="merge", responses={**BODY_RESPONSES, **_REFUSED})
def merge_customers(
    ctx: ContextDep, user: Staff, primary_id: RowId, body: MergeRequest
) -> JSONResponse:
    """Merge the secondary into this customer: this one's values kept, its empty
    fields filled from the secondary, the secondary's sales moved, the secondary archived with
    ``merged_into_id``."""
    if body.secondary_id == primary_id:
        raise Conflict("A customer cannot be merged into itself.")
    return _answer(customers.merge_customers(ctx, user, primary_id, body.secondary_id))


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
    customer, holder = customers.delete_customer(ctx, user, customer_id)
    if holder is None:
        return _answer(customer)
    held_by = {
        "id": holder.id, "name": holder.name, "copied_fields": list(holder.copied),
        "message": holder.said(deleted=True),
        "delete": link(request, "customers-get", customer_id=str(holder.id)) + "/delete",
    }  # fmt: skip
    return JSONResponse({**customer_view(customer), "held_by": held_by},
                        headers={"ETag": etag(customer)})  # fmt: skip
