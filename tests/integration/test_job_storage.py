"""Job rows on SQLite and PostgreSQL: store scoping, the transition table, errors in order."""

from __future__ import annotations

from bulkport.schemas.accounts import Role
from bulkport.schemas.jobs import JobKind, JobStatus, RowErrorView
from bulkport.storage import accounts, job_rows
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context


def new_job(ctx: Context, user: User) -> str:
    with ctx.engine.begin() as conn:
        return job_rows.create_job(
            conn, store_id=user.store_id, kind=JobKind.IMPORT, options={}, created_by=user.id
        )


def test_another_stores_job_does_not_exist_for_the_caller(ctx: Context, admin: User) -> None:
    job_id = new_job(ctx, admin)
    with ctx.engine.begin() as conn:
        other_store = accounts.ensure_store(conn, "south")
        assert job_rows.get_job(conn, other_store, job_id) is None
        assert job_rows.list_jobs(conn, other_store) == []
        assert job_rows.get_job(conn, admin.store_id, job_id) is not None


def test_finished_jobs_cannot_move_again(ctx: Context, admin: User) -> None:
    job_id = new_job(ctx, admin)
    with ctx.engine.begin() as conn:
        assert job_rows.finish(conn, job_id, None, JobStatus.CANCELLED)
        assert not job_rows.finish(conn, job_id, None, JobStatus.READY)
        assert isinstance(job_rows.claim(conn, job_id, 60), job_rows.Finished)
        job = job_rows.get_job(conn, admin.store_id, job_id)
    assert job is not None and job.status is JobStatus.CANCELLED


def test_a_queued_job_cannot_jump_to_ready(ctx: Context, admin: User) -> None:
    job_id = new_job(ctx, admin)
    with ctx.engine.begin() as conn:
        assert not job_rows.finish(conn, job_id, None, JobStatus.READY)


def test_jobs_list_newest_first_and_filter(ctx: Context, admin: User) -> None:
    first, second = new_job(ctx, admin), new_job(ctx, admin)
    with ctx.engine.begin() as conn:
        job_rows.finish(conn, first, None, JobStatus.FAILED, error="x")
        listed = [j.id for j in job_rows.list_jobs(conn, admin.store_id)]
        failed = [j.id for j in job_rows.list_jobs(conn, admin.store_id, status=JobStatus.FAILED)]
    assert listed == [second, first]
    assert failed == [first]


def test_row_errors_come_back_in_row_order_and_group_for_the_report(
    ctx: Context, admin: User
) -> None:
    job_id = new_job(ctx, admin)

    def error(row: int, column: str | None, message: str) -> RowErrorView:
        return RowErrorView(
            row=row, column=column, field=None, code="c", message=message, value=None
        )

    with ctx.engine.begin() as conn:
        job_rows.add_row_errors(
            conn, job_id, [error(9, "Email", "bad"), error(3, None, "a"), error(3, "Tax", "b")]
        )
        rows = [e.row for e in job_rows.row_errors(conn, job_id, offset=0, limit=10)]
        page = job_rows.row_errors(conn, job_id, offset=1, limit=1)
        grouped = list(job_rows.failed_row_messages(conn, job_id))
    assert rows == [3, 3, 9]
    assert [e.message for e in page] == ["b"]
    assert grouped == [(3, "a; Tax: b"), (9, "Email: bad")]


def test_tokens_are_stored_hashed_and_find_their_user(ctx: Context, admin: User) -> None:
    from sqlalchemy import select

    from bulkport.storage.tables import api_tokens

    with ctx.engine.begin() as conn:
        token = accounts.issue_token(conn, admin.id)
        stored = conn.execute(select(api_tokens.c.token_hash)).scalar_one()
        found = accounts.user_for_token(conn, token)
        assert accounts.user_for_token(conn, token + "x") is None
    assert token not in stored and stored == accounts.hash_token(token)
    assert found == admin


def test_staff_cannot_do_admin_things(ctx: Context, admin: User) -> None:
    from bulkport.schemas.accounts import Permission

    with ctx.engine.begin() as conn:
        staff = accounts.ensure_user(conn, admin.store_id, "Clerk@North.example", Role.STAFF)
    assert staff.email == "clerk@north.example"
    assert staff.can(Permission.CUSTOMERS_BASIC)
    assert not staff.can(Permission.CUSTOMERS_DELETE)
    assert admin.can(Permission.JOBS_ADMIN)
