"""Workbooks written part by part, for tests that need XML no spreadsheet library writes."""

from __future__ import annotations

import io
import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
_TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"

# A stylesheet openpyxl accepts, with the cell formats (cellXfs) left to fill in.
STYLES = (
    '<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="' + MAIN_NS + '">{numfmts}'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    "<cellXfs>{xfs}</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def styles_xml(formats: list[int], custom: dict[int, str] | None = None) -> str:
    """A stylesheet whose cell style ``i`` shows number format ``formats[i]``."""
    numfmts = ""
    if custom:
        numfmts = (
            "<numFmts>"
            + "".join(
                f'<numFmt numFmtId="{number}" formatCode="{escape_attribute(code)}"/>'
                for number, code in custom.items()
            )
            + "</numFmts>"
        )
    xfs = "".join(
        f'<xf numFmtId="{number}" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        for number in formats
    )
    return STYLES.format(numfmts=numfmts, xfs=xfs)


def escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attribute(text: str) -> str:
    return escape_text(text).replace('"', "&quot;")


def sheet_xml(rows_xml: str, *, head: str = "", namespace: str = MAIN_NS) -> str:
    """A worksheet part around ``rows_xml`` (the content of ``<sheetData>``)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{head}'
        f'<worksheet xmlns="{namespace}" xmlns:r="{REL_NS}"><dimension ref="A1"/>'
        f"<sheetData>{rows_xml}</sheetData></worksheet>"
    )


@dataclass
class Sheet:
    name: str
    xml: str | bytes
    state: str | None = None


@dataclass
class Parts:
    """A workbook's parts; ``write`` adds the package plumbing (content types, relations)."""

    sheets: list[Sheet]
    shared_strings: str | bytes | None = None
    styles: str | bytes | None = None
    date1904: bool = False
    extra: dict[str, bytes] = field(default_factory=dict)
    workbook_xml: str | None = None

    def write(self, path: Path) -> Path:
        path.write_bytes(self.bytes())
        return path

    def bytes(self) -> bytes:
        overrides = [
            ("/xl/workbook.xml", f"{_TYPES}.sheet.main+xml"),
            *(
                (f"/xl/worksheets/sheet{i}.xml", f"{_TYPES}.worksheet+xml")
                for i in range(1, len(self.sheets) + 1)
            ),
        ]
        if self.shared_strings is not None:
            overrides.append(("/xl/sharedStrings.xml", f"{_TYPES}.sharedStrings+xml"))
        if self.styles is not None:
            overrides.append(("/xl/styles.xml", f"{_TYPES}.styles+xml"))
        types = (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/>'
            + "".join(f'<Override PartName="{n}" ContentType="{t}"/>' for n, t in overrides)
            + "</Types>"
        )
        sheets = "".join(
            f'<sheet name="{escape_attribute(sheet.name)}" sheetId="{i}" r:id="rId{i}"'
            + (f' state="{sheet.state}"' if sheet.state else "")
            + "/>"
            for i, sheet in enumerate(self.sheets, 1)
        )
        workbook = self.workbook_xml or (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" '
            f'xmlns:r="{REL_NS}">'
            + ('<workbookPr date1904="1"/>' if self.date1904 else "<workbookPr/>")
            + f"<sheets>{sheets}</sheets></workbook>"
        )
        relations = "".join(
            f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" '
            f'Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(self.sheets) + 1)
        )
        workbook_rels = (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE_REL}">'
            f"{relations}</Relationships>"
        )
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
            book.writestr("[Content_Types].xml", types)
            book.writestr(
                "_rels/.rels",
                f'<?xml version="1.0"?><Relationships xmlns="{_PACKAGE_REL}"><Relationship '
                f'Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
                "</Relationships>",
            )
            book.writestr("xl/workbook.xml", workbook)
            book.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
            for i, sheet in enumerate(self.sheets, 1):
                book.writestr(f"xl/worksheets/sheet{i}.xml", sheet.xml)
            if self.shared_strings is not None:
                book.writestr("xl/sharedStrings.xml", self.shared_strings)
            if self.styles is not None:
                book.writestr("xl/styles.xml", self.styles)
            for name, content in self.extra.items():
                book.writestr(name, content)
        return out.getvalue()


def patch_directory(path: Path, part: str, **fields: int) -> None:
    """Overwrite a part's flags, CRC or sizes where the zip declares them (both headers)."""
    data = bytearray(path.read_bytes())
    name = part.encode()
    # Where each header keeps (flags, crc, size, name length), and where its name starts.
    layouts = {b"PK\x03\x04": (6, 14, 22, 26, 30), b"PK\x01\x02": (8, 16, 24, 28, 46)}
    found = 0
    for signature, (flags, crc, size, name_length_at, name_offset) in layouts.items():
        for match in re.finditer(re.escape(signature), data):
            start = match.start()
            (name_length,) = struct.unpack_from("<H", data, start + name_length_at)
            name_at = start + name_offset
            if bytes(data[name_at : name_at + name_length]) != name:
                continue
            found += 1
            if "flags" in fields:
                (old,) = struct.unpack_from("<H", data, start + flags)
                struct.pack_into("<H", data, start + flags, old | fields["flags"])
            if "crc" in fields:
                struct.pack_into("<I", data, start + crc, fields["crc"])
            if "size" in fields:
                struct.pack_into("<I", data, start + size, fields["size"])
    assert found == 2, f"{part} not found in both headers"
    path.write_bytes(bytes(data))


def inline_workbook(rows: list[list[str]]) -> bytes:
    """One sheet "Customers" of inline strings that leaves out empty cells, as spreadsheet
    programs do."""

    def cell(column: int, number: int, text: str) -> str:
        return f'<c r="{chr(65 + column)}{number}" t="inlineStr"><is><t>{text}</t></is></c>'

    xml = "".join(
        f'<row r="{n}">' + "".join(cell(c, n, t) for c, t in enumerate(row) if t) + "</row>"
        for n, row in enumerate(rows, 1)
    )
    return Parts([Sheet("Customers", sheet_xml(xml))]).bytes()
