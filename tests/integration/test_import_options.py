"""Import options on both databases: keys, mappings given or saved, dates, reports per format."""

from __future__ import annotations

import io
import itertools

import pytest
from pydantic import ValidationError
from support import csv_text, errors_of, import_now, local_files, stored_customers

from bulkport.schemas.jobs import JobStatus
from bulkport.storage import mappings
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.imports import resolve_options

BASE = [["Email", "First Name", "Phone"], ["ann@example.com", "Ann", "0611"]]


@pytest.mark.parametrize(
    ("mode", "match_on", "blank_cells"),
    list(
        itertools.product(["create", "update", "upsert"], ["id", "email", None], ["keep", "clear"])
    ),
)
def test_every_mode_key_and_blank_cells_combination(
    ctx: Context, admin: User, mode: str, match_on: str | None, blank_cells: str
) -> None:
    import_now(ctx, admin, csv_text(BASE))
    ann = stored_customers(ctx, admin)[0]
    content = csv_text(
        [
            ["Customer Record ID", "Email", "First Name", "Phone"],
            [str(ann["id"]), "ann@example.com", "Anna", ""],  # existing, by id and email
            ["", "bob@example.com", "Bob", "0622"],  # new
        ]
    )
    options = {"mode": mode, "blank_cells": blank_cells}
    if match_on:
        options["match_on"] = match_on
    job = import_now(ctx, admin, content, **options)
    assert job.status is JobStatus.READY
    rows = {r["email"]: r for r in stored_customers(ctx, admin)}
    codes = dict(errors_of(ctx, job.id))

    # Row 2 is Ann's: found by her id, or by her email.
    if mode == "create":
        assert codes.get(2) == "already_exists"
        assert rows["ann@example.com"]["first_name"] == "Ann"
    else:
        assert 2 not in codes
        assert rows["ann@example.com"]["first_name"] == "Anna"
        expected_phone = None if blank_cells == "clear" else "0611"
        assert rows["ann@example.com"]["phone"] == expected_phone
    # Row 3 is new: created unless the import only updates.
    if mode == "update":
        assert codes.get(3) in {"not_found", "missing_key"}
        assert "bob@example.com" not in rows
    else:
        assert 3 not in codes
        assert rows["bob@example.com"]["phone"] == "0622"
    assert job.counts.created + job.counts.updated + job.counts.failed == 2


def test_matching_on_email_ignores_the_id_column(ctx: Context, admin: User) -> None:
    import_now(ctx, admin, csv_text(BASE))
    content = csv_text([["Customer Record ID", "Email", "Notes"], ["999", "ann@example.com", "x"]])
    job = import_now(ctx, admin, content, match_on="email")
    assert job.counts.updated == 1
    by_id = import_now(ctx, admin, content, match_on="id")
    assert errors_of(ctx, by_id.id) == [(2, "not_found")]


def test_a_mapping_sent_with_the_job_overrides_the_guess(ctx: Context, admin: User) -> None:
    content = csv_text([["Naam", "Mail", "Phone", "Extra"], ["Jansen", "j@example.com", "06", "x"]])
    job = import_now(
        ctx, admin, content, mapping={"Naam": "Last Name", "Mail": "email", "Phone": ""}
    )
    assert job.mapping == {"Naam": "Last Name", "Mail": "Email"}
    assert job.ignored_columns == ["Phone", "Extra"]
    row = stored_customers(ctx, admin)[0]
    assert (row["last_name"], row["email"], row["phone"]) == ("Jansen", "j@example.com", None)


def test_a_saved_mapping_is_copied_into_the_job(ctx: Context, admin: User) -> None:
    with ctx.engine.begin() as conn:
        mappings.save(conn, admin.store_id, "old shop", {"Naam": "last_name", "X": None}, None)
    from bulkport.schemas.jobs import ImportOptions

    options = resolve_options(ctx, admin.store_id, ImportOptions(mapping_name="old shop"))
    assert options.mapping == {"Naam": "last_name", "X": ""}
    with pytest.raises(ValueError, match="no saved mapping"):
        resolve_options(ctx, admin.store_id, ImportOptions(mapping_name="missing"))
    with pytest.raises(ValueError, match="not a field"):
        resolve_options(ctx, admin.store_id, ImportOptions(mapping={"A": "Shoe Size"}))


def test_an_unusable_mapping_is_refused_with_the_reason_before_any_job(
    ctx: Context, admin: User
) -> None:
    with pytest.raises(ValidationError, match="'Created At' is not a field an import can write"):
        import_now(ctx, admin, csv_text(BASE), mapping={"Email": "Created At"})


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["03/04/1990", "25/12/1985"], ["1990-04-03", "1985-12-25"]),  # a day above 12 decides
        (["03/04/1990", "12/25/1985"], ["1990-03-04", "1985-12-25"]),  # a month... day above 12
        (["03/04/1990", "05/06/1985"], ["1990-04-03", "1985-06-05"]),  # undecided: store's dmy
    ],
)
def test_date_order_is_decided_per_column_from_its_values(
    ctx: Context, admin: User, dates: list[str], expected: list[str]
) -> None:
    content = csv_text(
        [["Email", "Date of Birth"]] + [[f"p{i}@x.com", d] for i, d in enumerate(dates)]
    )
    job = import_now(ctx, admin, content)
    assert job.status is JobStatus.READY, job.error
    assert [str(r["date_of_birth"]) for r in stored_customers(ctx, admin)] == expected


def test_an_explicit_date_order_wins(ctx: Context, admin: User) -> None:
    content = csv_text([["Email", "Date of Birth"], ["a@x.com", "03/04/1990"]])
    import_now(ctx, admin, content, date_order="mdy")
    assert str(stored_customers(ctx, admin)[0]["date_of_birth"]) == "1990-03-04"


def test_countries_are_stored_as_iso_codes_where_recognisable(ctx: Context, admin: User) -> None:
    content = csv_text(
        [["Email", "Country", "Shipping Country"], ["a@x.com", "Nederland", "Atlantis"]]
    )
    import_now(ctx, admin, content)
    row = stored_customers(ctx, admin)[0]
    assert (row["invoice_country"], row["shipping_country"]) == ("NL", "Atlantis")


def test_a_csv_report_keeps_the_uploads_encoding_and_delimiter(ctx: Context, admin: User) -> None:
    content = "Prénom;E-mail\r\nRené;rene@@example.com\r\n".encode("cp1252")
    job = import_now(ctx, admin, content)
    assert job.report_file is not None and job.report_file.endswith(".csv")
    report = local_files(ctx).path(job.report_file).read_bytes()
    assert report.decode("cp1252").splitlines()[1].startswith("René;rene@@example.com;2;")


def test_an_xlsx_upload_gets_an_xlsx_report_to_fix_and_upload_again(
    ctx: Context, admin: User
) -> None:
    from openpyxl import Workbook, load_workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["First Name", "Email", "Notes"])
    sheet.append(["Ann", "ann@example.com", "fine"])
    sheet.append(["Bob", "bob@@example.com", "=1+1 is text here"])
    sheet["C3"].data_type = "s"  # typed as text in the workbook, not a formula
    raw = io.BytesIO()
    book.save(raw)
    job = import_now(ctx, admin, raw.getvalue(), filename="klanten.xlsx")
    assert job.report_file is not None and job.report_file.endswith(".xlsx")
    report = load_workbook(local_files(ctx).path(job.report_file), read_only=False)
    rows = [[c.value for c in row] for row in report.worksheets[0].iter_rows()]
    assert rows[0] == ["First Name", "Email", "Notes", "Row", "Errors"]
    assert rows[1][:4] == ["Bob", "bob@@example.com", "=1+1 is text here", "3"]
    assert report.worksheets[0]["C2"].data_type == "s"  # text, never a formula

    fixed = io.BytesIO()
    report.worksheets[0]["B2"] = "bob@example.com"
    report.save(fixed)
    again = import_now(ctx, admin, fixed.getvalue(), filename="klanten-errors.xlsx")
    assert (again.counts.created, again.counts.failed) == (1, 0)
