"""How a spreadsheet column is named to a person: its letters and its header as written."""

from __future__ import annotations

from collections.abc import Sequence

# The last column a cell reference can name (ZZZ).
LAST_COLUMN = 18_278


def column_letter(index: int) -> str:
    """A column's letters from its number, 1 = "A"."""
    if not 1 <= index <= LAST_COLUMN:
        raise ValueError(f"Invalid column index {index}")
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def column_name(headers: Sequence[str], index: int) -> str:
    """A column as the person sees it: its header as written and its letter."""
    letter = column_letter(index + 1)
    header = headers[index].strip() if index < len(headers) else ""
    return f"'{header}' (column {letter})" if header else f"column {letter}"
