"""Sales, enough for the lifecycle's rules: record one, and the totals per customer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.http.deps import ContextDep, Staff
from bulkport.rules.text import CleanText
from bulkport.schemas.jobs import Problem
from bulkport.schemas.lifecycle import SaleIn, SalesTotal, SaleView
from bulkport.usecases import sales

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
    sale_id = sales.record_sale(ctx, user, body)
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
    rows = sales.sales_by_customer(ctx, user, search, limit, offset)
    return [SalesTotal(**row) for row in rows]
