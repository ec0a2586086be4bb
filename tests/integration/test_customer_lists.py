"""Archive, un-archive and merge jobs over a spreadsheet, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import pytest
from sqlalchemy import select
from support import (
    assert_counts_add_up,
    csv_text,
    errors_of,
    get_job,
    import_now,
    local_files,
    stage_list,
)

from bulkport.schemas.jobs import JobStatus
from bulkport.storage import accounts, customer_records, job_rows
from bulkport.storage.accounts import User
from bulkport.storage.db import now
from bulkport.storage.tables import customer_events, customers, sales
from bulkport.tasks.context import Context
from bulkport.tasks.customer_changes import ARCHIVE, MERGE, UNARCHIVE
from bulkport.tasks.customer_lists import ListKind, run_list
from bulkport.tasks.reports import outcomes_key

HEADER = ["First Name", "Last Name", "Email", "Phone"]


def people(n: int) -> list[list[str]]:
    return [
        [f"First{i}", f"Last{i}", f"person{i}@example.com", f"+3161234{i:04d}"] for i in range(n)
    ]


def run(ctx: Context, user: User, spec: ListKind, content: str, **options: object) -> job_rows.Job:
    job_id = stage_list(ctx, user, spec, content, **options)
    run_list(ctx, job_id, spec)
    return get_job(ctx, user, job_id)


def archived_ids(ctx: Context) -> set[int]:
    with ctx.engine.connect() as conn:
        return set(conn.execute(select(customers.c.id).where(customers.c.archived)).scalars())


def report_lines(ctx: Context, job_id: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(local_files(ctx).path(outcomes_key(job_id)).read_text())))


def test_an_archive_job_archives_by_id_and_by_email_with_row_errors(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(5)]))
    with ctx.engine.begin() as conn:
        other = accounts.ensure_store(conn, "south")
        foreign = customer_records.create(conn, other, {"first_name": "X"})
    rows = [
        ["Customer Record ID", "Email"],
        ["1", ""],
        ["", "PERSON1@example.com"],
        ["1", ""],
        [str(foreign), ""],
        ["", "nobody@example.com"],
        ["", ""],
        ["abc", ""],
    ]
    job = run(ctx, admin, ARCHIVE, csv_text(rows))
    assert job.status is JobStatus.READY
    assert_counts_add_up(job)
    assert (job.counts.updated, job.counts.failed, job.counts.skipped) == (2, 4, 1)
    assert errors_of(ctx, job.id) == [
        (4, "repeated_row"), (5, "unknown_customer"), (6, "unknown_email"), (8, "invalid_id"),
    ]  # fmt: skip
    assert archived_ids(ctx) == {1, 2}
    lines = report_lines(ctx, job.id)
    assert lines[1][:4] == ["2", "1", "", "archived"]
    assert "person1" not in local_files(ctx).path(outcomes_key(job.id)).read_text()


def test_a_file_without_id_or_email_column_fails_the_job_in_plain_words(
    ctx: Context, admin: User
) -> None:
    job = run(ctx, admin, ARCHIVE, csv_text([["Name"], ["Ann"]]))
    assert job.status is JobStatus.FAILED
    assert job.error is not None and "Customer Record ID" in job.error


def test_an_archive_dry_run_changes_nothing_and_its_commit_changes_what_it_showed(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(3)]))
    content = csv_text([["Customer Record ID"], ["1"], ["3"]])
    dry = run(ctx, admin, ARCHIVE, content, dry_run=True)
    assert (dry.status, dry.counts.updated) == (JobStatus.READY, 2)
    assert archived_ids(ctx) == set()
    assert [line[3] for line in report_lines(ctx, dry.id)[1:]] == ["would be archived"] * 2
    done = run(ctx, admin, ARCHIVE, content, preview_of=dry.id)
    assert (done.status, done.counts.updated) == (JobStatus.READY, 2)
    assert archived_ids(ctx) == {1, 3}


def test_unarchive_makes_archived_customers_listed_again_and_counts_the_others_unchanged(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(3)]))
    run(ctx, admin, ARCHIVE, csv_text([["Customer Record ID"], ["1"], ["2"]]))
    job = run(
        ctx,
        admin,
        UNARCHIVE,
        csv_text([["Email"], ["person1@example.com"], ["person2@example.com"]]),
    )
    assert (job.counts.updated, job.counts.unchanged) == (1, 1)
    assert archived_ids(ctx) == {1}


def test_two_archive_jobs_racing_on_the_same_customers_each_end_ready_with_exact_counts(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(300)]))
    content = csv_text([["Customer Record ID"], *[[str(i)] for i in range(1, 301)]])
    ids = [stage_list(ctx, admin, ARCHIVE, content) for _ in range(2)]
    threads = [threading.Thread(target=run_list, args=(ctx, job_id, ARCHIVE)) for job_id in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    jobs = [get_job(ctx, admin, job_id) for job_id in ids]
    assert all(j.status is JobStatus.READY for j in jobs)
    assert sum(j.counts.updated for j in jobs) == 300
    assert sum(j.counts.unchanged for j in jobs) == 300
    with ctx.engine.connect() as conn:
        events = conn.execute(select(customer_events.c.customer_id)).scalars().all()
    assert sorted(events) == list(range(1, 301))


def test_a_merge_job_fills_empty_fields_moves_sales_and_refuses_bad_pairs(
    ctx: Context, admin: User
) -> None:
    rows = [
        ["First Name", "Last Name", "Email", "Phone", "City"],
        ["Ann", "Lee", "", "+31600000001", ""],
        ["Ann", "Lee-Smith", "ann@example.com", "+31600000002", "Utrecht"],
        ["Bob", "Ray", "bob@example.com", "", ""],
        ["Bob", "Ray", "bob2@example.com", "", ""],
        ["Cy", "Do", "cy@example.com", "", ""],
    ]
    import_now(ctx, admin, csv_text(rows))
    with ctx.engine.begin() as conn:
        conn.execute(sales.insert().values(store_id=admin.store_id, customer_id=2, amount=10,
                                           sold_at=now()))  # fmt: skip
    pairs = [
        ["Primary ID", "Secondary ID"],
        ["1", "2"],
        ["3", "3"],
        ["3", "4"],
        ["5", "3"],
        ["1", "99"],
    ]
    job = run(ctx, admin, MERGE, csv_text(pairs))
    assert job.status is JobStatus.READY
    assert_counts_add_up(job)
    assert errors_of(ctx, job.id) == [
        (3, "self_merge"),
        (5, "chained_merge"),
        (6, "unknown_customer"),
    ]
    with ctx.engine.connect() as conn:
        found = {r.id: r for r in conn.execute(select(customers))}
        moved = conn.execute(select(sales.c.customer_id)).scalar_one()
        events = conn.execute(select(customer_events).order_by(customer_events.c.id)).all()
    ann = found[1]
    assert (ann.last_name, ann.phone, ann.email, ann.invoice_city) == (
        "Lee", "+31600000001", "ann@example.com", "Utrecht",
    )  # fmt: skip
    assert (found[2].archived, found[2].merged_into_id, found[2].email) == (True, 1, None)
    assert moved == 1
    assert events[1].detail == {"other_id": 2, "fields": ["email", "invoice_city"]}
    assert "ann@example.com" not in str([e.detail for e in events])


def test_a_chain_inside_one_merge_file_is_a_row_error(ctx: Context, admin: User) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(4)]))
    job = run(
        ctx,
        admin,
        MERGE,
        csv_text([["Primary ID", "Secondary ID"], ["1", "2"], ["3", "2"], ["2", "4"]]),
    )
    codes = errors_of(ctx, job.id)
    assert codes == [(2, "chained_merge"), (3, "chained_merge")]
    assert job.counts.updated == 1


def test_a_resumed_job_still_finds_a_customer_an_earlier_batch_named(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    import_now(ctx, admin, csv_text([HEADER, *people(60)]))
    listing = csv_text(
        [["Customer Record ID", "Email"], *[[str(i), ""] for i in range(1, 61)],
         ["", "person0@example.com"]]
    )  # fmt: skip
    job_id = stage_list(ctx, admin, ARCHIVE, listing)
    advance = job_rows.advance
    crashed: list[int] = []

    def crash_once(*args: Any, **kwargs: Any) -> None:
        if kwargs["expected_checkpoint"] == 50 and not crashed:
            crashed.append(1)
            raise OperationalError("UPDATE jobs", {}, Exception("connection lost"))
        advance(*args, **kwargs)

    monkeypatch.setattr(job_rows, "advance", crash_once)
    with pytest.raises(OperationalError):
        run_list(ctx, job_id, ARCHIVE)
    assert get_job(ctx, admin, job_id).checkpoint == 50
    run_list(ctx, job_id, ARCHIVE)
    job = get_job(ctx, admin, job_id)
    assert (job.status, job.counts.updated, job.counts.failed) == (JobStatus.READY, 60, 1)
    assert errors_of(ctx, job_id) == [(62, "repeated_row")]
    assert len(report_lines(ctx, job_id)) == 62


def test_a_long_list_writes_each_outcome_line_about_once(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report grows a batch at a time without being stored again whole after each batch
    (which would write bytes in the square of the list's length)."""
    import_now(ctx, admin, csv_text([HEADER, *people(500)]))
    job_id = stage_list(
        ctx, admin, ARCHIVE, csv_text([["Customer Record ID"], *[[str(i)] for i in range(1, 501)]])
    )
    writer = ctx.files.writer
    written: list[int] = []

    @contextmanager
    def counting(key: str) -> Iterator[BinaryIO]:
        with writer(key) as out:
            yield out
            written.append(out.tell())

    monkeypatch.setattr(ctx.files, "writer", counting)
    run_list(ctx, job_id, ARCHIVE)
    assert get_job(ctx, admin, job_id).counts.updated == 500
    report = local_files(ctx).path(outcomes_key(job_id)).stat().st_size
    assert len(report_lines(ctx, job_id)) == 501
    assert sum(written) < 2.2 * report
