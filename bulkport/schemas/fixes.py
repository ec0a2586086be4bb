"""The API's bodies for fixing an import's failed rows in place."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bulkport.schemas.jobs import RowErrorView, RowOutcome

# One fix job takes at most this many edited rows (a page of the grid is far fewer).
MAX_FIXED_ROWS = 10_000


class FailedRowView(BaseModel):
    """One failed row: its cells as uploaded, by header, with its problems."""

    row: int = Field(description="Row number in the uploaded file; the header is row 1.")
    cells: dict[str, str]
    errors: list[RowErrorView]
    fixed_in: str | None = Field(description="The fix job that imported the row again, if any.")


class FailedRowsPage(BaseModel):
    """A page of an import's failed rows, in row order."""

    columns: list[str] = Field(description="The file's columns, as written in its header.")
    total: int = Field(description="How many rows failed in all.")
    offset: int
    rows: list[FailedRowView]


class RowFix(BaseModel):
    """A failed row's new cells, by header as written; the cells not named stay as uploaded."""

    model_config = ConfigDict(extra="forbid")

    row: int = Field(ge=1)
    cells: dict[str, str] = Field(max_length=1000)


class FixRequest(BaseModel):
    """The edited failed rows to import as a new job."""

    model_config = ConfigDict(extra="forbid")

    rows: list[RowFix] = Field(min_length=1, max_length=MAX_FIXED_ROWS)


class CellsBody(BaseModel):
    """A failed row's cells to check, by header as written; those not named stay as uploaded."""

    model_config = ConfigDict(extra="forbid")

    cells: dict[str, str] = Field(max_length=1000)


class RowCheck(BaseModel):
    """What importing one row would do now: its outcome and, if it fails, its problems."""

    row: int
    outcome: RowOutcome
    errors: list[RowErrorView]
