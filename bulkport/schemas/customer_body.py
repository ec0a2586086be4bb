"""The body of creating or changing one customer, built from the field catalogue.

Every writable field with its kind's type and its maximum length; an email as the importer's
email rule; a date of birth as a plausible one. The document states the import's whole-customer
rules a new customer must keep (a name, email or phone; a Sales Tax Number when tax exempt), so
a body it allows is one the import's rules accept.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, create_model
from pydantic_core import PydanticCustomError

from bulkport.rules.customer import EMAIL_RULE
from bulkport.rules.fields import FIELDS_BY_KEY, IDENTITY_KEYS, WRITABLE_KEYS, FieldKind
from bulkport.rules.text import NO_CONTROL_PATTERN, refuse_control

# The importer's email rule in the document: no two dots in a row as well.
EMAIL_PATTERN = "^(?!.*\\.\\.)" + EMAIL_RULE.pattern.removeprefix("^")
_EMAIL_WHOLE = re.compile(EMAIL_RULE.pattern.removeprefix("^").removesuffix("$"))
# Text the importer keeps: not blank, and not the apostrophe alone that a spreadsheet leaves
# in an empty cell (``clean_text``).
MEANINGFUL_PATTERN = "[^\\s']|\\S[\\s\\S]*\\S"


def _years_before(year: int) -> str:
    """A pattern of the years 1900 up to the one before ``year``."""
    return "19[0-9]{2}|" + "|".join(str(y) for y in range(2000, year))


# A date of birth the import finds plausible (from 1900 to the past), written as the document's
# ``format: date``; the current year is left out so that the pattern alone keeps the rule.
BIRTH_DATE_PATTERN = (
    f"^(?:{_years_before(date.today().year)})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
)


def _email(value: str) -> str:
    if not _EMAIL_WHOLE.fullmatch(value) or ".." in value:
        raise PydanticCustomError(
            "invalid_email", "'{value}' is not a valid email address.", {"value": value}
        )
    return value


Email = Annotated[
    str, AfterValidator(_email), Field(max_length=254, json_schema_extra={"pattern": EMAIL_PATTERN})
]
BirthDate = Annotated[str, Field(pattern=BIRTH_DATE_PATTERN, json_schema_extra={"format": "date"})]


def _field_type(key: str) -> Any:
    """The type of one writable field in a body; null clears it."""
    field = FIELDS_BY_KEY[key]
    if field.kind is FieldKind.EMAIL:
        return Email | None
    if field.kind is FieldKind.BOOL:
        return StrictBool | None
    if field.kind is FieldKind.DATE:
        return BirthDate | None
    if field.kind is FieldKind.CHOICE:
        return Literal["private", "business"] | None
    text = Annotated[
        str,
        AfterValidator(refuse_control),
        Field(max_length=field.max_length, json_schema_extra={"pattern": NO_CONTROL_PATTERN}),
    ]
    return text | None


def _meaningful(key: str) -> dict[str, Any]:
    """The branch of the document where ``key`` holds a value the import keeps."""
    text = {"type": "string", "pattern": MEANINGFUL_PATTERN}
    return {"required": [key], "properties": {key: text}}


# The whole-customer rules of ``record_problems`` for a new customer.
NEW_CUSTOMER_RULES: dict[str, Any] = {
    "anyOf": [_meaningful(key) for key in IDENTITY_KEYS],
    "if": {"required": ["tax_exempt"], "properties": {"tax_exempt": {"const": True}}},
    "then": _meaningful("sales_tax_number"),
}
_FIELDS: dict[str, Any] = {key: (_field_type(key), None) for key in WRITABLE_KEYS}

if TYPE_CHECKING:
    CustomerChange = BaseModel
    NewCustomer = BaseModel
else:
    CustomerChange = create_model(
        "CustomerChange",
        __config__=ConfigDict(extra="forbid"),
        __doc__="Fields of a customer to change; null empties one.",
        **_FIELDS,
    )
    NewCustomer = create_model(
        "NewCustomer",
        __config__=ConfigDict(extra="forbid", json_schema_extra=NEW_CUSTOMER_RULES),
        __doc__="A new customer: at least a first or last name, email or phone.",
        **_FIELDS,
    )


def given(body: BaseModel) -> dict[str, Any]:
    """The fields a body gives, as cells for the import's parser."""
    return body.model_dump(exclude_unset=True)
