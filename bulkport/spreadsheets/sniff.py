"""What kind of file an upload really is, from its first bytes (never from its name)."""

from __future__ import annotations

from enum import StrEnum

from bulkport.errors import UnreadableFile

SNIFF_BYTES = 8192


class FileFormat(StrEnum):
    """Upload formats bulkport reads."""

    CSV = "csv"


_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (
        b"PK\x03\x04",
        "This is an Excel workbook (.xlsx) or another zip file; this version of bulkport "
        "imports CSV only. In your spreadsheet program choose Save As → 'CSV UTF-8' and upload "
        "that file.",
    ),
    (
        b"\xd0\xcf\x11\xe0",
        "This is an old Excel .xls file or a password-protected workbook. Remove the password, "
        "choose Save As → 'CSV UTF-8' in your spreadsheet program and upload that file.",
    ),
    (b"%PDF", "This is a PDF document, not a spreadsheet. Upload the customer list as CSV."),
    (b"\x1f\x8b", "This is a compressed (gzip) file. Unpack it and upload the CSV inside."),
    (b"\x89PNG", "This is a picture, not a spreadsheet. Upload the customer list as CSV."),
    (b"\xff\xd8\xff", "This is a picture, not a spreadsheet. Upload the customer list as CSV."),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def sniff_format(head: bytes) -> FileFormat:
    """The format of a file from its first bytes, or ``UnreadableFile`` saying what it is."""
    if not head.strip():
        raise UnreadableFile(
            "The file is empty. Upload a spreadsheet with a header row (such as First Name, "
            "Email) and one customer per row."
        )
    for signature, message in _SIGNATURES:
        if head.startswith(signature):
            raise UnreadableFile(message)
    if b"\x00" in head and not head.startswith(_UTF16_BOMS):
        raise UnreadableFile(
            "This file is not a text spreadsheet (it holds binary data). "
            "Upload the customer list as CSV."
        )
    return FileFormat.CSV
