"""Matching a file's header row to customer fields."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bulkport.errors import MappingError
from bulkport.schemas.fields import FIELDS_BY_KEY, HEADER_INDEX, FieldKind, fold_header


@dataclass(frozen=True)
class ColumnMapping:
    """Which column feeds which field, and the columns left out (with why)."""

    columns: dict[int, str]  # column index → field key
    headers: list[str]
    ignored: list[str]

    def index_of(self, field: str | None) -> int | None:
        """The index of the column that feeds ``field``, if one does."""
        for index, key in self.columns.items():
            if key == field:
                return index
        return None

    def as_labels(self) -> dict[str, str]:
        """Header as written → field label, for showing the person what was matched."""
        return {self.headers[i]: FIELDS_BY_KEY[key].label for i, key in self.columns.items()}


def guess_mapping(headers: Sequence[str]) -> ColumnMapping:
    """Map each header to a field by label or alias after folding case, accents and spacing.

    Unknown columns, read-only ones (Archived, Created At, Updated At) and a second column for
    a field already taken are ignored and listed, never an error.
    """
    columns: dict[int, str] = {}
    ignored: list[str] = []
    taken: set[str] = set()
    for index, header in enumerate(headers):
        key = HEADER_INDEX.get(fold_header(header))
        if not header.strip():
            continue
        if key is None or key in taken or FIELDS_BY_KEY[key].kind is FieldKind.READ_ONLY:
            ignored.append(header)
            continue
        columns[index] = key
        taken.add(key)
    if not columns:
        shown = ", ".join(repr(h) for h in headers[:8] if h.strip()) or "nothing"
        raise MappingError(
            "No column of the header row matches a customer field (found "
            f"{shown}). The first filled row must name columns such as First Name, "
            "Last Name, Email or Phone."
        )
    return ColumnMapping(columns=columns, headers=list(headers), ignored=ignored)
