"""What an export request may say: format, filters and columns."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bulkport.schemas.fields import FIELDS, FIELDS_BY_KEY, fold_header


class ExportFormat(StrEnum):
    """The file an export writes."""

    CSV = "csv"
    XLSX = "xlsx"


class ArchivedFilter(StrEnum):
    """Whether archived customers are left out, included, or the only ones exported."""

    EXCLUDE = "exclude"
    INCLUDE = "include"
    ONLY = "only"


class ExportFilters(BaseModel):
    """Which customers an export holds; every filter given must match."""

    model_config = ConfigDict(extra="forbid")

    search: str | None = Field(
        default=None, max_length=200, description="Text in name, email, phone or company."
    )
    archived: ArchivedFilter = ArchivedFilter.EXCLUDE
    customer_type: str | None = Field(default=None, pattern="^(private|business)$")
    tax_exempt: bool | None = None
    accepts_marketing: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(
        default=None, max_length=10_000, description="Only these Customer Record IDs."
    )


_LABELS = {fold_header(f.label): f.key for f in FIELDS}
DEFAULT_COLUMNS: tuple[str, ...] = tuple(f.key for f in FIELDS)  # Customer Record ID first


def column_key(name: str) -> str | None:
    """The field a requested column names: its label ("First Name") or key ("first_name")."""
    if name in FIELDS_BY_KEY:
        return name
    return _LABELS.get(fold_header(name))


class ExportRequest(BaseModel):
    """An export: the format, the customers and the columns, in order."""

    model_config = ConfigDict(extra="forbid")

    format: ExportFormat = ExportFormat.CSV
    filters: ExportFilters = Field(default_factory=ExportFilters)
    columns: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=len(FIELDS),
        description="Field labels in the order wanted; default all, Customer Record ID first.",
    )
    purpose: str | None = Field(
        default=None, max_length=200, description="Why it was made (bulkport notes backups)."
    )

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, names: list[str] | None) -> list[str] | None:
        if names is None:
            return None
        keys, unknown = [], []
        for name in names:
            key = column_key(name)
            if key is None:
                unknown.append(name)
            elif key not in keys:
                keys.append(key)
        if unknown:
            raise ValueError(f"not a customer field: {', '.join(repr(n) for n in unknown)}")
        return keys

    def column_keys(self) -> list[str]:
        """The fields to write, in order."""
        return list(self.columns or DEFAULT_COLUMNS)
