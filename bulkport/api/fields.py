"""The customer field catalogue for clients: each field's key, label and the names it answers to."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.http.deps import Staff
from bulkport.rules.aliases import PLATFORM_ALIASES
from bulkport.rules.fields import (
    FIELDS,
    HEADER_INDEX,
    WRITABLE_KEYS,
    CustomerField,
    FieldKind,
    fold_header,
)
from bulkport.schemas.exports import DEFAULT_COLUMNS

router = APIRouter(prefix="/api/v1/fields", tags=["fields"], responses=ERROR_RESPONSES)


class FieldView(BaseModel):
    """One customer field: the key the API's enums list, and the other names it is taken by."""

    key: str = Field(
        description="The field's name in export `columns`, mapping targets and customer bodies."
    )
    label: str = Field(
        description="Its header in exported files; taken wherever the key is (an alias, not a "
        "member of the schema's enums)."
    )
    kind: FieldKind
    writable: bool = Field(description="An import or a customer body can set it.")
    exported: bool = Field(description="An export writes it unless `columns` leaves it out.")
    aliases: list[str] = Field(
        description="Other headers an import file may give its column, as written; matched "
        "ignoring case, accents, spaces and punctuation."
    )


def _aliases(field: CustomerField) -> list[str]:
    """The spellings that do reach this field: one another field's label takes stays out."""
    written = (*field.aliases, *PLATFORM_ALIASES.get(field.key, ()))
    return [a for a in dict.fromkeys(written) if HEADER_INDEX.get(fold_header(a)) == field.key]


def field_view(field: CustomerField) -> FieldView:
    """The API's view of one catalogue entry."""
    return FieldView(
        key=field.key,
        label=field.label,
        kind=field.kind,
        writable=field.key in WRITABLE_KEYS,
        exported=field.key in DEFAULT_COLUMNS,
        aliases=_aliases(field),
    )


FIELD_VIEWS = [field_view(f) for f in FIELDS]


@router.get("", name="list", response_model=list[FieldView])
def list_fields(user: Staff) -> list[FieldView]:
    """Every customer field in export order, with its label and the headers an import knows it
    by (the enums of the document list keys only: a label differs from its key by case and
    spaces, which generated clients fold into one constant)."""
    return FIELD_VIEWS
