"""Cells written for spreadsheet programs: nothing a person opens may run as a formula.

bulkport writes an apostrophe before any value a spreadsheet would run as a formula (OWASP CSV
injection), and the importer drops it again, so an exported file imports back unchanged. A
leading apostrophe that is part of the value, as in "'s-Hertogenbosch" or "'t Hart", is kept.
The characters are those of ``bulkport.rules.apostrophes``.
"""

from __future__ import annotations

from bulkport.rules.apostrophes import FORMULA_STARTS, SHIELDED_STARTS


def safe_cell(value: str) -> str:
    """The text as a spreadsheet program will show it but never evaluate it."""
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return keep_apostrophe(value)


def keep_apostrophe(value: str) -> str:
    """Text whose own leading apostrophe the importer would take for a spreadsheet's, doubled
    so that it survives: "'0612" is written "''0612" and imports back as "'0612"."""
    if value.startswith("'") and (value == "'" or value[1:].startswith(SHIELDED_STARTS)):
        return "'" + value
    return value
