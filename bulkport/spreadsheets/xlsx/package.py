"""A workbook's zip: checked against the limits, then its parts found and its sheets listed.

An upload is refused before any sheet is parsed if it is not a zip, is encrypted, or holds
more parts, more bytes, or parts that grow more, than ``ReadLimits`` allows. The sizes the
zip declares are checked first; then every part is inflated once in 1 MB chunks, counting
the real bytes, and the same limits are enforced on that count. CPython's ``zipfile`` never
inflates a part past the size its directory declares (a part that lies fails its CRC
check), so what the reader inflates later is bounded by the sizes checked here.

Parts are found as Excel finds them: the workbook part through ``[Content_Types].xml`` or
``_rels/.rels`` (it need not be ``xl/workbook.xml``), names compared without regard to case
or to the slashes a zip tool wrote (``xl\\workbook.xml``).
"""

from __future__ import annotations

import datetime as dt
import posixpath
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bulkport.errors import JobProblem, LimitExceeded, UnreadableFile
from bulkport.read_limits import ReadLimits
from bulkport.spreadsheets.xlsx import safexml
from bulkport.spreadsheets.xlsx.coordinates import check_range
from bulkport.spreadsheets.xlsx.names import DIMENSION, REL_IDS, REL_NS, SHEET_DATA
from bulkport.spreadsheets.xlsx.refusals import (
    DAMAGED,
    ENTITIES,
    NOT_A_WORKBOOK,
    OLD_OR_PROTECTED,
    OTHER_ZIP,
    PROTECTED,
    SAVE_AGAIN,
)
from bulkport.spreadsheets.xlsx.strings import read_shared_strings
from bulkport.spreadsheets.xlsx.styles import Styles, read_styles
from bulkport.spreadsheets.xlsx.values import MAC_EPOCH, WINDOWS_EPOCH

WORKBOOK_PART = "xl/workbook.xml"
STYLES_PART = "xl/styles.xml"
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Parts smaller than this may compress very well without being a threat.
RATIO_FLOOR = 1024 * 1024
INFLATE_CHUNK = 1024 * 1024

_WORKBOOK_TYPES = (
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
)
_SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
_OFFICE_DOCUMENT = (
    f"{REL_NS}/officeDocument",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
)


# --- the zip ---------------------------------------------------------------------------------


def _key(name: str) -> str:
    """A part name as compared: forward slashes, no leading slash, any case."""
    return name.replace("\\", "/").lstrip("/").casefold()


class Package:
    """The parts of a workbook's zip, found by name in any case and with either slash."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.parts: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            self.parts.setdefault(_key(info.filename), info)

    def find(self, name: str) -> zipfile.ZipInfo | None:
        """The part of that name: spelled exactly, else in another case or with backslashes."""
        return self.archive.NameToInfo.get(name) or self.parts.get(_key(name))

    def open(self, name: str) -> IO[bytes]:
        """The part's inflated bytes as a stream; ``KeyError`` if the zip has no such part."""
        info = self.find(name)
        if info is None:
            raise KeyError(name)
        return self.archive.open(info)

    def tree(self, name: str) -> safexml.Node:
        """A small part read whole as elements."""
        with self.open(name) as stream:
            return safexml.tree(stream)

    def check(self, name: str) -> None:
        """Parse a part only to refuse it when malformed or declaring entities."""
        with self.open(name) as stream:
            safexml.feed(safexml.parser(), stream)


def check_zip(path: Path, limits: ReadLimits) -> None:
    """Refuse a file that is not a workbook's zip or would inflate past the limits."""
    with path.open("rb") as raw:
        head = raw.read(len(OLE2_SIGNATURE))
    if head.startswith(OLE2_SIGNATURE):
        raise UnreadableFile(OLD_OR_PROTECTED)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise UnreadableFile(NOT_A_WORKBOOK) from None
    with archive:
        parts = archive.infolist()
        _check_declared(parts, limits)
        if not _holds_a_workbook(Package(archive)):
            raise UnreadableFile(OTHER_ZIP)
        check_inflated(archive, parts, limits)


def _holds_a_workbook(package: Package) -> bool:
    """Whether the zip has a workbook part, wherever it is (a Word document has none)."""
    if package.find(WORKBOOK_PART) is not None:
        return True
    try:
        overrides, defaults = _content_types(package)
        _workbook_part(package, overrides, defaults)
    except Exception:  # unreadable plumbing: no workbook to be found
        return False
    return True


def _check_declared(parts: list[zipfile.ZipInfo], limits: ReadLimits) -> None:
    """The limits applied to the sizes the zip's directory declares: nothing inflated yet."""
    if len(parts) > limits.max_entries:
        raise LimitExceeded(
            f"This workbook holds more than {limits.max_entries:,} parts (sheets, pictures and "
            "the like); bulkport reads at most that many. Copy the customer list into a new "
            "workbook and upload that."
        )
    if any(part.flag_bits & 0x1 for part in parts):
        raise UnreadableFile(PROTECTED)
    total = 0
    for part in parts:
        _check_part_size(part.file_size, part.compress_size, limits)
        total += part.file_size
        _check_total_size(total, limits)


def check_inflated(
    archive: zipfile.ZipFile, parts: list[zipfile.ZipInfo], limits: ReadLimits
) -> None:
    """The same limits on the bytes each part really inflates to (declared sizes can lie)."""
    total = 0
    for part in parts:
        size = 0
        try:
            with archive.open(part) as stream:
                while chunk := stream.read(INFLATE_CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    _check_part_size(size, part.compress_size, limits)
                    _check_total_size(total, limits)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError):
            raise UnreadableFile(DAMAGED) from None


def _check_part_size(size: int, compressed: int, limits: ReadLimits) -> None:
    if size > limits.max_entry_bytes:
        raise LimitExceeded(
            f"This workbook unpacks to a part larger than {_amount(limits.max_entry_bytes)}, "
            "more than bulkport reads at once. Split the customer list into smaller files."
        )
    if size >= RATIO_FLOOR and size > limits.max_ratio * max(compressed, 1):
        raise LimitExceeded(
            f"Part of this workbook unpacks to more than {limits.max_ratio:,} times its packed "
            "size, as harmful 'zip bomb' files do. " + SAVE_AGAIN
        )


def _check_total_size(total: int, limits: ReadLimits) -> None:
    if total > limits.max_unzipped_bytes:
        raise LimitExceeded(
            f"This workbook unpacks to more than {_amount(limits.max_unzipped_bytes)}, more "
            "than bulkport reads at once. Split the customer list into smaller files."
        )


def _amount(size: int) -> str:
    """A byte count in words a person reads: "200 MB", "2 GB"."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:,.4g} {unit}"
    return f"{size:,} bytes"


# --- the workbook ----------------------------------------------------------------------------


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


def read_book(package: Package) -> Book:
    """The workbook's sheets, shared strings and styles; a part that cannot be read refuses
    the workbook in words."""
    try:
        return _read_book(package)
    except JobProblem:
        raise
    except safexml.Refused:
        raise UnreadableFile(ENTITIES) from None
    except Exception as exc:
        raise UnreadableFile(DAMAGED) from exc


def _read_book(package: Package) -> Book:
    overrides, defaults = _content_types(package)
    shared_strings = next((p for p, kind in overrides if kind == _SHARED_STRINGS_TYPE), None)
    strings = _shared_strings(package, shared_strings) if shared_strings else None
    workbook_part = _workbook_part(package, overrides, defaults)
    sheets, epoch = _workbook(package.tree(workbook_part))
    for properties in ("docProps/core.xml", "docProps/custom.xml"):
        if package.find(properties) is not None:
            package.check(properties)
    relationships = _WorkbookRelationships(package, _relationships_part(workbook_part))
    if strings is None:
        shared_strings = relationships.related("sharedStrings")
        strings = _shared_strings(package, shared_strings) if shared_strings else []
    styles_part = (
        STYLES_PART if package.find(STYLES_PART) is not None else relationships.related("styles")
    )
    styles = read_styles(package.tree(styles_part)) if styles_part else Styles()
    sheet_names: list[str] = []
    sheet_parts: list[str] = []
    hidden: set[int] = set()
    for name, relationship_id, state in sheets:
        part = _worksheet_part(package, relationships, relationship_id)
        if part is None:
            continue
        if state != "visible":
            hidden.add(len(sheet_names))
        sheet_names.append(name)
        sheet_parts.append(part)
    return Book(sheet_names, sheet_parts, hidden, strings, styles, epoch)


class _WorkbookRelationships:
    """The workbook part's relationships, read when first needed (a workbook whose sheets
    and parts are found otherwise never reads them)."""

    def __init__(self, package: Package, part: str) -> None:
        self.package = package
        self.part = part
        self.found: dict[str | None, _Relationship] | None = None

    def by_id(self) -> dict[str | None, _Relationship]:
        if self.found is None:
            self.found = _relationships(self.package, self.part)
        return self.found

    def related(self, kind: str) -> str | None:
        """The workbook's part of that kind, as its relationships name it."""
        if self.package.find(self.part) is None:
            return None
        for relationship in self.by_id().values():
            if relationship.type.endswith(f"/{kind}") and self.package.find(relationship.target):
                return relationship.target
        return None


def _worksheet_part(
    package: Package, relationships: _WorkbookRelationships, relationship_id: str | None
) -> str | None:
    """A listed sheet's part, checked, if it is a worksheet the zip holds; ``None`` for a
    chart sheet or a sheet without a part."""
    if not relationship_id:
        return None
    relationship = relationships.by_id()[relationship_id]
    part = relationship.target
    if package.find(part) is None:
        return None
    part_relationships = _relationships_part(part)
    if "chartsheet" in relationship.type:
        # A chart sheet holds no rows; its drawings are read through its relationships.
        package.check(part_relationships)
        package.check(part)
        return None
    if package.find(part_relationships) is not None:
        package.check(part_relationships)
    _check_sheet_head(package, part)
    return part


def _content_types(package: Package) -> tuple[list[tuple[str, str]], set[str]]:
    """``[Content_Types].xml``: the parts it names with their types, and its default types."""
    overrides: list[tuple[str, str]] = []
    defaults: set[str] = set()
    for child in package.tree("[Content_Types].xml").children:
        if child.local == "Override":
            safexml.require(child.plain_attrs() == {"PartName", "ContentType"}, "Override")
            overrides.append((child.attrs["PartName"], child.attrs["ContentType"]))
        elif child.local == "Default":
            safexml.require(child.plain_attrs() == {"Extension", "ContentType"}, "Default")
            defaults.add(child.attrs["ContentType"])
    return overrides, defaults


def _workbook_part(package: Package, overrides: list[tuple[str, str]], defaults: set[str]) -> str:
    """The workbook part: the one the content types name (a template or macro workbook
    reads too), else the package relationships' main document unless the content types
    give it another type, else ``xl/workbook.xml``."""
    for workbook_type in _WORKBOOK_TYPES:
        for part, content_type in overrides:
            if content_type == workbook_type and package.find(part) is not None:
                return part.replace("\\", "/").lstrip("/")
    if package.find("_rels/.rels") is not None:
        typed = {_key(part): content_type for part, content_type in overrides}
        for relationship in _relationships(package, "_rels/.rels").values():
            # The main document of a Word or PowerPoint file has its own type.
            content_type = typed.get(_key(relationship.target), _WORKBOOK_TYPES[0])
            if (
                relationship.type in _OFFICE_DOCUMENT
                and content_type in _WORKBOOK_TYPES
                and package.find(relationship.target)
            ):
                return relationship.target
    if defaults & set(_WORKBOOK_TYPES) and package.find(WORKBOOK_PART) is not None:
        return WORKBOOK_PART
    raise ValueError("no workbook part")


def _shared_strings(package: Package, part: str) -> list[str]:
    with package.open(part) as stream:
        return read_shared_strings(stream)


def _workbook(root: safexml.Node) -> tuple[list[tuple[str, str | None, str]], dt.datetime]:
    """The sheets listed in the workbook part, (name, relationship id, state), and the epoch
    of its dates (1904 for workbooks from old Macs)."""
    sheets: list[tuple[str, str | None, str]] = []
    epoch = WINDOWS_EPOCH
    for child in root.children:
        if child.local == "workbookPr":
            flag = child.attrs.get("date1904")
            epoch = MAC_EPOCH if flag not in (None, "false", "f", "0") and flag else WINDOWS_EPOCH
        elif child.local == "sheets":
            sheets = [_sheet_entry(sheet) for sheet in child.children]
    return sheets, epoch


def _sheet_entry(sheet: safexml.Node) -> tuple[str, str | None, str]:
    attrs = sheet.attrs
    safexml.require(sheet.plain_attrs() <= {"name", "sheetId", "state"}, "sheet attributes")
    safexml.require("name" in attrs and "sheetId" in attrs, "sheet name")
    int(attrs["sheetId"])
    state = attrs.get("state", "visible")
    safexml.require(state in ("none", "visible", "hidden", "veryHidden"), "sheet state")
    relationship_id = next((attrs[key] for key in REL_IDS if key in attrs), None)
    return attrs["name"], relationship_id, state


def _relationships_part(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def _relationships(package: Package, name: str) -> dict[str | None, _Relationship]:
    """A part's relationships by id, targets made absolute. One malformed relationship
    drops them all (the workbook's sheets are then not found)."""
    root = package.tree(name)
    parent = posixpath.split(posixpath.dirname(name))[0]
    found: dict[str | None, _Relationship] = {}
    for child in root.children:
        attrs = child.attrs
        kind = attrs.get("Type")
        if "type" in attrs:
            kind = f"{REL_NS}/{attrs['type']}"
        target = attrs.get("Target")
        if (
            not child.plain_attrs() <= {"Id", "Type", "Target", "TargetMode", "type"}
            or kind is None
            or target is None
        ):
            return {}
        if attrs.get("TargetMode") != "External":
            target = target.replace("\\", "/")
            if target.startswith("/"):
                target = target[1:]
            else:
                target = posixpath.normpath(posixpath.join(parent, target))
        found[attrs.get("Id")] = _Relationship(kind, target)
    return found


def _check_sheet_head(package: Package, part: str) -> None:
    """Refuse the workbook for a sheet whose head is damaged: XML errors or entities up to
    the end of its ``<dimension>`` (or of ``<sheetData>`` when there is none), or a
    dimension that is no range. Any sheet, not only the one read, as openpyxl refuses."""
    try:
        _sheet_head(package, part, exact=False)
    except _NeedsExactScan:
        _sheet_head(package, part, exact=True)


class _NeedsExactScan(Exception):
    """The quick scan failed past ``<sheetData>``: find out whether before its end."""


def _sheet_head(package: Package, part: str, *, exact: bool) -> None:
    scan = _HeadScan(exact=exact)
    try:
        with package.open(part) as stream:
            safexml.feed(scan.parser, stream)
    except safexml.Stop:
        return
    except safexml.Refused:
        raise
    except Exception:
        if scan.bare:
            raise _NeedsExactScan from None
        raise


class _HeadScan:
    """expat's handlers for a sheet's head: they stop the parse at the end of its
    ``<dimension>`` (checked), or of ``<sheetData>``."""

    def __init__(self, *, exact: bool) -> None:
        self.exact = exact
        self.dimensions: list[dict[str, str]] = []
        self.bare = False  # the rows are being parsed without handlers
        self.parser = safexml.parser()
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag in DIMENSION:
            self.dimensions.append(attrs)
        elif tag in SHEET_DATA and not self.exact:
            # No dimension before the rows: the rest is only checked to be well formed,
            # by expat with no handlers; on an error the exact scan decides.
            self.parser.StartElementHandler = None
            self.parser.EndElementHandler = None
            self.bare = True

    def end(self, tag: str) -> None:
        if tag in DIMENSION:
            attrs = self.dimensions.pop()
            safexml.require({name for name in attrs if "}" not in name} == {"ref"}, "dimension")
            check_range(attrs["ref"])
            raise safexml.Stop
        if tag in SHEET_DATA:
            raise safexml.Stop
