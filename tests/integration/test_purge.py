"""Nothing left behind: a deleted person's values leave every stored file, row error and job
detail of their store, on SQLite and PostgreSQL, and SQLite's own files."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from support import (
    WorkerKilled,
    csv_text,
    expire_lease,
    get_job,
    import_now,
    local_files,
    sqlite_file_bytes,
    stage_list,
)

from bulkport.schemas.accounts import Role
from bulkport.schemas.exports import ExportRequest
from bulkport.schemas.jobs import JobStatus
from bulkport.storage import accounts, audit, customer_records, job_rows, mappings
from bulkport.storage.accounts import User
from bulkport.storage.tables import audit_events, customers, metadata, pending_purges
from bulkport.tasks import deletions
from bulkport.tasks.context import Context
from bulkport.tasks.customer_lists import run_list
from bulkport.tasks.deletions import DELETE
from bulkport.tasks.exports import run_export, submit_export
from bulkport.tasks.purge import (
    Traces,
    after_deletion,
    purge_files,
    purge_pending,
    purge_rows,
    traces_of,
)

HEADER = ["First Name", "Last Name", "Email", "Phone", "City", "Notes", "Date of Birth"]
JANE = ["Jane", "Quistorp", "jane.quistorp@example.org", "+31 6 9876 5432", "Utrecht", "", ""]
BOB = ["Bob", "Baker", "bob@example.com", "0612345678", "Utrecht", "friend of Jane", ""]
# What must be gone: as typed, and as other files write them (phone digits, lower case).
JANE_BYTES = [b"Quistorp", b"quistorp", b"jane.quistorp@", b"9876 5432", b"+31698765432"]
DELETE_JOB = "d" * 32


def stored_bytes(path: Path) -> bytes:
    """A stored file's bytes as a reader sees them: an XLSX's zip parts inflated."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as book:
            return b"".join(book.read(name) for name in book.namelist())
    return path.read_bytes()


def files_of_store(ctx: Context, store_id: int) -> dict[str, bytes]:
    """Every file the store's jobs keep, by key."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT input_file, report_file, output_file FROM jobs WHERE store_id = :s"),
            {"s": store_id},
        ).all()
    keys = [key for row in rows for key in row if key]
    return {key: stored_bytes(local_files(ctx).path(key)) for key in keys if ctx.files.exists(key)}


def folder_bytes(ctx: Context, job_ids: list[str]) -> bytes:
    """Every file under the folders of these jobs, inflated, whatever the jobs' rows say."""
    out = b""
    for job_id in job_ids:
        folder = local_files(ctx).root / "jobs" / job_id
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file():
                out += stored_bytes(path)
    return out


def database_text(ctx: Context, store_id: int) -> str:
    """Every row of every table that belongs to the store (or to no store), as text."""
    parts: list[str] = []
    with ctx.engine.connect() as conn:
        store_jobs = set(
            conn.execute(text("SELECT id FROM jobs WHERE store_id = :s"), {"s": store_id}).scalars()
        )
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                m = row._mapping
                if "store_id" in m and m["store_id"] != store_id:
                    continue
                if "job_id" in m and table.name != "audit_events" and m["job_id"] not in store_jobs:
                    continue
                parts.append(repr(dict(m)))
    return "\n".join(parts)


def export(ctx: Context, user: User, fmt: str) -> str:
    job_id = submit_export(
        ctx,
        store_id=user.store_id,
        user_id=user.id,
        request=ExportRequest.model_validate({"format": fmt}),
    )
    run_export(ctx, job_id)
    return job_id


def customer_id(ctx: Context, store_id: int, email: str) -> int:
    with ctx.engine.connect() as conn:
        return int(
            conn.execute(
                select(customers.c.id).where(
                    customers.c.store_id == store_id, customers.c.email_key == email
                )
            ).scalar_one()
        )


def erase(ctx: Context, customer_ids: list[int]) -> None:
    """What the delete job does to the customer rows: every personal field NULL."""
    with ctx.engine.begin() as conn:
        customer_records.erase(conn, customer_ids)


def purge(ctx: Context, user: User, ids: list[int]) -> tuple[Traces, int]:
    with ctx.engine.connect() as conn:
        traces = traces_of(conn, user.store_id, ids)
    changed = purge_files(ctx, user.store_id, traces, job_id=DELETE_JOB, user_id=user.id)
    with ctx.engine.begin() as conn:
        purge_rows(conn, user.store_id, traces)
    return traces, changed


def seed_store(ctx: Context, admin: User) -> dict[str, str]:
    """Jane's values in an upload, a report, a row error, a CSV and an XLSX export, a backup
    and a job's options; returns job ids by what they are."""
    first = import_now(ctx, admin, csv_text([HEADER, JANE, BOB]), filename="jane-quistorp.csv")
    assert first.status is JobStatus.READY and first.counts.created == 2, first
    # Jane again on row 3 (a repeat) and a bad birth date of Bob's: errors and a report.
    bad_bob = ["Bob", "Baker", "bobby@example.com", "", "Utrecht", "", "not a date"]
    again = import_now(ctx, admin, csv_text([HEADER, BOB, JANE, JANE, bad_bob]), backup=True)
    assert again.report_file is not None and again.backup_job_id is not None, again
    assert again.counts.failed == 2, again
    csv_export = export(ctx, admin, "csv")
    xlsx_export = export(ctx, admin, "xlsx")
    searched = submit_export(
        ctx,
        store_id=admin.store_id,
        user_id=admin.id,
        request=ExportRequest.model_validate({"filters": {"search": "jane.quistorp@example.org"}}),
    )
    run_export(ctx, searched)
    return {
        "upload": first.id,
        "report": again.id,
        "backup": again.backup_job_id,
        "csv": csv_export,
        "xlsx": xlsx_export,
        "searched": searched,
    }


def other_store(ctx: Context) -> tuple[User, str]:
    """Store "south", where a customer with Jane's email is someone the deletion is not about."""
    with ctx.engine.begin() as conn:
        south = accounts.ensure_store(conn, "south")
        user = accounts.ensure_user(conn, south, "admin@south.example", Role.ADMIN)
    job = import_now(ctx, user, csv_text([HEADER, JANE]))
    assert job.status is JobStatus.READY, job
    return user, export(ctx, user, "csv")


def test_a_deleted_customer_leaves_no_byte_in_the_stores_files_or_database(
    ctx: Context, admin: User
) -> None:
    jobs = seed_store(ctx, admin)
    south, south_export = other_store(ctx)
    south_files = files_of_store(ctx, south.store_id)
    before = folder_bytes(ctx, list(jobs.values()))
    assert all(value in before for value in JANE_BYTES[:3])
    jane = customer_id(ctx, admin.store_id, "jane.quistorp@example.org")

    _, changed = purge(ctx, admin, [jane])
    erase(ctx, [jane])

    assert changed >= 5
    after = folder_bytes(ctx, list(jobs.values()))
    assert [value for value in JANE_BYTES if value in after] == []
    rows = database_text(ctx, admin.store_id).casefold()
    assert [v for v in ("quistorp", "jane.quistorp", "9876 5432") if v in rows] == []
    # Bob stays in the exports and the backup, and his own row error keeps its words.
    for key in ("csv", "xlsx", "backup"):
        assert b"bob@example.com" in folder_bytes(ctx, [jobs[key]]), key
    with ctx.engine.connect() as conn:
        errors = job_rows.row_errors(conn, jobs["report"], offset=0, limit=100)
    assert [(e.row, e.value) for e in errors if e.value] == [(5, "not a date")]
    assert files_of_store(ctx, south.store_id) == south_files
    assert b"jane.quistorp@" in folder_bytes(ctx, [south_export])


def test_every_error_of_a_row_of_theirs_is_erased_whatever_its_cell_held(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, JANE, BOB]))
    # Jane's row again, with a birth date only she would type and a misspelt second email.
    mistyped = [*JANE[:5], "", "Zorglubday"]
    bad_bob = ["Bob", "Baker", "bobby@example.com", "", "Utrecht", "", "not a date"]
    job = import_now(ctx, admin, csv_text([HEADER, BOB, mistyped, bad_bob]))
    with ctx.engine.connect() as conn:
        before = job_rows.row_errors(conn, job.id, offset=0, limit=100)
    assert {(e.row, e.value) for e in before} == {(3, "Zorglubday"), (4, "not a date")}
    jane = customer_id(ctx, admin.store_id, "jane.quistorp@example.org")

    purge(ctx, admin, [jane])

    with ctx.engine.connect() as conn:
        after = job_rows.row_errors(conn, job.id, offset=0, limit=100)
    assert [(e.row, e.value) for e in after if e.value] == [(4, "not a date")]
    assert "Zorglubday" not in database_text(ctx, admin.store_id)


def test_files_that_held_the_person_are_rewritten_or_deleted_and_audited(
    ctx: Context, admin: User
) -> None:
    jobs = seed_store(ctx, admin)
    jane = customer_id(ctx, admin.store_id, "jane.quistorp@example.org")

    purge(ctx, admin, [jane])

    with ctx.engine.connect() as conn:
        upload = job_rows.get_job(conn, admin.store_id, jobs["upload"])
        report = job_rows.get_job(conn, admin.store_id, jobs["report"])
        csv_job = job_rows.get_job(conn, admin.store_id, jobs["csv"])
        events = [e for e in audit.events(conn, admin.store_id) if e["action"] == "file.purge"]
    assert upload is not None and upload.input_file is None
    assert report is not None and report.report_file is None and report.input_file is None
    assert report.files_expired_at is not None
    assert csv_job is not None and csv_job.output_file is not None
    assert csv_job.files_expired_at is None
    done = {(e["detail"]["purged_job_id"], e["detail"]["file"]): e["detail"] for e in events}
    assert done[(jobs["csv"], "output_file")] == {
        "purged_job_id": jobs["csv"], "file": "output_file", "action": "rewritten",
        "rows_removed": 1,
    }  # fmt: skip
    assert done[(jobs["upload"], "input_file")]["action"] == "deleted"
    assert done[(jobs["report"], "report_file")]["rows_removed"] == 1
    assert {e["job_id"] for e in events} == {DELETE_JOB}


def test_a_second_purge_changes_nothing(ctx: Context, admin: User) -> None:
    seed_store(ctx, admin)
    jane = customer_id(ctx, admin.store_id, "jane.quistorp@example.org")
    purge(ctx, admin, [jane])
    files = files_of_store(ctx, admin.store_id)
    rows = database_text(ctx, admin.store_id)

    _, changed = purge(ctx, admin, [jane])

    assert changed == 0
    assert files_of_store(ctx, admin.store_id) == files
    assert database_text(ctx, admin.store_id) == rows


def test_an_erased_customer_is_still_taken_out_of_exports_by_their_record_id(
    ctx: Context, admin: User
) -> None:
    jobs = seed_store(ctx, admin)
    jane = customer_id(ctx, admin.store_id, "jane.quistorp@example.org")
    erase(ctx, [jane])  # a delete job that stopped after erasing, resumed

    traces, _ = purge(ctx, admin, [jane])

    assert traces.values == frozenset()
    assert b"jane.quistorp@" not in folder_bytes(ctx, [jobs["csv"], jobs["xlsx"]])
    assert b"bob@example.com" in folder_bytes(ctx, [jobs["csv"]])


def test_an_unreadable_stored_file_is_deleted_and_audited(ctx: Context, admin: User) -> None:
    jobs = seed_store(ctx, admin)
    with ctx.engine.connect() as conn:
        job = job_rows.get_job(conn, admin.store_id, jobs["xlsx"])
    assert job is not None and job.output_file is not None
    local_files(ctx).path(job.output_file).write_bytes(b"PK\x03\x04 not a workbook at all")
    bob = customer_id(ctx, admin.store_id, "bob@example.com")

    purge(ctx, admin, [bob])

    assert not ctx.files.exists(job.output_file)
    with ctx.engine.connect() as conn:
        details = [
            dict(row.detail)
            for row in conn.execute(
                select(audit_events.c.detail).where(audit_events.c.action == "file.purge")
            )
        ]
    assert {
        "purged_job_id": jobs["xlsx"], "file": "output_file", "action": "deleted",
        "unreadable": True, "rows_removed": None,
    } in details  # fmt: skip


def test_after_deletion_no_erased_value_stays_in_the_database_files(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, JANE, BOB]))
    jane = customer_id(ctx, admin.store_id, "jane.quistorp@example.org")
    after_deletion(ctx)  # Jane's row is now in the database file itself, not only in the WAL
    database = Path(ctx.engine.url.database or "")
    assert ctx.engine.dialect.name != "sqlite" or b"Quistorp" in sqlite_file_bytes(
        database, with_wal=False
    )

    erase(ctx, [jane])
    after_deletion(ctx)

    if ctx.engine.dialect.name == "postgresql":
        # What PostgreSQL's files keep cannot be read from here: VACUUM must have run.
        with ctx.engine.connect() as conn:
            vacuumed = conn.execute(
                text("SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'customers'")
            ).scalar_one()
        assert vacuumed is not None
        return
    raw = sqlite_file_bytes(database)
    assert [value for value in JANE_BYTES if value in raw] == []
    assert b"bob@example.com" in raw


def test_job_options_lose_what_a_person_typed_about_them_and_keep_their_settings(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, JANE, BOB]))
    jane = customer_id(ctx, admin.store_id, "jane.quistorp@example.org")
    with ctx.engine.begin() as conn:
        conn.execute(
            update(customers).where(customers.c.id == jane).values(customer_type="private")
        )
    request = {"filters": {"search": "Quistorp", "customer_type": "private"}}
    job_id = submit_export(
        ctx,
        store_id=admin.store_id,
        user_id=admin.id,
        request=ExportRequest.model_validate(request),
    )

    purge(ctx, admin, [jane])

    with ctx.engine.connect() as conn:
        job = job_rows.get_job(conn, admin.store_id, job_id)
    assert job is not None
    kept = ExportRequest.model_validate(job.options)  # a queued export still runs
    assert (kept.filters.search, kept.filters.customer_type) == ("Removed", "private")


def test_an_export_longer_than_an_upload_may_be_is_rewritten_not_deleted(
    ctx: Context, admin: User
) -> None:
    jobs = seed_store(ctx, admin)
    jane = customer_id(ctx, admin.store_id, "jane.quistorp@example.org")
    # Uploads may hold two rows here; the exports hold a header and three customers.
    small = replace(ctx, settings=ctx.settings.model_copy(update={"max_rows": 2}))
    with ctx.engine.connect() as conn:
        traces = traces_of(conn, admin.store_id, [jane])

    purge_files(small, admin.store_id, traces, job_id=DELETE_JOB, user_id=admin.id)

    kept = folder_bytes(ctx, [jobs["csv"], jobs["xlsx"]])
    assert b"bob@example.com" in kept and b"jane.quistorp@" not in kept


def _dies_in(patch: pytest.MonkeyPatch, where: str) -> None:
    """Kill the delete job as a SIGKILL would (nothing may catch it): ``batch``, when the
    second batch is about to commit; ``purge``, once every batch has committed, before the
    purge of row errors, job details and audit details."""
    if where == "purge":

        def purge_dies(*args: Any, **kwargs: Any) -> int:
            raise WorkerKilled

        patch.setattr(deletions, "purge_pending", purge_dies)
        return
    advance = job_rows.advance

    def batch_dies(*args: Any, **kwargs: Any) -> None:
        if kwargs["expected_checkpoint"] == 50:
            raise WorkerKilled
        advance(*args, **kwargs)

    patch.setattr(job_rows, "advance", batch_dies)


def _delete_jane_and_sixty(ctx: Context, admin: User) -> str:
    """A delete job of Jane, in its first batch of 50, and 60 others; returns its id."""
    others = [
        [f"First{i}", f"Last{i}", f"person{i}@example.com", "", "", "", ""] for i in range(60)
    ]
    import_now(ctx, admin, csv_text([HEADER, *others]))
    listing = [["Email"], [JANE[2]], *[[person[2]] for person in others]]
    return stage_list(ctx, admin, DELETE, csv_text(listing), confirm=True)


@pytest.mark.parametrize("where", ["batch", "purge"])
def test_a_delete_job_killed_between_erasing_and_purging_leaves_nothing_once_resumed(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    jobs = seed_store(ctx, admin)
    job_id = _delete_jane_and_sixty(ctx, admin)
    jane = customer_id(ctx, admin.store_id, "jane.quistorp@example.org")
    with monkeypatch.context() as patch:
        _dies_in(patch, where)
        with pytest.raises(WorkerKilled):
            run_list(ctx, job_id, DELETE)
    stopped = get_job(ctx, admin, job_id)
    assert (stopped.status, stopped.checkpoint) == (
        JobStatus.PROCESSING, 50 if where == "batch" else 61
    )  # fmt: skip
    with ctx.engine.connect() as conn:
        erased = customer_records.live_ids(conn, admin.store_id, [jane])
    assert erased == []
    # Her email is still in a row error: only the kept traces can tell the purge about her.
    assert "jane.quistorp@example.org" in database_text(ctx, admin.store_id)
    expire_lease(ctx, job_id)

    run_list(ctx, job_id, DELETE)

    done = get_job(ctx, admin, job_id)
    assert (done.status, done.counts.updated, done.attempts) == (JobStatus.READY, 61, 2)
    rows = database_text(ctx, admin.store_id).casefold()
    assert [v for v in ("quistorp", "jane.quistorp", "9876 5432", "person7@") if v in rows] == []
    with ctx.engine.connect() as conn:
        assert conn.execute(select(pending_purges)).all() == []
        errors = job_rows.row_errors(conn, jobs["report"], offset=0, limit=100)
    assert [(e.row, e.value) for e in errors if e.value] == [(5, "not a date")]


def test_kept_traces_are_purged_a_few_batches_a_pass_until_none_is_left(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = seed_store(ctx, admin)
    job_id = _delete_jane_and_sixty(ctx, admin)
    with monkeypatch.context() as patch:
        _dies_in(patch, "purge")
        with pytest.raises(WorkerKilled):
            run_list(ctx, job_id, DELETE)

    assert purge_pending(ctx, admin.store_id, per_pass=1) == 2

    rows = database_text(ctx, admin.store_id).casefold()
    assert [v for v in ("quistorp", "jane.quistorp", "person59@") if v in rows] == []
    with ctx.engine.connect() as conn:
        assert conn.execute(select(pending_purges)).all() == []
        errors = job_rows.row_errors(conn, jobs["report"], offset=0, limit=100)
    assert [(e.row, e.value) for e in errors if e.value] == [(5, "not a date")]


def test_a_file_without_a_header_row_leaves_no_header_of_theirs_in_jobs_or_saved_mappings(
    ctx: Context, admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, JANE]))
    # Jane's row is the header row: her values become headers, mapped and saved.
    mapping: dict[str, str | None] = {
        "Jane": "first_name",
        "Quistorp": "last_name",
        "jane.quistorp@example.org": "email",
    }
    job = import_now(ctx, admin, csv_text([JANE, BOB]), mapping=mapping, header_row=1)
    assert job.status is JobStatus.READY, job
    with ctx.engine.begin() as conn:
        mappings.save(conn, admin.store_id, "klanten", mapping, user_id=admin.id)
        mappings.save(conn, admin.store_id, "Quistorp", {"Naam": "last_name"}, user_id=admin.id)
    assert "jane.quistorp@" in database_text(ctx, admin.store_id)
    jane = customer_id(ctx, admin.store_id, "jane.quistorp@example.org")

    purge(ctx, admin, [jane])
    erase(ctx, [jane])

    rows = database_text(ctx, admin.store_id).casefold()
    left = [line for line in rows.splitlines() if "quistorp" in line]
    assert left == []
    with ctx.engine.connect() as conn:
        kept = {m.name: m.columns for m in mappings.list_all(conn, admin.store_id)}
    assert kept == {"klanten": {"Removed": "first_name", "Removed 2": "last_name",
                                         "Removed 3": "email"}}  # fmt: skip
