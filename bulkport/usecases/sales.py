"""Sales, enough for the lifecycle's rules: record one against a customer who can be sold to,
and the totals per customer."""

from __future__ import annotations

from typing import Any

from bulkport.errors import Conflict, NoSuchCustomer
from bulkport.schemas.lifecycle import SaleIn
from bulkport.storage import customer_records as records
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context


def record_sale(ctx: Context, user: User, sale: SaleIn) -> int:
    """Record a sale and return its id; ``Conflict`` with the reason for a customer who cannot
    be sold to (archived, merged away or deleted)."""
    with ctx.uow.writing() as conn:
        customer = records.locked(conn, user.store_id, [sale.customer_id]).get(sale.customer_id)
        if customer is None:
            raise NoSuchCustomer(sale.customer_id)
        if customer["deleted_at"] is not None:
            raise Conflict("The customer was deleted.")
        if customer["archived"]:
            why = "The customer is archived; un-archive it first."
            if customer["merged_into_id"] is not None:
                why = f"The customer was merged into customer {customer['merged_into_id']}."
            raise Conflict(why)
        return records.add_sale(conn, user.store_id, sale.customer_id, sale.amount, sale.sold_at)


def sales_by_customer(
    ctx: Context, user: User, text: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Number and total of sales per customer, largest first; ``text`` finds customers by name
    (a deleted one, under its anonymized identifier, never)."""
    with ctx.uow.reading() as conn:
        return records.sales_by_customer(conn, user.store_id, text, limit, offset)
