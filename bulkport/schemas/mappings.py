"""Column mappings in requests: header as written → one of the fields an import can write."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from bulkport.rules.fields import FIELDS, WRITABLE_KEYS, FieldKind
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


class ColumnRule(StrEnum):
    """What an import does with a field's stored value when it updates a customer."""

    OVERWRITE = "overwrite"  # the file's value replaces it
    FILL_EMPTY = "fill_empty"  # only an empty stored value is written
    KEEP = "keep"  # never changed: the column is read when a customer is created only


# A rule names a field by its key or label (like a mapping's target); it is kept by key.
_RULE_FIELDS = {name: f.key for f in FIELDS if f.key in WRITABLE_KEYS for name in (f.key, f.label)}


def _rule_field(value: str) -> str:
    key = _RULE_FIELDS.get(value)
    if key is None:
        raise PydanticCustomError(
            "rule_field",
            "'{value}' is not a field an import can write; use a field's key or label",
            {"value": value},
        )
    return key


def _rules_from_json(value: object) -> object:
    """A form sends the rules as a JSON object (an empty part is none)."""
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except ValueError:
            raise PydanticCustomError(
                "rules_json", "must be a JSON object of field → rule"
            ) from None
    return value


# Field → rule for stored values; a field left out is overwritten.
ColumnRules = Annotated[
    dict[Annotated[str, AfterValidator(_rule_field)], ColumnRule],
    BeforeValidator(_rules_from_json),
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"enum": list(WRITABLE_KEYS)},
            "additionalProperties": {"type": "string", "enum": [r.value for r in ColumnRule]},
            "description": "Field key (its label is taken too) → what an update does with the "
            "stored value: `overwrite` (the default), `fill_empty` (write only where the stored "
            "value is empty) or `keep` (never change it; the column is used when a customer is "
            "created).",
        }
    ),
]
