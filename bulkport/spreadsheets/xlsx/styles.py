"""Cell number formats from ``xl/styles.xml``: which styles show a date, a duration, or zeros.

A number's text depends on its style only in three ways: a date format makes it a date,
an elapsed-time format ("[h]:mm:ss") a duration, and a format of zeros only ("00000")
pads a whole number to that width (postal codes, phone numbers). Formats are normalised
and judged as openpyxl does, so both give the same text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bulkport.spreadsheets.xlsx.safexml import Node, require

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


@dataclass(frozen=True)
class Styles:
    """Per cell style (``s``) index: whether it shows a date, a duration, and how many zeros
    pad a whole number (0: none; -1: its number format is not in the workbook)."""

    dates: frozenset[int] = frozenset()
    durations: frozenset[int] = frozenset()
    pads: tuple[int, ...] = (0,)


def is_date_format(code: str | None) -> bool:
    """Whether a number format shows a date or time."""
    if code is None:
        return False
    first = _STRIP_FORMAT.sub("", code.split(";")[0])
    return _DATE_CODE.search(first) is not None


def is_duration_format(code: str | None) -> bool:
    """Whether a number format shows elapsed time, like "[h]:mm:ss"."""
    if code is None:
        return False
    return _DURATION_CODE.search(code.split(";")[0]) is not None


def read_styles(root: Node) -> Styles:
    """What the rows need of a stylesheet's custom formats (``numFmts``) and cell styles
    (``cellXfs``)."""
    formats: list[Node] = []
    cell_styles: list[Node] = []
    for child in root.children:
        if child.local == "numFmts":
            formats = [node for node in child.children if node.local == "numFmt"]
        elif child.local == "cellXfs":
            cell_styles = [node for node in child.children if node.local == "xf"]
    custom = _custom_formats(formats)
    if not cell_styles:
        return Styles()
    used: list[str] = []  # custom formats in use, numbered from 164 on
    format_ids: list[int] = []
    dates: set[int] = set()
    durations: set[int] = set()
    for index, node in enumerate(cell_styles):
        _check_cell_style(node)
        format_id, code = _number_format(int(node.attrs.get("numFmtId", 0)), custom, used)
        if is_date_format(code):
            dates.add(index)
        if is_duration_format(code):
            durations.add(index)
        format_ids.append(format_id)
    return Styles(frozenset(dates), frozenset(durations), tuple(_pad(i, used) for i in format_ids))


def _custom_formats(formats: list[Node]) -> dict[int, str]:
    """The workbook's own number formats by id."""
    custom: dict[int, str] = {}
    for node in formats:
        require(node.plain_attrs() == {"numFmtId", "formatCode"}, "numFmt")
        custom[int(node.attrs["numFmtId"])] = node.attrs["formatCode"]
    return custom


def _check_cell_style(node: Node) -> None:
    """Refuse a cell style with an unknown attribute or a number past 32 bits."""
    require(node.plain_attrs() <= _XF_ATTRIBUTES, "xf attributes")
    for number in _XF_NUMBERS:
        if number in node.attrs:
            require(int(node.attrs[number]) in _INT32, "xf number")


def _number_format(
    format_id: int, custom: dict[int, str], used: list[str]
) -> tuple[int, str | None]:
    """A cell style's number format as openpyxl numbers it, and its code: a custom format
    with a built-in's code is that built-in; other custom formats are numbered from 164 in
    the order they are first used (``used`` grows)."""
    if format_id not in custom:
        return format_id, BUILTIN_FORMATS.get(format_id)
    code = custom[format_id]
    if code in _BUILTIN_IDS:
        return _BUILTIN_IDS[code], code
    if code not in used:
        used.append(code)
    return used.index(code) + _CUSTOM_FORMATS_START, code


def _pad(format_id: int, used: list[str]) -> int:
    """The width a format of zeros pads to (0 for any other format, -1 for none found)."""
    if format_id < _CUSTOM_FORMATS_START:
        shown: str | None = BUILTIN_FORMATS.get(format_id, "General")
    else:
        position = format_id - _CUSTOM_FORMATS_START
        shown = used[position] if position < len(used) else None
    if shown is None:
        return -1
    return len(shown) if shown.strip("0") == "" else 0
