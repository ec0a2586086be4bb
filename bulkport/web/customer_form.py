"""The customer form (to edit one, or add one by hand): its sections from the field catalogue, a
stored value as the form shows it, dates in the store's own format, and the form's answer
turned into the API's body (only the fields changed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from bulkport.rules.dates import DateOrder, parse_date_text
from bulkport.rules.fields import FIELDS_BY_KEY, WRITABLE_KEYS, CustomerField, FieldKind
from bulkport.schemas.customer_body import CustomerChange

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
DATE_HINT = "A date of birth is a date from 1900 up to last year."
_EXAMPLE = date(1990, 3, 31)


@dataclass(frozen=True)
class DateFormat:
    """How a store writes dates: the pages show them so, and read them by the importer's
    rules in the store's day and month order (the browser's own date input would show the
    browser's locale, often mm/dd/yyyy, whatever the store uses)."""

    order: DateOrder
    placeholder: str
    pattern: str

    def show(self, day: date) -> str:
        """A date as the store writes it."""
        return day.strftime(self.pattern)

    def read(self, text: str) -> date:
        """A typed date, read as the importer reads a cell; ``ValueError`` says why not."""
        try:
            return parse_date_text(text, self.order)
        except ValueError as exc:
            reason = str(exc).split(";")[0].rstrip(".")
            raise ValueError(
                f"{reason}: write it as {self.placeholder}, for example {self.show(_EXAMPLE)}."
            ) from None


DATE_FORMATS = {
    DateOrder.DMY: DateFormat(DateOrder.DMY, "DD-MM-YYYY", "%d-%m-%Y"),
    DateOrder.MDY: DateFormat(DateOrder.MDY, "MM-DD-YYYY", "%m-%d-%Y"),
    DateOrder.YMD: DateFormat(DateOrder.YMD, "YYYY-MM-DD", "%Y-%m-%d"),
}
ISO_DATES = DATE_FORMATS[DateOrder.YMD]


def shown(customer: Mapping[str, Any], key: str, dates: DateFormat = ISO_DATES) -> str:
    """A stored value as the form shows it: booleans as yes / no, dates in ``dates``."""
    value = customer.get(key)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return dates.show(value)
    return str(value)


def _as_body_value(key: str, text: str) -> object:
    if text == "":
        return None
    if FIELDS_BY_KEY[key].kind is FieldKind.BOOL:
        return YES_NO.get(text, text)
    return text


def changed_fields(
    current: Mapping[str, Any], answer: Mapping[str, str], dates: DateFormat = ISO_DATES
) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields the form changed, checked by the API's body model, and a message for each
    field it refuses. A field the form did not send, or sent as shown, is left as stored; a
    new customer is the change of an empty one."""
    body: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for key in WRITABLE_KEYS:
        text = answer.get(key, "").strip()
        if key not in answer or text == shown(current, key, dates).strip():
            continue
        if text and FIELDS_BY_KEY[key].kind is FieldKind.DATE:
            try:
                day = dates.read(text)
            except ValueError as exc:
                problems[key] = str(exc)
                continue
            if day != current.get(key):
                body[key] = day.isoformat()
            continue
        body[key] = _as_body_value(key, text)
    try:
        checked = CustomerChange.model_validate(body).model_dump(exclude_unset=True)
    except ValidationError as exc:
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            is_date = FIELDS_BY_KEY.get(key) and FIELDS_BY_KEY[key].kind is FieldKind.DATE
            problems.setdefault(key, DATE_HINT if is_date else _plain(error["msg"]))
        return body, problems
    return (body, problems) if problems else (checked, {})


def _plain(message: str) -> str:
    """Pydantic's message as a sentence."""
    message = message.removeprefix("Value error, ")
    return message if message.endswith(".") else f"{message}."
