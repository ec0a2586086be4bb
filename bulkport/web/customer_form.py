"""The customer edit form: its sections from the field catalogue, a stored value as the form
shows it, and the form's answer turned into the API's change body (only the fields changed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bulkport.schemas.customer_body import CustomerChange
from bulkport.schemas.fields import FIELDS_BY_KEY, WRITABLE_KEYS, CustomerField, FieldKind

_PERSON = ("first_name", "initials", "last_name", "email", "phone", "mobile", "language")
_PERSON_MORE = ("gender", "date_of_birth")
_ACCOUNT = ("customer_type", "accepts_marketing", "account_approved")
_COMPANY = ("company", "company_id_number", "coc_number", "vat_number", "tax_exempt")


@dataclass(frozen=True)
class Section:
    """A group of fields shown under one heading."""

    title: str
    fields: tuple[CustomerField, ...]


def _section(title: str, keys: tuple[str, ...]) -> Section:
    return Section(title, tuple(FIELDS_BY_KEY[k] for k in keys))


def _prefixed(prefix: str) -> tuple[str, ...]:
    return tuple(k for k in WRITABLE_KEYS if k.startswith(prefix))


SECTIONS: tuple[Section, ...] = (
    _section("Person", (*_PERSON, *_PERSON_MORE)),
    _section("Account", _ACCOUNT),
    _section("Company", (*_COMPANY, "sales_tax_number")),
    _section("Invoice address", _prefixed("invoice_")),
    _section("Shipping address", _prefixed("shipping_")),
    _section("Notes", ("notes",)),
)
YES_NO = {"yes": True, "no": False}
# A date the body's pattern refuses is told in words, not as the pattern.
DATE_HINT = "Write the date as YYYY-MM-DD, a date from 1900 up to last year."


def shown(customer: Mapping[str, Any], key: str) -> str:
    """A stored value as the form shows it: booleans as yes / no, dates as YYYY-MM-DD."""
    value = customer.get(key)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _as_body_value(key: str, text: str) -> object:
    if text == "":
        return None
    if FIELDS_BY_KEY[key].kind is FieldKind.BOOL:
        return YES_NO.get(text, text)
    return text


def changed_fields(
    current: Mapping[str, Any], answer: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields the form changed, checked by the API's body model, and a message for each
    field it refuses. A field the form did not send, or sent as shown, is left as stored."""
    body: dict[str, Any] = {}
    for key in WRITABLE_KEYS:
        if key in answer and answer[key].strip() != shown(current, key).strip():
            body[key] = _as_body_value(key, answer[key].strip())
    try:
        return CustomerChange.model_validate(body).model_dump(exclude_unset=True), {}
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            date = FIELDS_BY_KEY.get(key) and FIELDS_BY_KEY[key].kind is FieldKind.DATE
            problems.setdefault(key, DATE_HINT if date else _plain(error["msg"]))
        return body, problems


def _plain(message: str) -> str:
    """Pydantic's message as a sentence."""
    message = message.removeprefix("Value error, ")
    return message if message.endswith(".") else f"{message}."
