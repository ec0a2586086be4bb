"""What kind of file an upload really is, from its first bytes (never from its name)."""

from __future__ import annotations

from enum import StrEnum

from bulkport.errors import UnreadableFile

SNIFF_BYTES = 8192


class FileFormat(StrEnum):
    """Upload formats bulkport reads."""

    CSV = "csv"
    XLSX = "xlsx"


_UPLOAD_INSTEAD = "Upload the customer list as CSV or Excel (.xlsx)."
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (
        b"\xd0\xcf\x11\xe0",
        "This is an old Excel .xls file or a password-protected workbook. Remove the password, "
        "choose Save As → 'Excel Workbook (.xlsx)' or 'CSV UTF-8' and upload that file.",
    ),
    (
        b"%PDF",
        "This is a PDF document, not a spreadsheet. " + _UPLOAD_INSTEAD,
    ),
    (b"\x1f\x8b", "This is a compressed (gzip) file. Unpack it and upload the spreadsheet inside."),
    (
        b"\x89PNG",
        "This is a picture, not a spreadsheet. " + _UPLOAD_INSTEAD,
    ),
    (
        b"\xff\xd8\xff",
        "This is a picture, not a spreadsheet. " + _UPLOAD_INSTEAD,
    ),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def looks_utf16(head: bytes) -> bool:
    """Text saved as UTF-16 without a byte-order mark: every other byte of plain letters is 0."""
    usable = head[: len(head) // 2 * 2]
    if len(usable) < 4:
        return False
    odd = usable[1::2].count(0)
    even = usable[0::2].count(0)
    pairs = len(usable) // 2
    # Mostly Latin text: most pairs hold a zero, nearly all on the same side.
    if max(odd, even) < 0.6 * pairs or min(odd, even) > max(odd, even) // 10:
        return False
    try:
        usable.decode("utf-16-le" if odd > even else "utf-16-be")
    except UnicodeDecodeError:
        return False
    return True


def sniff_format(head: bytes) -> FileFormat:
    """The format of a file from its first bytes, or ``UnreadableFile`` saying what it is."""
    if not head.strip():
        raise UnreadableFile(
            "The file is empty. Upload a spreadsheet with a header row (such as First Name, "
            "Email) and one customer per row."
        )
    if head.startswith(b"PK\x03\x04"):
        return FileFormat.XLSX  # a zip: whether it is a workbook is checked when it is opened
    for signature, message in _SIGNATURES:
        if head.startswith(signature):
            raise UnreadableFile(message)
    if b"\x00" in head and not head.startswith(_UTF16_BOMS) and not looks_utf16(head):
        raise UnreadableFile(
            "This file is not a text spreadsheet (it holds binary data). "
            "Upload the customer list as CSV or Excel (.xlsx)."
        )
    return FileFormat.CSV
