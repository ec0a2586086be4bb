"""Customers one at a time, sales, and the lifecycle jobs over a spreadsheet of customers."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from bulkport.schemas.exports import RecordId
from bulkport.schemas.jobs import FormBool, JobNotice
from bulkport.schemas.timestamps import Timestamp


def anonymized_name(customer_id: int) -> str:
    """How a deleted customer is shown everywhere: its id and nothing that names the person."""
    return f"Deleted customer {customer_id}"


def display_name(customer: dict[str, Any]) -> str:
    """How a customer is named to staff: their name, else email or phone, else the id."""
    if customer.get("deleted_at") is not None:
        return anonymized_name(int(customer["id"]))
    name = " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p)
    return name or customer.get("email") or customer.get("phone") or f"Customer {customer['id']}"


# A sale's amount as written in the store's books: up to ten whole digits and two decimals, as
# text, so that no amount passes through a binary fraction (a refund is negative).
AMOUNT_PATTERN = "^-?(?:0|[1-9][0-9]{0,9})(?:\\.[0-9]{1,2})?$"
_AMOUNT = re.compile(AMOUNT_PATTERN)


def _amount(value: object) -> object:
    if isinstance(value, str) and _AMOUNT.fullmatch(value):
        return value
    raise PydanticCustomError("amount", 'must be an amount as text, such as "12.50"')


Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["12.50"]}),
]


def _confirmed(value: bool) -> bool:
    if not value:
        raise PydanticCustomError(
            "confirm", "deleting erases customers for good: send confirm=true to go ahead"
        )
    return value


# Deleting at once needs ``confirm=true``: the document says so, and nothing else is taken.
Confirmed = Annotated[
    FormBool,
    AfterValidator(_confirmed),
    WithJsonSchema({"type": "boolean", "const": True, "description": "Must be true."}),
]


class ListOptions(JobNotice):
    """Options of an archive, un-archive, merge or delete job, recorded with it."""

    model_config = ConfigDict(extra="forbid")

    dry_run: FormBool = False
    confirm: FormBool = Field(default=False, description="Deletions only: must be true.")
    filename: str = Field(default="upload.csv", max_length=255)
    # A committed dry run: the customers it resolved are the ones this job changes.
    preview_of: str | None = Field(default=None, max_length=32)


class SaleIn(BaseModel):
    """A sale to record against a customer."""

    model_config = ConfigDict(extra="forbid")

    customer_id: RecordId
    amount: Amount
    sold_at: Timestamp


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

    secondary_id: RecordId


def customer_view(row: dict[str, Any]) -> dict[str, Any]:
    """A customer as the API shows it; a deleted one by its anonymized identifier only."""
    view = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
    view.pop("email_key", None)
    view.pop("store_id", None)
    view["deleted"] = row.get("deleted_at") is not None
    if view["deleted"]:
        view["name"] = anonymized_name(int(row["id"]))
    return view
