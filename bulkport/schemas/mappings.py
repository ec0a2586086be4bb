"""Column mappings in requests: header as written → one of the fields an import can write."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from bulkport.rules.fields import FIELDS, FieldKind
from bulkport.rules.text import NO_CONTROL_PATTERN, CleanText

MAX_COLUMNS = 500
MAX_HEADER_CHARS = 200
MAX_MAPPING_BYTES = 64 * 1024
# Words that map a column to nothing (so does null in a saved mapping).
IGNORE = ("", "-", "ignore", "none", "skip")
TARGETS: tuple[str, ...] = (
    tuple(
        name
        for f in FIELDS
        if f.kind is not FieldKind.READ_ONLY
        for name in dict.fromkeys((f.key, f.label))
    )
    + IGNORE
)
# The schema names the keys only; a label is taken as well, but listing it beside its key
# would give generated clients two enum members with one constant name (`email`, `Email`).
_DOCUMENTED_TARGETS: tuple[str, ...] = (
    tuple(f.key for f in FIELDS if f.kind is not FieldKind.READ_ONLY) + IGNORE
)


def _known_target(value: str) -> str:
    if value not in TARGETS:
        raise PydanticCustomError(
            "mapping_target",
            "'{value}' is not a field an import can write; use a field's key or label",
            {"value": value},
        )
    return value


def _within_bytes(columns: dict[str, str | None]) -> dict[str, str | None]:
    size = len(json.dumps(columns, ensure_ascii=False).encode())
    if size > MAX_MAPPING_BYTES:
        raise PydanticCustomError(
            "mapping_too_large",
            "the mapping is {size} bytes; at most {limit} are kept",
            {"size": size, "limit": MAX_MAPPING_BYTES},
        )
    return columns


def _columns_schema(*, nullable: bool, least: int) -> WithJsonSchema:
    target: dict[str, object] = {"type": "string", "enum": list(_DOCUMENTED_TARGETS)}
    return WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {
                "minLength": 1,
                "maxLength": MAX_HEADER_CHARS,
                "pattern": NO_CONTROL_PATTERN,
            },
            "additionalProperties": {"anyOf": [target, {"type": "null"}]} if nullable else target,
            "minProperties": least,
            "maxProperties": MAX_COLUMNS,
            "description": "Header as written → field key (a field's label is taken too; "
            "`GET /api/v1/fields` lists both), or one of "
            f"{', '.join(repr(w) for w in IGNORE)} to ignore the column; at most "
            f"{MAX_MAPPING_BYTES // 1024} KiB as JSON.",
        }
    )


Header = Annotated[CleanText, Field(min_length=1, max_length=MAX_HEADER_CHARS)]
Target = Annotated[str, AfterValidator(_known_target)]
MappingName = Annotated[CleanText, Field(min_length=1, max_length=100)]
# An import's mapping: "" (or another word in IGNORE) leaves the column out.
ImportMapping = Annotated[
    dict[Header, Target],
    Field(max_length=MAX_COLUMNS),
    AfterValidator(_within_bytes),
    _columns_schema(nullable=False, least=0),
]
# A saved mapping: null leaves the column out as well.
SavedColumns = Annotated[
    dict[Header, Target | None],
    Field(min_length=1, max_length=MAX_COLUMNS),
    AfterValidator(_within_bytes),
    _columns_schema(nullable=True, least=1),
]
