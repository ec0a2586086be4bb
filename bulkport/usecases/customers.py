"""Customers one at a time: find them, add one by hand, read one, change its fields (only if
it is still the version the caller read), its sales, and the lifecycle rules applied to one
customer now (archive, un-archive, merge, delete), by the same rules the jobs use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from bulkport.errors import Conflict, NoSuchCustomer, NotFound, RecordRefused, Stale, ValuesRefused
from bulkport.rules.customer import RowParser, record_problems
from bulkport.rules.dates import DateOrder
from bulkport.schemas.exports import ArchivedFilter
from bulkport.schemas.jobs import RowOutcome
from bulkport.storage import accounts
from bulkport.storage import customer_records as records
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.customer_changes import archive, change_one, merge, unarchive
from bulkport.tasks.customer_lists import Apply, Change, Verdict
from bulkport.tasks.deletions import Holder, delete_one, merge_holder

EMAIL_TAKEN = "Another customer of this store has this email."
DELETED_CANNOT_CHANGE = "A deleted customer cannot change."
CHANGED_SINCE_READ = "The customer changed since you read it; read it again and redo the change."
# Refusals that mean the customer is not there for the caller.
_MISSING = frozenset({"unknown_customer"})


def etag(customer: dict[str, Any]) -> str:
    """The version of a customer, as an HTTP entity tag: changes whenever it is written."""
    return f'"{customer["id"]}-{customer["updated_at"].timestamp():.6f}"'


def checked_values(body: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The body's field values checked by the import's rules: ``ValuesRefused`` for a value
    they refuse; for a change, ``RecordRefused`` when the customer it would leave breaks a
    whole-customer rule (the body alone cannot, so the caller's document cannot say so)."""
    keys = list(body)
    parser = RowParser(dict(enumerate(keys)), headers=keys)
    values, problems = parser.parse([body[k] for k in keys])
    if problems:
        raise ValuesRefused(problems)
    broken = record_problems({**(current or {}), **values})
    if broken:
        raise (ValuesRefused if current is None else RecordRefused)(broken)
    return values


def search_customers(
    ctx: Context,
    user: User,
    *,
    text: str | None,
    archived: ArchivedFilter,
    before_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The store's customers, newest first, searched over name, email, phone and company;
    archived ones as ``archived`` says; deleted ones never."""
    with ctx.uow.reading() as conn:
        return records.search(
            conn, user.store_id, text=text, archived=archived, before_id=before_id, limit=limit
        )


def archived_would_match(ctx: Context, user: User, text: str) -> bool:
    """Whether an archived customer matches ``text``: a search that found none can say so."""
    with ctx.uow.reading() as conn:
        return bool(
            records.search(
                conn, user.store_id, text=text, archived=ArchivedFilter.ONLY, before_id=None,
                limit=1,
            )
        )  # fmt: skip


def store_date_order(ctx: Context, user: User) -> DateOrder:
    """How the user's store writes dates (its import date order)."""
    with ctx.uow.reading() as conn:
        return DateOrder(accounts.store_date_order(conn, user.store_id))


def add_customer(ctx: Context, user: User, body: dict[str, Any]) -> int:
    """Create a customer from a body's fields and return its id: ``FieldsRefused`` for values
    the import's rules refuse, ``Conflict`` when the email is another customer's."""
    values = checked_values(body)
    try:
        with ctx.uow.writing() as conn:
            customer_id = records.create(conn, user.store_id, values)
            records.add_events(
                conn,
                [{"store_id": user.store_id, "customer_id": customer_id, "action": "created",
                  "user_id": user.id}],
            )  # fmt: skip
    except IntegrityError:
        raise Conflict(EMAIL_TAKEN) from None
    return customer_id


def stored_customer(ctx: Context, user: User, customer_id: int) -> dict[str, Any]:
    """The user's store's customer (deleted ones too); ``NoSuchCustomer`` for any other."""
    with ctx.uow.reading() as conn:
        found = records.get(conn, user.store_id, customer_id)
    if found is None:
        raise NoSuchCustomer(customer_id)
    return found


def change_customer(
    ctx: Context, user: User, customer_id: int, body: dict[str, Any], if_match: str | None
) -> dict[str, Any]:
    """Write a change of some fields in one transaction and return the customer as stored:
    ``NoSuchCustomer``, ``Conflict`` for a deleted one or a taken email, ``Stale`` when
    ``if_match`` is not the stored version, ``FieldsRefused`` for values the rules refuse."""
    try:
        with ctx.uow.writing() as conn:
            current = records.locked(conn, user.store_id, [customer_id]).get(customer_id)
            if current is None:
                raise NoSuchCustomer(customer_id)
            if current["deleted_at"] is not None:
                raise Conflict(DELETED_CANNOT_CHANGE)
            # A blank If-Match names no version (an empty list of entity tags): no condition.
            if if_match and if_match.strip() not in ("", etag(current), "*"):
                raise Stale(CHANGED_SINCE_READ)
            values = checked_values(body, current)
            records.change(conn, customer_id, values)
            records.add_events(
                conn,
                [{"store_id": user.store_id, "customer_id": customer_id, "action": "updated",
                  "user_id": user.id, "detail": {"fields": sorted(values)}}],
            )  # fmt: skip
    except IntegrityError:
        raise Conflict(EMAIL_TAKEN) from None
    return stored_customer(ctx, user, customer_id)


def customer_sales(ctx: Context, user: User, customer_id: int) -> list[dict[str, Any]]:
    """The store's customer's sales, newest first; ``NoSuchCustomer`` for any other."""
    with ctx.uow.reading() as conn:
        if records.get(conn, user.store_id, customer_id) is None:
            raise NoSuchCustomer(customer_id)
        return records.sales_of(conn, user.store_id, customer_id)


@dataclass(frozen=True)
class Related:
    """What a customer's page shows beside the record: its sales, the customer it was merged
    into, and who still holds its person's details."""

    sales: list[dict[str, Any]]
    merged_into: dict[str, Any] | None
    held_by: Holder | None


def related_to(ctx: Context, user: User, customer: dict[str, Any]) -> Related:
    """The sales of a stored customer, and for a merged one its primary and its holder."""
    merged_id = customer["merged_into_id"]
    with ctx.uow.reading() as conn:
        sales = records.sales_of(conn, user.store_id, customer["id"])
        primary = records.get(conn, user.store_id, merged_id) if merged_id else None
    holder = None
    if merged_id is not None:
        holder = merge_holder(ctx, user.store_id, customer["id"])
    return Related(sales, primary, holder)


def settled_verdict(verdict: Verdict) -> RowOutcome:
    """The outcome of a rule applied to one customer; its refusal as ``NotFound`` for a
    customer not there, else ``Conflict``, with the reason."""
    if isinstance(verdict, tuple):
        code, reason = verdict
        raise (NotFound if code in _MISSING else Conflict)(reason)
    return verdict


def _apply_now(
    ctx: Context, user: User, apply: Apply, customer_id: int, other_id: int | None = None
) -> dict[str, Any]:
    settled_verdict(change_one(ctx, apply, Change(user.store_id, user.id), customer_id, other_id))
    return stored_customer(ctx, user, customer_id)


def archive_customer(ctx: Context, user: User, customer_id: int) -> dict[str, Any]:
    """Archive the customer now (they leave lists and cannot be sold to); the customer after."""
    return _apply_now(ctx, user, archive, customer_id)


def unarchive_customer(ctx: Context, user: User, customer_id: int) -> dict[str, Any]:
    """Un-archive the customer now; a deleted one cannot be (``Conflict``)."""
    return _apply_now(ctx, user, unarchive, customer_id)


def merge_customers(ctx: Context, user: User, primary_id: int, secondary_id: int) -> dict[str, Any]:
    """Merge the secondary into the primary now, by the merge jobs' rule; the primary after."""
    return _apply_now(ctx, user, merge, primary_id, secondary_id)


def delete_customer(
    ctx: Context, user: User, customer_id: int
) -> tuple[dict[str, Any], Holder | None]:
    """Delete the customer for privacy now, by the delete jobs' rule; the anonymized record
    after, and for a merged record the customer that still holds its person's details."""
    settled_verdict(delete_one(ctx, user.store_id, user.id, customer_id))
    customer = stored_customer(ctx, user, customer_id)
    return customer, merge_holder(ctx, user.store_id, customer_id)
