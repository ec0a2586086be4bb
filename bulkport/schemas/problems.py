"""A problem found in one cell of a row.

A pydantic model, so it lives apart from the modules mypyc compiles (setup.py): pydantic
builds a model from its class's annotations, which a compiled class does not carry.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CellProblem(BaseModel):
    """A field of one row that could not be taken, before it is tied to a spreadsheet row."""

    model_config = ConfigDict(frozen=True)

    field: str | None
    code: str
    message: str
