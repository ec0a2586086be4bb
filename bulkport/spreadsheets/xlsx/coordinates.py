"""Cell references: column letters to numbers and back, and a sheet's ``<dimension>`` range."""

from __future__ import annotations

import re

from bulkport.rules.columns import LAST_COLUMN as LAST_COLUMN
from bulkport.rules.columns import column_letter as column_letter

DIGITS = "0123456789"
_LETTERS = {letter: position for position, letter in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1)}
_RANGE = re.compile(
    r"""^
[$]?(?P<min_col>[A-Za-z]{1,3})?
[$]?(?P<min_row>\d+)?
(:[$]?(?P<max_col>[A-Za-z]{1,3})?
[$]?(?P<max_row>\d+)?)?
$""",
    re.VERBOSE,
)
# Column letters met so far and their numbers: at most every spelling of A…ZZZ.
COLUMNS: dict[str, int] = {}


def column_index(letters: str) -> int:
    """A column's number from its letters, "A" = 1, in any case."""
    if len(letters) > 3:
        raise ValueError(f"{letters!r} is not a column")
    index = 0
    for letter, power in zip(reversed(letters.upper()), (1, 26, 676), strict=False):
        position = _LETTERS.get(letter)
        if position is None:
            raise ValueError(f"{letters!r} is not a column")
        index += position * power
    if not 0 < index <= LAST_COLUMN:
        raise ValueError(f"{letters!r} is not a column")
    return index


def coordinate_column(coordinate: str) -> int:
    """The column of a cell reference like "C12"; ``ValueError`` for one that is no cell."""
    split = 0
    for split, character in enumerate(coordinate):  # noqa: B007 - the position is the result
        if character in DIGITS:
            break
    int(coordinate[split:])
    letters = coordinate[:split]
    column = column_index(letters)
    if letters.isascii() and letters.isalpha():
        COLUMNS[letters] = column
    return column


def check_range(reference: str) -> None:
    """``ValueError`` when a sheet's ``<dimension ref>`` is no cell range."""
    match = _RANGE.match(reference)
    if not match:
        raise ValueError(f"{reference} is not a valid coordinate or range")
    min_col, min_row, separator, max_col, max_row = match.groups()
    if separator:
        columns, rows = (min_col, max_col), (min_row, max_row)
        if not (
            all(columns + rows)
            or (all(columns) and not any(rows))
            or (all(rows) and not any(columns))
        ):
            raise ValueError(f"{reference} is not a valid coordinate or range")
    for letters in (min_col, max_col):
        if letters is not None:
            column_index(letters)
    for digits in (min_row, max_row):
        if digits is not None:
            int(digits)
