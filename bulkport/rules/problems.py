"""A problem found in one cell of a row."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CellProblem(BaseModel):
    """A field of one row that could not be taken, before it is tied to a spreadsheet row."""

    model_config = ConfigDict(frozen=True)

    field: str | None
    code: str
    message: str
    # The column at fault when it is not the field's first one (several columns feed it).
    column: int | None = None
