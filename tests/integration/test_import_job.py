"""The import job run in-process against SQLite and PostgreSQL: counts, keys, modes, reports."""

from __future__ import annotations

import csv
import errno
import io
import logging
import sys
import tempfile
import time
from typing import Any

import pytest
from support import (
    WorkerKilled,
    assert_counts_add_up,
    csv_text,
    errors_of,
    expire_lease,
    get_job,
    import_now,
    local_files,
    stage_import,
    stored_customers,
)
from xlsx_parts import Parts, Sheet, sheet_xml

from bulkport.errors import TransitionRefused
from bulkport.schemas.jobs import JobStatus, RowOutcome
from bulkport.spreadsheets import spill
from bulkport.storage import customer_records as records
from bulkport.storage import job_rows
from bulkport.storage.accounts import User
from bulkport.tasks import pipeline
from bulkport.tasks.context import Context
from bulkport.tasks.deletions import delete_one
from bulkport.tasks.imports import run_import

HEADER = ["First Name", "Last Name", "Email", "Phone", "Tax Exempt", "Sales Tax Number", "Notes"]


def people(n: int, start: int = 0) -> list[list[str]]:
    return [
        [f"First{i}", f"Last{i}", f"person{i}@example.com", f"+3161234{i:04d}", "FALSE", "", ""]
        for i in range(start, start + n)
    ]


def test_new_rows_are_created_and_counted(ctx: Context, admin: User) -> None:
    job = import_now(ctx, admin, csv_text([HEADER, *people(120)]))
    assert job.status is JobStatus.READY
    assert (job.counts.total, job.counts.created, job.counts.failed) == (120, 120, 0)
    assert_counts_add_up(job)
    rows = stored_customers(ctx, admin)
    assert len(rows) == 120
    assert rows[0]["email"] == "person0@example.com"
    assert rows[0]["phone"] == "+31612340000"
    assert job.mapping == {h: h for h in HEADER}


def test_record_ids_follow_the_order_of_the_file(ctx: Context, admin: User) -> None:
    """New customers get their Customer Record IDs in the order their rows stand in the file,
    across batches."""
    import_now(ctx, admin, csv_text([HEADER, *people(230)]))
    emails = [row["email"] for row in stored_customers(ctx, admin)]  # in id order
    assert emails == [f"person{i}@example.com" for i in range(230)]


def test_reimporting_the_same_file_changes_nothing(ctx: Context, admin: User) -> None:
    content = csv_text([HEADER, *people(60)])
    import_now(ctx, admin, content)
    before = stored_customers(ctx, admin)
    job = import_now(ctx, admin, content)
    assert (job.counts.unchanged, job.counts.created, job.counts.updated) == (60, 0, 0)
    assert stored_customers(ctx, admin) == before


def test_rows_match_existing_customers_by_email_case_insensitively(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(3)]))
    job = import_now(ctx, admin, csv_text([["Email", "Notes"], ["PERSON1@Example.com", "VIP"]]))
    assert (job.counts.updated, job.counts.created) == (1, 0)
    by_email = {r["email_key"]: r for r in stored_customers(ctx, admin)}
    assert by_email["person1@example.com"]["notes"] == "VIP"
    # The address was retyped with other capitals: the new spelling is kept.
    assert by_email["person1@example.com"]["email"] == "PERSON1@example.com"


def test_rows_with_a_record_id_update_that_customer_even_with_a_new_email(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(2)]))
    first = stored_customers(ctx, admin)[0]
    job = import_now(
        ctx,
        admin,
        csv_text([["Customer Record ID", "Email"], [str(first["id"]), "new@example.com"]]),
    )
    assert job.counts.updated == 1
    assert stored_customers(ctx, admin)[0]["email"] == "new@example.com"


def test_an_unknown_record_id_is_a_row_error(ctx: Context, admin: User) -> None:
    job = import_now(ctx, admin, csv_text([["Customer Record ID", "First Name"], ["999", "Ann"]]))
    assert errors_of(ctx, job.id) == [(2, "not_found")]
    assert stored_customers(ctx, admin) == []


def test_a_deleted_customers_old_row_is_refused_as_deleted_and_not_recreated(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(2)]))
    gone, kept = (int(str(row["id"])) for row in stored_customers(ctx, admin))
    assert delete_one(ctx, admin.store_id, admin.id, gone) is RowOutcome.UPDATED
    old_rows = [["Customer Record ID", "First Name", "Email"],
                [str(gone), "Gone", "gone@example.com"], [str(kept), "Kept", "kept@example.com"],
                ["999", "Nobody", ""]]  # fmt: skip
    job = import_now(ctx, admin, csv_text(old_rows))
    assert errors_of(ctx, job.id) == [(2, "customer_deleted"), (4, "not_found")]
    with ctx.engine.connect() as conn:
        message = job_rows.row_errors(conn, job.id, offset=0, limit=1)[0].message
    assert message.startswith(f"Customer {gone} was deleted at their request")
    assert "will not be re-created from this file" in message
    assert "add a new customer" not in message
    with ctx.engine.connect() as conn:
        erased = records.get(conn, admin.store_id, gone)
    assert erased is not None and (erased["email"], erased["first_name"]) == (None, None)
    assert [row["first_name"] for row in stored_customers(ctx, admin)] == ["Kept"]


def test_changing_an_email_to_another_customers_email_is_refused(ctx: Context, admin: User) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(2)]))
    first = stored_customers(ctx, admin)[0]
    job = import_now(
        ctx,
        admin,
        csv_text([["Customer Record ID", "Email"], [str(first["id"]), "Person1@example.com"]]),
    )
    assert errors_of(ctx, job.id) == [(2, "email_taken")]


def test_error_rows_are_the_spreadsheet_rows_people_see(ctx: Context, admin: User) -> None:
    content = (
        "First Name,Email,Notes\r\n"  # row 1
        'Ann,ann@example.com,"two\nlines"\r\n'  # row 2 (one row, two lines)
        ",,\r\n"  # row 3: blank, skipped
        "Bob,bob@@example.com,\r\n"  # row 4: bad email
        ",,only a note\r\n"  # row 5: no identity
        "Cy,ANN@example.com,\r\n"  # row 6: duplicate of row 2
    )
    job = import_now(ctx, admin, content)
    assert errors_of(ctx, job.id) == [
        (4, "invalid_email"),
        (5, "missing_identity"),
        (6, "duplicate_in_file"),
    ]
    assert (job.counts.total, job.counts.skipped, job.counts.failed) == (5, 1, 3)
    assert_counts_add_up(job)
    with ctx.engine.connect() as conn:
        first = job_rows.row_errors(conn, job.id, offset=0, limit=1)[0]
    assert (first.column, first.field, first.value) == ("Email", "email", "bob@@example.com")


def test_tax_exempt_needs_a_sales_tax_number_also_after_merging(ctx: Context, admin: User) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(1)]))
    job = import_now(
        ctx, admin, csv_text([["Email", "Tax Exempt"], ["person0@example.com", "TRUE"]])
    )
    assert errors_of(ctx, job.id) == [(2, "sales_tax_number_required")]
    job = import_now(
        ctx,
        admin,
        csv_text([["Email", "Sales Tax Number"], ["person0@example.com", "TX-9"]]),
    )
    job = import_now(
        ctx, admin, csv_text([["Email", "Tax Exempt"], ["person0@example.com", "TRUE"]])
    )
    assert job.counts.updated == 1


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("create", {"created": 1, "failed": 1}),
        ("update", {"updated": 1, "failed": 1}),
        ("upsert", {"created": 1, "updated": 1}),
    ],
)
def test_modes_decide_which_rows_may_be_written(
    ctx: Context, admin: User, mode: str, expected: dict[str, int]
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(1)]))
    content = csv_text(
        [["Email", "Notes"], ["person0@example.com", "changed"], ["fresh@example.com", "new"]]
    )
    job = import_now(ctx, admin, content, mode=mode)
    for name in ("created", "updated", "failed"):
        assert getattr(job.counts, name) == expected.get(name, 0), name
    codes = {code for _, code in errors_of(ctx, job.id)}
    assert codes == ({"already_exists"} if mode == "create" else set()) | (
        {"not_found"} if mode == "update" else set()
    )


def test_blank_cells_keep_stored_values_unless_the_job_says_clear(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(1)]))
    blanked = csv_text([["Email", "Phone"], ["person0@example.com", ""]])
    kept = import_now(ctx, admin, blanked)
    assert kept.counts.unchanged == 1
    assert stored_customers(ctx, admin)[0]["phone"] == "+31612340000"
    cleared = import_now(ctx, admin, blanked, blank_cells="clear")
    assert cleared.counts.updated == 1
    assert stored_customers(ctx, admin)[0]["phone"] is None


def test_dry_run_reports_what_would_happen_and_writes_nothing(ctx: Context, admin: User) -> None:
    content = csv_text([HEADER, *people(70), ["", "", "broken@", "", "", "", ""]])
    job = import_now(ctx, admin, content, dry_run=True)
    assert (job.counts.created, job.counts.failed) == (70, 1)
    assert stored_customers(ctx, admin) == []
    real = import_now(ctx, admin, content)
    assert real.counts == job.counts


def test_report_holds_failed_rows_as_uploaded_with_row_and_errors(
    ctx: Context, admin: User
) -> None:
    content = "Voornaam;E-mail;Opmerking\r\nJan;jan@example.com;ok\r\nPiet;piet@;=1+1\r\n"
    job = import_now(ctx, admin, content)
    assert job.report_file is not None
    report = local_files(ctx).path(job.report_file).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(report), delimiter=";"))
    assert rows[0] == ["Voornaam", "E-mail", "Opmerking", "Row", "Errors"]
    assert rows[1][:4] == ["Piet", "piet@", "'=1+1", "3"]  # formula-safe, re-imports as "=1+1"
    assert "E-mail" in rows[1][4] and "not a valid email" in rows[1][4]
    assert len(rows) == 2


def test_fixed_report_imports_cleanly(ctx: Context, admin: User) -> None:
    job = import_now(ctx, admin, "First Name,Email\r\nAnn,ann@@example.com\r\n")
    assert job.report_file is not None
    fixed = local_files(ctx).path(job.report_file).read_text().replace("ann@@", "ann@")
    again = import_now(ctx, admin, fixed)
    assert (again.counts.created, again.counts.failed) == (1, 0)
    assert again.ignored_columns == ["Row", "Errors"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "picture"),
        (b"%PDF-1.7\n%binary", "PDF"),
        (b"PK\x03\x04rest-of-a-zip", "Excel"),
        (b"Colour,Size\r\nred,L\r\n", "No column"),
        ("First Name\r\nZoë\r\n".encode("cp1252") + b"\x81\x8d", "not readable as UTF-8 or"),
        (b"First Name\r\n" + b"x" * 40_000 + b"\r\n", "characters"),
    ],
)
def test_unreadable_files_fail_the_job_with_plain_words(
    ctx: Context, admin: User, content: bytes, words: str
) -> None:
    job_id = stage_import(ctx, admin, content)
    run_import(ctx, job_id)
    job = get_job(ctx, admin, job_id)
    assert job.status is JobStatus.FAILED
    assert job.error is not None and words in job.error
    assert stored_customers(ctx, admin) == []


def test_second_delivery_while_the_first_holds_the_job_changes_nothing(
    ctx: Context, admin: User
) -> None:
    job_id = stage_import(ctx, admin, csv_text([HEADER, *people(5)]))
    with ctx.engine.begin() as conn:
        first = job_rows.claim(conn, job_id, 60)
    assert isinstance(first, job_rows.Claimed)
    outcome = run_import(ctx, job_id)
    assert isinstance(outcome, job_rows.Busy)
    job = get_job(ctx, admin, job_id)
    assert (job.status, job.counts.processed, job.attempts) == (JobStatus.PROCESSING, 0, 1)
    assert stored_customers(ctx, admin) == []


def test_delivery_after_the_job_finished_does_nothing(ctx: Context, admin: User) -> None:
    job = import_now(ctx, admin, csv_text([HEADER, *people(5)]))
    outcome = run_import(ctx, job.id)
    assert outcome == job_rows.Finished(JobStatus.READY)
    assert len(stored_customers(ctx, admin)) == 5


def killed_at_batch(
    ctx: Context, job_id: str, checkpoint: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run the import until the batch that starts at ``checkpoint``, kill it there as a
    SIGKILL would (nothing may catch it), and let its lease run out, as after a worker died."""
    real_write = pipeline._write_batch

    def dies(*args: Any, **kwargs: Any) -> int:
        if args[2] == checkpoint:
            raise WorkerKilled
        return real_write(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "_write_batch", dies)
        with pytest.raises(WorkerKilled):
            run_import(ctx, job_id)
    expire_lease(ctx, job_id)


def test_redelivery_after_a_crash_resumes_after_the_last_committed_batch(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = csv_text([HEADER, *people(180), ["", "", "bad@", "", "", "", ""], *people(20, 500)])
    clean = import_now(ctx, admin, content, dry_run=True)
    job_id = stage_import(ctx, admin, content)
    killed_at_batch(ctx, job_id, 100, monkeypatch)  # the third batch
    halfway = get_job(ctx, admin, job_id)
    assert (halfway.status, halfway.checkpoint) == (JobStatus.PROCESSING, 100)
    assert len(stored_customers(ctx, admin)) == 100

    run_import(ctx, job_id)
    job = get_job(ctx, admin, job_id)
    assert job.status is JobStatus.READY
    assert job.attempts == 2
    assert job.counts == clean.counts
    assert errors_of(ctx, job_id) == errors_of(ctx, clean.id)
    assert len(stored_customers(ctx, admin)) == 200


def test_duplicates_across_a_restart_are_still_found(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [*people(60), ["Again", "", "PERSON3@example.com", "", "", "", ""]]
    job_id = stage_import(ctx, admin, csv_text([HEADER, *rows]))
    killed_at_batch(ctx, job_id, 50, monkeypatch)  # the second batch
    run_import(ctx, job_id)
    assert errors_of(ctx, job_id) == [(62, "duplicate_in_file")]


def test_a_worker_that_lost_its_claim_cannot_commit(ctx: Context, admin: User) -> None:
    job_id = stage_import(ctx, admin, csv_text([HEADER, *people(5)]))
    with ctx.engine.begin() as conn:
        old = job_rows.claim(conn, job_id, 60)
    assert isinstance(old, job_rows.Claimed)
    expire_lease(ctx, job_id)
    with ctx.engine.begin() as conn:
        new = job_rows.claim(conn, job_id, 60)
    assert isinstance(new, job_rows.Claimed)
    with pytest.raises(TransitionRefused), ctx.engine.begin() as conn:
        job_rows.advance(
            conn, job_id, old.token, expected_checkpoint=0, rows=5, counts={}, lease_seconds=60
        )


def test_a_csv_row_with_another_number_of_cells_is_a_row_error(ctx: Context, admin: User) -> None:
    content = (
        "First Name,Email,Notes,,\r\n"  # empty header cells at the end are no columns
        "Ann,ann@example.com\r\n"  # too few
        "Bob,bob@example.com,ok,,\r\n"  # trailing empty cells: fine
        "Cy,cy@example.com,ok,surprise\r\n"  # too many
        "Di,di@example.com,fine,,,,\r\n"
    )
    job = import_now(ctx, admin, content)
    assert errors_of(ctx, job.id) == [(2, "wrong_cell_count"), (4, "wrong_cell_count")]
    assert job.counts.created == 2


def _another_job_writes_person60_first(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> dict[str, bool]:
    """Just before the second batch (rows 52-101) is written, another job stores
    person60@example.com; returns a flag that says it happened."""
    from bulkport.storage import customer_writes

    real_write = pipeline._write_batch
    raced = {"done": False}

    def another_job_gets_there_first(*args: Any, **kwargs: Any) -> int:
        if args[2] == 50 and not raced["done"]:  # the second batch, planned but not written
            raced["done"] = True
            with ctx.engine.begin() as conn:
                customer_writes.insert_many(
                    conn, admin.store_id, [{"email": "person60@example.com"}]
                )
        return real_write(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_write_batch", another_job_gets_there_first)
    return raced


def test_a_batch_whose_email_another_job_wrote_meanwhile_is_planned_again(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:

    rows = people(120)
    job_id = stage_import(ctx, admin, csv_text([HEADER, *rows]))
    _another_job_writes_person60_first(ctx, admin, monkeypatch)
    run_import(ctx, job_id)
    job = get_job(ctx, admin, job_id)
    assert job.status is JobStatus.READY
    assert (job.counts.created, job.counts.updated, job.counts.failed) == (119, 1, 0)
    assert_counts_add_up(job)
    stored = stored_customers(ctx, admin)
    assert len(stored) == 120
    person60 = next(r for r in stored if r["email"] == "person60@example.com")
    assert person60["first_name"] == "First60"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite has none
def test_the_table_is_analysed_only_for_look_ups_still_to_come(ctx: Context, admin: User) -> None:
    """PostgreSQL's statistics are renewed when an import has doubled the customers table
    (``customer_writes.GrowthWatch``), so that the look-ups after it stay index probes; an import
    whose table doubles only with its last batches skips that ANALYZE: no look-up is left to
    use it (autovacuum analyses the table soon after)."""

    def estimated_rows() -> float:
        with ctx.engine.connect() as conn:
            query = "SELECT reltuples FROM pg_class WHERE relname = 'customers'"
            return float(conn.exec_driver_sql(query).scalar_one())

    with ctx.engine.begin() as conn:  # no analysis but the import's own during the test
        conn.exec_driver_sql("ALTER TABLE customers SET (autovacuum_enabled = false)")
    try:
        # 10,000 customers into an empty table: doubled (past 10,000) with the last batch.
        job = import_now(ctx, admin, csv_text([HEADER, *people(10_000)]))
        assert job.counts.created == 10_000
        assert estimated_rows() <= 0  # never analysed
        # 12,000 more: past 10,000 created with 2,000 rows still to look up.
        job = import_now(ctx, admin, csv_text([HEADER, *people(12_000, 10_000)]))
        assert job.counts.created == 12_000
        assert estimated_rows() >= 20_000
    finally:
        with ctx.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE customers RESET (autovacuum_enabled)")


def test_a_resumed_job_finds_the_same_repeats_as_one_that_never_stopped(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Row 2 cannot be imported (bad Tax Exempt) but its email is still its own: row 62, with
    # the same email in the second batch, is a repeat in both runs.
    first = ["Ann", "Anders", "ann@example.com", "", "maybe", "", ""]
    again = ["Ann", "Again", "ANN@example.com", "", "FALSE", "", ""]
    content = csv_text([HEADER, first, *people(59), again])
    clean = import_now(ctx, admin, content, dry_run=True)
    assert errors_of(ctx, clean.id) == [(2, "invalid_boolean"), (62, "duplicate_in_file")]

    job_id = stage_import(ctx, admin, content)
    killed_at_batch(ctx, job_id, 50, monkeypatch)  # the second batch
    run_import(ctx, job_id)
    assert errors_of(ctx, job_id) == errors_of(ctx, clean.id)
    assert get_job(ctx, admin, job_id).counts == clean.counts


def test_many_updates_in_a_batch_change_exactly_what_the_file_says(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(120)]))
    ids = {r["email"]: r["id"] for r in stored_customers(ctx, admin)}
    changed = [
        [str(ids[f"person{i}@example.com"]), f"New{i}", f"NEW{i}@example.com", "note"]
        for i in range(120)
    ]  # whole batches of rows changing the same fields
    job = import_now(
        ctx, admin, csv_text([["Customer Record ID", "First Name", "Email", "Notes"], *changed])
    )
    assert (job.counts.updated, job.counts.failed) == (120, 0)
    rows = {r["id"]: r for r in stored_customers(ctx, admin)}
    for i in range(120):
        row = rows[ids[f"person{i}@example.com"]]
        assert (row["first_name"], row["email"], row["email_key"], row["notes"]) == (
            f"New{i}", f"NEW{i}@example.com", f"new{i}@example.com", "note",
        )  # fmt: skip
        assert row["last_name"] == f"Last{i}"  # not in the file: kept
    again = import_now(ctx, admin, csv_text([["Email", "Notes"], ["new5@example.com", "x"]]))
    assert again.counts.updated == 1  # the new email is the key now


def test_updates_changing_different_fields_each_change_only_their_own(
    ctx: Context, admin: User
) -> None:
    header = ["Email", "Accepts Marketing", "Date of Birth", "Phone", "Notes"]
    first = [
        ["a@example.com", "TRUE", "1990-04-03", "+3161", "old a"],
        ["b@example.com", "FALSE", "1985-12-31", "+3162", "old b"],
        ["c@example.com", "FALSE", "", "+3163", "old c"],
        ["d@example.com", "TRUE", "2001-01-01", "+3164", "old d"],
    ]
    import_now(ctx, admin, csv_text([header, *first]))
    second = [
        ["a@example.com", "FALSE", "1990-04-03", "+3161", "old a"],  # a boolean
        ["b@example.com", "FALSE", "1986-01-01", "+3162", "old b"],  # a date
        ["c@example.com", "TRUE", "1970-07-07", "", "new c"],  # three fields, phone cleared
        ["d@example.com", "TRUE", "2001-01-01", "+3164", ""],  # the notes cleared
    ]
    job = import_now(ctx, admin, csv_text([header, *second]), blank_cells="clear")
    assert (job.counts.updated, job.counts.failed) == (4, 0)
    rows = {r["email"]: r for r in stored_customers(ctx, admin)}
    got = {
        email: (r["accepts_marketing"], str(r["date_of_birth"]), r["phone"], r["notes"])
        for email, r in rows.items()
    }
    assert got == {
        "a@example.com": (False, "1990-04-03", "+3161", "old a"),
        "b@example.com": (False, "1986-01-01", "+3162", "old b"),
        "c@example.com": (True, "1970-07-07", None, "new c"),
        "d@example.com": (True, "2001-01-01", "+3164", None),
    }


def _slow_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch's write waits a little first: on PostgreSQL the next batch is then surely
    planned before the previous one is written (the case the overlap must get right)."""

    real_write = pipeline._write_batch

    def slow_write(*args: Any, **kwargs: Any) -> int:
        time.sleep(0.2)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_write_batch", slow_write)


def test_a_customer_changed_in_one_batch_is_seen_changed_by_the_next(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_now(ctx, admin, csv_text([["Email", "Notes"], ["person0@example.com", "orig"]]))
    (stored,) = stored_customers(ctx, admin)
    header = ["Customer Record ID", "Email", "Notes"]
    filler = [["", f"filler{i}@example.com", "x"] for i in range(49)]  # batches are 50 rows
    rows = [
        [str(stored["id"]), "", "first"],  # batch 1 changes the notes by record id …
        *filler,
        ["", "person0@example.com", "orig"],  # … batch 2 (by email) must set them back
    ]
    _slow_writes(monkeypatch)
    job = import_now(ctx, admin, csv_text([header, *rows]))
    assert (job.counts.updated, job.counts.created, job.counts.failed) == (2, 49, 0)
    person = next(r for r in stored_customers(ctx, admin) if r["id"] == stored["id"])
    assert person["notes"] == "orig"


def test_an_email_given_up_in_one_batch_is_free_in_the_next(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(1)]))
    (stored,) = stored_customers(ctx, admin)
    header = ["Customer Record ID", "First Name", "Email"]
    filler = [["", f"F{i}", f"filler{i}@example.com"] for i in range(49)]
    rows = [
        [str(stored["id"]), "Moved", "moved@example.com"],  # batch 1: a new email …
        *filler,
        ["", "Newcomer", "person0@example.com"],  # … so batch 2's row is a new customer
    ]
    _slow_writes(monkeypatch)
    job = import_now(ctx, admin, csv_text([header, *rows]))
    assert (job.counts.updated, job.counts.created, job.counts.failed) == (1, 50, 0)
    by_email = {r["email"]: r for r in stored_customers(ctx, admin)}
    assert by_email["moved@example.com"]["id"] == stored["id"]
    assert by_email["person0@example.com"]["first_name"] == "Newcomer"


def test_a_record_id_created_by_one_batch_is_found_by_the_next(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(1)]))
    (stored,) = stored_customers(ctx, admin)
    header = ["Customer Record ID", "First Name", "Email"]
    created = [["", f"F{i}", f"new{i}@example.com"] for i in range(50)]  # batch 1 creates …
    # … the customer this row names: ids are handed out in order, so it is the next one.
    later = [str(int(str(stored["id"])) + 1), "Renamed", ""]
    _slow_writes(monkeypatch)
    job = import_now(ctx, admin, csv_text([header, *created, later]))
    assert (job.counts.created, job.counts.updated, job.counts.failed) == (50, 1, 0)
    by_email = {r["email"]: r for r in stored_customers(ctx, admin)}
    assert by_email["new0@example.com"]["first_name"] == "Renamed"


def test_a_batch_planned_again_while_later_batches_are_prepared_keeps_their_repeats(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Five batches of 50. The second batch's write meets an email another job wrote
    # meanwhile, while the third is decided and the fourth already parsed: both are planned
    # again, and repeats across the later batches are still found, once each.

    rows = people(250)
    rows[180][2] = "person130@example.com"  # row 182 repeats row 132
    rows[230][2] = "person190@example.com"  # row 232 repeats row 192
    content = csv_text([HEADER, *rows])
    clean = import_now(ctx, admin, content, dry_run=True)
    job_id = stage_import(ctx, admin, content)
    raced = _another_job_writes_person60_first(ctx, admin, monkeypatch)
    run_import(ctx, job_id)
    job = get_job(ctx, admin, job_id)
    assert job.status is JobStatus.READY
    assert raced["done"]
    repeats = [(182, "duplicate_in_file"), (232, "duplicate_in_file")]
    assert errors_of(ctx, job_id) == errors_of(ctx, clean.id) == repeats
    assert (job.counts.created, job.counts.updated, job.counts.failed) == (247, 1, 2)
    assert_counts_add_up(job)


class _DiskFillsUp(io.BufferedRandom):
    """A spill file on a disk that has room for the first chunk of rows only."""

    room = 2  # writes: the first chunk's size and its rows

    def write(self, data: Any) -> int:
        if _DiskFillsUp.room == 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        _DiskFillsUp.room -= 1
        return super().write(data)


def test_an_import_whose_rows_cannot_be_kept_on_disk_reads_its_file_again(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    content = csv_text([HEADER, *people(2600), ["", "", "bad@", "", "", "", ""], *people(30)])
    clean = import_now(ctx, admin, content, dry_run=True)
    real = tempfile.TemporaryFile
    opened: list[_DiskFillsUp] = []

    def spill_file(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("prefix") != ".rows-":
            return real(*args, **kwargs)
        handle = real(*args, buffering=0, **kwargs)  # a FileIO, wrapped as open() would
        opened.append(_DiskFillsUp(handle))
        return opened[-1]

    monkeypatch.setattr(tempfile, "TemporaryFile", spill_file)
    monkeypatch.setattr(_DiskFillsUp, "room", 2)
    with caplog.at_level(logging.WARNING, logger=spill.__name__):
        job = import_now(ctx, admin, content)
    assert len(opened) == 1 and opened[0].closed  # given up at the second chunk, and dropped
    assert "rows not kept on disk ([Errno 28] No space left on device)" in caplog.text
    assert job.status is JobStatus.READY
    assert job.counts == clean.counts
    assert errors_of(ctx, job.id) == errors_of(ctx, clean.id)
    assert len(stored_customers(ctx, admin)) == 2600


def test_the_pipeline_hands_the_interpreter_lock_over_sooner_and_restores_the_default(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[float] = []
    real_write = pipeline._write_batch

    def write(*args: Any, **kwargs: Any) -> int:
        seen.append(sys.getswitchinterval())
        return real_write(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_write_batch", write)
    before = sys.getswitchinterval()
    job = import_now(ctx, admin, csv_text([HEADER, *people(120)]))
    assert job.status is JobStatus.READY
    assert sys.getswitchinterval() == before
    if ctx.engine.dialect.name == "postgresql":  # SQLite writes batches one by one, as before
        assert seen and set(seen) == {pipeline.PIPELINE_SWITCH_INTERVAL}
    else:
        assert set(seen) == {before}


BOOK = "customers.xlsx"


def _workbook(rows: list[list[str]], damage_row: int | None = None) -> bytes:
    """A sheet of inline strings; a control character, which XML cannot hold, in spreadsheet
    row ``damage_row``."""

    def cell(column: int, number: int, text: str) -> str:
        text = text + chr(1) if number == damage_row and column == 0 else text
        return f'<c r="{chr(65 + column)}{number}" t="inlineStr"><is><t>{text}</t></is></c>'

    xml = "".join(
        f'<row r="{n}">' + "".join(cell(c, n, text) for c, text in enumerate(row)) + "</row>"
        for n, row in enumerate(rows, 1)
    )
    return Parts([Sheet("Customers", sheet_xml(xml))]).bytes()


def test_a_workbook_damaged_past_its_first_rows_fails_the_import_and_writes_nothing(
    ctx: Context, admin: User
) -> None:
    """The survey reads every row before any is written: damage in row 120 fails the job
    in plain words, and none of the 118 rows above it is imported."""
    failed = import_now(
        ctx, admin, _workbook([HEADER, *people(150)], damage_row=120), filename=BOOK
    )
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None and "damaged after row" in failed.error
    assert stored_customers(ctx, admin) == []

    job = import_now(ctx, admin, _workbook([HEADER, *people(150)]), filename=BOOK)
    assert job.status is JobStatus.READY
    assert (job.counts.created, job.counts.failed) == (150, 0)
    assert len(stored_customers(ctx, admin)) == 150
