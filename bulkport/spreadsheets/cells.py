"""Cells written for spreadsheet programs: nothing a person opens may run as a formula.

Spreadsheets keep a value as text when it starts with an apostrophe. bulkport writes one before
any value a spreadsheet would run as a formula (OWASP CSV injection), and the importer drops it
again, so an exported file imports back unchanged. A leading apostrophe that is part of the
value, as in "'s-Hertogenbosch" or "'t Hart", is kept.
"""

from __future__ import annotations

# Starts that Excel, LibreOffice and Google Sheets take as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# After an apostrophe, these show that the apostrophe only keeps the value as text.
_SHIELDED_STARTS = (*FORMULA_STARTS, "'", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9")


def safe_cell(value: str) -> str:
    """The text as a spreadsheet program will show it but never evaluate it."""
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return keep_apostrophe(value)


def keep_apostrophe(value: str) -> str:
    """Text whose own leading apostrophe the importer would take for a spreadsheet's, doubled
    so that it survives: "'0612" is written "''0612" and imports back as "'0612"."""
    if value.startswith("'") and (value == "'" or value[1:].startswith(_SHIELDED_STARTS)):
        return "'" + value
    return value


def unshield(text: str) -> str:
    """Drop the apostrophe a spreadsheet (or ``safe_cell``) put before a number or formula."""
    if text.startswith("'") and text[1:].startswith(_SHIELDED_STARTS):
        return text[1:]
    return text
