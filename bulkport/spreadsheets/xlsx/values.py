"""Cell values as the text a person sees in Excel: numbers, dates, durations, booleans."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

from bulkport.spreadsheets.xlsx.styles import Styles

# Excel shows at most 15 significant digits; integers from there on lose digits.
EXACT_INTEGER_LIMIT = 1e15
WINDOWS_EPOCH = dt.datetime(1899, 12, 30)
MAC_EPOCH = dt.datetime(1904, 1, 1)
_SECONDS_PER_DAY = 86400
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ISO_DATE = re.compile(
    r"""
(?P<date>(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2}))?T?
(?P<time>(?P<hour>\d{2}):(?P<minute>\d{2})(:(?P<second>\d{2})(?P<microsecond>\.\d{1,3})?)?)?Z?""",
    re.VERBOSE,
)
_ISO_DURATION = re.compile(
    r"PT((?P<hours>\d+)H)?((?P<minutes>\d+)M)?((?P<seconds>\d+(\.\d{1,3})?)S)?"
)


def value_text(value: object) -> str:
    """A cell value as text: dates in ISO, numbers without exponent or ".0"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return unescape(value) if "_x" in value else value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return _moment_text(value)
    return str(value)


def _moment_text(value: dt.date | dt.time | dt.timedelta) -> str:
    """A date or time in ISO (a date alone at midnight), a duration as [h]:mm:ss."""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.replace(microsecond=0, tzinfo=None).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.replace(microsecond=0, tzinfo=None).isoformat()
    return _duration_text(value)


def float_text(value: float) -> str:
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


def unescape(text: str) -> str:
    """Excel's "_x000D_" escapes back to the characters they stand for."""

    def character(match: re.Match[str]) -> str:
        code = int(match.group(1), 16)
        return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)

    return _ESCAPED.sub(character, text)


def from_excel(value: float, epoch: dt.datetime, duration: bool) -> object:
    """An Excel serial number as a date, time or duration (with Lotus 1-2-3's 29 February
    1900 that Excel keeps in its 1900 date system), as openpyxl converts it."""
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
    """A ``t="d"`` cell's ISO 8601 text: a date, time, datetime or ``PT…`` duration."""
    if not text:
        return None
    match = _ISO_DATE.match(text)
    if match and any(match.groups()):
        found = match.groupdict()
        numbers = {
            key: int(value)
            for key, value in found.items()
            if key not in ("date", "time", "microsecond") and value
        }
        fraction = found["microsecond"]
        micro = int(float(fraction) * 1_000_000) if fraction else 0
        if not found["date"]:
            return dt.time(numbers["hour"], numbers["minute"], numbers.get("second", 0), micro)
        if not found["time"]:
            return dt.date(numbers["year"], numbers["month"], numbers["day"])
        return dt.datetime(
            numbers["year"], numbers["month"], numbers["day"],
            numbers["hour"], numbers["minute"], numbers.get("second", 0), micro,
        )  # fmt: skip
    match = _ISO_DURATION.match(text)
    if match and any(match.groups()):
        amounts = {key: float(value) if value else 0.0 for key, value in match.groupdict(0).items()}
        return dt.timedelta(**amounts)
    raise ValueError(f"Invalid datetime value {text}")


class Deferred(str):
    """A number whose style names a number format the workbook does not define: the row is
    refused as damaged, but only if the cell is still in the row once it is read (a later
    cell in the same place replaces it)."""

    __slots__ = ()


DEFERRED = Deferred("#ERR")


class CellTexts:
    """The text of a cell from its kind (``t``), raw value and style (``s``)."""

    def __init__(self, strings: list[str], styles: Styles, epoch: dt.datetime) -> None:
        self.strings = strings
        self.dates = styles.dates
        self.durations = styles.durations
        self.pads = styles.pads
        self.epoch = epoch

    def text(self, kind: str, raw: str | None, style: int) -> str:
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
        return unescape(raw) if "_x" in raw else raw

    def number_text(self, raw: str, style: int) -> str:
        """A number's text: a date if its style shows one, else its digits (never an
        exponent), zero-padded when its style's format is all zeros (postal codes)."""
        number: int | float = float(raw) if "." in raw or "E" in raw or "e" in raw else int(raw)
        if style in self.dates:
            try:
                moment = from_excel(number, self.epoch, style in self.durations)
            except (OverflowError, ValueError):
                return "#VALUE!"  # a date past the year 9999
            return value_text(moment)
        shown = str(number) if type(number) is int else float_text(number)
        if shown.isdigit():
            try:
                width = self.pads[style]
            except IndexError:
                return DEFERRED
            if width < 0:
                return DEFERRED
            if width > len(shown):
                return shown.zfill(width)
        return shown
