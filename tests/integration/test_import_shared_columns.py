"""Two columns of a file for one field, imported whole on SQLite and PostgreSQL: nothing lost."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from support import assert_counts_add_up, csv_text, import_now, local_files, stored_customers

from bulkport.schemas.jobs import ImportOptions
from bulkport.storage import job_rows, mappings
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.imports import resolve_options

CONFLICT = (
    "'Email' (column A) and 'E-mail' (column C) hold different values for Email: "
    "'cor@example.com' and 'kees@example.com'. Empty one of them or make them the same."
)

ROWS = [
    ["Email", "Last Name", "E-mail"],
    ["ann@example.com", "Aalbers", ""],  # the first column only
    ["", "Bakker", "bo@example.com"],  # the second column only
    ["Cor@example.com", "Claes", " cor@EXAMPLE.com "],  # the same address
    ["cor@example.com", "Claes", "kees@example.com"],  # two addresses
]


def test_an_import_reads_both_columns_of_a_field_and_fails_rows_where_they_differ(
    ctx: Context, admin: User
) -> None:
    job = import_now(ctx, admin, csv_text(ROWS))
    assert_counts_add_up(job)
    assert (job.counts.created, job.counts.failed) == (3, 1)
    assert [(c["last_name"], c["email"]) for c in stored_customers(ctx, admin)] == [
        ("Aalbers", "ann@example.com"),
        ("Bakker", "bo@example.com"),
        ("Claes", "Cor@example.com"),
    ]
    assert job.mapping == {"Email": "Email", "Last Name": "Last Name", "E-mail": "Email"}
    assert job.ignored_columns == []
    with ctx.engine.connect() as conn:
        (error,) = job_rows.row_errors(conn, job.id, offset=0, limit=10)
    assert (error.row, error.column, error.field, error.code, error.value) == (
        5,
        "E-mail",
        "email",
        "conflicting_columns",
        "kees@example.com",
    )
    assert error.message == CONFLICT
    assert job.report_file is not None
    report = list(
        csv.reader(io.StringIO(local_files(ctx).path(job.report_file).read_text("utf-8-sig")))
    )
    assert report[1][:4] == [*ROWS[4], "5"]
    assert CONFLICT in report[1][4]


def test_an_update_takes_the_value_from_whichever_column_holds_it(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([["Email", "Phone"], ["ann@example.com", "0611"]]))
    job = import_now(
        ctx,
        admin,
        csv_text([["Email", "Phone", "Telephone"], ["ann@example.com", "", "0622"]]),
    )
    assert (job.counts.updated, job.counts.failed) == (1, 0)
    assert [c["phone"] for c in stored_customers(ctx, admin)] == ["0622"]


def test_a_mapping_sent_with_the_job_reads_both_columns_it_sends_to_one_field(
    ctx: Context, admin: User
) -> None:
    content = csv_text(
        [
            ["Mail 1", "Naam", "Mail 2"],
            ["", "Aalbers", "ann@example.com"],
            ["x@y.nl", "B", "z@y.nl"],
        ]
    )
    job = import_now(
        ctx, admin, content, mapping={"Mail 1": "Email", "Naam": "Last Name", "Mail 2": "Email"}
    )
    assert (job.counts.created, job.counts.failed) == (1, 1)
    assert [c["email"] for c in stored_customers(ctx, admin)] == ["ann@example.com"]
    assert job.ignored_columns == []
    with ctx.engine.connect() as conn:
        (error,) = job_rows.row_errors(conn, job.id, offset=0, limit=10)
    assert (error.column, error.code) == ("Mail 2", "conflicting_columns")
    assert "'Mail 1' (column A) and 'Mail 2' (column C)" in error.message


def test_a_saved_mapping_that_sends_two_columns_to_one_field_reads_both(
    ctx: Context, admin: User
) -> None:
    with ctx.engine.begin() as conn:
        mappings.save(
            conn, admin.store_id, "twice", {"Mail 1": "email", "Mail 2": "email"}, admin.id
        )
    content = csv_text([["Mail 1", "Last Name", "Mail 2"], ["", "Aalbers", "ann@example.com"]])
    options = resolve_options(ctx, admin.store_id, ImportOptions(mapping_name="twice"))
    job = import_now(ctx, admin, content, mapping=options.mapping)
    assert (job.counts.created, job.counts.failed) == (1, 0)
    assert [c["email"] for c in stored_customers(ctx, admin)] == ["ann@example.com"]


def test_the_preview_names_the_columns_that_share_a_field_and_the_rows_where_they_differ(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/imports/preview",
        headers=auth,
        files={"file": ("customers.csv", csv_text(ROWS).encode())},
    )
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["shared_fields"] == [
        {
            "field": "email",
            "label": "Email",
            "columns": ["Email", "E-mail"],
            "fallback_columns": [],
            "message": "'Email' (column A) and 'E-mail' (column C) both give Email: a row may "
            "fill any of them, and where more than one is filled they must hold the same "
            "value, else the row fails.",
        }
    ]
    assert found["ignored_columns"] == []
    assert [c["field"] for c in found["columns"]] == ["email", "last_name", "email"]
    assert [r["outcome"] for r in found["rows"]] == ["created", "created", "created", "failed"]
    (error,) = found["rows"][3]["errors"]
    assert (error["column"], error["code"], error["message"]) == (
        "E-mail",
        "conflicting_columns",
        CONFLICT,
    )


def test_a_platform_export_with_a_code_beside_a_name_imports_without_conflicts(
    ctx: Context, admin: User, client: TestClient, auth: dict[str, str]
) -> None:
    rows = [
        ["first_name", "last_name", "email", "billing_first_name", "billing_state",
         "billing_state_code"],
        ["Ann", "Aalbers", "ann@example.com", "Anna", "Ontario", "ON"],
        ["", "Bakker", "bo@example.com", "Bo", "", "QC"],
    ]  # fmt: skip
    job = import_now(ctx, admin, csv_text(rows))
    assert (job.counts.created, job.counts.failed) == (2, 0)
    assert [(c["first_name"], c["invoice_region"]) for c in stored_customers(ctx, admin)] == [
        ("Ann", "Ontario"),
        ("Bo", "QC"),
    ]
    found = client.post(
        "/api/v1/imports/preview",
        headers=auth,
        files={"file": ("woo.csv", csv_text(rows).encode())},
    ).json()
    assert [(f["field"], f["fallback_columns"]) for f in found["shared_fields"]] == [
        ("first_name", ["billing_first_name"]),
        ("invoice_region", ["billing_state_code"]),
    ]
    assert found["shared_fields"][1]["message"] == (
        "'billing_state' (column E) gives Region/State. 'billing_state_code' (column F) is read "
        "only in rows where that column is empty."
    )
