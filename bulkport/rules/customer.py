"""Parsing a spreadsheet row into customer values, and the rules a whole customer must keep."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, NamedTuple

from pydantic_core import PydanticCustomError

from bulkport.rules.apostrophes import unshield
from bulkport.rules.columns import column_name
from bulkport.rules.countries import country_code
from bulkport.rules.dates import DateOrder, parse_date_text, plausible_birth_date
from bulkport.rules.fields import FIELDS_BY_KEY, IDENTITY_KEYS, FieldKind
from bulkport.rules.problems import CellProblem

# Deliberately simple: one '@', no spaces, a dotted domain of letters/digits/hyphens. The full RFC
# grammar accepts addresses no shop can mail; this is fast and what people expect.
EMAIL_RULE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_TRUE = frozenset({"true", "yes", "1", "y", "vrai", "oui", "ja", "j", "x", "on"})
_FALSE = frozenset({"false", "no", "0", "n", "faux", "non", "nee", "off"})
_CUSTOMER_TYPES = {
    "private": "private",
    "particulier": "private",
    "prive": "private",
    "privé": "private",
    "consumer": "private",
    "business": "business",
    "company": "business",
    "zakelijk": "business",
    "entreprise": "business",
    "professionnel": "business",
}
# The one cell value that empties a stored field whatever ``blank_cells`` says; no real value
# of any field is written this way. Parsers answer it with a ``cleared`` problem, which the
# import turns into an empty value.
CLEAR_CELL = "[clear]"
CLEARED = "cleared"


def _cleared() -> PydanticCustomError:
    return PydanticCustomError(
        CLEARED, "'[clear]' empties a stored field in an import, in its field's first column only."
    )


def _cleared_problem(key: str) -> CellProblem:
    """A text column's CLEAR_CELL, as a typed column's parser answers it."""
    return CellProblem(field=key, code=CLEARED, message=_cleared().message())


def clean_text(value: object) -> str | None:
    """Trim a cell and drop an apostrophe that only keeps a number or formula as text.

    An apostrophe that belongs to the text ("'t Hart", "'s-Hertogenbosch") is kept. Blank,
    or an apostrophe alone (an empty cell to a spreadsheet), is None.
    """
    if value is None:
        return None
    text = value.strip() if value.__class__ is str else str(value).strip()
    if text[:1] == "'":
        if text == "'":
            return None
        text = unshield(text).strip()
    return text or None


def clean_token(value: object) -> str | None:
    """Like ``clean_text`` for cells that are never text (emails, booleans, dates, ids): any
    leading apostrophe is a spreadsheet's, never part of the value."""
    text = clean_text(value)
    if text is not None and text.startswith("'"):
        text = text[1:].strip() or None
    return text


def parse_email(value: object) -> str | None:
    """A valid email address with its domain lower-cased, or a row error."""
    text = clean_token(value)
    if text is None:
        return None
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if not EMAIL_RULE.match(text) or ".." in text:
        if text == CLEAR_CELL:
            raise _cleared()
        raise PydanticCustomError(
            "invalid_email", "'{value}' is not a valid email address.", {"value": text}
        )
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def parse_bool(value: object) -> bool | None:
    """TRUE/FALSE and the yes/no words of English, French and Dutch."""
    if isinstance(value, bool):
        return value
    text = clean_token(value)
    if text is None:
        return None
    word = text.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    if text == CLEAR_CELL:
        raise _cleared()
    raise PydanticCustomError("invalid_boolean", "'{value}' is not TRUE or FALSE.", {"value": text})


def parse_date(value: object, order: DateOrder = DateOrder.DMY) -> date | None:
    """A date of birth as people write it; ``order`` reads 03/04/1990."""
    if isinstance(value, date):
        return value
    text = clean_token(value)
    if text is None:
        return None
    if text.isdigit() and len(text) <= 4:
        # Excel serials this small are the years 1900-1908; a birth year alone is far likelier.
        raise PydanticCustomError(
            "invalid_date",
            "'{value}' is only part of a date; write it as YYYY-MM-DD.",
            {"value": text},
        )
    try:
        parsed = parse_date_text(text, order)
    except ValueError as exc:
        if text == CLEAR_CELL:
            raise _cleared() from None
        raise PydanticCustomError("invalid_date", str(exc)) from None
    if not plausible_birth_date(parsed, date.today()):
        raise PydanticCustomError(
            "implausible_date",
            "{value} is not a plausible date of birth.",
            {"value": parsed.isoformat()},
        )
    return parsed


def parse_country(value: object) -> str | None:
    """A country as its ISO 3166 two-letter code where recognisable, else as written."""
    text = clean_text(value)
    if text is None:
        return None
    code = country_code(text)
    if code is None and text == CLEAR_CELL:
        raise _cleared()
    return code or text


def parse_choice(value: object) -> str | None:
    """Customer Type: private or business (and their French and Dutch words)."""
    text = clean_token(value)
    if text is None:
        return None
    choice = _CUSTOMER_TYPES.get(text.lower())
    if choice is None:
        if text == CLEAR_CELL:
            raise _cleared()
        raise PydanticCustomError(
            "invalid_choice", "'{value}' is not 'private' or 'business'.", {"value": text}
        )
    return choice


def parse_record_id(value: object) -> int | None:
    """The Customer Record ID the service assigned: a positive whole number."""
    text = clean_token(value)
    if text is None:
        return None
    if text.endswith(".0"):  # a spreadsheet that stored the id as a number
        text = text[:-2]
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
        if text == CLEAR_CELL:
            raise PydanticCustomError(
                "not_clearable",
                "A Customer Record ID cannot be cleared; leave it as the export wrote it, or "
                "empty the cell to add a new customer.",
            )
        raise PydanticCustomError(
            "invalid_id",
            "'{value}' is not a Customer Record ID; leave it as the export wrote it.",
            {"value": text},
        )
    return int(text)


_PARSERS: dict[FieldKind, Callable[[object], Any]] = {
    FieldKind.EMAIL: parse_email,
    FieldKind.BOOL: parse_bool,
    FieldKind.CHOICE: parse_choice,
    FieldKind.COUNTRY: parse_country,
    FieldKind.RECORD_ID: parse_record_id,
}


@dataclass(frozen=True, slots=True)
class _Refused:
    """A cell a parser refused, remembered in place of the exception."""

    code: str
    message: str


# Distinct cells a column remembers before it starts afresh (dates of birth span ~36,000 days).
MEMO_LIMIT = 50_000
_MISS = object()


class _Memoized:
    """``parse`` remembering its answer per distinct cell.

    Dates, booleans, choices and countries repeat down a column: parsing each distinct cell
    once turns the rest into one dict lookup (``seen``, which ``parse_texts`` reads itself).
    A refusal comes back as ``_Refused``.
    """

    def __init__(self, parse: Callable[[object], Any]) -> None:
        self.parse = parse
        self.seen: dict[object, Any] = {}

    def __call__(self, cell: object) -> Any:
        seen = self.seen
        hit = seen.get(cell, _MISS)
        if hit is _MISS:
            try:
                hit = self.parse(cell)
            except PydanticCustomError as exc:
                hit = _Refused(exc.type, exc.message())
            if len(seen) >= MEMO_LIMIT:
                seen.clear()
            seen[cell] = hit
        return hit


# Field kinds whose cells repeat down a column: their parsing is remembered per cell.
_REPEATING = frozenset({FieldKind.DATE, FieldKind.BOOL, FieldKind.CHOICE, FieldKind.COUNTRY})


class RowParser:
    """Parses rows of cells into customer values by the rules of each field.

    Built once per file for its mapping, then called for every row: blank cells cost a test,
    text a strip, and only typed cells (emails, booleans, dates, …) call their parser. This is
    the import's hot path, so it avoids building a model per row.
    """

    def __init__(
        self,
        columns: Mapping[int, str],
        date_order: DateOrder = DateOrder.DMY,
        headers: Sequence[str] = (),
        fallback: Collection[int] = (),
    ) -> None:
        """``headers``: the header row as written, to name columns in problems. ``fallback``:
        columns that only fill their field where its other columns are blank."""
        self._steps: list[tuple[int, str, Callable[[object], Any] | None, int]] = []
        # Further columns for a field that an earlier column already feeds, fallbacks last.
        self._extra: list[_Extra] = []
        self._headers = headers
        first: dict[str, int] = {}
        for index, key in sorted(columns.items(), key=lambda item: (item[0] in fallback, item)):
            field = FIELDS_BY_KEY[key]
            if field.kind is FieldKind.READ_ONLY:
                continue
            parser = _PARSERS.get(field.kind)
            if field.kind is FieldKind.DATE:
                parser = partial(parse_date, order=date_order)
            if field.kind in _REPEATING:
                parser = _Memoized(parser)  # type: ignore[arg-type]
            if key in first:
                extra = _Extra(index, key, parser, field.max_length, first[key], index in fallback)
                self._extra.append(extra)
                continue
            first[key] = index
            self._steps.append((index, key, parser, field.max_length))
        # For ``parse_texts``: plain text columns, then typed ones; and the width they need.
        self._texts = [(i, k, limit) for i, k, parser, limit in self._steps if parser is None]
        self._typed = [
            (i, k, p, limit, p.seen if isinstance(p, _Memoized) else None)
            for i, k, p, limit in self._steps
            if p is not None
        ]
        indexes = [step[0] for step in self._steps] + [extra.column for extra in self._extra]
        self._width = max(indexes, default=-1) + 1
        self._order = {key: n for n, (_, key, _, _) in enumerate(self._steps)}

    def parse(self, cells: Sequence[object]) -> tuple[dict[str, Any], list[CellProblem]]:
        """The row's values (None for a blank cell) and what is wrong with them."""
        values: dict[str, Any] = {}
        problems: list[CellProblem] = []
        width = len(cells)
        for index, key, parser, limit in self._steps:
            cell = cells[index] if index < width else None
            got = _cell_value(cell, key, parser, limit)
            if got.__class__ is CellProblem:
                problems.append(got)
            else:
                values[key] = got
        if self._extra:
            self._merge_extra(cells, values, problems)
        return values, problems

    def parse_texts(self, cells: list[str]) -> tuple[dict[str, Any], list[CellProblem]]:  # noqa: C901, PLR0912  the hottest loop, kept in one frame
        """``parse`` for a row of text cells (what the CSV and XLSX readers give), faster.

        The import's hottest loop: text columns first, each a strip and two tests, then the
        typed ones; no per-cell test for missing or non-text cells.
        """
        if len(cells) < self._width:
            cells = [*cells, *([""] * (self._width - len(cells)))]
        values: dict[str, Any] = {}
        problems: list[CellProblem] = []
        for index, key, limit in self._texts:
            value = cells[index].strip()
            if value:
                if value[0] in "'[":  # a spreadsheet's apostrophe, or perhaps CLEAR_CELL
                    if value == CLEAR_CELL:
                        problems.append(_cleared_problem(key))
                        continue
                    if value[0] == "'":
                        value = "" if value == "'" else unshield(value).strip()
                        if not value:
                            values[key] = None
                            continue
                if len(value) > limit:
                    problems.append(_too_long(key, limit))
                    continue
                values[key] = value
            else:
                values[key] = None
        for index, key, parser, limit, seen in self._typed:
            cell = cells[index]
            got: Any
            if not cell:
                values[key] = None
                continue
            if seen is not None:  # a remembered cell, without calling the parser
                got = seen.get(cell, _MISS)
                if got is _MISS:
                    got = parser(cell)
            else:
                try:
                    got = parser(cell)
                except PydanticCustomError as exc:
                    problems.append(CellProblem(field=key, code=exc.type, message=exc.message()))
                    continue
            if got.__class__ is _Refused:
                problems.append(CellProblem(field=key, code=got.code, message=got.message))
                continue
            if got.__class__ is str and len(got) > limit:
                problems.append(_too_long(key, limit))
                continue
            values[key] = got
        if self._extra:
            self._merge_extra(cells, values, problems)
        if len(problems) > 1:
            problems.sort(key=lambda problem: self._order[problem.field or ""])
        return values, problems

    def _merge_extra(
        self, cells: Sequence[object], values: dict[str, Any], problems: list[CellProblem]
    ) -> None:
        """Fold in the further columns of a field that more than one column feeds.

        A filled cell fills the field the earlier columns left blank; two filled cells must
        agree once normalised (emails case-insensitively, as the store compares them), else
        the row fails with ``conflicting_columns``. The earliest filled column's value is kept.
        A fallback column is read only where the field is still blank, so it never conflicts.
        """
        width = len(cells)
        source: dict[str, int] = {}
        added = False
        for index, key, parser, limit, first, only_blank in self._extra:
            if only_blank and (key not in values or values[key] is not None):
                continue
            cell = cells[index] if index < width else None
            got = _cell_value(cell, key, parser, limit)
            if got is None:
                continue
            if got == CLEAR_CELL:  # text: as a typed column's parser refuses it
                got = _cleared_problem(key)
            if got.__class__ is CellProblem:
                problems.append(got.model_copy(update={"column": index}))
                values.pop(key, None)
                added = True
                continue
            if key not in values:  # an earlier column's cell was refused: the row fails
                continue
            held = values[key]
            if held is None:
                values[key] = got
                source[key] = index
                continue
            if _same_value(key, held, got):
                continue
            earlier = source.get(key, first)
            names = column_name(self._headers, earlier), column_name(self._headers, index)
            problems.append(
                CellProblem(
                    field=key,
                    code="conflicting_columns",
                    column=index,
                    message=f"{names[0]} and {names[1]} hold "
                    f"different values for {FIELDS_BY_KEY[key].label}: "
                    f"{_shown(cells[earlier])} and {_shown(cell)}. "
                    "Empty one of them or make them the same.",
                )
            )
            del values[key]
            added = True
        if added and len(problems) > 1:
            problems.sort(key=lambda problem: self._order[problem.field or ""])


class _Extra(NamedTuple):
    """A further column of a field: how to read it, and the field's first column."""

    column: int
    key: str
    parser: Callable[[object], Any] | None
    limit: int
    first: int
    only_blank: bool  # a fallback: read only where the field is still blank


def _cell_value(cell: object, key: str, parser: Callable[[object], Any] | None, limit: int) -> Any:
    """One cell's value by its field's rules: None when blank, else the value or a
    ``CellProblem``."""
    if cell is None or cell == "":
        return None
    try:
        value = parser(cell) if parser is not None else clean_text(cell)
    except PydanticCustomError as exc:
        return CellProblem(field=key, code=exc.type, message=exc.message())
    if value.__class__ is _Refused:
        return CellProblem(field=key, code=value.code, message=value.message)
    if value.__class__ is str and len(value) > limit:
        return _too_long(key, limit)
    return value


def _same_value(key: str, one: Any, other: Any) -> bool:
    """Whether two normalised values of a field are the same value to the store."""
    if FIELDS_BY_KEY[key].kind is FieldKind.EMAIL:
        return bool(one.lower() == other.lower())  # customers.email_key
    return bool(one == other)


def _shown(cell: object) -> str:
    """A cell quoted for a message, trimmed and cut short."""
    text = str(cell).strip()
    return repr(text if len(text) <= 100 else text[:99] + "…")


def _too_long(key: str, limit: int) -> CellProblem:
    return CellProblem(field=key, code="too_long", message=f"Too long: at most {limit} characters.")


# The fields ``record_problems`` reads.
RECORD_RULE_KEYS: tuple[str, ...] = (*IDENTITY_KEYS, "tax_exempt", "sales_tax_number")


def record_problems(record: Mapping[str, Any]) -> list[CellProblem]:
    """The rules of the store's template that hold for a whole customer, new or updated."""
    get = record.get
    if any(map(get, IDENTITY_KEYS)) and not (get("tax_exempt") and not get("sales_tax_number")):
        return []  # every row of a sound file: settled in C
    problems = []
    if not any(record.get(key) for key in IDENTITY_KEYS):
        problems.append(
            CellProblem(
                field=None,
                code="missing_identity",
                message="Each customer needs at least a first name, last name, email or phone.",
            )
        )
    if record.get("tax_exempt") and not record.get("sales_tax_number"):
        problems.append(
            CellProblem(
                field="tax_exempt",
                code="sales_tax_number_required",
                message="A tax exempt customer needs a Sales Tax Number.",
            )
        )
    return problems
