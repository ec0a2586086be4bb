"""Dates as people type them in spreadsheets: ISO, day and month orders, Excel serials, months.

Only ISO (year first) reads the same everywhere. "03/04/1990" is 3 April to a European and
March 4 to an American, so numbers with the year last are read in a given ``DateOrder``, which
a column's own unambiguous cells can settle (``DateOrderVotes``). Nothing is guessed: a date
that cannot be read raises ``ValueError`` with a message for the person who typed it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from enum import StrEnum


class DateOrder(StrEnum):
    """How to read a date written in numbers whose year does not come first."""

    DMY = "dmy"
    MDY = "mdy"
    YMD = "ymd"


# A time after the date, as spreadsheets and other systems' exports add it; it is dropped.
_TIME = (
    r"(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"
    r"\s*(?:[AaPp][Mm]|Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
_YEAR_FIRST = re.compile(rf"([0-9]{{4}})([-/.])([0-9]{{1,2}})\2([0-9]{{1,2}}){_TIME}")
_YEAR_LAST = re.compile(rf"([0-9]{{1,2}})([-/.])([0-9]{{1,2}})\2([0-9]{{4}}|[0-9]{{2}}){_TIME}")
_SERIAL = re.compile(r"([0-9]{1,7})(?:\.0+)?")
# "3 March 1990", "3rd March 1990", "1er mars 1990", "12-Jan-2020", "March 3, 1990", "Jan. 3 20".
_DAY = r"([0-9]{1,2})(?:st|nd|rd|th|er|e)?"
_SEPARATOR = r"[\s,./-]+"
_YEAR = r"([0-9]{4}|[0-9]{2})"
_DAY_MONTH_YEAR = re.compile(rf"{_DAY}{_SEPARATOR}([a-z]+){_SEPARATOR}{_YEAR}")
_MONTH_DAY_YEAR = re.compile(rf"([a-z]+){_SEPARATOR}{_DAY}{_SEPARATOR}{_YEAR}")

# English, French and Dutch month names, long and short, written without accents.
_MONTH_NAMES: tuple[tuple[str, ...], ...] = (
    ("january", "jan", "janvier", "janv", "januari"),
    ("february", "feb", "fevrier", "fevr", "fev", "februari"),
    ("march", "mar", "mars", "maart", "mrt"),
    ("april", "apr", "avril", "avr"),
    ("may", "mai", "mei"),
    ("june", "jun", "juin", "juni"),
    ("july", "jul", "juillet", "juil", "juli"),
    ("august", "aug", "aout", "augustus"),
    ("september", "sep", "sept", "septembre"),
    ("october", "oct", "octobre", "oktober", "okt"),
    ("november", "nov", "novembre"),
    ("december", "dec", "decembre"),
)
_MONTHS: dict[str, int] = {
    name: number for number, names in enumerate(_MONTH_NAMES, start=1) for name in names
}

# Excel counts days from 1900-01-01 as 1 and, copying Lotus 1-2-3, has a 29 February 1900 as 60.
_EXCEL_LEAP_DAY = 60
_EXCEL_LAST = 2_958_465  # 9999-12-31
_EXCEL_EPOCH_BEFORE_LEAP_DAY = date(1899, 12, 31)
_EXCEL_EPOCH = date(1899, 12, 30)

# Two-digit years up to this one are in the 2000s, later ones in the 1900s.
_PIVOT = 29
_EARLIEST_BIRTH = date(1900, 1, 1)
_SHOWN_LENGTH = 40


def parse_date_text(text: str, order: DateOrder) -> date:
    """The date a person meant, reading numbers with the year last in ``order``.

    Raises ``ValueError`` with a message for store staff when the text is no date, an
    impossible one (31/02/1990) or, in YMD order, one whose day and month cannot be told apart.
    """
    written = text.strip()
    parts = _numeric_parts(written, order) or _month_name_parts(written) or _serial_parts(written)
    if parts is None:
        raise ValueError(f"{_shown(written)} is not a date; write it as YYYY-MM-DD.")
    try:
        return date(*parts)
    except ValueError:
        raise ValueError(f"{_shown(written)} is not a real date.") from None


def plausible_birth_date(born: date, today: date) -> bool:
    """Whether a birth date can be real; one before 1900 or in the future is a typo or the
    wrong day/month order, worth telling the person about."""
    return _EARLIEST_BIRTH <= born <= today


class DateOrderVotes:
    """Evidence from a whole column on whether its dates are day-first or month-first.

    "25/12/1990" can only be day-first and "12/25/1990" only month-first. A column's dates
    share one order, so the cells that show it settle how "03/04/1990" in the others is read.
    """

    __slots__ = ("day_first", "month_first")

    def __init__(self) -> None:
        self.day_first = 0
        self.month_first = 0

    def add(self, text: str) -> None:
        """Count one cell's vote, if it is a date with the year last that shows its order."""
        match = _YEAR_LAST.match(text.strip())
        if match is None:
            return
        first, second = int(match[1]), int(match[3])
        # Above 31 it is no day or month at all ("90/12/25" is year first).
        if 12 < first <= 31 and second <= 12:
            self.day_first += 1
        elif 12 < second <= 31 and first <= 12:
            self.month_first += 1

    def decide(self, default: DateOrder) -> DateOrder:
        """The order most votes show; ``default`` when there are none or they tie."""
        if self.day_first > self.month_first:
            return DateOrder.DMY
        if self.month_first > self.day_first:
            return DateOrder.MDY
        return default


def _numeric_parts(written: str, order: DateOrder) -> tuple[int, int, int] | None:
    """Year, month and day of a date written in numbers, or None if it is not one."""
    match = _YEAR_FIRST.fullmatch(written)
    if match:
        return int(match[1]), int(match[3]), int(match[4])
    match = _YEAR_LAST.fullmatch(written)
    if match is None:
        return None
    first, second, last = match[1], int(match[3]), match[4]
    if order is DateOrder.YMD and len(last) == 2:
        return _full_year(first), second, int(last)
    year = _full_year(last)
    if order is DateOrder.DMY:
        return year, second, int(first)
    if order is DateOrder.MDY:
        return year, int(first), second
    # YMD order, but the year is written last: read it only if the day shows which one it is.
    if int(first) > 12 or int(first) == second:
        return year, second, int(first)
    if second > 12:
        return year, int(first), second
    raise ValueError(f"{_shown(written)} could be day/month or month/day; write it as YYYY-MM-DD.")


def _month_name_parts(written: str) -> tuple[int, int, int] | None:
    """Year, month and day of a date with the month in words, or None if it is not one."""
    folded = unicodedata.normalize("NFKD", written.casefold())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    match = _DAY_MONTH_YEAR.fullmatch(plain)
    if match:
        day, month, year = match[1], match[2], match[3]
    else:
        match = _MONTH_DAY_YEAR.fullmatch(plain)
        if match is None:
            return None
        month, day, year = match[1], match[2], match[3]
    number = _MONTHS.get(month)
    if number is None:
        return None
    return _full_year(year), number, int(day)


def _serial_parts(written: str) -> tuple[int, int, int] | None:
    """Year, month and day of an Excel serial number ("45234", "45234.0"), or None."""
    match = _SERIAL.fullmatch(written)
    if match is None:
        return None
    serial = int(match[1])
    if not 1 <= serial <= _EXCEL_LAST:
        return None
    if serial == _EXCEL_LEAP_DAY:
        return 1900, 2, 29  # never was: it fails as "not a real date"
    epoch = _EXCEL_EPOCH_BEFORE_LEAP_DAY if serial < _EXCEL_LEAP_DAY else _EXCEL_EPOCH
    day = epoch + timedelta(days=serial)
    return day.year, day.month, day.day


def _full_year(digits: str) -> int:
    year = int(digits)
    if len(digits) > 2:
        return year
    return year + (2000 if year <= _PIVOT else 1900)


def _shown(written: str) -> str:
    """The text quoted in a message, cut so that a long cell cannot swamp it."""
    if len(written) > _SHOWN_LENGTH:
        written = written[: _SHOWN_LENGTH - 1] + "…"
    return f"'{written}'"
