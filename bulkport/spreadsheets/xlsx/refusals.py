"""The words a person reads when a workbook cannot be read, shared by every XLSX module."""

from __future__ import annotations

SAVE_AGAIN = (
    "Open it in your spreadsheet program, save it again as 'Excel Workbook (.xlsx)' or as "
    "'CSV UTF-8', and upload that file."
)
DAMAGED = "This Excel workbook is damaged and cannot be read. " + SAVE_AGAIN
ENTITIES = (
    "This workbook holds XML entity declarations, which spreadsheet programs never write; "
    "bulkport refuses them for safety. " + SAVE_AGAIN
)
NOT_A_WORKBOOK = "This file is not a readable Excel workbook (.xlsx). " + SAVE_AGAIN
OLD_OR_PROTECTED = (
    "This is an old Excel .xls file or a password-protected workbook, which bulkport cannot "
    "read. Remove the password if it has one, then save it as 'Excel Workbook (.xlsx)' or as "
    "'CSV UTF-8' and upload that file."
)
PROTECTED = (
    "This workbook is protected with a password. Remove the password in your spreadsheet "
    "program, save it again as 'Excel Workbook (.xlsx)' and upload that file."
)
OTHER_ZIP = (
    "This file is a zip archive but not an Excel workbook (.xlsx); it may be a Word document, "
    "an OpenDocument spreadsheet or a binary .xlsb workbook. Save the customer list as "
    "'Excel Workbook (.xlsx)' or as 'CSV UTF-8' and upload that file."
)
NO_SHEETS = "This workbook has no sheet with cells. " + SAVE_AGAIN


def damaged_after(row: int) -> str:
    """The refusal of a sheet whose XML breaks after some rows were read."""
    return f"This Excel workbook is damaged after row {row} and cannot be read. " + SAVE_AGAIN
