"""Undo of an import on SQLite and PostgreSQL: a wrong file that created 500 customers and
overwrote 500 phone numbers, undone, leaves the store's customers table exactly as before
(timestamps aside: an undo is a write of its own); a field changed since is left alone and
reported; the refusals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from support import csv_text, get_job, import_now
from xlsx_parts import inline_workbook

from bulkport.config import Settings
from bulkport.errors import Conflict, Gone
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage import customer_records
from bulkport.storage.accounts import User
from bulkport.storage.tables import customers, import_changes, jobs
from bulkport.tasks.context import Context
from bulkport.tasks.retention import expire_files
from bulkport.tasks.undo import run_undo
from bulkport.usecases.undos import undo_import

HEADER = ["First Name", "Last Name", "Email", "Phone"]
# Moments an undo writes anew; every other column must be as before.
TIMESTAMPS = ("created_at", "updated_at")


def people(n: int, start: int = 0, phone: str = "555-0100") -> list[list[str]]:
    return [
        [f"First{i}", f"Last{i}", f"p{i}@example.com", f"{phone}-{i}"]
        for i in range(start, start + n)
    ]


def table(ctx: Context) -> list[dict[str, object]]:
    """Every customer row of every store, timestamps aside."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(customers).order_by(customers.c.id))
        return [{k: v for k, v in r._mapping.items() if k not in TIMESTAMPS} for r in rows]


def wrong_file() -> list[list[str]]:
    """Half new customers, half the existing ones with overwritten phone numbers."""
    return [HEADER, *people(500, 500), *people(500, 0, phone="999-0000")]


def undone(ctx: Context, user: User, job_id: str, *, dry_run: bool = False) -> str:
    undo = undo_import(ctx, user.store_id, user.id, job_id, dry_run=dry_run)
    run_undo(ctx, undo.id)
    assert get_job(ctx, user, undo.id).status is JobStatus.READY
    return undo.id


def report(ctx: Context, job_id: str) -> list[dict[str, str]]:
    with ctx.engine.connect() as conn:
        key = conn.execute(select(jobs.c.report_file).where(jobs.c.id == job_id)).scalar_one()
    with ctx.files.open(key) as raw:
        return list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_undo_of_a_wrong_file_leaves_every_customer_row_as_before(
    ctx: Context, admin: User, kind: str
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(500)]))
    before = table(ctx)
    if kind == "csv":
        wrong = import_now(ctx, admin, csv_text(wrong_file()))
    else:
        content = inline_workbook(wrong_file())
        wrong = import_now(ctx, admin, content, filename="customers.xlsx")
    assert (wrong.counts.created, wrong.counts.updated) == (500, 500)
    assert table(ctx) != before

    undo_id = undone(ctx, admin, wrong.id)

    assert table(ctx) == before
    counts = get_job(ctx, admin, undo_id).counts
    assert (counts.processed, counts.succeeded, counts.updated) == (1000, 500, 500)
    with ctx.engine.connect() as conn:
        assert conn.execute(select(import_changes)).first() is None  # consumed


def test_undo_of_a_split_import_leaves_every_customer_row_as_before(
    ctx: Context, settings: Settings, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(500)]))
    before = table(ctx)
    split = Context.from_settings(settings.model_copy(update={"chunk_rows": 300}))
    try:
        wrong = import_now(split, admin, csv_text(wrong_file()))
    finally:
        split.close()
    assert wrong.chunks and (wrong.counts.created, wrong.counts.updated) == (500, 500)

    undone(ctx, admin, wrong.id)

    assert table(ctx) == before


def test_a_dry_run_reports_what_the_undo_would_do_and_changes_nothing(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(20)]))
    wrong = import_now(ctx, admin, csv_text([HEADER, *people(10, 20), *people(5, 0, "999")]))
    after_import = table(ctx)

    dry_id = undone(ctx, admin, wrong.id, dry_run=True)

    assert table(ctx) == after_import
    lines = report(ctx, dry_id)
    assert sum(line["action"] == "deleted" for line in lines) == 10
    restored = [line for line in lines if line["action"] == "restored"]
    assert len(restored) == 5 and {line["field"] for line in restored} == {"phone"}
    assert {line["restored_value"] for line in restored} == {f"555-0100-{i}" for i in range(5)}
    # A dry run is no undo: the real one may still run.
    undone(ctx, admin, wrong.id)
    assert len(table(ctx)) == 20


def test_a_field_changed_since_the_import_is_left_alone_and_reported(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(3)]))
    wrong = import_now(
        ctx, admin, csv_text([HEADER, *people(2, 3), ["First0", "Last0", "p0@example.com", "999"],
                              ["Edited", "Last1", "p1@example.com", "999"]])
    )  # fmt: skip
    with ctx.engine.begin() as conn:
        conn.execute(update(customers).where(customers.c.email == "p0@example.com")
                     .values(phone="123 by hand"))  # fmt: skip
        new_one = conn.execute(
            select(customers.c.id).where(customers.c.email == "p3@example.com")
        ).scalar_one()
        later = datetime.now(UTC) + timedelta(seconds=5)
        conn.execute(
            update(customers).where(customers.c.id == new_one).values(company="E", updated_at=later)
        )

    undo_id = undone(ctx, admin, wrong.id)

    by_email = {row["email"]: row for row in table(ctx)}
    assert by_email["p0@example.com"]["phone"] == "123 by hand"  # changed since: left alone
    assert by_email["p1@example.com"]["phone"] == "555-0100-1"  # restored
    assert by_email["p1@example.com"]["first_name"] == "First1"
    assert "p3@example.com" in by_email and "p4@example.com" not in by_email
    lines = report(ctx, undo_id)
    conflict = [line for line in lines if line["action"] == "conflict"]
    assert [(c["field"], c["imported_value"], c["current_value"]) for c in conflict] == [
        ("phone", "999", "123 by hand")
    ]
    assert [line["customer_id"] for line in lines if line["action"] == "kept_changed_since"] == [
        str(new_one)
    ]


def test_a_created_customer_with_sales_is_archived_not_deleted(ctx: Context, admin: User) -> None:
    wrong = import_now(ctx, admin, csv_text([HEADER, *people(2)]))
    with ctx.engine.begin() as conn:
        first = conn.execute(select(customers.c.id).order_by(customers.c.id)).scalars().first()
        assert first is not None
        customer_records.add_sale(conn, admin.store_id, first, Decimal(10), datetime.now(UTC))

    undo_id = undone(ctx, admin, wrong.id)

    rows = table(ctx)
    assert [(r["id"], r["archived"]) for r in rows] == [(first, True)]
    assert [line["action"] for line in report(ctx, undo_id)] == ["archived_has_sales", "deleted"]


def test_refusals_say_why(ctx: Context, admin: User) -> None:
    dry = import_now(ctx, admin, csv_text([HEADER, *people(2)]), dry_run=True)
    with pytest.raises(Conflict, match="dry run"):
        undo_import(ctx, admin.store_id, admin.id, dry.id, dry_run=False)
    real = import_now(ctx, admin, csv_text([HEADER, *people(2)]))
    undo_id = undone(ctx, admin, real.id)
    with pytest.raises(Conflict, match="undo cannot be undone"):
        undo_import(ctx, admin.store_id, admin.id, undo_id, dry_run=False)
    # One undo per import: asked again, the same job.
    assert undo_import(ctx, admin.store_id, admin.id, real.id, dry_run=False).id == undo_id
    old = import_now(ctx, admin, csv_text([HEADER, *people(2, 10)]))
    with ctx.engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == old.id)
                     .values(finished_at=datetime.now(UTC) - timedelta(days=31)))  # fmt: skip
    with pytest.raises(Gone, match="30 days"):
        undo_import(ctx, admin.store_id, admin.id, old.id, dry_run=False)


def test_the_api_starts_an_undo_job(
    client: TestClient, ctx: Context, admin: User, auth: dict[str, str]
) -> None:
    wrong = import_now(ctx, admin, csv_text([HEADER, *people(3)]))
    answer = client.post(f"/api/v1/jobs/{wrong.id}/undo", json={"dry_run": True}, headers=auth)
    assert answer.status_code == 202, answer.text
    assert answer.json()["kind"] == JobKind.UNDO and answer.json()["options"]["dry_run"] is True
    refused = client.post(f"/api/v1/jobs/{answer.json()['id']}/undo", json={}, headers=auth)
    assert refused.status_code == 409 and "cannot be undone" in refused.text


def test_undo_data_past_the_undo_window_is_purged_by_the_clean_up(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, *people(2)]))
    import_now(ctx, admin, csv_text([HEADER, *people(2, 0, "999")]))
    expire_files(ctx, datetime.now(UTC) + timedelta(days=29))
    with ctx.engine.connect() as conn:
        assert len(conn.execute(select(import_changes)).all()) == 2
    expire_files(ctx, datetime.now(UTC) + timedelta(days=31))
    with ctx.engine.connect() as conn:
        assert conn.execute(select(import_changes)).first() is None
