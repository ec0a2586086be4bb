"""Saved column mappings: a store names a mapping once and reuses it on later imports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from bulkport.api.errors import BODY_RESPONSES, ERROR_RESPONSES
from bulkport.http.deps import ContextDep, Staff
from bulkport.schemas.mappings import ColumnRule, ColumnRules, MappingName, SavedColumns
from bulkport.storage.mappings import SavedMapping
from bulkport.usecases import mappings

router = APIRouter(prefix="/api/v1/mappings", tags=["mappings"], responses=ERROR_RESPONSES)
Name = Annotated[MappingName, Path()]


class MappingBody(BaseModel):
    """A mapping to save: header as written → field (label or key); null or "" ignores it."""

    model_config = ConfigDict(extra="forbid")

    columns: SavedColumns
    rules: ColumnRules | None = Field(
        default=None, description="What an import's update does with stored values, per field."
    )


class MappingView(BaseModel):
    """A saved mapping."""

    name: str
    columns: dict[str, str | None] = Field(description="Header → field key, or null to ignore.")
    rules: dict[str, ColumnRule] = Field(
        default_factory=dict, description="Field key → rule; a field left out is overwritten."
    )
    updated_at: datetime


def _view(saved: SavedMapping) -> MappingView:
    return MappingView(
        name=saved.name,
        columns=saved.columns,
        rules={key: ColumnRule(rule) for key, rule in saved.rules.items()},
        updated_at=saved.updated_at,
    )


@router.get("", name="list", response_model=list[MappingView])
def list_mappings(ctx: ContextDep, user: Staff) -> list[MappingView]:
    """The store's saved mappings by name."""
    return [_view(m) for m in mappings.list_mappings(ctx, user)]


@router.get("/{name}", name="get", response_model=MappingView)
def get_mapping(ctx: ContextDep, user: Staff, name: Name) -> MappingView:
    """One saved mapping."""
    return _view(mappings.get_mapping(ctx, user, name))


@router.put(
    "/{name}",
    name="save",
    response_model=MappingView,
    responses={**BODY_RESPONSES, 201: {"model": MappingView}},
)
def save_mapping(
    ctx: ContextDep, user: Staff, name: Name, body: MappingBody, response: Response
) -> MappingView:
    """Create or replace a saved mapping; its targets must be fields an import can write."""
    created, saved = mappings.save_mapping(ctx, user, name, body.columns, rules=body.rules)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return _view(saved)


@router.delete("/{name}", name="delete", status_code=status.HTTP_204_NO_CONTENT)
def delete_mapping(ctx: ContextDep, user: Staff, name: Name) -> None:
    """Forget a saved mapping (jobs that used it keep their own copy)."""
    mappings.delete_mapping(ctx, user, name)
