"""Small helpers the integration and end-to-end tests share."""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Connection, func, select

from bulkport.app import create_app
from bulkport.cli.services import free_port
from bulkport.config import Settings
from bulkport.http.serving import server_options
from bulkport.schemas.accounts import Role
from bulkport.schemas.jobs import ImportOptions, JobKind, JobStatus
from bulkport.schemas.lifecycle import ListOptions
from bulkport.storage import accounts, job_rows
from bulkport.storage.accounts import User
from bulkport.storage.files import LocalFileStore
from bulkport.storage.tables import customers
from bulkport.tasks.context import Context
from bulkport.tasks.customer_lists import ListKind, list_key, submit_list
from bulkport.tasks.imports import run_import, submit_import, upload_key


class Queue:
    """The job queue of in-process tests: notes what is sent; when ``down``, refuses as an
    unreachable broker does."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.kinds: list[JobKind] = []
        self.sizes: list[int] = []
        self.down = False

    def __call__(self, kind: JobKind, job_id: str, input_bytes: int = 0) -> None:
        if self.down:
            raise ConnectionError("redis is down")
        self.kinds.append(kind)
        self.ids.append(job_id)
        self.sizes.append(input_bytes)


def csv_text(rows: Sequence[Sequence[str]], delimiter: str = ",") -> str:
    """Rows written as CSV text."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def stage_import(
    ctx: Context,
    user: User,
    content: str | bytes,
    *,
    filename: str = "customers.csv",
    **options: object,
) -> str:
    """Store a file and create its import job as the API does; returns the job id."""
    job_id = job_rows.new_job_id()
    key = upload_key(job_id)
    with ctx.files.writer(key) as out:
        out.write(content.encode() if isinstance(content, str) else content)
    submit_import(
        ctx,
        store_id=user.store_id,
        user_id=user.id,
        job_id=job_id,
        key=key,
        options=ImportOptions.model_validate({"filename": filename, **options}),
    )
    return job_id


def holding_chunks(ctx: Context) -> tuple[Context, list[tuple[str, int]]]:
    """A context whose split imports note the chunks they send instead of running them."""
    sent: list[tuple[str, int]] = []
    sending = Context(
        settings=ctx.settings,
        engine=ctx.engine,
        files=ctx.files,
        send_chunk=lambda job_id, number: sent.append((job_id, number)),
    )
    return sending, sent


def get_job(ctx: Context, user: User, job_id: str) -> job_rows.Job:
    """The job as stored (it must exist)."""
    with ctx.engine.connect() as conn:
        job = job_rows.get_job(conn, user.store_id, job_id)
    assert job is not None
    return job


def import_now(ctx: Context, user: User, content: str | bytes, **options: Any) -> job_rows.Job:
    """Run a whole import in this process and return the finished job."""
    job_id = stage_import(ctx, user, content, **options)
    run_import(ctx, job_id)
    return get_job(ctx, user, job_id)


def errors_of(ctx: Context, job_id: str) -> list[tuple[int, str]]:
    """A job's row errors as (row, code) pairs."""
    with ctx.engine.connect() as conn:
        found = job_rows.row_errors(conn, job_id, offset=0, limit=10_000)
    return [(e.row, e.code) for e in found]


def stored_customers(ctx: Context, user: User) -> list[dict[str, object]]:
    """The store's customers (not deleted), oldest first."""
    query = (
        select(customers)
        .where(customers.c.store_id == user.store_id, customers.c.deleted_at.is_(None))
        .order_by(customers.c.id)
    )
    with ctx.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def count_customers(conn: Connection, store_id: int) -> int:
    """How many customers the store has (not deleted)."""
    query = select(func.count()).where(
        customers.c.store_id == store_id, customers.c.deleted_at.is_(None)
    )
    return int(conn.execute(query).scalar_one())


def assert_counts_add_up(job: job_rows.Job) -> None:
    """The invariant of every job: each row is accounted for exactly once."""
    c = job.counts
    assert c.succeeded + c.failed + c.skipped == c.processed
    assert c.created + c.updated + c.unchanged == c.succeeded
    assert c.processed == c.total


def bearer(ctx: Context, store: str, email: str, role: Role = Role.ADMIN) -> dict[str, str]:
    """Authorization headers for a (new) user of a (new) store."""
    with ctx.engine.begin() as conn:
        user = accounts.ensure_user(conn, accounts.ensure_store(conn, store), email, role)
        return {"Authorization": f"Bearer {accounts.issue_token(conn, user.id)}"}


def home_env(home: Path, **settings: str) -> dict[str, str]:
    """This environment without any bulkport setting but the home (and those given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULKPORT_")}
    env.update(BULKPORT_HOME=str(home), **settings)
    return env


def run_bulkport(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the bulkport command as a person would, in a folder of the test's choosing."""
    return subprocess.run(
        [sys.executable, "-m", "bulkport", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def wait_until_serving(base: str, api: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for an API process to answer its health check; fail with its log if it stops."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert api.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.2)


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """The API on a free port in this process, with the options `bulkport api` gives uvicorn."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, enqueue=Queue()),
        host="127.0.0.1",
        port=port,
        log_config=None,  # the test's handler reads uvicorn's loggers as they are
        lifespan="off",
        **server_options(settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def stage_list(ctx: Context, user: User, spec: ListKind, content: str, **options: object) -> str:
    """Store a spreadsheet and create its archive, merge or delete job; returns the job id."""
    job_id = job_rows.new_job_id()
    with ctx.files.writer(list_key(job_id)) as out:
        out.write(content.encode())
    submit_list(
        ctx, spec, store_id=user.store_id, user_id=user.id, job_id=job_id,
        options=ListOptions.model_validate(options),
    )  # fmt: skip
    return job_id


def start_worker(argv: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a worker process, its output in ``log``; returns once it is ready."""
    with log.open("wb") as out:
        process = subprocess.Popen(list(argv), env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_for_log(log, "ready.", process)
    return process


def wait_for_log(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    """Wait until the process has written ``text`` to its log; fail if it stops first."""
    deadline = time.monotonic() + 60
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("worker did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.2)


def process_parents() -> dict[int, int]:
    """Each running process's parent, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def pool_children(parent: int) -> list[int]:
    """A worker's pool processes."""
    return [pid for pid, its_parent in process_parents().items() if its_parent == parent]


def wait_finished(ctx: Context, user: User, job_id: str, seconds: float = 60) -> job_rows.Job:
    """The job once it has ended; fails if it is still running after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        job = get_job(ctx, user, job_id)
        if job.status.finished:
            return job
        assert time.monotonic() < deadline, f"job still {job.status} after {seconds} s"
        time.sleep(0.1)


def worker_env(ctx: Context, broker: str, **settings: str) -> dict[str, str]:
    """The environment of a worker process on the test's database and file store."""
    env = {key: value for key, value in os.environ.items() if key != "BULKPORT_JOB_LEASE_SECONDS"}
    env.update(
        BULKPORT_DATABASE_URL=ctx.settings.database,
        BULKPORT_BROKER_URL=broker,
        BULKPORT_HOME=str(ctx.settings.home),
        BULKPORT_FILES_DIR=str(ctx.settings.files_root),
        BULKPORT_BATCH_SIZE="50",
    )
    env.update(settings)
    return env


def assert_imported_once(ctx: Context, user: User, job: job_rows.Job, rows: int) -> None:
    """An import of ``rows`` new customers ended READY with every row applied exactly once."""
    assert job.status is JobStatus.READY, job.error
    assert (job.counts.created, job.counts.processed, job.counts.failed) == (rows, rows, 0)
    stored = stored_customers(ctx, user)
    assert len(stored) == rows == len({row["email"] for row in stored})


# --- A local S3 (moto) --------------------------------------------------------------------

S3_KEYS = {"s3_access_key_id": "testing", "s3_secret_access_key": "testing"}
_MOTO = (
    "import sys, threading\n"
    "from moto.server import ThreadedMotoServer\n"
    "ThreadedMotoServer(ip_address='127.0.0.1', port=int(sys.argv[1])).start()\n"
    "threading.Event().wait()\n"
)


@contextmanager
def moto_server(*, check_credentials: bool = False) -> Iterator[str]:
    """A moto S3 server in a child process (so its memory is not the test's), on a free port;
    yields its endpoint URL. ``check_credentials`` makes it refuse keys it does not know."""
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"} if check_credentials else None
    server = subprocess.Popen(
        [sys.executable, "-c", _MOTO, str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(endpoint + "/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, "the moto server stopped"
                assert time.monotonic() < deadline, "the moto server did not start"
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def s3_client(endpoint: str) -> Any:
    """A boto3 client of the test S3 server."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEYS["s3_access_key_id"],
        aws_secret_access_key=S3_KEYS["s3_secret_access_key"],
    )


def new_bucket(endpoint: str) -> str:
    """A new empty bucket on the test S3 server."""
    name = f"bulkport-{secrets.token_hex(6)}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def s3_settings(settings: Settings, endpoint: str, bucket: str, prefix: str = "files") -> Settings:
    """The test's settings with its files in ``bucket`` on the test S3 server."""
    return settings.model_copy(
        update={
            "file_store": f"s3://{bucket}/{prefix}",
            "s3_endpoint_url": endpoint,
            "s3_region": "us-east-1",
            "s3_access_key_id": S3_KEYS["s3_access_key_id"],
            "s3_secret_access_key": SecretStr(S3_KEYS["s3_secret_access_key"]),
        }
    )


def s3_env(settings: Settings) -> dict[str, str]:
    """The environment variables that name the S3 store of ``settings`` (for a worker)."""
    assert settings.file_store and settings.s3_endpoint_url and settings.s3_secret_access_key
    return {
        "BULKPORT_FILE_STORE": settings.file_store,
        "BULKPORT_S3_ENDPOINT_URL": settings.s3_endpoint_url,
        "BULKPORT_S3_REGION": "us-east-1",
        "BULKPORT_S3_ACCESS_KEY_ID": S3_KEYS["s3_access_key_id"],
        "BULKPORT_S3_SECRET_ACCESS_KEY": settings.s3_secret_access_key.get_secret_value(),
    }


def sqlite_file_bytes(database: Path, *, with_wal: bool = True) -> bytes:
    """The bytes of a SQLite database (and its write-ahead log), read by a child process.

    Opening and closing a database's files in this process would drop every POSIX lock its
    connections hold on them (locks belong to the process, and any close releases them): a
    worker process could then take the database for unused and reset the shared-memory index
    this process has mapped, which kills it with SIGBUS."""
    read = "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())"
    parts = [database, database.with_name(database.name + "-wal")][: 2 if with_wal else 1]
    return b"".join(
        subprocess.run([sys.executable, "-c", read, str(p)], capture_output=True, check=True).stdout
        for p in parts
        if p.exists()
    )


def local_files(ctx: Context) -> LocalFileStore:
    """The test's local file store, for tests that look into its folder."""
    assert isinstance(ctx.files, LocalFileStore)
    return ctx.files


# The password test users of the pages sign in with.
PASSWORD = "a long enough password"


def csrf_of(page: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def page_sign_in(client: TestClient, email: str, password: str = PASSWORD) -> int:
    """Sign in through the sign-in form; the status it answers (303 when signed in)."""
    token = csrf_of(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf": token},
        follow_redirects=False,
    )
    return int(response.status_code)


class WorkerKilled(BaseException):
    """Stands for a SIGKILL: nothing in the job may catch it."""


def expire_lease(ctx: Context, job_id: str) -> None:
    """Make the job's current claim look abandoned, as after a worker died."""
    from datetime import timedelta

    from sqlalchemy import update

    from bulkport.storage.db import now
    from bulkport.storage.tables import jobs

    with ctx.engine.begin() as conn:
        conn.execute(
            update(jobs).where(jobs.c.id == job_id).values(lease_until=now() - timedelta(seconds=1))
        )


@contextmanager
def task_events(settings: Settings) -> Iterator[list[dict[str, Any]]]:
    """The task events workers send while the block runs (what Flower reads), as they come."""
    from bulkport.worker.app import configure

    app = configure(settings)
    events: list[dict[str, Any]] = []
    with app.connection_for_read() as connection:
        receiver = app.events.Receiver(connection, handlers={"*": events.append})
        listening = threading.Thread(target=receiver.capture, kwargs={"wakeup": False})
        listening.start()
        try:
            yield events
        finally:
            receiver.should_stop = True
            listening.join(10)
