"""Parsing one row's cells into customer values, and the rules a whole customer keeps."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkport.rules.customer import RowParser, record_problems
from bulkport.rules.dates import DateOrder
from bulkport.rules.problems import CellProblem


def parse_cells(
    cells: Mapping[str, object], date_order: DateOrder = DateOrder.DMY
) -> tuple[dict[str, Any], list[CellProblem]]:
    """Parse one row given as field → cell, as an import's ``RowParser`` does."""
    keys = list(cells)
    values, problems = RowParser(dict(enumerate(keys)), date_order).parse(list(cells.values()))
    return ({} if problems else values), problems


def parsed(field: str, cell: object) -> Any:
    """The value of one cell that must parse without a problem."""
    values, problems = parse_cells({field: cell})
    assert problems == []
    return values[field]


def problem_of(field: str, cell: object) -> CellProblem:
    """The single problem one cell must have."""
    values, problems = parse_cells({field: cell})
    assert values == {}
    assert len(problems) == 1
    return problems[0]


# --- text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("  Ann  ", "Ann"),
        ("\tAnn\r\n", "Ann"),
        ("'0612345678", "0612345678"),
        ("'+31 6 1234 5678", "+31 6 1234 5678"),
        ("''t Hart", "'t Hart"),
        ("'t Hart", "'t Hart"),
        ("'s-Hertogenbosch", "'s-Hertogenbosch"),
        ("O'Brien", "O'Brien"),
        ("Ann-Marie van 't Hof", "Ann-Marie van 't Hof"),
    ],
)
def test_text_is_trimmed_and_loses_only_an_apostrophe_that_shields_a_number_or_formula(
    cell: str, value: str
) -> None:
    assert parsed("first_name", cell) == value


def test_a_quoted_formula_imports_as_the_text_it_shows() -> None:
    assert parsed("notes", "'=SUM(A1:A3)") == "=SUM(A1:A3)"


@pytest.mark.parametrize(
    "field",
    [
        "first_name",
        "email",
        "tax_exempt",
        "date_of_birth",
        "customer_type",
        "id",
        "shipping_city",
    ],
)
@pytest.mark.parametrize("cell", ["", "   ", "'", " ' ", None])
def test_a_blank_cell_is_none_for_every_kind_of_field(field: str, cell: object) -> None:
    assert parsed(field, cell) is None


def test_only_the_cells_given_come_back() -> None:
    values, problems = parse_cells({"email": "ann@example.com", "phone": ""})
    assert problems == []
    assert values == {"email": "ann@example.com", "phone": None}


# --- email ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("ann@example.com", "ann@example.com"),
        ("  ann@example.com ", "ann@example.com"),
        ("Ann.Smith@Example.COM", "Ann.Smith@example.com"),
        ("ANN@SHOP.EXAMPLE.CO.UK", "ANN@shop.example.co.uk"),
        ("ann+orders@my-shop.example", "ann+orders@my-shop.example"),
        ("mailto:ann@example.com", "ann@example.com"),
        ("'ann@example.com", "ann@example.com"),
    ],
)
def test_a_valid_email_keeps_its_local_part_and_lower_cases_its_domain(
    cell: str, value: str
) -> None:
    assert parsed("email", cell) == value


@pytest.mark.parametrize(
    "cell",
    [
        "ann",
        "ann@",
        "@example.com",
        "ann@example",
        "ann smith@example.com",
        "ann@@example.com",
        "ann@exam ple.com",
        "ann..smith@example.com",
        "ann@example..com",
        "ann@-example.com",
        "ann@exa_mple.com",
        "ann@example.c",
        "ann@example.com, bob@example.com",
    ],
)
def test_an_invalid_email_is_a_problem_of_the_email_field(cell: str) -> None:
    problem = problem_of("email", cell)
    assert problem.field == "email"
    assert problem.code == "invalid_email"
    assert cell.strip() in problem.message


# --- booleans -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("TRUE", True),
        ("True", True),
        ("true", True),
        (" TRUE ", True),
        ("'TRUE", True),
        ("yes", True),
        ("Yes", True),
        ("1", True),
        ("VRAI", True),
        ("oui", True),
        ("ja", True),
        ("FALSE", False),
        ("False", False),
        ("no", False),
        ("0", False),
        ("FAUX", False),
        ("non", False),
        ("nee", False),
        ("Nee", False),
        (True, True),
        (False, False),
    ],
)
def test_booleans_in_english_french_and_dutch(cell: object, value: bool) -> None:
    assert parsed("tax_exempt", cell) is value
    assert parsed("accepts_marketing", cell) is value


@pytest.mark.parametrize("cell", ["maybe", "2", "-1", "truee", "yes please", "10"])
def test_a_word_that_is_not_a_boolean_is_a_problem(cell: str) -> None:
    problem = problem_of("account_approved", cell)
    assert problem.field == "account_approved"
    assert problem.code == "invalid_boolean"
    assert cell in problem.message


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("1990-05-17", date(1990, 5, 17)),
        (" 1990-05-17 ", date(1990, 5, 17)),
        ("1990-5-7", date(1990, 5, 7)),
        ("2024-02-29", date(2024, 2, 29)),
        ("1990-05-17T00:00:00", date(1990, 5, 17)),
        ("1990-05-17 00:00:00", date(1990, 5, 17)),
        (date(1990, 5, 17), date(1990, 5, 17)),
    ],
)
def test_iso_dates_are_read(cell: object, value: date) -> None:
    assert parsed("date_of_birth", cell) == value


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("05-17-1990", "17"),  # month 17, read day first
        ("19900517", "date"),
        ("2023-02-29", "not a real date"),
        ("1990-13-01", "not a real date"),
        ("1990-00-10", "not a real date"),
        ("soon", "YYYY-MM-DD"),
        ("1990", "only part of a date"),
    ],
)
def test_a_date_that_cannot_be_read_is_a_problem(cell: str, words: str) -> None:
    problem = problem_of("date_of_birth", cell)
    assert problem.field == "date_of_birth"
    assert problem.code == "invalid_date"
    assert words in problem.message


def test_day_first_dates_are_read_in_the_default_order() -> None:
    assert parsed("date_of_birth", "17/05/1990") == date(1990, 5, 17)


def test_a_birth_date_in_the_future_is_implausible() -> None:
    problem = problem_of("date_of_birth", "2999-01-01")
    assert problem.code == "implausible_date"


# --- customer type --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("private", "private"),
        ("Private", "private"),
        ("BUSINESS", "business"),
        ("business", "business"),
        ("particulier", "private"),
        ("Privé", "private"),
        ("zakelijk", "business"),
        ("Entreprise", "business"),
    ],
)
def test_customer_type_is_private_or_business(cell: str, value: str) -> None:
    assert parsed("customer_type", cell) == value


@pytest.mark.parametrize("cell", ["b2b", "person", "vip"])
def test_another_customer_type_is_a_problem(cell: str) -> None:
    problem = problem_of("customer_type", cell)
    assert problem.field == "customer_type"
    assert problem.code == "invalid_choice"
    assert cell in problem.message


# --- Customer Record ID ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("12", 12),
        (" 12 ", 12),
        ("'12", 12),
        ("12.0", 12),
        ("987654321012345678", 987654321012345678),
    ],
)
def test_customer_record_id_is_a_positive_whole_number(cell: str, value: int) -> None:
    assert parsed("id", cell) == value


@pytest.mark.parametrize(
    "cell",
    [
        "0",
        "-3",
        "12.5",
        "1e3",
        "abc",
        "12 34",
        "1234567890123456789",
        "²",  # a digit to str.isdigit(), not to int()
    ],
)
def test_a_customer_record_id_that_is_not_one_is_an_invalid_id(cell: str) -> None:
    problem = problem_of("id", cell)
    assert problem.field == "id"
    assert problem.code == "invalid_id"
    assert cell in problem.message


# --- lengths --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("first_name", 100),
        ("initials", 20),
        ("phone", 40),
        ("company", 255),
        ("invoice_postal_code", 20),
        ("shipping_city", 100),
        ("notes", 10_000),
    ],
)
def test_a_cell_over_the_field_length_is_too_long(field: str, limit: int) -> None:
    assert parsed(field, "x" * limit) == "x" * limit
    problem = problem_of(field, "x" * (limit + 1))
    assert problem.field == field
    assert problem.code == "too_long"
    assert problem.message == f"Too long: at most {limit} characters."


def test_length_is_measured_after_trimming() -> None:
    assert parsed("first_name", "  " + "x" * 100 + "  ") == "x" * 100


def test_an_email_over_254_characters_is_too_long() -> None:
    problem = problem_of("email", "a" * 243 + "@example.com")
    assert problem.code == "too_long"


def test_every_problem_of_a_row_is_reported() -> None:
    values, problems = parse_cells(
        {"first_name": "Ann", "email": "ann", "tax_exempt": "maybe", "date_of_birth": "soon"}
    )
    assert values == {}
    assert {(p.field, p.code) for p in problems} == {
        ("email", "invalid_email"),
        ("tax_exempt", "invalid_boolean"),
        ("date_of_birth", "invalid_date"),
    }


# --- whole-customer rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"company": "Acme", "notes": "call first"},
        {"first_name": None, "last_name": "", "email": None, "phone": None, "mobile": None},
    ],
)
def test_a_customer_without_name_email_or_phone_misses_its_identity(
    record: dict[str, Any],
) -> None:
    problems = record_problems(record)
    assert [(p.field, p.code) for p in problems] == [(None, "missing_identity")]


@pytest.mark.parametrize("key", ["first_name", "last_name", "email", "phone", "mobile"])
def test_any_one_of_name_email_or_phone_is_identity_enough(key: str) -> None:
    assert record_problems({key: "x", "company": "Acme"}) == []


def test_tax_exempt_true_needs_a_sales_tax_number() -> None:
    problems = record_problems({"last_name": "Smith", "tax_exempt": True})
    assert [(p.field, p.code) for p in problems] == [("tax_exempt", "sales_tax_number_required")]
    assert "Sales Tax Number" in problems[0].message


def test_tax_exempt_with_a_sales_tax_number_is_fine() -> None:
    record = {"last_name": "Smith", "tax_exempt": True, "sales_tax_number": "ST-1"}
    assert record_problems(record) == []


@pytest.mark.parametrize("tax_exempt", [False, None])
def test_not_tax_exempt_needs_no_sales_tax_number(tax_exempt: bool | None) -> None:
    assert record_problems({"last_name": "Smith", "tax_exempt": tax_exempt}) == []


def test_a_row_can_break_both_customer_rules_at_once() -> None:
    codes = {p.code for p in record_problems({"tax_exempt": True, "sales_tax_number": None})}
    assert codes == {"missing_identity", "sales_tax_number_required"}


def test_a_parsed_french_tax_exempt_row_without_sales_tax_number_is_refused() -> None:
    values, problems = parse_cells({"first_name": "Anne", "tax_exempt": "VRAI"})
    assert problems == []
    assert [p.code for p in record_problems(values)] == ["sales_tax_number_required"]


# --- one parser for a whole file ------------------------------------------------------------


def test_a_repeated_cell_gives_the_same_value_or_problem_on_every_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bulkport.rules import customer
    from bulkport.rules.dates import DateOrder

    # A tiny memory, so that the rows below also run after it was emptied.
    monkeypatch.setattr(customer, "MEMO_LIMIT", 3)
    parser = customer.RowParser(
        {0: "date_of_birth", 1: "accepts_marketing", 2: "customer_type", 3: "invoice_country"},
        DateOrder.DMY,
    )
    rows = [
        ["03/04/1990", "yes", "company", "Nederland"],
        ["31/02/1990", "maybe", "private", "France"],
        ["03/04/1990", "NO", "entreprise", "Atlantis"],
    ] * 4
    seen = [parser.parse(cells) for cells in rows]
    for values, problems in seen[0::3]:
        assert values == {
            "date_of_birth": date(1990, 4, 3),
            "accepts_marketing": True,
            "customer_type": "business",
            "invoice_country": "NL",
        }
        assert problems == []
    for values, problems in seen[1::3]:
        assert [(p.field, p.code) for p in problems] == [
            ("date_of_birth", "invalid_date"),
            ("accepts_marketing", "invalid_boolean"),
        ]
        assert "'maybe' is not TRUE or FALSE." in [p.message for p in problems]
        assert values["invoice_country"] == "FR"
    for values, problems in seen[2::3]:
        assert values["accepts_marketing"] is False
        assert values["invoice_country"] == "Atlantis"
        assert problems == []


_CELLS = [
    "", " ", "'", "''", "' '", "'0612", "'=1+1", "'t Hart", " x ", "=1+1", "ann@example.com",
    "ANN@Example.COM", "not an email", "yes", "NO", "maybe", "03/04/1990", "1990-02-31",
    "12", "business", "zakelijk", "nope", "Nederland", "Atlantis", "123", "0", "-4",
    "x" * 300, "é" * 41,
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(rows=st.lists(st.lists(st.sampled_from(_CELLS), max_size=10), min_size=1, max_size=6))
def test_the_fast_path_for_text_rows_parses_as_the_general_one(rows: list[list[str]]) -> None:
    from bulkport.rules.customer import RowParser
    from bulkport.rules.dates import DateOrder

    columns = {
        0: "first_name", 1: "email", 2: "accepts_marketing", 3: "date_of_birth",
        4: "customer_type", 5: "invoice_country", 6: "id", 7: "initials", 8: "notes",
    }  # fmt: skip
    general, fast = RowParser(columns, DateOrder.DMY), RowParser(columns, DateOrder.DMY)
    for cells in rows:
        expected_values, expected_problems = general.parse(cells)
        values, problems = fast.parse_texts(cells)
        assert values == expected_values
        assert problems == expected_problems


CLEARABLE = ("first_name", "email", "date_of_birth", "accepts_marketing", "customer_type",
             "invoice_country", "notes")  # fmt: skip


@pytest.mark.parametrize("method", ["parse", "parse_texts"])
def test_the_clear_cell_is_a_cleared_problem_of_its_field_and_never_a_value(method: str) -> None:
    parser = RowParser(dict(enumerate(CLEARABLE)))
    values, problems = getattr(parser, method)([" [clear] "] * len(CLEARABLE))
    if method == "parse":  # text fields are cleared only in an import's rows
        problems = [p for p in problems if p.field not in ("first_name", "notes")]
        assert values == {"first_name": "[clear]", "notes": "[clear]"}
    else:
        assert values == {}
        assert [p.field for p in problems] == list(CLEARABLE)
    assert {p.code for p in problems} == {"cleared"}


def test_a_record_id_is_never_cleared() -> None:
    _, problems = RowParser({0: "id"}).parse_texts(["[clear]"])
    assert [(p.field, p.code) for p in problems] == [("id", "not_clearable")]


def test_a_value_that_only_looks_like_the_clear_cell_is_text() -> None:
    values, problems = RowParser({0: "notes", 1: "first_name"}).parse_texts(["[Clear]", "[x]"])
    assert (values, problems) == ({"notes": "[Clear]", "first_name": "[x]"}, [])


@pytest.mark.parametrize("field", ["notes", "date_of_birth"])
def test_the_clear_cell_in_a_further_column_of_a_field_is_a_problem_of_that_column(
    field: str,
) -> None:
    parser = RowParser({0: field, 1: field})
    values, problems = parser.parse_texts(["", "[clear]"])
    assert field not in values
    assert [(p.code, p.column) for p in problems] == [("cleared", 1)]
