"""Several columns of a file feeding one field: each row reads them together, losing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkport.rules.customer import RowParser
from bulkport.rules.problems import CellProblem
from bulkport.spreadsheets.mapping import guess_mapping, resolve_override

HEADERS = ["Email", "Last Name", "E-mail"]


def parse(cells: list[str], headers: list[str] = HEADERS) -> tuple[dict[str, Any], list[Any]]:
    """The fast and the general path must agree; the answer of both."""
    mapping = guess_mapping(headers)
    fast = RowParser(mapping.columns, headers=headers).parse_texts(cells)
    general = RowParser(mapping.columns, headers=headers).parse(cells)
    assert fast == general
    return fast


@pytest.mark.parametrize(
    ("cells", "email"),
    [
        (["ann@example.com", "Jansen", ""], "ann@example.com"),
        (["", "Jansen", "ann@example.com"], "ann@example.com"),
        (["", "Jansen", ""], None),
    ],
)
def test_a_field_takes_the_one_of_its_columns_that_is_filled(
    cells: list[str], email: str | None
) -> None:
    values, problems = parse(cells)
    assert values["email"] == email
    assert problems == []


def test_two_equal_cells_give_the_field_their_value() -> None:
    values, problems = parse(["ann@example.com", "Jansen", " ann@example.com "])
    assert values["email"] == "ann@example.com"
    assert problems == []


@pytest.mark.parametrize(
    ("first", "second"), [("A@x.com", "a@x.com "), ("a@x.com", "A@X.COM"), ("a@X.com", "a@x.COM")]
)
def test_emails_that_differ_only_in_case_or_spaces_are_one_address_and_the_first_is_kept(
    first: str, second: str
) -> None:
    # The store compares emails case-insensitively, so these name the same customer.
    values, problems = parse([first, "Jansen", second])
    assert problems == []
    assert values["email"] == RowParser({0: "email"}).parse_texts([first])[0]["email"]


@pytest.mark.parametrize(
    ("headers", "cells", "value"),
    [
        (["Country", "Land"], ["Nederland", "NL"], "NL"),
        (["Accepts Marketing", "Newsletter"], ["yes", "TRUE"], True),
        (["Date of Birth", "Birthday"], ["03/04/1990", "1990-04-03"], "1990-04-03"),
        (["Phone", "Telephone"], ["'0612345678", "0612345678"], "0612345678"),
    ],
)
def test_cells_equal_once_normalised_agree(
    headers: list[str], cells: list[str], value: Any
) -> None:
    mapping = guess_mapping(headers)
    assert len(set(mapping.columns.values())) == 1, mapping
    values, problems = RowParser(mapping.columns, headers=headers).parse_texts(cells)
    assert problems == []
    (got,) = values.values()
    assert (got.isoformat() if hasattr(got, "isoformat") else got) == value


@pytest.mark.parametrize(
    ("cells", "shown"),
    [
        (
            ["ann@example.com", "Jansen", "bob@example.com"],
            "'ann@example.com' and 'bob@example.com'",
        ),
        (
            ["bob@example.com", "Jansen", "ann@example.com"],
            "'bob@example.com' and 'ann@example.com'",
        ),
    ],
)
def test_two_different_values_fail_the_row_naming_both_columns_and_both_values(
    cells: list[str], shown: str
) -> None:
    values, problems = parse(cells)
    assert "email" not in values
    (problem,) = problems
    assert (problem.field, problem.code, problem.column) == ("email", "conflicting_columns", 2)
    assert problem.message == (
        f"'Email' (column A) and 'E-mail' (column C) hold different values for Email: {shown}. "
        "Empty one of them or make them the same."
    )


def test_text_that_differs_in_case_is_a_conflict() -> None:
    # Text is stored as written (trimmed), so "Jansen" and "JANSEN" would store differently.
    headers = ["Last Name", "Surname"]
    _, problems = parse(["Jansen", " JANSEN"], headers)
    assert [p.code for p in problems] == ["conflicting_columns"]
    values, problems = parse(["Jansen", " Jansen "], headers)
    assert (values, problems) == ({"last_name": "Jansen"}, [])


def test_the_same_header_twice_is_named_by_its_column_letters() -> None:
    _, problems = parse(["a@x.com", "b@x.com"], ["Email", "Email"])
    assert problems[0].message.startswith("'Email' (column A) and 'Email' (column B) hold")


def test_an_invalid_cell_in_a_later_column_is_a_problem_of_that_column() -> None:
    values, problems = parse(["ann@example.com", "Jansen", "bob@"])
    assert "email" not in values
    assert [(p.code, p.column) for p in problems] == [("invalid_email", 2)]
    values, problems = parse(["bob@", "Jansen", "ann@example.com"])
    assert [(p.code, p.column) for p in problems] == [("invalid_email", None)]


def test_a_third_column_is_compared_with_the_column_that_gave_the_value() -> None:
    headers = ["Email", "E-mail", "Mail"]
    values, problems = parse(["", "ann@example.com", "ann@example.com"], headers)
    assert (values, problems) == ({"email": "ann@example.com"}, [])
    _, problems = parse(["", "ann@example.com", "bob@example.com"], headers)
    assert problems[0].message.startswith("'E-mail' (column B) and 'Mail' (column C)")


def test_a_mapping_given_by_hand_that_sends_two_columns_to_one_field_reads_both() -> None:
    headers = ["Mail 1", "Naam", "Mail 2"]
    override = resolve_override({"Mail 1": "Email", "Naam": "Last Name", "Mail 2": "email"})
    mapping = guess_mapping(headers, override)
    assert mapping.columns == {0: "email", 1: "last_name", 2: "email"}
    assert mapping.ignored == []
    assert mapping.shared_fields() == {"email": [0, 2]}
    parser = RowParser(mapping.columns, headers=headers)
    assert parser.parse_texts(["", "Jansen", "ann@example.com"])[0]["email"] == "ann@example.com"
    problems = parser.parse_texts(["ann@example.com", "Jansen", "bob@example.com"])[1]
    assert problems == [
        CellProblem(
            field="email",
            code="conflicting_columns",
            column=2,
            message="'Mail 1' (column A) and 'Mail 2' (column C) hold different values for "
            "Email: 'ann@example.com' and 'bob@example.com'. Empty one of them or make them "
            "the same.",
        )
    ]


_CELLS = ["", " ", "'", "ann@example.com", "ANN@example.com ", "bob@example.com", "bob@", "x" * 300]


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(st.sampled_from(_CELLS), max_size=5), min_size=1, max_size=6))
def test_the_fast_path_reads_shared_columns_as_the_general_one(rows: list[list[str]]) -> None:
    columns = {0: "email", 1: "first_name", 2: "email", 3: "first_name", 4: "email"}
    for fallback in (set(), {2}, {1, 4}):
        general = RowParser(columns, fallback=fallback)
        fast = RowParser(columns, fallback=fallback)
        for cells in rows:
            assert fast.parse_texts(cells) == general.parse(cells)


# --- a platform's second form of a field only fills blanks ----------------------------------


@pytest.mark.parametrize(
    ("headers", "cells", "value"),
    [
        (["Province", "Province Code"], ["Ontario", "ON"], "Ontario"),
        (["Province", "Province Code"], ["", "ON"], "ON"),
        (["Province Code", "Province"], ["ON", "Ontario"], "Ontario"),
        (["first_name", "billing_first_name"], ["Ann", "Anna"], "Ann"),
        (["billing_first_name", "first_name"], ["Anna", ""], "Anna"),
    ],
)
def test_a_platforms_second_form_of_a_field_only_fills_where_the_first_is_blank(
    headers: list[str], cells: list[str], value: str
) -> None:
    mapping = guess_mapping(headers)
    assert len(mapping.fallback) == 1
    values, problems = RowParser(mapping.columns, headers=headers, fallback=mapping.fallback).parse(
        cells
    )
    assert problems == []
    assert list(values.values()) == [value]


def test_a_second_form_header_alone_or_twice_is_an_ordinary_column() -> None:
    assert guess_mapping(["Last Name", "Province Code"]).fallback == frozenset()
    twice = guess_mapping(["Province Code", "Province Code"])
    assert twice.fallback == frozenset()
    parser = RowParser(twice.columns, headers=twice.headers, fallback=twice.fallback)
    assert [p.code for p in parser.parse_texts(["ON", "QC"])[1]] == ["conflicting_columns"]


def test_a_mapping_given_by_hand_makes_no_column_a_fallback() -> None:
    headers = ["Province", "Province Code"]
    override = resolve_override({"Province Code": "Region/State"})
    mapping = guess_mapping(headers, override)
    assert mapping.fallback == frozenset()
    parser = RowParser(mapping.columns, headers=headers, fallback=mapping.fallback)
    assert [p.code for p in parser.parse_texts(["Ontario", "ON"])[1]] == ["conflicting_columns"]


def test_a_fallback_cell_that_is_not_used_is_not_checked() -> None:
    headers = ["Last Name", "billing_last_name"]
    mapping = guess_mapping(headers)
    parser = RowParser(mapping.columns, headers=headers, fallback=mapping.fallback)
    assert parser.parse_texts(["Jansen", "x" * 300]) == ({"last_name": "Jansen"}, [])
    _, problems = parser.parse_texts(["", "x" * 300])
    assert [(p.code, p.column) for p in problems] == [("too_long", 1)]
