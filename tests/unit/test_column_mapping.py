"""Guessing which column of a header row feeds which customer field."""

from __future__ import annotations

import pytest

from bulkport.errors import MappingError
from bulkport.rules.fields import FIELDS, FieldKind
from bulkport.spreadsheets.mapping import ColumnMapping, guess_mapping


def test_an_export_header_row_maps_every_writable_column() -> None:
    headers = [f.label for f in FIELDS]
    mapping = guess_mapping(headers)
    expected = {i: f.key for i, f in enumerate(FIELDS) if f.kind is not FieldKind.READ_ONLY}
    assert mapping.columns == expected
    assert mapping.ignored == ["Archived", "Created At", "Updated At"]


def test_columns_are_matched_by_folded_header_and_keep_their_place() -> None:
    mapping = guess_mapping(["E-MAIL", "prénom", "Achternaam", "Billing Zip", "Shipping Zip"])
    assert mapping.columns == {
        0: "email",
        1: "first_name",
        2: "last_name",
        3: "invoice_postal_code",
        4: "shipping_postal_code",
    }
    assert mapping.ignored == []


def test_unknown_columns_are_listed_as_ignored_in_file_order() -> None:
    mapping = guess_mapping(["Loyalty Points", "First Name", "Favourite Colour", "Email"])
    assert mapping.columns == {1: "first_name", 3: "email"}
    assert mapping.ignored == ["Loyalty Points", "Favourite Colour"]


@pytest.mark.parametrize("read_only", ["Archived", "Created At", "Updated At", "created_at"])
def test_read_only_columns_are_ignored(read_only: str) -> None:
    mapping = guess_mapping(["Email", read_only])
    assert mapping.columns == {0: "email"}
    assert mapping.ignored == [read_only]


@pytest.mark.parametrize(
    ("first", "second", "key"),
    [
        ("Email", "E-mail Address", "email"),
        ("Phone", "Telephone", "phone"),
        ("Postcode", "Zip", "invoice_postal_code"),
        ("Email", "Email", "email"),
    ],
)
def test_a_second_column_for_a_field_feeds_it_too_and_is_not_ignored(
    first: str, second: str, key: str
) -> None:
    mapping = guess_mapping(["Last Name", first, second])
    assert mapping.columns == {0: "last_name", 1: key, 2: key}
    assert mapping.ignored == []
    assert mapping.shared_fields() == {key: [1, 2]}
    assert mapping.as_labels()[second] == mapping.as_labels()[first]


def test_blank_headers_are_neither_mapped_nor_listed() -> None:
    mapping = guess_mapping(["Email", "", "  ", "Phone"])
    assert mapping.columns == {0: "email", 3: "phone"}
    assert mapping.ignored == []


def test_the_headers_are_kept_as_written() -> None:
    headers = ["E-mail", "Loyalty Points"]
    assert guess_mapping(headers).headers == headers


@pytest.mark.parametrize(
    "headers",
    [
        ["Loyalty Points", "Favourite Colour"],
        ["", "  "],
        [],
        ["Archived", "Created At", "Updated At"],
    ],
    ids=["unknown", "blank", "none", "read-only"],
)
def test_a_header_row_that_matches_no_field_is_a_mapping_error(headers: list[str]) -> None:
    with pytest.raises(MappingError, match="First Name"):
        guess_mapping(headers)


def test_the_mapping_error_names_the_headers_it_found() -> None:
    with pytest.raises(MappingError) as caught:
        guess_mapping(["Loyalty Points", "Favourite Colour"])
    assert "'Loyalty Points'" in str(caught.value)
    assert "'Favourite Colour'" in str(caught.value)


def test_as_labels_shows_each_header_as_written_with_its_field_label() -> None:
    mapping = guess_mapping(["E-mail", "Prénom", "Loyalty Points", "Billing Zip", "Shipping Zip"])
    assert mapping.as_labels() == {
        "E-mail": "Email",
        "Prénom": "First Name",
        "Billing Zip": "Postal Code",
        "Shipping Zip": "Shipping Postal Code",
    }


def test_index_of_finds_the_column_that_feeds_a_field() -> None:
    mapping = guess_mapping(["Loyalty Points", "Phone", "Email"])
    assert mapping.index_of("email") == 2
    assert mapping.index_of("phone") == 1


@pytest.mark.parametrize("field", ["first_name", "id", None])
def test_index_of_a_field_no_column_feeds_is_none(field: str | None) -> None:
    mapping = guess_mapping(["Loyalty Points", "Phone", "Email"])
    assert mapping.index_of(field) is None


def test_a_mapping_given_by_hand_answers_the_same_way() -> None:
    mapping = ColumnMapping(columns={2: "email"}, headers=["a", "b", "Mail"], ignored=["a", "b"])
    assert mapping.index_of("email") == 2
    assert mapping.as_labels() == {"Mail": "Email"}
