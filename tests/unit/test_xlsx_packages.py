"""Workbooks whose parts sit where Excel finds them but openpyxl does not are read all the same.

Each workbook here is a well-made one repacked as some real programs pack theirs: part names
in another case than their references, the workbook part outside ``xl/workbook.xml``, zip
entries written with backslashes. Excel opens them; openpyxl refuses them as damaged or as
no workbook at all. They must give exactly the rows of the well-made workbook (which is
compared with openpyxl's reading too).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from xlsx_parts import REL_NS, Parts, Sheet, sheet_xml, styles_xml
from xlsx_reference import Outcome, outcome, reference_open_xlsx

from bulkport.errors import UnreadableFile
from bulkport.spreadsheets.xlsx.reader import open_xlsx
from bulkport.spreadsheets.xlsx.refusals import OTHER_ZIP

Rename = Callable[[str], str]
Edit = Callable[[str, bytes], bytes]

ROWS_XML = (
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
    '<c r="C1" t="s"><v>2</v></c></row>'
    '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" s="1"><v>45356</v></c>'
    '<c r="C2" s="2"><v>1234</v></c></row>'
)
SHARED = (
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "<si><t>Name</t></si><si><t>Date of Birth</t></si><si><t>Postal Code</t></si>"
    "<si><t>Ann</t></si></sst>"
)
EXPECTED = [(1, ["Name", "Date of Birth", "Postal Code"]), (2, ["Ann", "2024-03-05", "01234"])]
RELATED = (
    f'<Relationship Id="rIdStyles" Type="{REL_NS}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rIdStrings" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
SHARED_STRINGS_OVERRIDE = (
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/>'
)


def well_made() -> bytes:
    """A workbook with shared strings and styles (a date, a zero-padded number)."""
    return Parts(
        [Sheet("Customers", sheet_xml(ROWS_XML))],
        shared_strings=SHARED,
        styles=styles_xml([0, 14, 164], {164: "00000"}),
    ).bytes()


def repacked(
    tmp_path: Path, rename: Rename = lambda name: name, edit: Edit = lambda _, data: data
) -> Path:
    """The well-made workbook with its entries renamed and their contents edited."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(well_made())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(rename(info.filename), edit(info.filename, source.read(info)))
    path = tmp_path / "repacked.xlsx"
    path.write_bytes(out.getvalue())
    return path


def replaced(part: str, *changes: tuple[str, str]) -> Edit:
    """An edit of one part; every change must apply, or the test would prove nothing."""

    def edit(name: str, data: bytes) -> bytes:
        if name != part:
            return data
        text = data.decode()
        for old, new in changes:
            assert old in text, f"{old!r} not in {part}"
            text = text.replace(old, new)
        return text.encode()

    return edit


def assert_reads_as_the_well_made_workbook(path: Path) -> Outcome:
    well = path.with_name("well-made.xlsx")
    well.write_bytes(well_made())
    expected = outcome(reference_open_xlsx, well)
    assert expected == (("Customers", ["Customers"]), EXPECTED, None)
    got = outcome(open_xlsx, path)
    assert got == expected
    return got


def openpyxl_refuses(path: Path) -> bool:
    return outcome(reference_open_xlsx, path)[2] is not None


def test_part_names_in_another_case_than_their_references_are_found(tmp_path: Path) -> None:
    """The content types and relationships say ``sharedStrings.xml``, ``sheet1.xml`` and
    ``styles.xml``; the zip holds ``SharedStrings.xml``, ``Sheet1.xml``, ``Styles.xml``."""
    renames = {
        "xl/sharedStrings.xml": "xl/SharedStrings.xml",
        "xl/worksheets/sheet1.xml": "xl/worksheets/Sheet1.xml",
        "xl/styles.xml": "xl/Styles.xml",
    }
    path = repacked(tmp_path, lambda name: renames.get(name, name))
    assert openpyxl_refuses(path)
    assert_reads_as_the_well_made_workbook(path)


def test_a_workbook_part_named_otherwise_is_found_through_the_content_types(
    tmp_path: Path,
) -> None:
    """``xl/book.xml`` as the content types name it: openpyxl reads it, and so does this
    reader (the zip check once took the missing ``xl/workbook.xml`` for a Word document)."""
    renames = {
        "xl/workbook.xml": "xl/book.xml",
        "xl/_rels/workbook.xml.rels": "xl/_rels/book.xml.rels",
    }

    def edit(name: str, data: bytes) -> bytes:
        data = replaced("[Content_Types].xml", ("/xl/workbook.xml", "/xl/book.xml"))(name, data)
        return replaced("_rels/.rels", ("xl/workbook.xml", "xl/book.xml"))(name, data)

    path = repacked(tmp_path, lambda name: renames.get(name, name), edit)
    assert assert_reads_as_the_well_made_workbook(path) == outcome(reference_open_xlsx, path)


def test_a_workbook_outside_xl_is_found_through_the_package_relationships(
    tmp_path: Path,
) -> None:
    """Every part under ``sheets/`` instead of ``xl/``, the content types naming neither the
    workbook part nor its shared strings: only ``_rels/.rels`` says where the workbook is,
    and its relationships where its shared strings and styles are. Never called "a Word
    document" for it."""

    def edit(name: str, data: bytes) -> bytes:
        data = replaced(
            "[Content_Types].xml",
            ('<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
             'officedocument.spreadsheetml.sheet.main+xml"/>', ""),
            (SHARED_STRINGS_OVERRIDE, ""),
            ("/xl/", "/sheets/"),
        )(name, data)  # fmt: skip
        data = replaced("_rels/.rels", ("xl/workbook.xml", "sheets/workbook.xml"))(name, data)
        return replaced("xl/_rels/workbook.xml.rels", ("</Relationships>", RELATED))(name, data)

    path = repacked(tmp_path, lambda name: name.replace("xl/", "sheets/"), edit)
    with zipfile.ZipFile(path) as archive:
        assert not any(name.startswith("xl/") for name in archive.namelist())
    assert openpyxl_refuses(path)
    assert_reads_as_the_well_made_workbook(path)


def test_zip_entries_written_with_backslashes_are_found(tmp_path: Path) -> None:
    path = repacked(tmp_path, lambda name: name.replace("/", "\\"))
    with zipfile.ZipFile(path) as archive:
        assert "xl\\workbook.xml" in archive.namelist()
    assert openpyxl_refuses(path)
    assert_reads_as_the_well_made_workbook(path)


@pytest.mark.parametrize("slash", ["/", "\\"])
def test_a_word_document_is_still_no_workbook(tmp_path: Path, slash: str) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as docx:
        docx.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        docx.writestr(
            f"_rels{slash}.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="word/document.xml"/>'
            "</Relationships>",
        )
        docx.writestr(f"word{slash}document.xml", "<document/>")
    path = tmp_path / "letter.docx"
    path.write_bytes(out.getvalue())
    with pytest.raises(UnreadableFile) as caught, open_xlsx(path):
        pass
    assert str(caught.value) == OTHER_ZIP
