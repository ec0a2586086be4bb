"""Retry of an ended import on SQLite and PostgreSQL: the rows a lost database left
unprocessed and the rows that met another job's data run again over the original upload, with
the file's row numbers, once; and the refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from support import (
    assert_counts_add_up,
    csv_text,
    errors_of,
    get_job,
    holding_chunks,
    import_now,
    stage_import,
    stored_customers,
)
from xlsx_parts import inline_workbook

from bulkport.config import Settings
from bulkport.errors import Conflict, Gone, NotFound
from bulkport.schemas.accounts import Role
from bulkport.schemas.jobs import JobStatus
from bulkport.storage import accounts, customer_writes, job_rows
from bulkport.storage.accounts import User
from bulkport.tasks import pipeline
from bulkport.tasks.chunks import run_chunk
from bulkport.tasks.context import Context
from bulkport.tasks.imports import run_import
from bulkport.usecases.retries import retry_import

HEADER = ["First Name", "Last Name", "Email"]


def people(n: int, start: int = 0) -> list[list[str]]:
    return [[f"First{i}", f"Last{i}", f"person{i}@example.com"] for i in range(start, start + n)]


def failed_part_way(
    ctx: Context, job_id: str, checkpoint: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run the import until the batch at ``checkpoint``, where the database goes away, then
    end it FAILED as a job that lost its database on every attempt ends."""
    real_write = pipeline._write_batch

    def lost(*args: Any, **kwargs: Any) -> int:
        if args[2] == checkpoint:
            raise OperationalError("INSERT", None, ConnectionError("server closed the connection"))
        return real_write(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "_write_batch", lost)
        with pytest.raises(OperationalError):
            run_import(ctx, job_id)
    with ctx.engine.begin() as conn:
        job_rows.finish(conn, job_id, None, JobStatus.FAILED, error="The database went away.")


def retried(ctx: Context, user: User, job_id: str) -> job_rows.Job:
    retry = retry_import(ctx, user.store_id, user.id, job_id)
    run_import(ctx, retry.id)
    return get_job(ctx, user, retry.id)


def other_store(ctx: Context) -> User:
    with ctx.engine.begin() as conn:
        store_id = accounts.ensure_store(conn, "south")
        return accounts.ensure_user(conn, store_id, "admin@south.example", Role.ADMIN)


def test_a_retry_imports_exactly_the_rows_a_lost_database_left(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = ["", "", "bad@"]
    content = csv_text([HEADER, *people(150), bad, *people(99, 500), bad])
    job_id = stage_import(ctx, admin, content)
    failed_part_way(ctx, job_id, 100, monkeypatch)
    first = get_job(ctx, admin, job_id)
    assert (first.status, first.counts.processed, first.counts.total) == (
        JobStatus.FAILED,
        100,
        251,
    )

    retry = retried(ctx, admin, job_id)
    assert retry.status is JobStatus.READY, retry.error
    assert retry.options["only_rows"] == "102-"
    assert retry.options["retry_of"] == job_id
    assert (retry.counts.total, retry.counts.created, retry.counts.failed) == (151, 149, 2)
    assert_counts_add_up(retry)
    assert [row for row, _ in errors_of(ctx, retry.id)] == [152, 252]  # the file's rows
    emails = [c["email"] for c in stored_customers(ctx, admin)]
    assert len(emails) == len(set(emails)) == 249  # none applied twice
    # Done once: a second retry is the same job; the retry itself leaves nothing to retry.
    assert retry_import(ctx, admin.store_id, admin.id, job_id).id == retry.id
    with pytest.raises(Conflict, match="Nothing to retry"):
        retry_import(ctx, admin.store_id, admin.id, retry.id)


def test_a_row_whose_email_another_customer_took_is_retried(ctx: Context, admin: User) -> None:
    """A row fails on an email another job gave a customer; retried, it fails again keeping
    its error while that customer holds it, and succeeds once the email is freed."""
    import_now(ctx, admin, csv_text([["Email", "First Name"], ["ann@example.com", "Ann"]]))
    with ctx.engine.begin() as conn:
        customer_writes.insert_many(
            conn, admin.store_id, [{"email": "bea@example.com", "first_name": "Bea"}]
        )
    changes = [["Customer Record ID", "Email", "Last Name"], ["1", "bea@example.com", "A"]]
    first = import_now(ctx, admin, csv_text([*changes, ["", "bad@", "X"]]))
    assert [row for row, _ in errors_of(ctx, first.id)] == [2, 3]
    assert errors_of(ctx, first.id)[0] == (2, "email_taken")  # row 3's bad email stays

    again = retried(ctx, admin, first.id)
    assert again.options["only_rows"] == "2"
    assert (again.counts.total, again.counts.failed) == (1, 1)
    assert errors_of(ctx, again.id) == [(2, "email_taken")]

    with ctx.engine.begin() as conn:
        customer_writes.update_many(conn, admin.store_id, [{"id": 2, "email": "b@x.org"}])
    freed = retried(ctx, admin, again.id)
    assert (freed.counts.total, freed.counts.updated, freed.counts.failed) == (1, 1, 0)
    assert stored_customers(ctx, admin)[0]["email"] == "bea@example.com"


def test_refusals_say_why(ctx: Context, admin: User) -> None:
    content = csv_text([HEADER, *people(3), ["", "", "bad@"]])
    dry = import_now(ctx, admin, content, dry_run=True)
    with pytest.raises(Conflict, match="dry run"):
        retry_import(ctx, admin.store_id, admin.id, dry.id)
    queued = stage_import(ctx, admin, content)
    with pytest.raises(Conflict, match="QUEUED"):
        retry_import(ctx, admin.store_id, admin.id, queued)
    run_import(ctx, queued)
    with pytest.raises(Conflict, match="Nothing to retry"):  # only the file's own faults
        retry_import(ctx, admin.store_id, admin.id, queued)
    with pytest.raises(NotFound):
        retry_import(ctx, other_store(ctx).store_id, None, queued)


def test_a_retry_of_an_expired_upload_is_gone(ctx: Context, admin: User) -> None:
    job_id = stage_import(ctx, admin, csv_text([HEADER, *people(3)]))
    with ctx.engine.begin() as conn:
        job_rows.finish(conn, job_id, None, JobStatus.FAILED, error="stopped")
    ctx.files.delete_tree(f"jobs/{job_id}")
    with pytest.raises(Gone):
        retry_import(ctx, admin.store_id, admin.id, job_id)


@pytest.fixture
def split_ctx(settings: Settings) -> Iterator[Context]:
    """A context that splits imports of more than 50 rows (chunks run in this process)."""
    context = Context.from_settings(settings.model_copy(update={"chunk_rows": 50}))
    yield context
    context.close()


def test_a_split_import_that_failed_part_way_is_retried(split_ctx: Context, admin: User) -> None:
    sending, sent = holding_chunks(split_ctx)
    job_id = stage_import(sending, admin, csv_text([HEADER, *people(120)]))
    run_import(sending, job_id)
    assert len(sent) == 3
    run_chunk(split_ctx, job_id, 0)  # rows 2-51; chunks 1 and 2 never ran
    with split_ctx.engine.begin() as conn:
        job_rows.finish(conn, job_id, None, JobStatus.FAILED, error="gave up")

    retry = retried(split_ctx, admin, job_id)
    assert retry.options["only_rows"] == "52-121"
    assert retry.status is JobStatus.READY, retry.error
    assert (retry.chunks, retry.counts.total, retry.counts.created) == (2, 70, 70)
    assert_counts_add_up(retry)
    emails = [str(c["email"]) for c in stored_customers(split_ctx, admin)]
    assert sorted(emails) == sorted(f"person{i}@example.com" for i in range(120))


def test_a_workbook_is_retried_with_its_row_numbers(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = inline_workbook([["Title"], HEADER, *people(130)])
    job_id = stage_import(ctx, admin, content, filename="customers.xlsx")
    failed_part_way(ctx, job_id, 100, monkeypatch)
    retry = retried(ctx, admin, job_id)
    assert retry.status is JobStatus.READY, retry.error
    assert (retry.options["only_rows"], retry.options["header_row"]) == ("103-", 2)
    assert (retry.counts.total, retry.counts.created) == (30, 30)
    assert len(stored_customers(ctx, admin)) == 130


def test_the_api_retries_once_and_links_both_ways(
    ctx: Context, admin: User, client: TestClient, auth: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    job_id = stage_import(ctx, admin, csv_text([HEADER, *people(120)]))
    failed_part_way(ctx, job_id, 100, monkeypatch)
    answer = client.post(f"/api/v1/jobs/{job_id}/retry", headers=auth)
    assert answer.status_code == 202, answer.text
    retry = answer.json()
    assert retry["links"]["retry_of"].endswith(f"/api/v1/jobs/{job_id}")
    assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=auth).json()["id"] == retry["id"]
    view = client.get(f"/api/v1/jobs/{job_id}", headers=auth).json()
    assert view["links"]["retry_job"].endswith(f"/api/v1/jobs/{retry['id']}")
    dry = import_now(ctx, admin, csv_text([HEADER, *people(2)]), dry_run=True)
    refused = client.post(f"/api/v1/jobs/{dry.id}/retry", headers=auth)
    assert refused.status_code == 409
    assert "dry run" in refused.json()["detail"]
    form = client.post("/api/v1/imports", headers=auth, data={"retry_of": job_id},
                       files={"file": ("a.csv", b"Email\r\na@x.org\r\n")})  # fmt: skip
    assert form.status_code == 422
