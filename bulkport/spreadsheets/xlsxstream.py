"""A streaming reader for Excel workbooks (.xlsx) on expat: rows as the text a person sees.

openpyxl's read-only mode builds an object per cell and parses through a pure-Python XML
layer: about 190-280 µs for a 22-column customer row. This reader gives the same rows at
about 30 µs, in memory bounded by one row (plus the shared strings, which openpyxl keeps in
full too).

It reads what openpyxl reads and gives the same rows, cell texts, refusals and messages
(``tests/unit/test_xlsx_stream.py`` compares the two on many workbooks): the workbook part
named in ``[Content_Types].xml``, the sheets of ``xl/workbook.xml`` and its relationships,
shared strings, and the number formats of ``xl/styles.xml`` that make a number a date or pad
it with zeros. Where openpyxl is picky about parts the rows do not depend on (an unknown
attribute on a font, say), this reader does not look. It also reads the strict OOXML
namespace, in which openpyxl finds no rows.

A sheet is read one of two ways. Sheets as spreadsheet programs write them (no whitespace,
comments or prefixes between the cells) take the fast path: expat parses every byte with no
element handlers, which proves the XML well formed and refuses entities, and one regular
expression reads the rows expat has accepted. Anything else (prefixed names, indentation,
rich inline text, a DTD, UTF-16, rows out of place) is read by the exact path, expat with
element handlers, about half as fast; the fast path hands over to it mid-sheet if need be,
and it skips the rows already given.

Security: every XML part goes through an expat parser whose handlers refuse entity
declarations and external references (as defusedxml does for openpyxl): nothing is ever
expanded. The zip itself is checked (sizes, ratios, encryption) before this module runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import posixpath
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, NoReturn, Protocol
from xml.parsers import expat

from bulkport.errors import BulkportError, LimitExceeded, UnreadableFile
from bulkport.spreadsheets.limits import ReadLimits
from bulkport.spreadsheets.spill import read_chunks

# Excel's own limits: rows in a sheet, and the last column a coordinate can name (ZZZ).
EXCEL_ROWS = 1_048_576
LAST_COLUMN = 18_278
# Excel shows at most 15 significant digits; integers from there on lose digits.
EXACT_INTEGER_LIMIT = 1e15
# A row holding more cells than this is no spreadsheet's: refused, so one row stays small.
MAX_ROW_CELLS = 1 << 18
# Parts are inflated and fed to expat in pieces of this size.
CHUNK = 64 * 1024

_SAVE_AGAIN = (
    "Open it in your spreadsheet program, save it again as 'Excel Workbook (.xlsx)' or as "
    "'CSV UTF-8', and upload that file."
)
DAMAGED = "This Excel workbook is damaged and cannot be read. " + _SAVE_AGAIN
ENTITIES = (
    "This workbook holds XML entity declarations, which spreadsheet programs never write; "
    "bulkport refuses them for safety. " + _SAVE_AGAIN
)

_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")

# --- names, as expat reports them with namespace processing ("uri}local") -------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_REL_IDS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships}id",
    "http://purl.oclc.org/ooxml/officeDocument/relationships}id",
)
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _names(local: str) -> frozenset[str]:
    """A SpreadsheetML element's name in the transitional and the strict namespace."""
    return frozenset((f"{_MAIN}}}{local}", f"{_STRICT}}}{local}"))


_ROW = _names("row")
_V = _names("v")
_IS = _names("is")
_SI = _names("si")
_DIMENSION = _names("dimension")
_SHEET_DATA = _names("sheetData")
# openpyxl reads rich text children by local name, whatever their namespace.
_T = frozenset(("t", *_names("t")))
_R = frozenset(("r", *_names("r")))
# Handing expat these very objects lets it return them, so most name tests are identities.
_KNOWN_NAMES = {name: name for names in (_ROW, _V, _IS, _SI, _T, _R) for name in names}

# --- content types and number formats (openpyxl's tables) -----------------------------------

_WORKBOOK_TYPES = (
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
)
_SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
BUILTIN_FORMATS: dict[int, str] = {
    0: "General",
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    5: '"$"#,##0_);("$"#,##0)',
    6: '"$"#,##0_);[Red]("$"#,##0)',
    7: '"$"#,##0.00_);("$"#,##0.00)',
    8: '"$"#,##0.00_);[Red]("$"#,##0.00)',
    9: "0%",
    10: "0.00%",
    11: "0.00E+00",
    12: "# ?/?",
    13: "# ??/??",
    14: "mm-dd-yy",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "m/d/yy h:mm",
    37: "#,##0_);(#,##0)",
    38: "#,##0_);[Red](#,##0)",
    39: "#,##0.00_);(#,##0.00)",
    40: "#,##0.00_);[Red](#,##0.00)",
    41: r'_(* #,##0_);_(* \(#,##0\);_(* "-"_);_(@_)',
    42: r'_("$"* #,##0_);_("$"* \(#,##0\);_("$"* "-"_);_(@_)',
    43: r'_(* #,##0.00_);_(* \(#,##0.00\);_(* "-"??_);_(@_)',
    44: r'_("$"* #,##0.00_)_("$"* \(#,##0.00\)_("$"* "-"??_)_(@_)',
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mmss.0",
    48: "##0.0E+0",
    49: "@",
}
_BUILTIN_IDS = {code: number for number, code in BUILTIN_FORMATS.items()}
# Custom number formats are numbered from here on.
_CUSTOM_FORMATS_START = 164
_STRIP_FORMAT = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_CODE = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_DURATION_CODE = re.compile(
    r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.IGNORECASE
)
_INT32 = range(-(2**31), 2**31)
_XF_NUMBERS = ("numFmtId", "fontId", "fillId", "borderId", "xfId")
_XF_ATTRIBUTES = frozenset(
    (
        *_XF_NUMBERS,
        "quotePrefix",
        "pivotButton",
        "applyNumberFormat",
        "applyFont",
        "applyFill",
        "applyBorder",
        "applyAlignment",
        "applyProtection",
    )
)

# --- dates ----------------------------------------------------------------------------------

WINDOWS_EPOCH = dt.datetime(1899, 12, 30)
MAC_EPOCH = dt.datetime(1904, 1, 1)
_SECONDS_PER_DAY = 86400
_ISO_DATE = re.compile(
    r"""
(?P<date>(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2}))?T?
(?P<time>(?P<hour>\d{2}):(?P<minute>\d{2})(:(?P<second>\d{2})(?P<microsecond>\.\d{1,3})?)?)?Z?""",
    re.VERBOSE,
)
_ISO_DURATION = re.compile(
    r"PT((?P<hours>\d+)H)?((?P<minutes>\d+)M)?((?P<seconds>\d+(\.\d{1,3})?)S)?"
)
_RANGE = re.compile(
    r"""^
[$]?(?P<min_col>[A-Za-z]{1,3})?
[$]?(?P<min_row>\d+)?
(:[$]?(?P<max_col>[A-Za-z]{1,3})?
[$]?(?P<max_row>\d+)?)?
$""",
    re.VERBOSE,
)


# --- text as a person reads it --------------------------------------------------------------


def value_text(value: object) -> str:
    """A cell value as text: dates in ISO, numbers without exponent or ".0"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _unescape(value) if "_x" in value else value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.replace(microsecond=0, tzinfo=None).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.replace(microsecond=0, tzinfo=None).isoformat()
    if isinstance(value, dt.timedelta):
        return _duration_text(value)
    return str(value)


def _float_text(value: float) -> str:
    """A float as Excel shows it: whole numbers plainly, at most 15 significant digits."""
    if value.is_integer() and abs(value) < EXACT_INTEGER_LIMIT:
        return str(int(value))
    if not math.isfinite(value):
        return str(value)
    # Excel keeps 15 significant digits: 0.1 + 0.2 shows as 0.3, not 0.30000000000000004.
    return format(Decimal(format(value, ".15g")), "f")


def _duration_text(value: dt.timedelta) -> str:
    """A duration as Excel's [h]:mm:ss shows it (hours may pass 24)."""
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _unescape(text: str) -> str:
    """Excel's "_x000D_" escapes back to the characters they stand for."""

    def character(match: re.Match[str]) -> str:
        code = int(match.group(1), 16)
        return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)

    return _ESCAPED.sub(character, text)


def from_excel(value: float, epoch: dt.datetime, duration: bool) -> object:
    """An Excel serial number as a date, time or duration, exactly as openpyxl converts it
    (with Lotus 1-2-3's 29 February 1900 that Excel keeps in its 1900 date system)."""
    if duration:
        delta = dt.timedelta(days=value)
        if delta.microseconds:
            # Rounded to the millisecond, as openpyxl does.
            delta = dt.timedelta(
                seconds=delta.total_seconds() // 1, microseconds=round(delta.microseconds, -3)
            )
        return delta
    day, fraction = divmod(value, 1)
    diff = dt.timedelta(milliseconds=round(fraction * _SECONDS_PER_DAY * 1000))
    if 0 <= value < 1 and diff.days == 0:
        minutes, seconds = divmod(diff.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return dt.time(hours, minutes, seconds, diff.microseconds)
    if 0 < value < 60 and epoch == WINDOWS_EPOCH:
        day += 1
    return epoch + dt.timedelta(days=day) + diff


def from_iso8601(text: str) -> object:
    """A ``t="d"`` cell's ISO 8601 text as openpyxl reads it (date, time, datetime or a
    ``PT…`` duration)."""
    if not text:
        return None
    match = _ISO_DATE.match(text)
    if match and any(match.groups()):
        parts: dict[str, object] = match.groupdict(0)
        for key in ("year", "month", "day", "hour", "minute", "second"):
            if parts[key]:
                parts[key] = int(str(parts[key]))
        if parts["microsecond"]:
            parts["microsecond"] = int(float(str(parts["microsecond"])) * 1_000_000)
        numbers: dict[str, int] = {
            key: int(str(value))
            for key, value in parts.items()
            if key not in ("date", "time") and value is not None
        }
        if not parts["date"]:
            return dt.time(
                numbers["hour"], numbers["minute"], numbers["second"], numbers["microsecond"]
            )
        if not parts["time"]:
            return dt.date(numbers["year"], numbers["month"], numbers["day"])
        return dt.datetime(
            numbers["year"],
            numbers["month"],
            numbers["day"],
            numbers["hour"],
            numbers["minute"],
            numbers["second"],
            numbers["microsecond"],
        )
    match = _ISO_DURATION.match(text)
    if match and any(match.groups()):
        amounts = {key: float(value) if value else 0.0 for key, value in match.groupdict(0).items()}
        return dt.timedelta(**amounts)
    raise ValueError(f"Invalid datetime value {text}")


def is_date_format(code: str | None) -> bool:
    """Whether a number format shows a date or time (openpyxl's test)."""
    if code is None:
        return False
    first = _STRIP_FORMAT.sub("", code.split(";")[0])
    return _DATE_CODE.search(first) is not None


def is_duration_format(code: str | None) -> bool:
    """Whether a number format shows elapsed time, like "[h]:mm:ss" (openpyxl's test)."""
    if code is None:
        return False
    return _DURATION_CODE.search(code.split(";")[0]) is not None


# --- columns --------------------------------------------------------------------------------

_LETTERS = {letter: position for position, letter in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1)}
_DIGITS = "0123456789"
# Column letters met so far and their numbers: at most every spelling of A…ZZZ.
_COLUMNS: dict[str, int] = {}


def _column_index(letters: str) -> int:
    """A column's number from its letters, "A" = 1, as openpyxl reads them (any case)."""
    if len(letters) > 3:
        raise ValueError(f"{letters!r} is not a column")
    index = 0
    for letter, power in zip(reversed(letters.upper()), (1, 26, 676), strict=False):
        position = _LETTERS.get(letter)
        if position is None:
            raise ValueError(f"{letters!r} is not a column")
        index += position * power
    if not 0 < index <= LAST_COLUMN:
        raise ValueError(f"{letters!r} is not a column")
    return index


def _coordinate_column(coordinate: str) -> int:
    """The column of a cell reference like "C12", checked the way openpyxl checks it."""
    split = 0
    for split, character in enumerate(coordinate):  # noqa: B007 - the position is the result
        if character in _DIGITS:
            break
    int(coordinate[split:])
    letters = coordinate[:split]
    column = _column_index(letters)
    if letters.isascii() and letters.isalpha():
        _COLUMNS[letters] = column
    return column


def column_letter(index: int) -> str:
    """A column's letters from its number, 1 = "A"."""
    if not 1 <= index <= LAST_COLUMN:
        raise ValueError(f"Invalid column index {index}")
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _range_boundaries(reference: str) -> None:
    """Raise as openpyxl does when a sheet's ``<dimension ref>`` is no cell range."""
    match = _RANGE.match(reference)
    if not match:
        raise ValueError(f"{reference} is not a valid coordinate or range")
    min_col, min_row, separator, max_col, max_row = match.groups()
    if separator:
        columns, rows = (min_col, max_col), (min_row, max_row)
        if not (
            all(columns + rows)
            or (all(columns) and not any(rows))
            or (all(rows) and not any(columns))
        ):
            raise ValueError(f"{reference} is not a valid coordinate or range")
    for letters in (min_col, max_col):
        if letters is not None:
            _column_index(letters)
    for digits in (min_row, max_row):
        if digits is not None:
            int(digits)


# --- protected XML parsing ------------------------------------------------------------------


class _Refused(Exception):
    """An XML part declares entities or refers outside itself: refused, never expanded."""


class _Stop(Exception):
    """Raised by a handler once it has read what it needs: the rest is not parsed."""


def _refuse(*_: object) -> NoReturn:
    raise _Refused


def _undefined_entity(name: str, _parameter: bool) -> NoReturn:
    raise ValueError(f"undefined entity &{name};")


def _parser(intern: dict[str, str] | None = None) -> expat.XMLParserType:
    """An expat parser that refuses entity declarations and external references, as
    defusedxml's does for openpyxl; text comes in one piece per element where it can."""
    parser = expat.ParserCreate(namespace_separator="}", intern={} if intern is None else intern)
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.SkippedEntityHandler = _undefined_entity
    parser.buffer_text = True
    parser.buffer_size = CHUNK
    return parser


def _feed(parser: expat.XMLParserType, stream: IO[bytes]) -> None:
    """Parse a whole part, a chunk at a time: a part is never held whole in memory."""
    while chunk := stream.read(CHUNK):
        parser.Parse(chunk, False)
    parser.Parse(b"", True)


def _check_xml(archive: zipfile.ZipFile, name: str) -> None:
    """Parse a part only to refuse it as openpyxl would: malformed, or declaring entities."""
    with archive.open(name) as stream:
        _feed(_parser(), stream)


@dataclass
class _Node:
    """An element of a small part (content types, workbook, relationships, styles)."""

    tag: str
    attrs: dict[str, str]
    children: list[_Node] = field(default_factory=list)

    @property
    def local(self) -> str:
        return self.tag.rpartition("}")[2]

    def plain_attrs(self) -> set[str]:
        """Attribute names outside any namespace: those openpyxl checks against its model."""
        return {name for name in self.attrs if "}" not in name}


def _tree(archive: zipfile.ZipFile, name: str) -> _Node:
    """A small part as a tree of elements (attributes only: no part read here needs text)."""
    parser = _parser()
    stack: list[_Node] = []
    roots: list[_Node] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = _Node(tag, attrs)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(_tag: str) -> None:
        stack.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    with archive.open(name) as stream:
        _feed(parser, stream)
    return roots[0]


def _require(condition: bool, what: str) -> None:
    """Refuse a part where openpyxl's model would (a missing or unknown attribute)."""
    if not condition:
        raise ValueError(what)


# --- the workbook ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Styles:
    """What the rows need of ``xl/styles.xml``, per cell style (``s``) index: whether the
    style shows a date, a duration, and how many zeros pad a whole number (0: none; -1: the
    style's format cannot be found, which openpyxl reports when it looks)."""

    dates: frozenset[int] = frozenset()
    durations: frozenset[int] = frozenset()
    pads: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class Book:
    """A workbook's worksheets (names, parts, hidden ones) and what their cells refer to."""

    sheet_names: list[str]
    sheet_parts: list[str]
    hidden: set[int]
    strings: list[str]
    styles: Styles
    epoch: dt.datetime


@dataclass(frozen=True)
class _Relationship:
    type: str
    target: str


def read_book(archive: zipfile.ZipFile) -> Book:
    """The workbook's sheets, shared strings and styles, read in openpyxl's order so that a
    workbook refused for two reasons is refused for the same one."""
    try:
        return _read_book(archive)
    except BulkportError:
        raise
    except _Refused:
        raise UnreadableFile(ENTITIES) from None
    except Exception as exc:
        raise UnreadableFile(DAMAGED) from exc


def _read_book(archive: zipfile.ZipFile) -> Book:
    names = set(archive.namelist())
    manifest = _tree(archive, "[Content_Types].xml")
    overrides: list[tuple[str, str]] = []
    defaults: set[str] = set()
    for child in manifest.children:
        if child.local == "Override":
            _require(child.plain_attrs() == {"PartName", "ContentType"}, "Override")
            overrides.append((child.attrs["PartName"], child.attrs["ContentType"]))
        elif child.local == "Default":
            _require(child.plain_attrs() == {"Extension", "ContentType"}, "Default")
            defaults.add(child.attrs["ContentType"])
    strings: list[str] = []
    for part, content_type in overrides:
        if content_type == _SHARED_STRINGS_TYPE:
            strings = _shared_strings(archive, part[1:])
            break
    workbook_part = _workbook_part(overrides, defaults)
    sheets, epoch = _workbook(_tree(archive, workbook_part))
    for properties in ("docProps/core.xml", "docProps/custom.xml"):
        if properties in names:
            _check_xml(archive, properties)
    styles = _styles(archive) if "xl/styles.xml" in names else Styles()
    relationships: dict[str | None, _Relationship] | None = None
    sheet_names: list[str] = []
    sheet_parts: list[str] = []
    hidden: set[int] = set()
    for name, relationship_id, state in sheets:
        if not relationship_id:
            continue
        if relationships is None:
            relationships = _relationships(archive, _relationships_part(workbook_part))
        relationship = relationships[relationship_id]
        part = relationship.target
        if part not in names:
            continue
        part_relationships = _relationships_part(part)
        if "chartsheet" in relationship.type:
            # openpyxl reads a chart sheet's drawings through its relationships, and fails
            # without them; a chart sheet holds no rows either way.
            _check_xml(archive, part_relationships)
            _check_xml(archive, part)
            continue
        if part_relationships in names:
            _check_xml(archive, part_relationships)
        _check_sheet_head(archive, part)
        if state != "visible":
            hidden.add(len(sheet_names))
        sheet_names.append(name)
        sheet_parts.append(part)
    return Book(sheet_names, sheet_parts, hidden, strings, styles, epoch)


def _workbook_part(overrides: list[tuple[str, str]], defaults: set[str]) -> str:
    """The workbook part the content types name (a template or macro workbook reads too)."""
    for workbook_type in _WORKBOOK_TYPES:
        for part, content_type in overrides:
            if content_type == workbook_type:
                return part[1:]
    if defaults & set(_WORKBOOK_TYPES):
        return "xl/workbook.xml"
    raise ValueError("no workbook part")


def _workbook(root: _Node) -> tuple[list[tuple[str, str | None, str | None]], dt.datetime]:
    """The sheets listed in the workbook part, (name, relationship id, state), and the epoch
    of its dates (1904 for workbooks from old Macs)."""
    sheets: list[tuple[str, str | None, str | None]] = []
    epoch = WINDOWS_EPOCH
    for child in root.children:
        if child.local == "workbookPr":
            flag = child.attrs.get("date1904")
            epoch = MAC_EPOCH if flag not in (None, "false", "f", "0") and flag else WINDOWS_EPOCH
        elif child.local == "sheets":
            sheets = [_sheet_entry(sheet) for sheet in child.children]
    return sheets, epoch


def _sheet_entry(sheet: _Node) -> tuple[str, str | None, str | None]:
    attrs = sheet.attrs
    _require(sheet.plain_attrs() <= {"name", "sheetId", "state"}, "sheet attributes")
    _require("name" in attrs and "sheetId" in attrs, "sheet name")
    int(attrs["sheetId"])
    state: str | None = attrs.get("state", "visible")
    if state == "none":
        state = None
    _require(state in (None, "visible", "hidden", "veryHidden"), "sheet state")
    relationship_id = next((attrs[key] for key in _REL_IDS if key in attrs), None)
    return attrs["name"], relationship_id, state


def _relationships_part(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def _relationships(archive: zipfile.ZipFile, name: str) -> dict[str | None, _Relationship]:
    """A part's relationships by id, targets made absolute. Like openpyxl, one malformed
    relationship drops them all."""
    root = _tree(archive, name)
    parent = posixpath.split(posixpath.dirname(name))[0]
    found: dict[str | None, _Relationship] = {}
    for child in root.children:
        attrs = child.attrs
        kind = attrs.get("Type")
        if "type" in attrs:
            kind = f"{_REL_NS}/{attrs['type']}"
        target = attrs.get("Target")
        if (
            not child.plain_attrs() <= {"Id", "Type", "Target", "TargetMode", "type"}
            or kind is None
            or target is None
        ):
            return {}
        if attrs.get("TargetMode") != "External":
            if target.startswith("/"):
                target = target[1:]
            else:
                target = posixpath.normpath(posixpath.join(parent, target))
        found[attrs.get("Id")] = _Relationship(kind, target)
    return found


def _styles(archive: zipfile.ZipFile) -> Styles:
    """Per cell style: date, duration, zero padding; the way openpyxl normalises formats."""
    root = _tree(archive, "xl/styles.xml")
    formats: list[_Node] = []
    cell_styles: list[_Node] = []
    for child in root.children:
        if child.local == "numFmts":
            formats = [node for node in child.children if node.local == "numFmt"]
        elif child.local == "cellXfs":
            cell_styles = [node for node in child.children if node.local == "xf"]
    custom: dict[int, str] = {}
    for node in formats:
        _require(node.plain_attrs() == {"numFmtId", "formatCode"}, "numFmt")
        custom[int(node.attrs["numFmtId"])] = node.attrs["formatCode"]
    if not cell_styles:
        return Styles()
    used: list[str] = []  # custom formats in use, numbered from 164 on
    codes: list[tuple[int, str | None]] = []
    dates: set[int] = set()
    durations: set[int] = set()
    for index, node in enumerate(cell_styles):
        _require(node.plain_attrs() <= _XF_ATTRIBUTES, "xf attributes")
        for number in _XF_NUMBERS:
            if number in node.attrs:
                _require(int(node.attrs[number]) in _INT32, "xf number")
        format_id = int(node.attrs.get("numFmtId", 0))
        code: str | None
        if format_id in custom:
            code = custom[format_id]
            if code in _BUILTIN_IDS:
                format_id = _BUILTIN_IDS[code]
            else:
                if code not in used:
                    used.append(code)
                format_id = used.index(code) + _CUSTOM_FORMATS_START
        else:
            code = BUILTIN_FORMATS.get(format_id)
        if is_date_format(code):
            dates.add(index)
        if is_duration_format(code):
            durations.add(index)
        codes.append((format_id, code))
    pads = []
    for format_id, _code in codes:
        if format_id < _CUSTOM_FORMATS_START:
            shown: str | None = BUILTIN_FORMATS.get(format_id, "General")
        else:
            position = format_id - _CUSTOM_FORMATS_START
            shown = used[position] if position < len(used) else None
        if shown is None:
            pads.append(-1)
        else:
            pads.append(len(shown) if shown.strip("0") == "" else 0)
    return Styles(frozenset(dates), frozenset(durations), tuple(pads))


def _shared_strings(archive: zipfile.ZipFile, name: str) -> list[str]:
    """The shared strings as cell texts, read as openpyxl's ``Text`` model reads an
    ``<si>``: its last direct ``<t>``, then each rich text run's last ``<t>`` (phonetic
    hints left out); an element's text is what precedes its first child."""
    strings: list[str] = []
    pieces: list[str] = []
    parser = _parser(dict(_KNOWN_NAMES))
    # Outside an <si> (0), in it (1), in its <t> (2), in a run (3), in the run's <t> (4).
    where = 0
    skip = 0
    captured: str | None = None
    plain: str | None = None
    run: str | None = None
    runs: list[str] = []

    def start(tag: str, _attrs: dict[str, str]) -> None:
        nonlocal where, skip, captured, plain, run, runs
        if skip:
            skip += 1
        elif where == 0:
            if tag in _SI:
                where, plain, runs = 1, None, []
        elif where in (1, 3) and (tag in _T or tag.rpartition("}")[2] == "t"):
            where += 1
            pieces.clear()
            captured = None
        elif where == 1 and (tag in _R or tag.rpartition("}")[2] == "r"):
            where, run = 3, None
        else:
            if where in (2, 4) and captured is None:
                captured = "".join(pieces)
            skip = 1

    def end(_tag: str) -> None:
        nonlocal where, skip, plain, run
        if skip:
            skip -= 1
        elif where == 1:
            content = ((plain or "") + "".join(runs)).replace("x005F_", "")
            strings.append(_unescape(content) if "_x" in content else content)
            where = 0
        elif where == 2:
            plain = captured if captured is not None else "".join(pieces)
            where = 1
        elif where == 3:
            if run:
                runs.append(run)
            where = 1
        elif where == 4:
            run = captured if captured is not None else "".join(pieces)
            where = 3

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = pieces.append
    with archive.open(name) as stream:
        while chunk := stream.read(CHUNK):
            parser.Parse(chunk, False)
            if where not in (2, 4) or captured is not None:
                pieces.clear()  # text outside a <t> is never kept
        parser.Parse(b"", True)
    return strings


# --- sheets ---------------------------------------------------------------------------------


def _check_sheet_head(archive: zipfile.ZipFile, part: str) -> None:
    """Refuse a sheet where openpyxl refuses it on opening: it parses each sheet up to the
    end of its ``<dimension>`` (or of ``<sheetData>`` when there is none), so XML errors
    there, entity declarations and a malformed dimension fail the whole workbook."""
    try:
        _sheet_head(archive, part, exact=False)
    except _NeedsExactScan:
        _sheet_head(archive, part, exact=True)


class _NeedsExactScan(Exception):
    """The fast scan failed past ``<sheetData>``: find out whether before its end."""


def _sheet_head(archive: zipfile.ZipFile, part: str, *, exact: bool) -> None:
    parser = _parser()
    dimensions: list[dict[str, str]] = []
    bare = False

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal bare
        if tag in _DIMENSION:
            dimensions.append(attrs)
        elif tag in _SHEET_DATA and not exact:
            # No dimension before the rows: the rest is only checked to be well formed,
            # by expat alone (fast); on an error the exact scan decides.
            parser.StartElementHandler = None
            parser.EndElementHandler = None
            bare = True

    def end(tag: str) -> None:
        if tag in _DIMENSION:
            attrs = dimensions.pop()
            known = {name for name in attrs if "}" not in name}
            _require(known == {"ref"}, "dimension")
            _range_boundaries(attrs["ref"])
            raise _Stop
        if tag in _SHEET_DATA:
            raise _Stop

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        with archive.open(part) as stream:
            _feed(parser, stream)
    except _Stop:
        return
    except _Refused:
        raise
    except Exception:
        if bare:
            raise _NeedsExactScan from None
        raise


class _Deferred(str):
    """A cell text openpyxl fails to produce (its style's number format is missing): the
    row is refused as damaged, but only if the cell is still in the row once it is read."""

    __slots__ = ()


_DEFERRED = _Deferred("#ERR")


class _NotPlain(Exception):
    """The sheet's XML is not in the plain form the fast path reads: read it exactly."""


def sheet_rows(
    archive: zipfile.ZipFile,
    book: Book,
    index: int,
    limits: ReadLimits,
    *,
    check_elsewhere: bool = False,
    verify: Callable[[], None] | None = None,
) -> Generator[tuple[int, list[str]], None, None]:
    """Rows that hold cells, with their Excel row numbers; blank rows only if data follows.

    Exactly openpyxl's stream (read-only, cached formula values): rows in document order
    (a row numbered at or below one already read is skipped), cells placed by their ``r``
    (or after the previous cell), a row as wide as its last cell, trailing empty cells left
    out; then the same limits, in the same order, with the same words. A failure comes
    after the rows read before it.

    Sheets as spreadsheet programs write them are read by the fast path (``_plain_rows``);
    the first thing it does not recognise sends the sheet to the exact reader
    (``_exact_rows``), which skips the rows already given.

    ``check_elsewhere``: for a reader that gives up the whole read on any failure (an
    import's survey). A big sheet's XML is then checked by expat in another process, on the
    other core, while this one reads the rows (``ElsewhereCheck``); rows may come from bytes
    not yet checked. Unless that check passes, the sheet is read again the usual way,
    skipping the rows already given, so that the failure is the one it always was. A very
    big sheet's last rows are read by that process too (``Tail``), and taken from it only
    where its reading joins this one's exactly.

    ``verify``: the zip's own check of the sheet part (its stream and checksum), left to the
    check elsewhere, which inflates the part to its end (``checked_elsewhere``); it runs
    here before the sheet is read here, when that check cannot start or did not pass.
    """
    part = book.sheet_parts[index]
    given = 0
    check = None
    split = None
    info = archive.NameToInfo.get(part)
    if check_elsewhere and info is not None and checked_elsewhere(archive, info):
        if info.file_size >= TAIL_ELSEWHERE_BYTES:
            split = Tail(after=info.file_size - int(info.file_size * TAIL_SHARE))
        check = check_starter(archive.filename or "", part, split, limits)
    if check is None and verify is not None:
        verify()  # checked here after all, before any row
        verify = None
    try:
        if check is not None:
            try:
                for row in _plain_rows(archive, part, book, limits, check, until=split):
                    yield row
                    given += 1
                return
            except _Unverified:
                pass  # read again below, checked here
            finally:
                check.close()
            if verify is not None:
                verify()
                verify = None
        skip = given
        for row in _plain_rows(archive, part, book, limits):
            if skip:
                skip -= 1
                continue
            yield row
            given += 1
        return
    except _NotPlain:
        pass
    if verify is not None:
        verify()
    for row in _exact_rows(archive, part, book, limits):
        if given:
            given -= 1
        else:
            yield row


# A sheet part is checked in another process from this size on (about 8,000 rows of 22
# columns): expat takes about 12 ms a megabyte here, starting the process about 0.1 s.
CHECK_ELSEWHERE_BYTES = 8 * 1024 * 1024
# From this size on (about 30,000 rows of 22 columns) that process also reads the sheet's
# last rows, the last TAIL_SHARE of its bytes, while this one reads the rest. Its check costs
# about a third of reading the rows (0.7 against 2.0 s for the bench's 107 MB sheet) and
# starting it about 0.15 s, so both are done at about the same time with a share of 0.28:
# (1 - 1/3 - the start's share) / 2. Below this size the start weighs too much.
TAIL_ELSEWHERE_BYTES = 32 * 1024 * 1024
TAIL_SHARE = 0.28
# Where the other process starts reading: the first row at or after the split whose number
# comes first and plain; the same bytes give both processes the same place.
_TAIL_ROW = b'<row r="'
_TAIL_ROW_NUMBER = re.compile(rb'<row r="([0-9]{1,7})"')
# Searched this far past the split without finding such a row, both give the split up.
_TAIL_SEEK_BYTES = 1024 * 1024


def checked_elsewhere(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> bool:
    """Whether a sheet part read with ``check_elsewhere`` is checked in another process."""
    return bool(archive.filename) and part.file_size >= CHECK_ELSEWHERE_BYTES


@dataclass
class Tail:
    """Where a sheet is split between two readers of the same bytes.

    ``start`` is the first ``<row r="`` at or after byte ``after`` of the inflated part and
    before the end of the sheet data (-1 until found); ``first_row`` that row's number;
    ``seen`` the rows holding cells that the second reader read from there on. The first
    reader reads up to ``start``, the second from it; ``searched`` is how far the bytes were
    looked through without finding it.
    """

    after: int
    start: int = -1
    first_row: int = -1
    seen: int = 0
    searched: int = -1

    def find(self, buffer: bytes, base: int, start: int, end: int) -> bool:
        """Look for the start in ``buffer[start:end]`` (part offsets from ``base``)."""
        low = max(start, self.after - base, self.searched - base)
        found = buffer.find(_TAIL_ROW, low, end)
        if found < 0:
            self.searched = max(self.searched, base + end - len(_TAIL_ROW) + 1)
            return False
        # The number follows within a few bytes, at most to the end of what was searched.
        number = _TAIL_ROW_NUMBER.match(buffer, found, end + len(_TAIL_ROW) + 8)
        self.start = base + found
        self.first_row = int(number.group(1)) if number else -1
        return True

    def join(self, theirs: Tail, rows_file: IO[bytes]) -> Iterator[tuple[int, list[str]]] | None:
        """The rows another reader wrote to ``rows_file`` from ``theirs``, when it found the
        tail where this reader did (then its ``seen`` is taken too)."""
        if (theirs.start, theirs.first_row) != (self.start, self.first_row):
            return None
        self.seen = theirs.seen
        rows_file.seek(0)
        return read_chunks(rows_file)


class _NoTail(Exception):
    """No row to start the tail at (see ``_plain_rows``): there is no tail to read."""


class _Unverified(Exception):
    """The check in another process did not pass: read the sheet again, checked here."""


class Check(Protocol):
    """A check of a part's XML running elsewhere, which may read the part's tail too."""

    def passed(self) -> bool:
        """Wait for the check: whether the part is well formed and plain to expat."""

    def tail(self, split: Tail) -> Iterator[tuple[int, list[str]]] | None:
        """Wait for the check: the rows it read from ``split.start`` on (and ``split.seen``
        set), or None when it read none that are usable there."""

    def close(self) -> None:
        """Stop the check if it still runs."""


class ElsewhereCheck:
    """expat's check of one part, as ``_plain_rows`` makes it, run in another process
    (``python -m bulkport.spreadsheets.xmlcheck``): expat holds the interpreter lock, so a
    thread would not run beside the reading. About a third of reading a plain sheet, so the
    process may also read the sheet's last rows, into an unnamed file it is handed."""

    def __init__(
        self, process: subprocess.Popen[bytes], rows_file: IO[bytes] | None = None
    ) -> None:
        self.process = process
        self.rows_file = rows_file
        self.status: int | None = None
        self.report = b""

    @classmethod
    def start(
        cls, path: str, part: str, split: Tail | None = None, limits: ReadLimits | None = None
    ) -> ElsewhereCheck | None:
        """The check started (reading the tail past ``split`` too, when given); None where
        no process can be started (checked here then)."""
        # None or empty in an embedded interpreter: nothing to start.
        python: object = getattr(sys, "executable", None)
        if not isinstance(python, str) or not python:
            return None
        command = [python, "-m", "bulkport.spreadsheets.xmlcheck", path, part]
        rows_file = None
        if split is not None:
            try:
                # Beside the upload, gone when closed: nothing stays on disk.
                rows_file = tempfile.TemporaryFile(  # noqa: SIM115  closed by close()
                    dir=Path(path).parent, prefix=".rows-"
                )
            except OSError:
                rows_file = None
        fds: tuple[int, ...] = ()
        if rows_file is not None and split is not None:
            bounds = limits or ReadLimits()
            fds = (rows_file.fileno(),)
            command += [
                str(split.after), str(fds[0]),
                str(bounds.max_rows), str(bounds.max_columns), str(bounds.max_cell_chars),
            ]  # fmt: skip
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if fds else subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=fds,
            )
        except OSError:
            if rows_file is not None:
                rows_file.close()
            return None
        return cls(process, rows_file)

    def _wait(self) -> int:
        if self.status is None:
            # The report is one short line: the pipe holds it until the process has ended.
            self.status = self.process.wait()
            if self.process.stdout is not None:
                self.report = self.process.stdout.read()
                self.process.stdout.close()
        return self.status

    def passed(self) -> bool:
        """Wait for the check: whether the part is well formed and plain to expat."""
        return self._wait() in (TAIL_READ, TAIL_NOT_READ)

    def tail(self, split: Tail) -> Iterator[tuple[int, list[str]]] | None:
        """Wait for the check: the rows it read from ``split.start`` on, if it read them
        from the same place."""
        if self._wait() != TAIL_READ or self.rows_file is None:
            return None
        try:
            start, first_row, seen = map(int, self.report.split())
        except ValueError:
            return None
        return split.join(Tail(split.after, start, first_row, seen), self.rows_file)

    def close(self) -> None:
        """Stop the check if it still runs (the reading ended early); drop its rows."""
        if self.process.poll() is None:
            self.process.kill()
        self._wait()
        if self.rows_file is not None:
            self.rows_file.close()
            self.rows_file = None


def tail_rows(
    archive: zipfile.ZipFile, part: str, book: Book, limits: ReadLimits, split: Tail
) -> Iterator[tuple[int, list[str]]]:
    """The rows of the sheet's tail, every byte of the part checked by expat on the way
    (the check's reading, ``xmlcheck.read_tail``); any failure, or no row to start the tail
    at, raises (its words are the reader's to find)."""
    return _plain_rows(archive, part, book, limits, tail=split)


# The check's exit statuses: the part is plain and well formed and the tail's rows were
# written; the same, but no tail was read (none asked for, or none usable); not well formed.
TAIL_READ, TAIL_NOT_READ, NOT_PASSED = 0, 3, 1


# How ``sheet_rows`` starts a check (tests run it in-process instead).
check_starter: Callable[[str, str, Tail | None, ReadLimits], Check | None] = ElsewhereCheck.start


class _Rows:
    """What both readers share: a cell's text from its kind, raw value and style, and a
    finished row's checks (row limits, width, cell length) and blank-row buffering."""

    def __init__(self, book: Book, limits: ReadLimits) -> None:
        self.strings = book.strings
        self.dates = book.styles.dates
        self.durations = book.styles.durations
        self.pads = book.styles.pads
        self.epoch = book.epoch
        self.max_rows = limits.max_rows
        self.max_columns = limits.max_columns
        self.max_chars = limits.max_cell_chars
        self.out: list[tuple[int, list[str]]] = []
        self.pending_blank: list[int] = []
        # The last row number gone through (as openpyxl counts them, empty rows too), the
        # next one expected, and the rows holding cells so far.
        self.number = 0
        self.expected = 1
        self.seen = 0

    def text(self, kind: str, raw: str | None, style: int | str) -> str:
        """The text of a cell that is not an inline string (those are plain text)."""
        if not raw:
            return ""
        if kind == "s":
            return self.strings[int(raw)]
        if kind == "n":
            return self.number_text(raw, style)
        if kind == "b":
            return "TRUE" if int(raw) else "FALSE"
        if kind == "d":
            return value_text(from_iso8601(raw))
        # "str", "e" (an error such as #N/A) and any other kind: the text itself.
        return _unescape(raw) if "_x" in raw else raw

    def number_text(self, raw: str, style: int | str) -> str:
        """A number cell's text: a date if its style shows one, else zero-padded when its
        style's format is all zeros (postal codes), as openpyxl and ``value_text`` give it."""
        number: int | float = float(raw) if "." in raw or "E" in raw or "e" in raw else int(raw)
        if style in self.dates:
            try:
                moment = from_excel(number, self.epoch, style in self.durations)
            except (OverflowError, ValueError):
                return "#VALUE!"  # openpyxl's value for a date out of range
            return value_text(moment)
        shown = str(number) if type(number) is int else _float_text(number)
        if shown.isdigit():
            try:
                width = self.pads[style]  # type: ignore[index]  # "" fails as in openpyxl
            except (IndexError, TypeError):
                return _DEFERRED
            if width < 0:
                return _DEFERRED
            if width > len(shown):
                return shown.zfill(width)
        return shown

    def end_row(
        self,
        row_number: int,
        cells: int,
        texts: list[str],
        last_column: int,
        unordered: dict[int, str] | None,
        deferred: bool,
    ) -> None:
        """A row read to its end: checked, and queued in ``out`` (or held if blank)."""
        if row_number < self.expected:
            return  # openpyxl skips a row numbered at or below one already read
        if row_number > EXCEL_ROWS:
            # openpyxl walks every row number up to the next row it finds: a row claiming
            # number 10**12 would keep the worker busy for days.
            raise UnreadableFile(
                f"This workbook has rows past Excel's last row ({EXCEL_ROWS:,}); no "
                "spreadsheet program writes such a file. " + _SAVE_AGAIN
            )
        number = self.number = row_number
        self.expected = row_number + 1
        if not cells:
            return
        self.seen += 1
        if self.seen > self.max_rows:
            raise LimitExceeded(
                f"The sheet has more than {self.max_rows:,} rows, more than bulkport "
                "imports at once. Split the customer list into smaller files."
            )
        if unordered is not None:
            # A row is as wide as its last cell; a later cell replaces an earlier one.
            texts = [unordered.get(position, "") for position in range(1, last_column + 1)]
            while texts and not texts[-1]:
                texts.pop()
        width = len(texts)
        if width > self.max_columns:
            raise LimitExceeded(
                f"Row {number} has {width:,} columns; bulkport reads at most "
                f"{self.max_columns:,}. Delete the unused columns on the right and upload "
                "again."
            )
        if deferred and any(text is _DEFERRED for text in texts):
            raise ValueError("a number format the workbook does not define")
        max_chars = self.max_chars
        if texts and max(map(len, texts)) > max_chars:
            index = next(i for i, text in enumerate(texts) if len(text) > max_chars)
            raise LimitExceeded(
                f"Row {number} has a cell ({column_letter(index + 1)}{number}) longer "
                f"than {max_chars:,} characters; customer fields are far shorter."
            )
        if not texts:
            self.pending_blank.append(number)
            return
        if self.pending_blank:
            self.out.extend((blank, []) for blank in self.pending_blank)
            self.pending_blank.clear()
        self.out.append((number, texts))


def _row_number(reference: str | None, previous: int) -> int:
    """A row's number: its ``r`` (openpyxl accepts "7.0"), else one past the previous row."""
    if reference is None:
        return previous + 1
    try:
        return int(reference)
    except ValueError:
        real = float(reference)
        if not real.is_integer():
            raise ValueError(f"{reference} is not a row number") from None
        return int(real)


def _too_many_cells(number: int, max_columns: int) -> NoReturn:
    raise LimitExceeded(
        f"Row {number} has more than {MAX_ROW_CELLS:,} cells; bulkport reads at most "
        f"{max_columns:,} columns. Delete the unused columns on the right and upload again."
    )


def _refusal(failure: Exception, number: int) -> BulkportError:
    """What a failure while streaming rows tells the person who uploaded the file."""
    if isinstance(failure, BulkportError):
        return failure
    if isinstance(failure, _Refused):
        return UnreadableFile(ENTITIES)
    if number == 0:
        return UnreadableFile(DAMAGED)
    return UnreadableFile(
        f"This Excel workbook is damaged after row {number} and cannot be read. " + _SAVE_AGAIN
    )


# --- the fast path: plain sheets ------------------------------------------------------------
#
# Spreadsheet programs write a sheet's rows without whitespace, comments or prefixes:
# ``<row r="2" spans="1:3"><c r="A2" s="1" t="s"><v>7</v></c>…</row>``. expat parses every
# byte of the part with no element handlers (fast), which proves it well formed and refuses
# entities; the rows it has accepted are then read with one regular expression per chunk.
# Each token below is a whole cell, a row's start or end, or a single character of
# anything else, which sends the sheet to the exact reader.

_ATTRIBUTES = r'((?: [A-Za-z_][A-Za-z0-9_.:-]*+="[^"<&>\t\n\r]*+")*+)'
_TOKENS = re.compile(
    r"[ \t\r\n]*+(?:"
    # A cell; its reference when first and plain ("AB12") as the column's letters.
    r'(<c)(?: r="([A-Z]{1,3}+)[0-9]++")?' + _ATTRIBUTES + "(?:/>|>"
    r"(?:<f" + _ATTRIBUTES.replace("(", "(?:", 1) + r"(?:/>|>[^<]*+</f>))?"
    r'(?:<v>([^<]*+)</v>|<v/>|<is><t(?: xml:space="preserve")?>([^<]*+)</t></is>)?</c>)'
    # A row's start; its number when first and plain.
    r'|<row(?: r="([0-9]++)")?' + _ATTRIBUTES + r"(/?)>"
    r"|(</row>)"
    r"|(.))",
    re.DOTALL,
)
_ATTRIBUTE = re.compile(r' ([^=]+)="([^"]*)"')
_SHEET_DATA_TAG = re.compile(
    rb'<sheetData((?: [A-Za-z_][A-Za-z0-9_.:-]*+="[^"<&>\t\n\r]*+")*+)(/?)>'
)
_ROW_TAG = re.compile(rb"<(?:[^\s<>/!?:]+:)?row[\s/>]")
_REFERENCE = re.compile(r"&([^;]*);")
_PREDEFINED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
# A plain row longer than this is read by the exact reader, which holds less of it.
_MAX_PLAIN_ROW = 8 * 1024 * 1024


def _xml_text(raw: str) -> str:
    """Character data as an XML parser gives it: line ends normalised, references resolved
    (the part has no DTD, so only the five predefined entities and character references)."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in raw:
        raw = _REFERENCE.sub(_resolve, raw)
    return raw


def _resolve(match: re.Match[str]) -> str:
    name = match.group(1)
    if name.startswith("#x"):
        return chr(int(name[2:], 16))
    if name.startswith("#"):
        return chr(int(name[1:]))
    if name in _PREDEFINED:
        return _PREDEFINED[name]
    raise _NotPlain


def _cell_attributes(rest: str) -> tuple[str, int | str, str | None]:
    """A cell's kind (``t``), style (``s``) and, when not first, reference (``r``)."""
    attrs = dict(_ATTRIBUTE.findall(rest))
    if any(name.startswith("xmlns") for name in attrs):
        raise _NotPlain
    number_style = attrs.get("s")
    style: int | str = 0 if number_style is None else int(number_style) if number_style else ""
    return attrs.get("t", "n"), style, attrs.get("r")


_ROW_NUMBER = re.compile(r'(?:^| )r="([^"]*)"')


def _column_of(letters: str) -> int:
    """The column of plain uppercase letters, remembered."""
    column = _COLUMNS[letters] = _column_index(letters)
    return column


class _PlainRegion:
    """Reads regions of whole rows into ``rows``; between regions it keeps only what the
    next one needs (the last row's number, the cell attributes met)."""

    def __init__(self, rows: _Rows) -> None:
        self.rows = rows
        self.known: dict[str, tuple[str, int | str, str | None]] = {}
        self.row_number = 0

    def read(self, region: str) -> None:
        """Read a region of whole rows; ``_NotPlain`` for anything else in it.

        As openpyxl does, a row's number and cells are judged when the row ends: a cell it
        fails on fails the row then, not before something later in the row shows that the
        exact reader must read it.
        """
        rows = self.rows
        strings = rows.strings
        cell_text = rows.text
        end_row = rows.end_row
        known = self.known
        columns = _COLUMNS
        max_cells = MAX_ROW_CELLS
        row_number = self.row_number
        in_row = False
        row_reference = row_rest = ""
        cells = column = 0
        texts: list[str] = []
        unordered: dict[int, str] | None = None
        deferred = False
        row_error: Exception | None = None
        # Line ends to normalise, escapes to resolve, or character references (which could
        # spell an escape): only then is each text looked at twice.
        careful = "\r" in region or "_x" in region or "&#" in region
        for (
            cell,
            letters,
            rest,
            raw,
            inline,
            reference,
            attributes,
            empty_row,
            row_end,
            junk,
        ) in _TOKENS.findall(region):
            if cell:
                if not in_row:
                    raise _NotPlain
                cells += 1
                if cells > max_cells:
                    _too_many_cells(
                        int(row_reference) if row_reference else row_number + 1,
                        rows.max_columns,
                    )
                try:
                    meta = known.get(rest)
                    if meta is None:
                        meta = _cell_attributes(rest)
                        if meta[2] is None and len(known) < 4096:
                            known[rest] = meta
                    kind, style, late_reference = meta
                    if letters:
                        cell_column = columns.get(letters) or _column_of(letters)
                    elif late_reference:
                        cell_column = _coordinate_column(late_reference)
                    else:
                        cell_column = column + 1
                    if cell_column <= column and unordered is None:
                        unordered = dict(enumerate(texts, 1))
                    column = cell_column
                    if kind == "inlineStr":
                        text = inline
                        if careful:
                            text = _xml_text(text)
                            if "_x" in text:
                                text = _unescape(text)
                        elif "&" in text:
                            text = _xml_text(text)
                    else:
                        if careful or "&" in raw:
                            raw = _xml_text(raw)
                        if kind == "s" and raw:
                            text = strings[int(raw)]
                        else:
                            text = cell_text(kind, raw, style)
                            if text is _DEFERRED:
                                deferred = True
                    if unordered is not None:
                        unordered[cell_column] = text
                    elif text:
                        if cell_column - 1 != len(texts):
                            texts.extend([""] * (cell_column - 1 - len(texts)))
                        texts.append(text)
                except _NotPlain:
                    raise
                except Exception as exc:
                    row_error = row_error or exc
            elif row_end:
                if not in_row:
                    raise _NotPlain
                in_row = False
                if row_reference:
                    row_number = int(row_reference)
                else:
                    found = _ROW_NUMBER.search(row_rest)
                    row_number = _row_number(found.group(1) if found else None, row_number)
                if row_error is not None:
                    raise row_error
                end_row(row_number, cells, texts, column, unordered, deferred)
            elif junk:
                raise _NotPlain
            else:
                if in_row or "xmlns" in attributes:
                    raise _NotPlain
                row_reference, row_rest = reference, attributes
                cells = column = 0
                texts = []
                unordered = row_error = None
                deferred = False
                if empty_row:
                    found = None if row_reference else _ROW_NUMBER.search(row_rest)
                    row_number = (
                        int(row_reference)
                        if row_reference
                        else _row_number(found.group(1) if found else None, row_number)
                    )
                    end_row(row_number, 0, texts, 0, None, False)
                else:
                    in_row = True
        if in_row:
            raise _NotPlain  # a region ends with a row's end
        self.row_number = row_number


def _no_doctype(*_: object) -> NoReturn:
    raise _NotPlain


def _utf8_only(_version: str, encoding: str | None, _standalone: int) -> None:
    if encoding is not None and encoding.casefold() != "utf-8":
        raise _NotPlain


def plain_parser() -> expat.XMLParserType:
    """expat as the plain reader checks a sheet: ``_parser``'s refusals, and ``_NotPlain``
    for a document type or an encoding other than UTF-8 (the exact reader reads those)."""
    parser = _parser()
    parser.StartDoctypeDeclHandler = _no_doctype
    parser.XmlDeclHandler = _utf8_only
    with contextlib.suppress(AttributeError):  # expat 2.6+: parse every byte it is given
        parser.SetReparseDeferralEnabled(False)
    return parser


def _plain_rows(
    archive: zipfile.ZipFile,
    part: str,
    book: Book,
    limits: ReadLimits,
    elsewhere: Check | None = None,
    *,
    until: Tail | None = None,
    tail: Tail | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """A plain sheet's rows; ``_NotPlain`` as soon as something is not plain.

    With ``elsewhere``, expat here parses only up to ``<sheetData>``; the rest is read as it
    comes, and ``_Unverified`` ends the read (instead of its end or failure) unless the
    check elsewhere passed. With ``until`` too, the rows are read up to the tail's start;
    there the check's rows of the tail are taken instead of reading on, if its reading
    joins this one's: its first row comes after the last one here, no blank row waits here
    for a row with data, and both together hold no more rows than the limit. Otherwise
    this one reads on.

    With ``tail`` (the check's own reading), every byte is checked as usual but only the rows
    from the tail's start are read (``_NoTail`` when the sheet data ends before it), and
    ``tail.seen`` is set at the end.

    expat parses each chunk first, with no element handlers: only bytes it has accepted are
    read as rows, so a damaged sheet gives the rows before the damage, as openpyxl does.
    Rows are read from ``<sheetData>`` (found by the one handler expat runs until then) to
    the last complete row in the accepted bytes; no row may be found after the sheet data.
    """
    rows = _Rows(book, limits)
    out = rows.out
    region_reader = _PlainRegion(rows)
    parser = plain_parser()
    sheet_data_at = -1

    def head(name: str, _attrs: dict[str, str]) -> None:
        nonlocal sheet_data_at
        if name in _ROW:
            raise _NotPlain  # a row outside sheetData: openpyxl reads it
        if name in _SHEET_DATA:
            sheet_data_at = parser.CurrentByteIndex
            parser.StartElementHandler = None  # from here on expat only checks the XML

    parser.StartElementHandler = head

    buffer = b""
    base = 0  # the part's offset of buffer[0]
    position = -1  # where reading continues; -1 until the <sheetData> tag is read
    after_rows = -1  # where </sheetData> ends, once found
    tail_checked = -1  # how far past it no row was found
    fed = 0
    failure: Exception | None = None
    joined: Iterator[tuple[int, list[str]]] | None = None  # the check's rows of the tail
    try:
        with archive.open(part) as stream:
            chunk = stream.read(CHUNK)
            if chunk.startswith((b"\xff\xfe", b"\xfe\xff")) or chunk[1:2] == b"\x00":
                raise _NotPlain  # UTF-16
            while True:
                final = not chunk
                try:
                    if elsewhere is None or position < 0:
                        parser.Parse(chunk, final)
                    checked = fed + len(chunk)  # the part's bytes expat has accepted
                except expat.ExpatError as exc:
                    failure = exc
                    checked = parser.ErrorByteIndex
                except (_NotPlain, _Refused):
                    raise
                except Exception as exc:
                    raise _NotPlain from exc  # the exact reader words it
                fed += len(chunk)
                buffer += chunk
                if position < 0 <= sheet_data_at < checked:
                    tag = _SHEET_DATA_TAG.match(buffer, sheet_data_at - base)
                    if tag is None or b"xmlns" in tag.group(1) or tag.end() + base > checked:
                        raise _NotPlain
                    position = tag.end() + base
                    if tag.group(2):
                        after_rows = tail_checked = position
                if position >= 0 > after_rows:
                    limit = checked - base
                    end_tag = buffer.find(b"</sheetData>", position - base, limit)
                    reading = True
                    while reading:  # once, or again from a tail's start given up there
                        reading = False
                        start = position - base
                        split = until or tail
                        if split is not None and split.start < 0:
                            # Near the end of what is here a start could still be cut off.
                            end = end_tag if end_tag >= 0 else limit - 32
                            if split.find(buffer, base, start, end):
                                if tail is not None:
                                    position = split.start  # the rows before are read there
                            elif end_tag >= 0 or split.searched - split.after > _TAIL_SEEK_BYTES:
                                # The sheet data ends first, or its rows do not name
                                # themselves first: no tail, it is all read here.
                                if tail is not None:
                                    raise _NoTail
                                until = None
                            elif tail is not None:
                                position = max(position, split.searched)  # not read there
                            start = position - base
                        if until is not None and until.start >= 0:
                            stop = until.start - base
                        elif end_tag >= 0:
                            stop = end_tag
                        else:
                            # Past the split only once the tail's start is known.
                            end = limit if until is None else max(start, until.after - base)
                            last = buffer.rfind(b"</row>", start, min(limit, end))
                            stop = last + 6 if last >= 0 else start
                        if tail is not None and tail.start < 0:
                            stop = start
                        if stop > start:
                            region_reader.read(buffer[start:stop].decode())
                            position = stop + base
                            if out:
                                yield from out
                                out.clear()
                        if until is not None and position == until.start and elsewhere is not None:
                            if not elsewhere.passed():
                                break  # the sheet is read again, checked here
                            joined = elsewhere.tail(until)
                            if (
                                joined is not None
                                and rows.expected <= until.first_row
                                and not rows.pending_blank
                                and rows.seen + until.seen <= rows.max_rows
                            ):
                                break
                            joined = until = None
                            reading = True  # the tail is read here after all
                    if until is not None and position == until.start:
                        break  # the check failed, or its rows of the tail are taken
                    if end_tag >= 0:
                        after_rows = tail_checked = end_tag + 12 + base
                    elif checked - position > _MAX_PLAIN_ROW:
                        raise _NotPlain
                if after_rows >= 0:
                    # openpyxl reads a row wherever it is: none may follow the sheet data.
                    if _ROW_TAG.search(buffer, max(tail_checked - 16, after_rows) - base):
                        raise _NotPlain
                    tail_checked = base + len(buffer)
                    position = after_rows
                if failure is not None:
                    if position < 0 or (
                        after_rows < 0 and buffer[position - base : checked - base].strip()
                    ):
                        raise _NotPlain  # a row may end before the damage: read exactly
                    break
                if final:
                    if (position < 0 <= sheet_data_at) or (position >= 0 > after_rows):
                        raise _NotPlain  # the sheet data did not end the plain way
                    break
                # Keep only what is still to be read (all of the head until <sheetData>).
                if after_rows >= 0:
                    keep = max(base + len(buffer) - 16, base)
                elif position >= 0:
                    keep = position
                else:
                    keep = base
                    if len(buffer) > _MAX_PLAIN_ROW:
                        raise _NotPlain
                buffer = buffer[keep - base :]
                base = keep
                chunk = stream.read(CHUNK)
    except (_NotPlain, _NoTail):
        raise
    except Exception as exc:  # the rows read before it are given first
        failure = exc
    yield from out
    out.clear()
    if elsewhere is not None and not elsewhere.passed():
        raise _Unverified
    if failure is not None:
        raise _refusal(failure, rows.number) from failure
    if joined is not None:
        yield from joined
    if tail is not None:
        tail.seen = rows.seen


# --- the exact reader: any sheet ------------------------------------------------------------

# Where the exact reader is: outside rows, in a row, a cell, its value, its inline string,
# the inline string's text, a rich text run, and the run's text.
_OUT, _IN_ROW, _CELL, _VALUE, _INLINE, _INLINE_TEXT, _RUN, _RUN_TEXT = range(8)
_TEXTS = frozenset((_VALUE, _INLINE_TEXT, _RUN_TEXT))


def _exact_rows(
    archive: zipfile.ZipFile, part: str, book: Book, limits: ReadLimits
) -> Iterator[tuple[int, list[str]]]:
    """Any sheet, through expat's element handlers: slower, but it follows the XML exactly
    (prefixes, whitespace, rich text, rows out of place)."""
    reader = _SheetReader(book, limits)
    out = reader.rows.out
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(CHUNK):
                reader.feed(chunk)
                if out:
                    yield from out
                    out.clear()
            reader.finish()
    except Exception as exc:
        failure = exc
    else:
        yield from out
        return
    yield from out
    out.clear()
    raise _refusal(failure, reader.rows.number) from failure


class _SheetReader:
    """The expat handlers of one sheet and the state they share.

    The handlers are closures over local variables (the fastest state CPython offers), so
    they are built in ``__init__``; ``feed`` parses a chunk, leaving the rows it completed
    in ``rows.out``.

    Like openpyxl, a row counts wherever it is, even inside another row or cell (the outer
    one's state is kept on a stack meanwhile); a row's number is settled at its end (a row
    without ``r`` follows the row that ended last); and a row directly inside a row is, for
    the outer row, an empty cell (openpyxl has cleared it by then).
    """

    def __init__(self, book: Book, limits: ReadLimits) -> None:
        rows = self.rows = _Rows(book, limits)
        strings = rows.strings
        cell_text = rows.text
        max_columns = limits.max_columns
        columns = _COLUMNS
        digits = _DIGITS
        row_names, value_names, inline_names, t_names, r_names = _ROW, _V, _IS, _T, _R
        parser = _parser(dict(_KNOWN_NAMES))
        pieces: list[str] = []  # character data, kept while a value or a text is open
        outer: list[tuple[Any, ...]] = []  # the state of rows around a nested one

        mode = _OUT
        skip = 0  # depth inside an element whose content does not count
        captured: str | None = None  # a text ended early by a child element
        last_row = 0  # the number of the row that ended last
        # The row being read.
        row_reference: str | None = None
        cells = 0
        texts: list[str] = []
        column = 0  # the last cell's column
        unordered: dict[int, str] | None = None  # cells by column once out of order
        deferred = False
        row_error: Exception | None = None  # a cell openpyxl fails on, when the row ends
        # The cell being read.
        kind = "n"
        style: int | str = 0
        cell_column = 0
        value: str | None = None
        seen_value = seen_inline = False
        plain: str | None = None
        run: str | None = None
        runs: list[str] | None = None

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal mode, skip, captured, kind, style, cell_column, value, seen_value
            nonlocal seen_inline, plain, run, runs, cells, column, unordered, row_error
            if mode == _IN_ROW and not skip and name not in row_names:
                # Any child of a row is a cell, as openpyxl reads it.
                cells += 1
                if cells > MAX_ROW_CELLS:
                    _too_many_cells(_row_number_so_far(row_reference, last_row), max_columns)
                kind = attrs.get("t", "n")
                reference = attrs.get("r")
                number_style = attrs.get("s")
                try:
                    if reference:
                        letters = reference.rstrip(digits)
                        found = columns.get(letters) if len(letters) != len(reference) else None
                        cell_column = found or _coordinate_column(reference)
                    else:
                        cell_column = column + 1
                    style = 0 if number_style is None else int(number_style) if number_style else ""
                except Exception as exc:  # raised when the row ends, as openpyxl does
                    row_error = row_error or exc
                    cell_column = column + 1
                if cell_column <= column and unordered is None:
                    unordered = dict(enumerate(texts, 1))
                column = cell_column
                value = None
                seen_value = seen_inline = False
                mode = _CELL
            elif mode == _CELL and not skip and name in value_names and not seen_value:
                seen_value = True
                pieces.clear()
                captured = None
                mode = _VALUE
            elif mode == _CELL and not skip and name in inline_names and not seen_inline:
                seen_inline = True
                plain = runs = None
                mode = _INLINE
            elif mode == _INLINE and not skip and (name in t_names or _local(name) == "t"):
                pieces.clear()
                captured = None
                mode = _INLINE_TEXT
            elif name in row_names:
                start_row(attrs)
            elif skip:
                skip += 1
            elif mode == _INLINE and (name in r_names or _local(name) == "r"):
                run = None
                mode = _RUN
            elif mode == _RUN and (name in t_names or _local(name) == "t"):
                pieces.clear()
                captured = None
                mode = _RUN_TEXT
            elif mode != _OUT:
                if mode in _TEXTS and captured is None:
                    # A child inside a value or a text ends that element's own text
                    # (openpyxl reads ``element.text``).
                    captured = "".join(pieces)
                skip = 1  # the child's content does not count

        def start_row(attrs: dict[str, str]) -> None:
            nonlocal mode, skip, captured, row_reference, cells, texts, column, unordered
            nonlocal deferred, row_error
            if mode != _OUT:
                if mode in _TEXTS and captured is None:
                    captured = "".join(pieces)
                outer.append(
                    (mode, skip, captured, row_reference, cells, texts, column, unordered,
                     deferred, row_error, kind, style, cell_column, value, seen_value,
                     seen_inline, plain, run, runs)
                )  # fmt: skip
            row_reference = attrs.get("r")
            cells = column = skip = 0
            texts = []
            unordered = row_error = None
            deferred = False
            mode = _IN_ROW

        def end_row() -> None:
            nonlocal mode, skip, captured, row_reference, cells, texts, column, unordered
            nonlocal deferred, row_error, kind, style, cell_column, value, seen_value
            nonlocal seen_inline, plain, run, runs, last_row
            # openpyxl reads the row's number, then its cells, then checks it.
            last_row = _row_number(row_reference, last_row)
            if row_error is not None:
                raise row_error
            rows.end_row(last_row, cells, texts, column, unordered, deferred)
            if not outer:
                mode = _OUT
                return
            (mode, skip, captured, row_reference, cells, texts, column, unordered, deferred,
             row_error, kind, style, cell_column, value, seen_value, seen_inline, plain, run,
             runs) = outer.pop()  # fmt: skip
            if mode == _IN_ROW and not skip:
                # For the outer row, a cell with nothing left in it.
                cells += 1
                if cells > MAX_ROW_CELLS:
                    _too_many_cells(_row_number_so_far(row_reference, last_row), max_columns)
                cell_column = column + 1
                if unordered is not None:
                    unordered[cell_column] = ""
                column = cell_column

        def end(_name: str) -> None:
            nonlocal mode, skip, value, plain, run, runs, deferred, row_error
            if skip:
                skip -= 1
            elif mode == _CELL:
                mode = _IN_ROW
                try:
                    if kind == "inlineStr":
                        if seen_inline:
                            text = plain or ""
                            if runs:
                                text += "".join(runs)
                            if "_x" in text:
                                text = _unescape(text)
                        else:
                            text = ""
                    elif kind == "s" and value:
                        text = strings[int(value)]
                    else:
                        text = cell_text(kind, value, style)
                        if text is _DEFERRED:
                            deferred = True
                except Exception as exc:  # raised when the row ends, as openpyxl does
                    row_error = row_error or exc
                    text = ""
                if unordered is not None:
                    unordered[cell_column] = text
                elif text:
                    gap = cell_column - 1 - len(texts)
                    if gap:
                        texts.extend([""] * gap)
                    texts.append(text)
            elif mode == _VALUE:
                value = captured if captured is not None else "".join(pieces)
                mode = _CELL
            elif mode == _INLINE_TEXT:
                plain = captured if captured is not None else "".join(pieces)
                mode = _INLINE
            elif mode == _INLINE:
                mode = _CELL
            elif mode == _IN_ROW:
                end_row()
            elif mode == _RUN:
                if run:
                    if runs is None:
                        runs = []
                    runs.append(run)
                mode = _INLINE
            elif mode == _RUN_TEXT:
                run = captured if captured is not None else "".join(pieces)
                mode = _RUN

        def feed(chunk: bytes) -> None:
            parser.Parse(chunk, False)
            if mode not in _TEXTS or captured is not None:
                pieces.clear()  # character data outside a value or text is never kept

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = pieces.append
        self.feed = feed
        self.finish: Callable[[], object] = lambda: parser.Parse(b"", True)


def _row_number_so_far(reference: str | None, last_row: int) -> int:
    """A row's number before its end, for a message (openpyxl settles it at the end)."""
    try:
        return _row_number(reference, last_row)
    except ValueError:
        return last_row + 1


def _local(name: str) -> str:
    """An element's name without its namespace."""
    return name.rpartition("}")[2]
