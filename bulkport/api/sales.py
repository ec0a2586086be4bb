"""Sales, enough for the lifecycle's rules: record one, and the totals per customer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.http.deps import ContextDep, Staff
from bulkport.rules.text import CleanText
from bulkport.schemas.jobs import Problem
from bulkport.schemas.lifecycle import SaleIn, SalesTotal, SaleView
from bulkport.storage import customer_records as records

router = APIRouter(prefix="/api/v1", tags=["sales"], responses=ERROR_RESPONSES)


@router.post(
    "/sales",
    name="create",
    status_code=status.HTTP_201_CREATED,
    response_model=SaleView,
    responses={409: {"model": Problem, "description": "The customer is archived or deleted"}},
)
def create_sale(ctx: ContextDep, user: Staff, body: SaleIn) -> SaleView:
    """Record a sale; an archived or deleted customer answers 409 with the reason."""
    with ctx.engine.begin() as conn:
        customer = records.locked(conn, user.store_id, [body.customer_id]).get(body.customer_id)
        if customer is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such customer.")
        if customer["deleted_at"] is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, "The customer was deleted.")
        if customer["archived"]:
            why = "The customer is archived; un-archive it first."
            if customer["merged_into_id"] is not None:
                why = f"The customer was merged into customer {customer['merged_into_id']}."
            raise HTTPException(status.HTTP_409_CONFLICT, why)
        sale_id = records.add_sale(conn, user.store_id, body.customer_id, body.amount, body.sold_at)
    return SaleView(id=sale_id, **body.model_dump())


@router.get("/reports/sales-by-customer", name="by_customer", response_model=list[SalesTotal])
def sales_by_customer(
    ctx: ContextDep,
    user: Staff,
    search: Annotated[CleanText | None, Query(max_length=200, description="Customer name.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[SalesTotal]:
    """Number and total of sales per customer, largest first; a deleted customer appears under
    its anonymized identifier and is never found by name."""
    with ctx.engine.connect() as conn:
        rows = records.sales_by_customer(conn, user.store_id, search, limit, offset)
    return [SalesTotal(**row) for row in rows]
