"""Customers one at a time, sales, and the lifecycle jobs over a spreadsheet of customers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def anonymized_name(customer_id: int) -> str:
    """How a deleted customer is shown everywhere: its id and nothing that names the person."""
    return f"Deleted customer {customer_id}"


class ListOptions(BaseModel):
    """Options of an archive, un-archive, merge or delete job, recorded with it."""

    model_config = ConfigDict(extra="forbid")

    dry_run: bool = False
    confirm: bool = Field(default=False, description="Deletions only: must be true.")
    filename: str = Field(default="upload.csv", max_length=255)
    # A committed dry run: the customers it resolved are the ones this job changes.
    preview_of: str | None = Field(default=None, max_length=32)


class SaleIn(BaseModel):
    """A sale to record against a customer."""

    model_config = ConfigDict(extra="forbid")

    customer_id: int
    amount: Decimal = Field(max_digits=12, decimal_places=2)
    sold_at: datetime


class SaleView(BaseModel):
    """A sale as the API shows it."""

    id: int
    customer_id: int
    amount: Decimal
    sold_at: datetime


class SalesTotal(BaseModel):
    """One customer's line of the sales report."""

    customer_id: int
    name: str = Field(description="The customer's name, or its anonymized identifier.")
    sales: int
    total: Decimal


class MergeRequest(BaseModel):
    """Which customer is merged into the primary of the path."""

    model_config = ConfigDict(extra="forbid")

    secondary_id: int


def customer_view(row: dict[str, Any]) -> dict[str, Any]:
    """A customer as the API shows it; a deleted one by its anonymized identifier only."""
    view = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
    view.pop("email_key", None)
    view.pop("store_id", None)
    view["deleted"] = row.get("deleted_at") is not None
    if view["deleted"]:
        view["name"] = anonymized_name(int(row["id"]))
    return view
