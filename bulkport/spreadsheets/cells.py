"""Cells written for spreadsheet programs: nothing a person opens may run as a formula."""

from __future__ import annotations

# OWASP CSV injection: a cell starting with one of these is taken as a formula by Excel,
# LibreOffice and Google Sheets. The importer drops a leading apostrophe, so escaping with
# one makes an export import back unchanged.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """The text as a spreadsheet program will show it but never evaluate it."""
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
