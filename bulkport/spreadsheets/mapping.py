"""Matching a file's header row to customer fields, by guess or by the person's own mapping."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bulkport.errors import MappingError
from bulkport.rules.aliases import FALLBACK_HEADERS
from bulkport.rules.fields import FIELDS_BY_KEY, HEADER_INDEX, FieldKind, fold_header

# Words that, as the target of a mapping, mean "leave this column out".
IGNORE_WORDS = frozenset({"", "ignore", "skip", "none", "-"})
_FALLBACK = frozenset(map(fold_header, FALLBACK_HEADERS))


@dataclass(frozen=True)
class ColumnMapping:
    """Which column feeds which field, and the columns left out."""

    columns: dict[int, str]  # column index → field key
    headers: list[str]
    ignored: list[str]
    # Columns that only fill their field where its other columns are blank (FALLBACK_HEADERS).
    fallback: frozenset[int] = frozenset()

    def index_of(self, field: str | None) -> int | None:
        """The index of the column that feeds ``field``, if one does."""
        for index, key in self.columns.items():
            if key == field:
                return index
        return None

    def as_labels(self) -> dict[str, str]:
        """Header as written → field label, for showing the person what was matched."""
        return {self.headers[i]: FIELDS_BY_KEY[key].label for i, key in self.columns.items()}

    def shared_fields(self) -> dict[str, list[int]]:
        """Field key → its columns in file order, for each field more than one column feeds.

        Such columns are read together: a row may fill any of them, and where several are
        filled they must agree (else the row fails with ``conflicting_columns``); a fallback
        column is read only where the others are blank.
        """
        by_field: dict[str, list[int]] = {}
        for index, key in sorted(self.columns.items()):
            by_field.setdefault(key, []).append(index)
        return {key: indexes for key, indexes in by_field.items() if len(indexes) > 1}


def field_for(name: str) -> str | None:
    """The field a header, label or field key names, if any."""
    if name in FIELDS_BY_KEY:
        return name
    return HEADER_INDEX.get(fold_header(name))


def resolve_override(mapping: Mapping[str, str]) -> dict[str, str | None]:
    """A person's mapping checked: folded header → field key, or None to ignore the column.

    Raises ``ValueError`` naming each target that is no customer field or is read-only.
    """
    resolved: dict[str, str | None] = {}
    problems = []
    for header, target in mapping.items():
        if target.strip().lower() in IGNORE_WORDS:
            resolved[fold_header(header)] = None
            continue
        key = field_for(target)
        if key is None or FIELDS_BY_KEY[key].kind is FieldKind.READ_ONLY:
            problems.append(f"{header!r} → {target!r} is not a field an import can write")
            continue
        resolved[fold_header(header)] = key
    if problems:
        raise ValueError("; ".join(problems))
    return resolved


def header_score(override: Mapping[str, str | None]) -> Callable[[list[str]], int]:
    """How well a row reads as the header: the number of its cells that name a field."""

    def score(cells: list[str]) -> int:
        total = 0
        for cell in cells:
            folded = fold_header(cell)
            if override.get(folded) or (folded in HEADER_INDEX and folded not in override):
                total += 1
        return total

    return score


def guess_mapping(
    headers: Sequence[str], override: Mapping[str, str | None] | None = None
) -> ColumnMapping:
    """Map each header to a field: the person's mapping first, else by label or alias.

    Unknown columns, read-only ones (Archived, Created At, Updated At) and columns the mapping
    says to ignore are listed, never an error. Several columns may feed one field (the same
    header twice, or ``Email`` and ``E-mail``): each row reads them together (``RowParser``).
    A guessed column of ``FALLBACK_HEADERS`` beside another column for its field is a fallback.
    """
    override = override or {}
    columns: dict[int, str] = {}
    ignored: list[str] = []
    guessed_fallback: set[int] = set()
    for index, header in enumerate(headers):
        if not header.strip():
            continue
        folded = fold_header(header)
        key = override[folded] if folded in override else HEADER_INDEX.get(folded)
        if key is None or FIELDS_BY_KEY[key].kind is FieldKind.READ_ONLY:
            ignored.append(header)
            continue
        columns[index] = key
        if folded in _FALLBACK and folded not in override:
            guessed_fallback.add(index)
    if not columns:
        shown = ", ".join(repr(h) for h in headers[:8] if h.strip()) or "nothing"
        raise MappingError(
            "No column of the header row matches a customer field (found "
            f"{shown}). The header row must name columns such as First Name, "
            "Last Name, Email or Phone, or the import must say which column is which."
        )
    # A fallback only where another column feeds its field: alone, it is the field's column.
    primary = {key for index, key in columns.items() if index not in guessed_fallback}
    fallback = frozenset(i for i in guessed_fallback if columns[i] in primary)
    return ColumnMapping(columns=columns, headers=list(headers), ignored=ignored, fallback=fallback)
