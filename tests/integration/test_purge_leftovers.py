"""Nothing a job left behind outlives a privacy delete or retention: the chunks of cancelled and
failed split imports, other files in a job's folder, uploads left on the mapping screen; on the
local store and on S3, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from support import (
    csrf_of,
    csv_text,
    get_job,
    holding_chunks,
    home_env,
    import_now,
    page_sign_in,
    s3_client,
    s3_env,
    stage_import,
)
from test_purge import BOB, HEADER, JANE, JANE_BYTES, customer_id, database_text, stored_bytes

from bulkport.config import Settings
from bulkport.schemas.accounts import Role
from bulkport.schemas.jobs import JobStatus
from bulkport.storage import accounts, job_rows
from bulkport.storage.accounts import User
from bulkport.storage.db import now
from bulkport.storage.files import LocalFileStore
from bulkport.storage.s3_files import S3FileStore
from bulkport.storage.tables import jobs
from bulkport.tasks.chunks import chunks_prefix, rows_key, run_chunk
from bulkport.tasks.context import Context
from bulkport.tasks.deletions import delete_one
from bulkport.tasks.imports import run_import
from bulkport.tasks.retention import expire_files

CHUNK_ROWS = 100


@pytest.fixture(params=["local", "s3"])
def split_ctx(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Context]:
    """A context on the local store or on S3 that splits imports of more than 100 rows."""
    chosen: Settings = (
        settings if request.param == "local" else request.getfixturevalue("s3_settings")
    )
    context = Context.from_settings(chosen.model_copy(update={"chunk_rows": CHUNK_ROWS}))
    yield context
    context.close()


@pytest.fixture
def jane_ctx(split_ctx: Context, admin: User) -> Context:
    """``split_ctx`` with Jane and Bob imported."""
    import_now(split_ctx, admin, csv_text([HEADER, JANE, BOB]))
    return split_ctx


def every_stored_file(ctx: Context) -> dict[str, bytes]:
    """Every file in the store (the whole bucket, or the folder) and in the home's scratch
    folder, by key, an XLSX's parts inflated."""
    found: dict[str, bytes] = {}
    files = ctx.files
    if isinstance(files, S3FileStore):
        client = s3_client(ctx.settings.s3_endpoint_url or "")
        listed = client.list_objects_v2(Bucket=files.bucket).get("Contents", [])
        for item in listed:
            body = client.get_object(Bucket=files.bucket, Key=item["Key"])["Body"].read()
            if zipfile.is_zipfile(io.BytesIO(body)):
                with zipfile.ZipFile(io.BytesIO(body)) as book:
                    body = b"".join(book.read(name) for name in book.namelist())
            found[item["Key"].removeprefix(f"{files.prefix}/")] = body
    else:
        assert isinstance(files, LocalFileStore)
        for path in files.root.rglob("*"):
            if path.is_file():
                found[path.relative_to(files.root).as_posix()] = stored_bytes(path)
    scratch = ctx.settings.scratch
    for path in scratch.rglob("*") if scratch.is_dir() else []:
        if path.is_file():
            found[f"scratch:{path.name}"] = path.read_bytes()
    return found


def holding_jane(ctx: Context) -> list[str]:
    """The keys of the stored files that hold any of Jane's values."""
    return sorted(
        key
        for key, data in every_stored_file(ctx).items()
        if any(value in data for value in JANE_BYTES)
    )


def split_with_jane(ctx: Context, user: User) -> str:
    """A split import of 250 rows, Jane on row 152 (chunk two), its chunks sent but not run."""
    sending, sent = holding_chunks(ctx)
    people = [[f"F{i}", f"L{i}", f"q{i}@example.com", "", "", "", ""] for i in range(250)]
    people[150] = JANE
    job_id = stage_import(sending, user, csv_text([HEADER, *people]))
    run_import(sending, job_id)
    assert [number for _, number in sent] == [0, 1, 2]
    return job_id


def cancelled_split(ctx: Context, user: User) -> str:
    """Chunk one run, then the job cancelled: chunks two and three stay in the store."""
    job_id = split_with_jane(ctx, user)
    run_chunk(ctx, job_id, 0)
    with ctx.engine.begin() as conn:
        job_rows.finish(conn, job_id, None, JobStatus.CANCELLED, error="Cancelled.")
    return job_id


def failed_split(ctx: Context, user: User) -> str:
    """Chunk three unreadable: the job FAILED on it, chunks one and two (Jane's) still in the
    store (no worker took them up since)."""
    job_id = split_with_jane(ctx, user)
    with ctx.files.writer(rows_key(job_id, 2)) as out:
        out.write(b"\xff\xff\xff\x7f not rows")
    run_chunk(ctx, job_id, 2)
    return job_id


def ended_splits(ctx: Context, user: User) -> tuple[str, str]:
    """A cancelled and a failed split import, their chunks in the store."""
    cancelled, failed = cancelled_split(ctx, user), failed_split(ctx, user)
    assert get_job(ctx, user, cancelled).status is JobStatus.CANCELLED
    assert get_job(ctx, user, failed).status is JobStatus.FAILED
    return cancelled, failed


def left_on_the_mapping_screen(ctx: Context, store_id: int | None, rows: list[list[str]]) -> str:
    """An upload staged for the mapping screen, as the pages store it (no store: still
    arriving); returns its folder."""
    folder = f"previews/{job_rows.new_job_id()}"
    with ctx.files.writer(f"{folder}/upload") as out:
        out.write(csv_text([HEADER, *rows]).encode())
    if store_id is not None:
        staged = {"store_id": store_id, "options": {"filename": "customers.csv"}}
        with ctx.files.writer(f"{folder}/staged.json") as out:
            out.write(json.dumps(staged).encode())
    return folder


# Holds a passing copy of a stored file, as a reader of the S3 store does, then dies there
# (SIGKILL: nothing cleans up) or waits to be killed.
_HOLDS_A_COPY = (
    "import os, signal, sys, time\n"
    "from bulkport.config import Settings\n"
    "from bulkport.storage.files import file_store\n"
    "with file_store(Settings()).local(sys.argv[1]) as path:\n"
    "    print(path, flush=True)\n"
    "    if sys.argv[2] == 'die':\n"
    "        os.kill(os.getpid(), signal.SIGKILL)\n"
    "    time.sleep(120)\n"
)


def copy_holder(ctx: Context, key: str, end: str) -> tuple[subprocess.Popen[bytes], Path]:
    """A process on this machine holding a passing copy of ``key`` (``end``: ``die`` or
    ``wait``); returns it and the copy's path once the copy is whole."""
    env = home_env(ctx.settings.home, **s3_env(ctx.settings))
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDS_A_COPY, key, end], env=env, stdout=subprocess.PIPE
    )
    assert holder.stdout is not None
    copy = Path(holder.stdout.readline().decode().strip())
    assert copy.is_file(), copy
    if end == "die":
        assert holder.wait(30) == -signal.SIGKILL
    return holder, copy


def south_admin(ctx: Context) -> User:
    with ctx.engine.begin() as conn:
        south = accounts.ensure_store(conn, "south")
        return accounts.ensure_user(conn, south, "admin@south.example", Role.ADMIN)


def test_a_deleted_customer_leaves_no_byte_in_split_chunks_or_uploads_on_the_mapping_screen(
    jane_ctx: Context, admin: User
) -> None:
    ctx = jane_ctx
    cancelled, failed = ended_splits(ctx, admin)
    ours = left_on_the_mapping_screen(ctx, admin.store_id, [JANE, BOB])
    arriving = left_on_the_mapping_screen(ctx, None, [JANE])
    bobs = left_on_the_mapping_screen(ctx, admin.store_id, [BOB])
    # South's customer with Jane's email is another person: the delete is not about them.
    theirs = left_on_the_mapping_screen(ctx, south_admin(ctx).store_id, [JANE])
    if isinstance(ctx.files, S3FileStore):  # a worker killed while reading Jane's upload
        _, left_by_a_kill = copy_holder(ctx, f"{ours}/upload", "die")
    before = holding_jane(ctx)
    for folder in (f"jobs/{cancelled}/chunks", f"jobs/{failed}/chunks", ours, arriving):
        assert any(key.startswith(f"{folder}/") for key in before), folder
    jane = customer_id(ctx, admin.store_id, "jane.quistorp@example.org")

    delete_one(ctx, admin.store_id, admin.id, jane)

    assert [key for key in holding_jane(ctx) if f"{theirs}/" not in key] == []
    rows = database_text(ctx, admin.store_id).casefold()
    assert [v for v in ("quistorp", "jane.quistorp", "9876 5432") if v in rows] == []
    assert ctx.files.exists(f"{bobs}/upload")  # a colleague's upload without her stays
    assert ctx.files.exists(f"{theirs}/upload")
    for job_id in (cancelled, failed):
        assert ctx.files.keys_under(f"jobs/{job_id}") == []
        assert get_job(ctx, admin, job_id).files_expired_at is not None
    if isinstance(ctx.files, S3FileStore):
        assert not left_by_a_kill.exists()


def test_a_live_processs_passing_copy_is_kept_and_a_killed_ones_deleted(
    s3_ctx: Context,
) -> None:
    with s3_ctx.files.writer("jobs/a1/upload") as out:
        out.write(csv_text([HEADER, JANE]).encode())
    live, held = copy_holder(s3_ctx, "jobs/a1/upload", "wait")
    _, dead = copy_holder(s3_ctx, "jobs/a1/upload", "die")
    with s3_ctx.files.local("jobs/a1/upload") as ours:
        try:
            assert s3_ctx.files.forget_dead_copies() == 1
            assert (held.exists(), dead.exists(), ours.exists()) == (True, False, True)
        finally:
            live.kill()
            live.wait(30)
    assert s3_ctx.files.forget_dead_copies() == 1
    assert not held.exists()
    assert s3_ctx.files.forget_dead_copies() == 0


def test_every_file_of_an_ended_split_import_is_deleted_when_its_time_is_up(
    split_ctx: Context, admin: User
) -> None:
    ctx = split_ctx
    cancelled, failed = ended_splits(ctx, admin)
    # A purge that deleted the uploads marked the jobs' files deleted, chunks still there.
    with ctx.engine.begin() as conn:
        conn.execute(update(jobs).values(files_expired_at=now()))
    folderless = "f" * 32  # an upload whose job was never created (a crash)
    with ctx.files.writer(f"jobs/{folderless}/upload") as out:
        out.write(b"Email\r\nsomeone@example.com\r\n")
    assert ctx.files.keys_under(f"jobs/{cancelled}/chunks") != []
    assert ctx.files.keys_under(f"jobs/{failed}/chunks") != []

    assert expire_files(ctx, now()) == 0
    assert ctx.files.keys_under("jobs") != []  # within their time, all stay
    expire_files(ctx, now() + timedelta(days=8))

    assert ctx.files.keys_under("jobs") == []


def test_a_running_jobs_chunks_are_not_touched_by_a_purge_or_retention(
    jane_ctx: Context, admin: User
) -> None:
    ctx = jane_ctx
    running = split_with_jane(ctx, admin)
    chunks = ctx.files.keys_under(chunks_prefix(running))
    assert chunks != []
    bob = customer_id(ctx, admin.store_id, "bob@example.com")

    delete_one(ctx, admin.store_id, admin.id, bob)
    expire_files(ctx, now() + timedelta(days=8))

    assert ctx.files.keys_under(chunks_prefix(running)) == chunks
    for number in range(3):
        run_chunk(ctx, running, number)
    job = get_job(ctx, admin, running)
    assert (job.status, job.counts.processed) == (JobStatus.READY, 250)
    assert ctx.files.keys_under(chunks_prefix(running)) == []


def test_keys_under_lists_every_file_of_a_folder_and_no_other(split_ctx: Context) -> None:
    files = split_ctx.files
    for key in ("jobs/a1/upload", "jobs/a1/chunks/0/rows", "jobs/a10/upload", "previews/a1/x"):
        with files.writer(key) as out:
            out.write(b"x")
    assert files.keys_under("jobs/a1") == ["jobs/a1/chunks/0/rows", "jobs/a1/upload"]
    assert files.keys_under("jobs/none") == []
    assert len(files.keys_under("jobs")) == 3
    if isinstance(files, LocalFileStore):  # an unfinished write of a killed process is seen
        (files.root / "jobs" / "a1" / ".part-x1").write_bytes(b"rows")
        assert "jobs/a1/.part-x1" in files.keys_under("jobs/a1")


def test_an_upload_on_the_mapping_screen_holding_the_person_is_gone_after_her_delete(
    client: TestClient, ctx: Context, staff: User, auth: dict[str, str], admin: User
) -> None:
    import_now(ctx, admin, csv_text([HEADER, JANE, BOB]))
    assert page_sign_in(client, staff.email) == 303
    csrf = csrf_of(client.get("/imports/new").text)

    def staged(rows: list[list[str]]) -> str:
        uploaded = client.post(
            "/imports/new",
            data={"csrf": csrf},
            files={"file": ("shop.csv", csv_text([HEADER, *rows]).encode(), "text/csv")},
            follow_redirects=False,
        )
        assert uploaded.status_code == 303, uploaded.text
        screen: str = uploaded.headers["location"]
        assert client.get(screen).status_code == 200
        return screen

    hers, bobs = staged([BOB, JANE]), staged([BOB])
    jane = customer_id(ctx, admin.store_id, "jane.quistorp@example.org")

    path = f"/api/v1/customers/{jane}/delete"
    deleted = client.post(path, headers=auth, params={"confirm": "true"})

    assert deleted.status_code == 200
    assert "no longer kept" in client.get(hers).text
    assert client.get(bobs).status_code == 200
    assert holding_jane(ctx) == []
