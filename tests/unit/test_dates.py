"""Dates as people type them: ISO, day/month orders, Excel serials, month names, column votes."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bulkport.rules.dates import DateOrder, DateOrderVotes, parse_date_text, plausible_birth_date

DMY, MDY, YMD = DateOrder.DMY, DateOrder.MDY, DateOrder.YMD


def test_date_orders_have_their_lower_case_names_as_values() -> None:
    assert [order.value for order in DateOrder] == ["dmy", "mdy", "ymd"]
    assert DateOrder("mdy") is MDY


# --- ISO and year first -----------------------------------------------------------------------


@pytest.mark.parametrize("order", list(DateOrder))
@pytest.mark.parametrize(
    "text",
    [
        "1990-03-04",
        "1990-3-4",
        "  1990-03-04  ",
        "1990-03-04T10:30:00",
        "1990-03-04T10:30:00.123Z",
        "1990-03-04T10:30+01:00",
        "1990-03-04 00:00:00",
        "1990-03-04 0:00",
        "1990/03/04",
        "1990/3/4",
        "1990.03.04",
    ],
)
def test_a_date_with_the_year_first_reads_the_same_in_every_order(
    text: str, order: DateOrder
) -> None:
    assert parse_date_text(text, order) == date(1990, 3, 4)


# --- numbers with the year last ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("03/04/1990", DMY, date(1990, 4, 3)),
        ("03/04/1990", MDY, date(1990, 3, 4)),
        ("3/4/1990", DMY, date(1990, 4, 3)),
        ("3-4-1990", DMY, date(1990, 4, 3)),
        ("3.4.1990", DMY, date(1990, 4, 3)),
        ("3-4-1990", MDY, date(1990, 3, 4)),
        ("3.4.1990", MDY, date(1990, 3, 4)),
        ("25/12/1990", DMY, date(1990, 12, 25)),
        ("12/25/1990", MDY, date(1990, 12, 25)),
        ("3/11/2023 0:00", DMY, date(2023, 11, 3)),
        ("11/3/2023 10:15 PM", MDY, date(2023, 11, 3)),
    ],
)
def test_numbers_with_the_year_last_are_read_in_the_given_order(
    text: str, order: DateOrder, expected: date
) -> None:
    assert parse_date_text(text, order) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25/12/1990", date(1990, 12, 25)),
        ("12/25/1990", date(1990, 12, 25)),
        ("04/04/1990", date(1990, 4, 4)),
    ],
)
def test_year_first_order_reads_a_year_last_date_only_when_the_day_shows(
    text: str, expected: date
) -> None:
    assert parse_date_text(text, YMD) == expected


def test_year_first_order_refuses_a_year_last_date_that_could_be_either() -> None:
    with pytest.raises(ValueError, match=r"^'03/04/1990' could be day/month or month/day"):
        parse_date_text("03/04/1990", YMD)


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("03/04/00", DMY, date(2000, 4, 3)),
        ("03/04/29", DMY, date(2029, 4, 3)),
        ("03/04/30", DMY, date(1930, 4, 3)),
        ("03/04/99", DMY, date(1999, 4, 3)),
        ("03/04/90", MDY, date(1990, 3, 4)),
        ("3.4.05", DMY, date(2005, 4, 3)),
        ("90/03/04", YMD, date(1990, 3, 4)),
        ("05-03-04", YMD, date(2005, 3, 4)),
        ("12-Jan-20", DMY, date(2020, 1, 12)),
        ("12-Jan-30", DMY, date(1930, 1, 12)),
    ],
)
def test_two_digit_years_up_to_29_are_2000s_and_later_ones_1900s(
    text: str, order: DateOrder, expected: date
) -> None:
    assert parse_date_text(text, order) == expected


# --- Excel serial numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", date(1900, 1, 1)),
        ("59", date(1900, 2, 28)),
        ("61", date(1900, 3, 1)),
        ("45234", date(2023, 11, 4)),
        ("45234.0", date(2023, 11, 4)),
        ("45234.00", date(2023, 11, 4)),
        ("32936", date(1990, 3, 4)),
        ("2958465", date(9999, 12, 31)),
    ],
)
def test_an_excel_serial_number_is_the_day_excel_shows(text: str, expected: date) -> None:
    assert parse_date_text(text, DMY) == expected


def test_excel_serial_60_is_a_29_february_1900_that_never_was() -> None:
    with pytest.raises(ValueError, match=r"^'60' is not a real date\.$"):
        parse_date_text("60", DMY)


@pytest.mark.parametrize("text", ["0", "0.0", "2958466", "45234.5", "-45234", "45234,0"])
def test_a_number_outside_excels_dates_is_not_a_date(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a date; write it as YYYY-MM-DD\.$"):
        parse_date_text(text, DMY)


# --- month names -------------------------------------------------------------------------------


@pytest.mark.parametrize("order", list(DateOrder))
@pytest.mark.parametrize(
    "text",
    [
        # English
        "3 March 1990",
        "3rd March 1990",
        "March 3, 1990",
        "march 3 1990",
        "3 Mar 1990",
        "Mar. 3, 1990",
        "03-Mar-1990",
        "3-MAR-90",
        # French
        "3 mars 1990",
        "3 MARS 1990",
        "3-mars-1990",
        # Dutch
        "3 maart 1990",
        "3 mrt 1990",
        "3 mrt. 1990",
    ],
)
def test_a_month_in_words_reads_the_same_in_every_order(text: str, order: DateOrder) -> None:
    assert parse_date_text(text, order) == date(1990, 3, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12-Jan-2020", date(2020, 1, 12)),
        ("1er février 2000", date(2000, 2, 1)),
        ("1 fevrier 2000", date(2000, 2, 1)),
        ("15 févr. 2000", date(2000, 2, 15)),
        ("15 août 2001", date(2001, 8, 15)),
        ("15 aout 2001", date(2001, 8, 15)),
        ("24 décembre 1999", date(1999, 12, 24)),
        ("5 juil. 2010", date(2010, 7, 5)),
        ("5 juin 2010", date(2010, 6, 5)),
        ("17 mei 1985", date(1985, 5, 17)),
        ("17 mai 1985", date(1985, 5, 17)),
        ("May 17, 1985", date(1985, 5, 17)),
        ("1 oktober 1970", date(1970, 10, 1)),
        ("1 okt 1970", date(1970, 10, 1)),
        ("1 octobre 1970", date(1970, 10, 1)),
        ("Sept. 9, 1999", date(1999, 9, 9)),
        ("9 juni 1999", date(1999, 6, 9)),
        ("9 juli 1999", date(1999, 7, 9)),
        ("9 augustus 1999", date(1999, 8, 9)),
    ],
)
def test_english_french_and_dutch_month_names_long_and_short_are_read(
    text: str, expected: date
) -> None:
    assert parse_date_text(text, MDY) == expected


# --- what is refused ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("31/02/1990", DMY),
        ("02/31/1990", MDY),
        ("29/02/2023", DMY),
        ("13/13/2020", DMY),
        ("1990-02-30", MDY),
        ("1990-13-01", DMY),
        ("0000-01-01", DMY),
        ("31 June 2020", DMY),
        ("30 février 2000", DMY),
        ("03/25/1990", DMY),  # not silently read month first: the column's order is DMY
    ],
)
def test_an_impossible_date_is_not_a_real_date(text: str, order: DateOrder) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(repr(text))} is not a real date\\.$"):
        parse_date_text(text, order)


def test_a_leap_day_in_a_leap_year_is_real() -> None:
    assert parse_date_text("29/02/2024", DMY) == date(2024, 2, 29)


@pytest.mark.parametrize(
    "text",
    [
        "soon",
        "",
        "March 1990",
        "3 March",
        "3 Marsh 1990",
        "3/4",
        "3/4/190",
        "3/4-1990",
        "1990-03",
        "04.03.1990.",
        "٣/٤/١٩٩٠",  # Arabic-Indic digits are not read as numbers
    ],
)
def test_text_that_is_no_date_asks_for_yyyy_mm_dd(text: str) -> None:
    message = f"'{text}' is not a date; write it as YYYY-MM-DD."
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_date_text(text, DMY)


def test_a_bare_year_is_read_as_the_excel_serial_it_also_is() -> None:
    # Excel day 1990 is 1905-06-12; plausible_birth_date cannot catch it, the caller must.
    assert parse_date_text("1990", DMY) == date(1905, 6, 12)


def test_a_long_cell_is_cut_in_the_message() -> None:
    with pytest.raises(ValueError, match=r"^'x{39}…' is not a date"):
        parse_date_text("x" * 500, DMY)


# --- votes for a column's order ----------------------------------------------------------------


def votes(*cells: str) -> DateOrderVotes:
    counted = DateOrderVotes()
    for cell in cells:
        counted.add(cell)
    return counted


@pytest.mark.parametrize(
    ("cells", "default", "decided"),
    [
        # no evidence: the default
        ((), DMY, DMY),
        ((), MDY, MDY),
        (("03/04/1990", "1990-12-25", "3 March 1990", "45234", "soon", ""), MDY, MDY),
        # unanimous
        (("25/12/1990",), MDY, DMY),
        (("25/12/1990", "03/04/1990", "13-01-1985", "31.1.20"), MDY, DMY),
        (("12/25/1990",), DMY, MDY),
        (("12/25/1990", "03/04/1990", "1-13-1985", "1.31.20"), DMY, MDY),
        (("25/12/1990",), YMD, DMY),
        # both kinds: the most votes, a tie is the default
        (("25/12/1990", "26/12/1990", "12/25/1990"), MDY, DMY),
        (("25/12/1990", "12/25/1990", "12/26/1990"), DMY, MDY),
        (("25/12/1990", "12/25/1990"), DMY, DMY),
        (("25/12/1990", "12/25/1990"), MDY, MDY),
        # no vote from a cell that shows no order or is no date
        (("13/13/1990", "32/01/1990", "90/12/25", "1990/12/25", "25 12 1990"), MDY, MDY),
        (("25/12-1990",), MDY, MDY),
    ],
)
def test_a_column_takes_the_order_its_telling_dates_vote_for(
    cells: tuple[str, ...], default: DateOrder, decided: DateOrder
) -> None:
    assert votes(*cells).decide(default) is decided


def test_a_cell_with_a_time_still_votes() -> None:
    assert votes(" 25/12/1990 10:00 ").decide(MDY) is DMY


# --- birth dates -------------------------------------------------------------------------------

TODAY = date(2026, 5, 1)


@pytest.mark.parametrize(
    ("born", "plausible"),
    [
        (date(1899, 12, 31), False),
        (date(1900, 1, 1), True),
        (date(1985, 5, 17), True),
        (TODAY, True),
        (date(2026, 5, 2), False),
    ],
)
def test_a_birth_date_is_plausible_from_1900_to_today(born: date, plausible: bool) -> None:
    assert plausible_birth_date(born, TODAY) is plausible
