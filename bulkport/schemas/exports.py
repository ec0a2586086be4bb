"""What an export request may say: format, filters and columns."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from bulkport.rules.fields import FIELDS
from bulkport.rules.text import CleanText
from bulkport.schemas.jobs import JobNotice
from bulkport.schemas.timestamps import Timestamp


class ExportFormat(StrEnum):
    """The file an export writes."""

    CSV = "csv"
    XLSX = "xlsx"


class ArchivedFilter(StrEnum):
    """Whether archived customers are left out, included, or the only ones exported."""

    EXCLUDE = "exclude"
    INCLUDE = "include"
    ONLY = "only"


def _number(value: object) -> object:
    """A JSON number as it is (1.0 is a whole number too); never a string or a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "must be a whole number")
    return value


# Up to 2**53 - 1: beyond it JSON readers that use doubles lose the exact number.
RecordId = Annotated[
    int,
    BeforeValidator(_number),
    Field(ge=1, le=2**53 - 1),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 2**53 - 1}),
]


class ExportFilters(BaseModel):
    """Which customers an export holds; every filter given must match."""

    model_config = ConfigDict(extra="forbid")

    search: CleanText | None = Field(
        default=None, max_length=200, description="Text in name, email, phone or company."
    )
    archived: ArchivedFilter = ArchivedFilter.EXCLUDE
    customer_type: str | None = Field(default=None, pattern="^(private|business)$")
    tax_exempt: StrictBool | None = None
    accepts_marketing: StrictBool | None = None
    created_from: Timestamp | None = None
    created_to: Timestamp | None = None
    updated_from: Timestamp | None = None
    updated_to: Timestamp | None = None
    ids: list[RecordId] | None = Field(
        default=None, max_length=10_000, description="Only these Customer Record IDs."
    )


DEFAULT_COLUMNS: tuple[str, ...] = tuple(f.key for f in FIELDS)  # Customer Record ID first
# A column is asked for by its field key or its export label, exactly. Only the keys are the
# schema's enum: a label differs from its key in case and spaces alone, which generated
# clients fold into the same constant.
_KEYS_BY_NAME = {name: f.key for f in FIELDS for name in (f.key, f.label)}


def _known_column(name: str) -> str:
    if name not in _KEYS_BY_NAME:
        raise PydanticCustomError(
            "export_column",
            "'{name}' is not a customer field; use a field's key or label",
            {"name": name},
        )
    return name


Column = Annotated[
    str,
    AfterValidator(_known_column),
    WithJsonSchema({"type": "string", "enum": list(DEFAULT_COLUMNS)}),
]


class ExportRequest(JobNotice):
    """An export: the format, the customers and the columns, in order."""

    model_config = ConfigDict(extra="forbid")

    format: ExportFormat = ExportFormat.CSV
    filters: ExportFilters = Field(default_factory=ExportFilters)
    columns: list[Column] | None = Field(
        default=None,
        min_length=1,
        max_length=len(FIELDS),
        description="Field keys in the order wanted; default all, Customer Record ID first. "
        "A field's export label (`Email`, `First Name`) is taken for its key too; "
        "`GET /api/v1/fields` lists every key with its label.",
    )
    purpose: CleanText | None = Field(
        default=None, max_length=200, description="Why it was made (bulkport notes backups)."
    )

    @field_validator("columns")
    @classmethod
    def _as_keys(cls, names: list[str] | None) -> list[str] | None:
        if names is None:
            return None
        return list(dict.fromkeys(_KEYS_BY_NAME[name] for name in names))

    def column_keys(self) -> list[str]:
        """The fields to write, in order."""
        return list(self.columns or DEFAULT_COLUMNS)
