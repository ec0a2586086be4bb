"""Telling what an upload really is from its first bytes."""

from __future__ import annotations

import codecs

import pytest

from bulkport.errors import UnreadableFile
from bulkport.spreadsheets.sniff import FileFormat, sniff_format

ZIP = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
GZIP = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
BINARY = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"
UTF16_WITHOUT_BOM = "First Name,Email\r\n".encode("utf-16-le")


@pytest.mark.parametrize(
    "head",
    [
        b"First Name,Email\r\nAnn,ann@example.com\r\n",
        b"First Name;Email\nAnn;ann@example.com\n",
        b"\r\n\r\n  First Name\tEmail\r\n",
        codecs.BOM_UTF8 + "Prénom,Email\r\n".encode(),
        codecs.BOM_UTF16_LE + "Prénom,Email\r\n".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "Prénom,Email\r\n".encode("utf-16-be"),
        "Prénom,Courriel\r\nRené,rene@example.com\r\n".encode("cp1252"),
        UTF16_WITHOUT_BOM,
        "Zoë;Ωmega\r\n".encode("utf-16-be"),
    ],
    ids=[
        "comma",
        "semicolon",
        "leading-blank-lines",
        "utf8-bom",
        "utf16le",
        "utf16be",
        "cp1252",
        "utf16le-without-bom",
        "utf16be-without-bom",
    ],
)
def test_text_is_taken_as_csv(head: bytes) -> None:
    assert sniff_format(head) is FileFormat.CSV


def test_a_zip_is_taken_as_a_workbook_to_be_checked_when_opened() -> None:
    assert sniff_format(ZIP) is FileFormat.XLSX


@pytest.mark.parametrize(
    ("head", "says"),
    [
        (OLE2, ".xls"),
        (PDF, "PDF"),
        (GZIP, "gzip"),
        (PNG, "picture"),
        (JPEG, "picture"),
        (BINARY, "binary"),
        (b"", "empty"),
        (b" \r\n\t\r\n", "empty"),
    ],
    ids=[
        "xls",
        "pdf",
        "gzip",
        "png",
        "jpeg",
        "binary",
        "empty",
        "whitespace",
    ],
)
def test_what_is_not_csv_text_is_refused_saying_what_it_is(head: bytes, says: str) -> None:
    with pytest.raises(UnreadableFile, match=says):
        sniff_format(head)


@pytest.mark.parametrize(
    "head",
    [OLE2, PDF, GZIP, PNG, JPEG, BINARY, b""],
    ids=["xls", "pdf", "gzip", "png", "jpeg", "binary", "empty"],
)
def test_every_refusal_is_plain_and_says_what_to_do(head: bytes) -> None:
    with pytest.raises(UnreadableFile) as caught:
        sniff_format(head)
    message = str(caught.value)
    for jargon in ("\\x", "0x", "signature", "NUL", "OLE", "magic", "bytes"):
        assert jargon not in message, message
    assert message.endswith(".")
    assert any(verb in message.lower() for verb in ("upload", "save as", "unpack")), message


def test_an_old_workbook_refusal_tells_how_to_save_it_again() -> None:
    with pytest.raises(UnreadableFile, match="CSV UTF-8") as caught:
        sniff_format(OLE2)
    assert ".xlsx" in str(caught.value)
