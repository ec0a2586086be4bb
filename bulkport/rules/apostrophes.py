"""The leading-apostrophe rule: which texts a spreadsheet would run, and which apostrophes only
keep a value as text.

Spreadsheets keep a value as text when it starts with an apostrophe. The export writes one
before any value a spreadsheet would run as a formula (``bulkport.spreadsheets.cells``, and the
SQL of ``bulkport.storage.customer_reads``); the importer drops it again (``unshield``), so an
exported file imports back unchanged.
"""

from __future__ import annotations

# Starts that Excel, LibreOffice and Google Sheets take as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# After an apostrophe, these show that the apostrophe only keeps the value as text.
SHIELDED_STARTS = (*FORMULA_STARTS, "'", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9")


def unshield(text: str) -> str:
    """Drop the apostrophe a spreadsheet (or the export) put before a number or formula."""
    if text.startswith("'") and text[1:].startswith(SHIELDED_STARTS):
        return text[1:]
    return text
