"""The streaming XLSX reader gives what the openpyxl-based reader gave, wherever that read.

Every workbook here is read twice, by ``open_xlsx`` and by the openpyxl reference kept in
``tests/xlsx_reference.py``; the sheet names, every row, and the refusal (its kind and its
words) must be the same. Workbooks come from openpyxl, from xlsxwriter, and from XML
written by hand or generated at random, well formed or damaged. Workbooks that Excel reads
and openpyxl refuses are read too; those are tested on their own, against the rows Excel
shows (``test_xlsx_packages.py`` and the empty style here).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.styles.numbers import BUILTIN_FORMATS
from xlsx_parts import (
    MAIN_NS,
    REL_NS,
    STRICT_NS,
    STRICT_REL_NS,
    Parts,
    Sheet,
    escape_text,
    sheet_xml,
    styles_xml,
)
from xlsx_reference import Outcome, outcome, reference_open_xlsx

from bulkport.errors import LimitExceeded, UnreadableFile
from bulkport.read_limits import ReadLimits
from bulkport.spreadsheets.xlsx import coordinates, styles
from bulkport.spreadsheets.xlsx import values as cell_values
from bulkport.spreadsheets.xlsx.reader import open_xlsx

EXAMPLES = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def assert_same(path: Path, **options: Any) -> Outcome:
    """Both readers agree on the workbook: sheet names, rows, and the refusal in words."""
    got = outcome(open_xlsx, path, **options)
    assert got == outcome(reference_open_xlsx, path, **options)
    return got


# --- hand-written sheets --------------------------------------------------------------------

FORMATS = [0, 14, 164, 46, 165, 22, 49, 27, 300]
CUSTOM = {164: "00000", 165: "dd/mm/yyyy;@", 166: "0.00"}


def parts(rows_xml: str, **kw: Any) -> Parts:
    return Parts(
        [Sheet("Customers", sheet_xml(rows_xml, **kw))], styles=styles_xml(FORMATS, CUSTOM)
    )


HAND_WRITTEN = {
    "inline strings and gaps": '<row r="1"><c r="A1" t="inlineStr"><is><t>Ann</t></is></c>'
    '<c r="D1" t="inlineStr"><is><t xml:space="preserve"> Smith </t></is></c></row>',
    "no references": '<row><c t="str"><v>x</v></c><c><v>1.5</v></c><c/><c t="b"><v>0</v></c>'
    '</row><row><c t="e"><v>#N/A</v></c></row>',
    "formula results": '<row r="1"><c r="A1"><f>1+1</f><v>2</v></c><c r="B1" t="str"><f>"x"&amp;'
    '"y"</f><v>xy</v></c><c r="C1" t="e"><f>NA()</f><v>#N/A</v></c><c r="D1"><f>A1*2</f><v/>'
    '</c><c r="E1" t="inlineStr"><is><t>end</t></is></c></row>',
    "iso dates": '<row r="2"><c r="A2" t="d"><v>2024-03-05T10:00:00</v></c><c r="B2" t="d">'
    '<v>2024-03-05</v></c><c r="C2" t="d"><v>09:30</v></c><c r="D2" t="d"><v>PT26H30M</v></c>'
    "</row>",
    "a bad iso date": '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2" t="d">'
    "<v>2024-13-01</v></c></row>",
    "styled numbers": '<row r="1"><c r="A1" s="1"><v>45356</v></c><c r="B1" s="2"><v>1234</v>'
    '</c><c r="C1" s="3"><v>1.5</v></c><c r="D1" s="4"><v>45356.75</v></c><c r="E1" s="5">'
    '<v>59.5</v></c><c r="F1" s="6"><v>007</v></c><c r="G1" s="7"><v>12</v></c><c r="H1" s="1">'
    '<v>0.25</v></c><c r="I1" s="1"><v>1e400</v></c><c r="J1" s="2"><v>3.0</v></c></row>',
    "a style without its format": '<row r="1"><c r="A1" s="8"><v>12</v></c></row>',
    "a style that is not there": '<row r="1"><c r="A1" s="2"><v>1</v></c></row>'
    '<row r="2"><c r="A2" s="42"><v>12</v></c></row>',
    "a style out of range on text": '<row r="1"><c r="A1" s="42" t="str"><v>12</v></c></row>',
    "a negative style": '<row r="1"><c r="A1" s="-7"><v>12</v></c></row>',
    "cells out of order": '<row r="5"><c r="C5"><v>3</v></c><c r="A5"><v>1</v></c></row>'
    '<row r="6"><c r="A6"><v>1</v></c><c r="C6"><v>3</v></c><c r="B6"><v>2</v></c><c><v>9</v>'
    "</c></row>",
    "rows out of order": '<row r="5"><c r="A5"><v>5</v></c></row><row r="3"><c r="A3"><v>3</v>'
    '</c></row><row r="5"><c r="A5"><v>6</v></c></row><row><c r="A6"><v>7</v></c></row>'
    '<row r="9.0"><c r="A9"><v>9</v></c></row>',
    "a row number with a fraction": '<row r="1"><c r="A1"><v>1</v></c></row><row r="2.5">'
    '<c r="A2"><v>1</v></c></row>',
    "lowercase and odd references": '<row r="1"><c r="b1"><v>2</v></c><c r="D01"><v>4</v></c>'
    "</row>",
    "a reference that is no cell": '<row r="1"><c r="A1"><v>1</v></c></row><row r="2">'
    '<c r="AAAA2"><v>1</v></c></row>',
    "entities and line ends": '<row r="1"><c r="A1" t="inlineStr"><is><t>a&amp;b&#13;&#10;c'
    '\r\nd_x0041_&#95;x0042_</t></is></c><c r="B1" t="str"><v>&lt;x&gt;&quot;&apos;</v></c>'
    '<c r="C1"><v>&#49;2</v></c></row>',
    "rich and phonetic inline text": '<row r="1"><c r="A1" t="inlineStr"><is><r><t>a</t></r>'
    '<r><rPr><b/></rPr><t xml:space="preserve"> b</t></r><rPh sb="0" eb="1"><t>X</t></rPh>'
    '</is></c><c r="B1" t="inlineStr"><is><t>one</t><t>two</t></is></c><c r="C1" '
    't="inlineStr"/><c r="D1" t="inlineStr"><is/></c><c r="E1" t="inlineStr"><v>5</v></c></row>',
    "text cut by a child element": '<row r="1"><c r="A1" t="str"><v>ab<x/>cd</v></c>'
    '<c r="B1"><v>1<x/>2</v></c></row>',
    "two values": '<row r="1"><c r="A1"><v></v><v>5</v></c><c r="B1"><v>7</v><v>8</v></c></row>',
    "blank rows": '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2" s="1"/></row>'
    '<row r="3"/><row r="4"><c r="A4"><v>3</v></c></row><row r="5"><c r="A5"/></row>',
    "booleans": '<row r="1"><c r="A1" t="b"><v>1</v></c><c r="B1" t="b"><v>0</v></c>'
    '<c r="C1" t="b"><v>2</v></c></row><row r="2"><c r="A2" t="b"><v>true</v></c></row>',
    "a kind nobody writes": '<row r="1"><c r="A1" t="x"><v>12</v></c><c r="B1" t=""><v>7</v>'
    "</c></row>",
    "numbers openpyxl refuses": '<row r="1"><c r="A1"><v>12</v></c></row><row r="2">'
    '<c r="A2"><v>1,5</v></c></row>',
    "numbers as python reads them": '<row r="1"><c r="A1"><v> 12 </v></c><c r="B1"><v>1_000'
    '</v></c><c r="C1"><v>-0.0</v></c><c r="D1"><v>2.5E20</v></c><c r="E1"><v>0.1</v></c></row>',
    "whitespace everywhere": '\n  <row r="1">\n    <c r="A1" t="inlineStr">\n      <is>\n'
    '        <t>a</t>\n      </is>\n    </c>\n    <c r="B1">\n      <v>2</v>\n    </c>\n  </row>\n',
    "comments and processing instructions": '<row r="1"><!-- note --><c r="A1"><v>1<!-- x -->2'
    "</v></c><?pi x?></row>",
    "a cdata section": '<row r="1"><c r="A1" t="str"><v><![CDATA[a<b>&c]]></v></c></row>',
    "an extension list in a row": '<row r="1"><c r="A1"><v>1</v></c><extLst/></row>',
    "a row past Excel's last": '<row r="1"><c r="A1"><v>1</v></c></row>'
    '<row r="3000000"><c r="A3000000"><v>1</v></c></row>',
    "an empty row past Excel's last": '<row r="1"><c r="A1"><v>1</v></c></row><row r="1048577"/>',
    "xml error after rows": '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2">'
    '<v>2</v></c></row><row r="3"><c r="A3"><v>3</v></c></rowx>',
    "xml error in the first row": '<row r="1"><c r="A1"><v>1</v></c',
    "an undefined entity": '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2" '
    't="str"><v>&nbsp;</v></c></row>',
}


@pytest.mark.parametrize("rows_xml", HAND_WRITTEN.values(), ids=HAND_WRITTEN.keys())
def test_hand_written_sheets_read_as_openpyxl_reads_them(tmp_path: Path, rows_xml: str) -> None:
    assert_same(parts(rows_xml).write(tmp_path / "book.xlsx"))


def prefixed(rows_xml: str) -> str:
    """The sheet with its elements in a prefixed namespace (``<x:row>``), as some tools write."""
    body = rows_xml
    for name in ("row", "c", "v", "is", "t", "r", "f"):
        body = body.replace(f"<{name} ", f"<x:{name} ").replace(f"<{name}>", f"<x:{name}>")
        body = body.replace(f"<{name}/>", f"<x:{name}/>").replace(f"</{name}>", f"</x:{name}>")
    return (
        f'<?xml version="1.0"?><x:worksheet xmlns:x="{MAIN_NS}" xmlns:r="{REL_NS}">'
        f"<x:sheetData>{body}</x:sheetData></x:worksheet>"
    )


@pytest.mark.parametrize("name", ["inline strings and gaps", "no references", "styled numbers"])
def test_a_prefixed_namespace_reads_the_same(tmp_path: Path, name: str) -> None:
    path = Parts(
        [Sheet("Customers", prefixed(HAND_WRITTEN[name]))], styles=styles_xml(FORMATS, CUSTOM)
    ).write(tmp_path / "book.xlsx")
    _, rows, error = assert_same(path)
    assert rows
    assert error is None


def test_cells_with_an_empty_style_read_as_unstyled_cells(tmp_path: Path) -> None:
    """Excel reads ``s=""`` as the default style; openpyxl refuses such a workbook as damaged,
    so this is compared with the same sheet written without the attribute."""
    rows_xml = (
        '<row r="1"><c r="A1" s=""><v>12</v></c><c r="B1" s=""><v>1.5</v></c>'
        '<c r="C1" s="" t="str"><v>a</v></c></row><row r="2"><c r="A2" s=""><v>31612345601</v>'
        "</c></row>"
    )
    path = parts(rows_xml).write(tmp_path / "empty.xlsx")
    unstyled = parts(rows_xml.replace(' s=""', "")).write(tmp_path / "unstyled.xlsx")
    got = outcome(open_xlsx, path)
    assert got == assert_same(unstyled)
    assert got[1:] == ([(1, ["12", "1.5", "a"]), (2, ["31612345601"])], None)


def test_a_sheet_without_dimension_is_checked_through_to_its_end(tmp_path: Path) -> None:
    # openpyxl parses a sheet to its <dimension>, or to the end of its rows when there is
    # none: damage anywhere in the rows then refuses the workbook before any row is read.
    rows_xml = '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2</v></c></rowx>'
    for head in ('<dimension ref="A1:A2"/>', ""):
        xml = (
            f'<?xml version="1.0"?><worksheet xmlns="{MAIN_NS}">{head}<sheetData>{rows_xml}'
            "</sheetData></worksheet>"
        )
        path = Parts([Sheet("S", xml)]).write(tmp_path / f"book{len(head)}.xlsx")
        assert_same(path)
    after = (
        f'<?xml version="1.0"?><worksheet xmlns="{MAIN_NS}"><sheetData><row r="1"><c r="A1">'
        "<v>1</v></c></row></sheetData><oops></worksheet>"
    )
    assert_same(Parts([Sheet("S", after)]).write(tmp_path / "after.xlsx"))


@pytest.mark.parametrize(
    "dimension",
    ['<dimension ref="A1:XFD1048576"/>', '<dimension ref="nonsense"/>', "<dimension/>",
     '<dimension ref="A1" extra="1"/>', '<dimension ref="B2:"/>', '<dimension ref="A:C"/>'],
)  # fmt: skip
def test_a_dimension_is_judged_as_openpyxl_judges_it(tmp_path: Path, dimension: str) -> None:
    xml = (
        f'<?xml version="1.0"?><worksheet xmlns="{MAIN_NS}">{dimension}<sheetData><row r="1">'
        '<c r="A1"><v>1</v></c></row></sheetData></worksheet>'
    )
    assert_same(Parts([Sheet("S", xml)]).write(tmp_path / "book.xlsx"))


def test_strict_ooxml_is_read(tmp_path: Path) -> None:
    # openpyxl finds no rows in a strict OOXML workbook; this reader reads them.
    rows_xml = HAND_WRITTEN["inline strings and gaps"]
    workbook = (
        f'<?xml version="1.0"?><workbook xmlns="{STRICT_NS}" xmlns:r="{STRICT_REL_NS}">'
        '<sheets><sheet name="Customers" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    path = Parts(
        [Sheet("Customers", sheet_xml(rows_xml, namespace=STRICT_NS))], workbook_xml=workbook
    ).write(tmp_path / "strict.xlsx")
    assert outcome(open_xlsx, path)[1:] == ([(1, ["Ann", "", "", " Smith "])], None)


# --- workbooks: sheets, shared strings, styles, dates ----------------------------------------

SHARED = (
    f'<sst xmlns="{MAIN_NS}"><si><t>Ann</t></si><si><t>line one_x000D_\nline two</t></si>'
    '<si><r><t>rich </t></r><r><rPr><b/><sz val="11"/></rPr><t>text</t></r>'
    '<rPh sb="0" eb="1"><t>ふ</t></rPh><phoneticPr fontId="0"/></si><si><t/></si>'
    "<si><t>_x005F_x0041_ and x005F_</t></si><si><t>a&amp;b</t><t>last wins</t></si>"
    "<si><t>x<y/>z</t></si></sst>"
)


@pytest.mark.parametrize("index", ["0", "1", "2", "3", "4", "5", "6", "-1", "7", " 2 ", "x"])
def test_shared_strings_read_as_openpyxl_reads_them(tmp_path: Path, index: str) -> None:
    rows_xml = f'<row r="1"><c r="A1" t="s"><v>{index}</v></c><c r="B1"><v>1</v></c></row>'
    path = Parts([Sheet("S", sheet_xml(rows_xml))], shared_strings=SHARED).write(
        tmp_path / "book.xlsx"
    )
    assert_same(path)


def test_1904_dates(tmp_path: Path) -> None:
    rows_xml = HAND_WRITTEN["styled numbers"]
    path = Parts(
        [Sheet("S", sheet_xml(rows_xml))], styles=styles_xml(FORMATS, CUSTOM), date1904=True
    ).write(tmp_path / "book.xlsx")
    _, rows, _ = assert_same(path)
    assert rows[0][1][0] == "2028-03-06"


@pytest.mark.parametrize(
    ("states", "chosen"),
    [
        ([None, None], None),
        (["hidden", None], None),
        (["veryHidden", "hidden", None], None),
        (["hidden", "hidden"], None),
        (["hidden", None], "sheet0"),
        ([None, None], "SHEET1"),
        ([None, None], "nope"),
        (["none", None], None),
        (["bogus", None], None),
    ],
)
def test_sheets_are_chosen_as_before(
    tmp_path: Path, states: list[str | None], chosen: str | None
) -> None:
    sheets = [
        Sheet(f"Sheet{i}", sheet_xml(f'<row r="1"><c r="A1" t="str"><v>sheet {i}</v></c></row>'), s)
        for i, s in enumerate(states)
    ]
    path = Parts(sheets).write(tmp_path / "book.xlsx")
    assert_same(path, sheet=chosen)


def test_a_workbook_with_no_sheets(tmp_path: Path) -> None:
    assert_same(Parts([]).write(tmp_path / "book.xlsx"))


LAUGHS = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'


@pytest.mark.parametrize(
    "part",
    ["sheet", "shared strings", "styles", "workbook", "relationships", "content types",
     "sheet relationships", "core properties"],
)  # fmt: skip
def test_entity_declarations_are_refused_in_every_part_read(tmp_path: Path, part: str) -> None:
    rows_xml = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    book = Parts(
        [Sheet("S", sheet_xml(rows_xml))],
        shared_strings=f'<sst xmlns="{MAIN_NS}"><si><t>Ann</t></si></sst>',
        styles=styles_xml([0]),
    )
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w") as out, zipfile.ZipFile(_bytes_file(book.bytes())) as src:
        names = {
            "sheet": "xl/worksheets/sheet1.xml",
            "shared strings": "xl/sharedStrings.xml",
            "styles": "xl/styles.xml",
            "workbook": "xl/workbook.xml",
            "relationships": "xl/_rels/workbook.xml.rels",
            "content types": "[Content_Types].xml",
        }
        extra = {
            "sheet relationships": "xl/worksheets/_rels/sheet1.xml.rels",
            "core properties": "docProps/core.xml",
        }
        for info in src.infolist():
            data = src.read(info)
            if names.get(part) == info.filename:
                body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
                data = LAUGHS.encode() + body
            out.writestr(info.filename, data)
        if part in extra:
            out.writestr(extra[part], LAUGHS + "<x>&lol2;</x>")
    got = assert_same(path)
    assert got[2] is not None
    assert "entity" in got[2][1]


def test_a_doctype_without_entities_is_read(tmp_path: Path) -> None:
    xml = sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>', head="<!DOCTYPE worksheet>")
    path = Parts([Sheet("S", xml)]).write(tmp_path / "book.xlsx")
    assert assert_same(path)[1] == [(1, ["1"])]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "iso-8859-1"])
def test_other_encodings_read_the_same(tmp_path: Path, encoding: str) -> None:
    name = "UTF-8" if encoding == "utf-8-sig" else encoding.upper()
    xml = sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>Zoë Ünal</t></is></c></row>')
    xml = xml.replace('encoding="UTF-8"', f'encoding="{name}"')
    path = Parts([Sheet("S", xml.encode(encoding))]).write(tmp_path / "book.xlsx")
    assert assert_same(path)[1] == [(1, ["Zoë Ünal"])]


def test_a_row_outside_the_sheet_data_is_read_as_openpyxl_reads_it(tmp_path: Path) -> None:
    xml = (
        f'<?xml version="1.0"?><worksheet xmlns="{MAIN_NS}"><sheetData><row r="1"><c r="A1">'
        '<v>1</v></c></row></sheetData><extra><row r="4"><c r="A4"><v>4</v></c></row></extra>'
        "</worksheet>"
    )
    path = Parts([Sheet("S", xml)]).write(tmp_path / "book.xlsx")
    assert assert_same(path)[1] == [(1, ["1"]), (4, ["4"])]


@pytest.mark.parametrize(
    "limits",
    [ReadLimits(max_rows=2), ReadLimits(max_columns=2), ReadLimits(max_cell_chars=3),
     ReadLimits(max_rows=1, max_columns=1, max_cell_chars=1)],
)  # fmt: skip
def test_limits_are_met_in_the_same_order(tmp_path: Path, limits: ReadLimits) -> None:
    rows_xml = (
        '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2" s="42"><v>12</v></c>'
        '<c r="C2"><v>1</v></c></row><row r="3"><c r="A3" t="str"><v>long text</v></c></row>'
        '<row r="4"><c r="A4"/></row><row r="5"><c r="E5"><v>1</v></c></row>'
    )
    assert_same(parts(rows_xml).write(tmp_path / "book.xlsx"), limits=limits)


def _bytes_file(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


# --- generated sheets -----------------------------------------------------------------------

TEXT_PIECES = ["a", "B", " ", "é", "€", "𝄞", "_x000D_", "_x005F_", "&", "<", ">", '"', "'",
               "\t", "\n", "\r\n", "\r", "#N/A", "0", "_x", "x0041_"]  # fmt: skip
texts = st.lists(st.sampled_from(TEXT_PIECES), max_size=6).map("".join)
# Values as a writer would store them, and (drawn less often) values openpyxl refuses.
VALUES: dict[str | None, tuple[list[str], list[str]]] = {
    None: (["0", "1", "42", "1234", "-3", "3.5", "1E3", "1e-7", "31612345601", "2.5E20",
            "3.1612345601E10", "007", "1.0", "45356.75", "60", "59.5", "0.25", "-1", ""],
           ["abc", " 12 ", "1,5", "1e400"]),
    "s": (["0", "1", "2", "3", ""], ["-1", "9", "x"]),
    "b": (["0", "1", ""], ["2", "true"]),
    "d": (["2024-03-05", "2024-03-05T14:30:15", "14:30", "14:30:15.5", "PT1H30M", ""],
          ["2024-13-01", "garbage"]),
}  # fmt: skip
VALUES["n"] = VALUES[None]
KINDS = [None, None, "n", "s", "s", "str", "inlineStr", "inlineStr", "b", "e", "d", "x"]
STYLE_CHOICES = [None, None, None, None, "0", "1", "2", "3", "4", "5", "6", "7", "1", "2", "3"]
ODD_STYLES = ["8", "42", "-1", "x"]


def sometimes(draw: st.DrawFn, clean: bool, usual: list[Any], odd: list[Any]) -> Any:
    """A usual choice; in a sheet that is not clean, now and then an odd one."""
    if clean or draw(st.integers(0, 3)) != 0:
        return draw(st.sampled_from(usual))
    return draw(st.sampled_from(odd))


def xml_text(text: str, references: bool) -> str:
    """Text as XML character data; carriage returns kept raw or written as references."""
    escaped = escape_text(text)
    return escaped.replace("\r", "&#13;") if references else escaped


@st.composite
def cells(draw: st.DrawFn, row: int, column: int, clean: bool) -> tuple[str, int]:
    """A cell's XML, and the column the next cell would follow."""
    kind = draw(st.sampled_from(KINDS))
    reference_style = sometimes(draw, clean, ["plain"] * 6 + ["none", "back"], ["lower", "bad"])
    if reference_style == "back" and column > 1:
        column = draw(st.integers(1, column))
    elif reference_style != "none":
        column += draw(st.sampled_from([0, 0, 0, 1, 2]))
    letters = coordinates.column_letter(column)
    reference = {
        "plain": f' r="{letters}{row}"',
        "back": f' r="{letters}{row}"',
        "none": "",
        "lower": f' r="{letters.lower()}{row}"',
        "bad": draw(st.sampled_from([' r="AAAA1"', ' r="A1B"', ' r=" A1"', ' r="1"'])),
    }[reference_style]
    style = sometimes(draw, clean, STYLE_CHOICES, ODD_STYLES)
    attributes = reference + (f' s="{style}"' if style is not None else "")
    attributes += f' t="{kind}"' if kind is not None else ""
    references = draw(st.booleans())
    if kind == "inlineStr":
        content = draw(
            st.sampled_from(["plain", "plain", "preserve", "rich", "phonetic", "none", "empty"])
        )
        text = xml_text(draw(texts), references)
        body = {
            "plain": f"<is><t>{text}</t></is>",
            "preserve": f'<is><t xml:space="preserve">{text}</t></is>',
            "rich": f"<is><r><t>{text}</t></r><r><rPr><b/></rPr><t>{text}!</t></r></is>",
            "phonetic": f'<is><t>{text}</t><rPh sb="0" eb="1"><t>ふ</t></rPh></is>',
            "none": "",
            "empty": "<is><t/></is>",
        }[content]
    else:
        pools = VALUES.get(kind)
        value = sometimes(draw, clean, *pools) if pools else draw(texts)
        formula = draw(st.sampled_from(["", "", "", "<f>1+1</f>", '<f t="shared" si="0"/>']))
        shape = draw(st.sampled_from(["v", "v", "v", "empty", "none"]))
        body = (
            formula
            + {
                "v": f"<v>{xml_text(value, references)}</v>",
                "empty": "<v/>",
                "none": "",
            }[shape]
        )
    xml = f"<c{attributes}/>" if not body and draw(st.booleans()) else f"<c{attributes}>{body}</c>"
    return xml, column + 1


@st.composite
def sheets(draw: st.DrawFn) -> str:
    """The content of a <sheetData>: rows numbered, renumbered, unnumbered; cells of any kind."""
    rows = []
    number = 0
    clean = draw(st.booleans())
    for _ in range(draw(st.integers(0, 8))):
        step = draw(st.sampled_from([1, 1, 1, 1, 1, 2, 5, 0, -1]))
        number = max(number + step, 0)
        numbering = sometimes(draw, clean, ["plain"] * 8 + ["none", "float"], ["bad", "huge"])
        row_attributes = {
            "plain": f' r="{number}"',
            "none": "",
            "float": f' r="{number}.0"',
            "bad": ' r="x"',
            "huge": ' r="1048577"',
        }[numbering]
        if draw(st.booleans()):
            row_attributes += ' spans="1:4"'
        column = 1
        row_cells = []
        for _ in range(draw(st.integers(0, 5))):
            xml, column = draw(cells(max(number, 1), column, clean))
            row_cells.append(xml)
        if not row_cells and draw(st.booleans()):
            rows.append(f"<row{row_attributes}/>")
        else:
            rows.append(f"<row{row_attributes}>{''.join(row_cells)}</row>")
    return "".join(rows)


def laid_out(rows_xml: str, layout: str) -> str:
    """The sheet written compactly, indented, or in a prefixed namespace."""
    if layout == "prefixed":
        return prefixed(rows_xml)
    if layout == "indented":
        for tag in ("<row", "</row>", "<c ", "<c>", "<c/>", "</c>", "<v", "<is>", "</is>", "<f"):
            rows_xml = rows_xml.replace(tag, "\n  " + tag)
        rows_xml = rows_xml.replace("</t></is>", "</t>\n</is>")
    return sheet_xml(rows_xml)


shared_strings = st.lists(
    st.builds(
        lambda text, shape: {
            "plain": f"<si><t>{escape_text(text)}</t></si>",
            "rich": f"<si><r><t>{escape_text(text)}</t></r><r><rPr><b/></rPr><t>!</t></r></si>",
            "phonetic": f'<si><t>{escape_text(text)}</t><rPh sb="0" eb="1"><t>ふ</t></rPh></si>',
            "empty": "<si><t/></si>",
        }[shape],
        texts,
        st.sampled_from(["plain", "plain", "rich", "phonetic", "empty"]),
    ),
    max_size=5,
).map(lambda items: f'<sst xmlns="{MAIN_NS}">{"".join(items)}</sst>')
limits = st.sampled_from(
    [ReadLimits()] * 4
    + [ReadLimits(max_rows=2), ReadLimits(max_columns=2), ReadLimits(max_cell_chars=4)]
)


@EXAMPLES
@given(
    rows_xml=sheets(),
    layout=st.sampled_from(["compact", "compact", "compact", "indented", "prefixed"]),
    strings=shared_strings,
    date1904=st.booleans(),
    limits=limits,
)
def test_generated_sheets_read_as_openpyxl_reads_them(
    tmp_path: Path, rows_xml: str, layout: str, strings: str, date1904: bool, limits: ReadLimits
) -> None:
    path = Parts(
        [Sheet("Customers", laid_out(rows_xml, layout))],
        shared_strings=strings,
        styles=styles_xml(FORMATS, CUSTOM),
        date1904=date1904,
    ).write(tmp_path / "book.xlsx")
    assert_same(path, limits=limits)


@EXAMPLES
@given(
    rows_xml=sheets(),
    position=st.integers(0, 10_000),
    damage=st.sampled_from(
        [
            "<",
            ">",
            "&",
            "</row>",
            "<row>",
            "</c>",
            "<c>",
            '"',
            "\x00",
            "",
            "<v>1</v>",
            "<!-- -->",
            "é",
            "\r",
            # Damage only an XML parser sees, in characters and references.
            "\x01",
            "&#1;",
            "&bogus;",
            "]]>",
            ' r="A1"',
        ]
    ),
    cut=st.integers(0, 3),
)
def test_damaged_sheets_are_refused_as_openpyxl_refuses_them(
    tmp_path: Path, rows_xml: str, position: int, damage: str, cut: int
) -> None:
    xml = sheet_xml(rows_xml)
    start = xml.index("<sheetData>")
    at = start + position % max(len(xml) - start, 1)
    xml = xml[:at] + damage + xml[at + cut :]
    path = Parts([Sheet("S", xml)], styles=styles_xml(FORMATS, CUSTOM)).write(
        tmp_path / "book.xlsx"
    )
    assert_same(path)


# --- workbooks written by openpyxl and xlsxwriter --------------------------------------------

NUMBER_FORMATS = ["General", "0", "00000", "000", "0.00", "yyyy-mm-dd", "d-m-yy h:mm", "h:mm",
                  "[h]:mm:ss", "mm:ss", "@", '"No. "0', "dd/mm/yyyy;@", "0%", "#,##0"]  # fmt: skip
safe_text = st.lists(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=6)
    | st.sampled_from(["\n", "\t", "_x000D_", "_x005F_x0041_", "&<>"]),
    max_size=4,
).map("".join)
values = st.one_of(
    safe_text,
    st.integers(-(10**18), 10**18),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.dates(min_value=dt.date(1900, 3, 1)),
    st.times().map(lambda t: t.replace(microsecond=0)),
    st.none(),
)
grids = st.lists(
    st.lists(st.tuples(values, st.sampled_from(NUMBER_FORMATS)), max_size=6), max_size=6
)


@EXAMPLES
@given(grid=grids, date1904=st.booleans())
def test_workbooks_written_by_openpyxl(
    tmp_path: Path, grid: list[list[tuple[object, str]]], date1904: bool
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    book.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904 if date1904 else book.epoch
    for r, row in enumerate(grid, 1):
        for c, (value, number_format) in enumerate(row, 1):
            if isinstance(value, str) and value.startswith("="):
                value = "'" + value
            cell = sheet.cell(row=r, column=c, value=value)
            cell.number_format = number_format
    path = tmp_path / "book.xlsx"
    book.save(path)
    assert_same(path)


@EXAMPLES
@given(grid=grids, constant_memory=st.booleans())
def test_workbooks_written_by_xlsxwriter(
    tmp_path: Path, grid: list[list[tuple[object, str]]], constant_memory: bool
) -> None:
    path = tmp_path / "book.xlsx"
    book = xlsxwriter.Workbook(
        str(path), {"constant_memory": constant_memory, "strings_to_numbers": False}
    )
    sheet = book.add_worksheet("Customers")
    formats: dict[str, Any] = {}
    for r, row in enumerate(grid):
        for c, (value, number_format) in enumerate(row):
            fmt = formats.setdefault(number_format, book.add_format({"num_format": number_format}))
            if isinstance(value, str):
                sheet.write_string(r, c, value, fmt)
            elif isinstance(value, bool):
                sheet.write_boolean(r, c, value, fmt)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value, fmt)
            elif isinstance(value, dt.datetime | dt.date | dt.time):
                sheet.write_datetime(r, c, value, fmt)
            else:
                sheet.write_blank(r, c, None, fmt)
    book.close()
    assert_same(path)


def test_the_benchmark_workbook_reads_as_openpyxl_reads_it(tmp_path: Path) -> None:
    from bench import data

    path = tmp_path / "bench.xlsx"
    data._write_xlsx(path, data.import_rows(2000))
    got = assert_same(path)
    assert len(got[1]) == 2001


def test_builtin_formats_are_openpyxls() -> None:
    assert styles.BUILTIN_FORMATS == BUILTIN_FORMATS


@pytest.mark.parametrize(
    "code",
    [None, "General", "0", "yyyy-mm-dd", "[h]:mm:ss", '"d"0', "[Red]0", "[$-409]mmm", "0_d",
     "\\d0", "mm:ss;@", "[mm]:ss", "h", "0.0E+00"],
)  # fmt: skip
def test_date_formats_are_recognised_as_openpyxl_does(code: str | None) -> None:
    from openpyxl.styles.numbers import is_date_format, is_timedelta_format

    assert styles.is_date_format(code) == is_date_format(code)
    assert styles.is_duration_format(code) == is_timedelta_format(code)


@given(
    value=st.one_of(
        st.integers(-(10**6), 3 * 10**6),
        st.floats(-(10**6), 3 * 10**6, allow_nan=False),
        st.floats(allow_nan=False),
    ),
    mac=st.booleans(),
    duration=st.booleans(),
)
def test_serial_numbers_convert_as_openpyxl_converts_them(
    value: float, mac: bool, duration: bool
) -> None:
    from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel

    epoch = MAC_EPOCH if mac else WINDOWS_EPOCH
    try:
        expected: object = from_excel(value, epoch, timedelta=duration)
    except (OverflowError, ValueError) as exc:
        expected = type(exc)
    try:
        got: object = cell_values.from_excel(value, epoch, duration)
    except (OverflowError, ValueError) as exc:
        got = type(exc)
    assert got == expected


@given(text=st.text(st.sampled_from("0123456789-:TZP.HMS "), max_size=24))
def test_iso_dates_convert_as_openpyxl_converts_them(text: str) -> None:
    from openpyxl.utils.datetime import from_ISO8601

    try:
        expected: object = from_ISO8601(text)
    except (ValueError, TypeError, OverflowError) as exc:
        expected = type(exc)
    try:
        got: object = cell_values.from_iso8601(text)
    except (ValueError, TypeError, OverflowError) as exc:
        got = type(exc)
    assert got == expected


def test_refusals_are_bulkport_errors(tmp_path: Path) -> None:
    path = parts(HAND_WRITTEN["a row past Excel's last"]).write(tmp_path / "book.xlsx")
    with pytest.raises(UnreadableFile), open_xlsx(path) as sheet:
        list(sheet.rows)
    wide = parts('<row r="1">' + "<c><v>1</v></c>" * 10 + "</row>").write(tmp_path / "w.xlsx")
    with pytest.raises(LimitExceeded), open_xlsx(wide, limits=ReadLimits(max_columns=3)) as sheet:
        list(sheet.rows)


def test_a_sheet_whose_layout_changes_after_many_rows_gives_each_row_once(
    tmp_path: Path,
) -> None:
    compact = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, 3000))
    indented = '<row r="3000">\n<c r="A3000"><v>3000</v></c></row>'
    path = parts(compact + indented).write(tmp_path / "book.xlsx")
    got = assert_same(path)
    assert [number for number, _ in got[1]] == list(range(1, 3001))


# --- hostile workbooks ------------------------------------------------------------------------


def test_a_20_mb_cell_is_refused_for_its_length(tmp_path: Path) -> None:
    big = "x" * 20_000_000
    rows_xml = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Notes</t></is></c></row>'
        f'<row r="2"><c r="A2" t="inlineStr"><is><t>{big}</t></is></c></row>'
    )
    path = parts(rows_xml).write(tmp_path / "book.xlsx")
    # 20 MB of one letter packs a thousandfold: past the zip check, for the cell's length.
    _, rows, error = assert_same(path, limits=ReadLimits(max_ratio=10**6))
    assert rows == [(1, ["Notes"])]
    assert error is not None
    assert "characters" in error[1]


@pytest.mark.parametrize("referenced", [True, False])
def test_20000_columns_are_refused_for_their_number(tmp_path: Path, referenced: bool) -> None:
    # Cells may name columns up to ZZZ (18,278); past that only unnamed cells go on.
    def cell(column: int) -> str:
        if referenced and column <= coordinates.LAST_COLUMN:
            return f'<c r="{coordinates.column_letter(column)}1"><v>{column}</v></c>'
        return f"<c><v>{column}</v></c>"

    rows_xml = '<row r="1">' + "".join(cell(n) for n in range(1, 20_001)) + "</row>"
    error = assert_same(parts(rows_xml).write(tmp_path / "book.xlsx"))[2]
    assert error is not None
    assert "20,000 columns" in error[1]


def test_a_dimension_claiming_every_cell_costs_nothing(tmp_path: Path) -> None:
    xml = sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>').replace(
        '<dimension ref="A1"/>', '<dimension ref="A1:XFD1048576"/>'
    )
    path = Parts([Sheet("S", xml)]).write(tmp_path / "book.xlsx")
    assert assert_same(path)[1] == [(1, ["1"])]


any_text = st.text(st.characters(blacklist_categories=("Cs", "Co")), max_size=12)


@given(rows=st.lists(st.lists(any_text, max_size=5), max_size=6))
@settings(max_examples=100, deadline=None)
def test_exports_read_back_as_before(rows: list[list[str]]) -> None:

    from bulkport.spreadsheets.xlsx.writer import write_xlsx_rows

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.xlsx"
        with path.open("wb") as out:
            write_xlsx_rows(out, "Customers", rows)
        assert_same(path)
