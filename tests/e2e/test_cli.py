"""The command line without a running stack: each expected failure is one line, in seconds."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from support import home_env, run_bulkport

from bulkport.cli.services import Supervisor, free_port, redis_server_binary, wait_until
from bulkport.config import Settings
from bulkport.schemas.jobs import JobStatus
from bulkport.storage import job_rows
from bulkport.storage.tables import customers
from bulkport.tasks.context import Context

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "customers.csv"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with a database and one store, made by the command line itself."""
    home = tmp_path / "home"
    made = run_bulkport("users", "create", "--store", "s", "--email", "a@s.example",
                        env=home_env(home), cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    return home


@pytest.fixture
def idle_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis that answers but that no worker reads."""
    from bulkport.cli.services import redis_reachable

    port = free_port()
    supervisor = Supervisor()
    supervisor.start("redis", [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--dir", str(tmp_path)])  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(lambda: redis_reachable(url, 0.2), 15, "redis")
    yield url
    supervisor.stop()


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command ends with (after the job's id, when it made one)."""
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if not line.startswith("Job ")]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_an_import_the_queue_does_not_take_is_failed_in_one_line(home: Path) -> None:
    broker = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    started = time.monotonic()
    env = home_env(home, BULKPORT_BROKER_URL=broker)
    result = run_bulkport("import", str(SAMPLE), "--wait", env=env, cwd=home.parent)
    assert time.monotonic() - started < 20
    line = one_error_line(result)
    assert "The job queue cannot be reached" in line and broker in line
    job_id = line.removeprefix("Error: Job ").split(":")[0]
    ctx = Context.from_settings(Settings(home=home))
    with ctx.engine.connect() as conn:
        job = job_rows.get_job(conn, 1, job_id)
    ctx.close()
    assert job is not None and job.status is JobStatus.FAILED
    assert job.error is not None and "could not be reached" in job.error


def test_waiting_on_a_queue_no_worker_reads_stops_in_one_line(home: Path, idle_redis: str) -> None:
    env = home_env(home, BULKPORT_BROKER_URL=idle_redis)
    for command in (["import", str(SAMPLE), "--wait"], ["export"]):
        started = time.monotonic()
        result = run_bulkport(*command, env=env, cwd=home.parent)
        assert time.monotonic() - started < 20
        assert "is queued, but no worker reads the queue" in one_error_line(result)


def test_a_database_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    database = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/bulkport"
    env = home_env(tmp_path / "home", BULKPORT_DATABASE_URL=database)
    for command in (["import", str(SAMPLE)], ["export"], ["users", "create", "--store", "s",
                                                          "--email", "a@s.example"]):  # fmt: skip
        line = one_error_line(run_bulkport(*command, env=env, cwd=tmp_path))
        assert line.startswith("Error: The database cannot be reached (postgresql+psycopg://")


def test_a_home_without_a_database_says_where_it_looked_and_creates_nothing(
    tmp_path: Path,
) -> None:
    home = tmp_path / "nothing-here"
    for command in (["import", str(SAMPLE)], ["export"]):
        line = one_error_line(run_bulkport(*command, env=home_env(home), cwd=tmp_path))
        assert line.startswith(f"Error: No database at {home / 'bulkport.db'}")
    assert not home.exists()


def test_an_unknown_store_and_a_missing_file_are_one_line(home: Path) -> None:
    env = home_env(home)
    line = one_error_line(run_bulkport("export", "--store", "nope", env=env, cwd=home.parent))
    assert line.startswith("Error: No store is named 'nope'")
    missing = run_bulkport("import", "no-such.csv", env=env, cwd=home.parent)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_with_no_broker_and_no_stack_a_job_command_says_so_and_queues_nothing(home: Path) -> None:
    env = home_env(home)  # no BULKPORT_BROKER_URL, no stack.json: the default Redis is not ours
    list_file = home.parent / "ids.csv"
    list_file.write_text("Customer Record ID\n1\n")
    for command in (["import", str(SAMPLE)], ["export"], ["archive", str(list_file)],
                    ["delete", str(list_file), "--confirm"], ["privacy-export", "1"]):  # fmt: skip
        line = one_error_line(run_bulkport(*command, env=env, cwd=home.parent))
        assert line == (
            f"Error: No bulkport stack is running for home {home.resolve()}; start it with "
            "`make run` (or `bulkport up`), or use --inline."
        ), command
    ctx = Context.from_settings(Settings(home=home))
    with ctx.engine.connect() as conn:
        assert job_rows.list_jobs(conn, 1, limit=10, offset=0) == []
    ctx.close()
    inline = run_bulkport("import", str(SAMPLE), "--inline", env=env, cwd=home.parent)
    assert inline.returncode == 0, inline.stderr


def test_a_job_started_as_a_user_is_theirs_and_an_unknown_user_is_refused(home: Path) -> None:
    env = home_env(home)
    mine = run_bulkport("import", str(SAMPLE), "--inline", "--as", "A@s.example",
                        env=env, cwd=home.parent)  # fmt: skip
    assert mine.returncode == 0, mine.stderr
    anonymous = run_bulkport("export", "--inline", env=env, cwd=home.parent)
    assert anonymous.returncode == 0, anonymous.stderr
    ctx = Context.from_settings(Settings(home=home))
    with ctx.engine.connect() as conn:
        jobs = job_rows.list_jobs(conn, 1, limit=10, offset=0)
    ctx.close()
    assert [(j.kind.value, j.created_by) for j in jobs] == [("export", None), ("import", 1)]
    unknown = run_bulkport("import", str(SAMPLE), "--inline", "--as", "nobody@s.example",
                           env=env, cwd=home.parent)  # fmt: skip
    assert unknown.returncode == 2
    assert "the store has no user nobody@s.example" in unknown.stderr
    deleter = run_bulkport("users", "create", "--store", "s", "--email", "c@s.example",
                           env=env, cwd=home.parent)  # fmt: skip
    assert deleter.returncode == 0, deleter.stderr
    list_file = home.parent / "ids.csv"
    list_file.write_text("Customer Record ID\n1\n")
    staff = run_bulkport("delete", str(list_file), "--confirm", "--inline", "--as", "c@s.example",
                         env=env, cwd=home.parent)  # fmt: skip
    assert staff.returncode == 2 and "c@s.example does not have customers:delete" in staff.stderr


def test_import_rules_are_taken_per_field_and_a_wrong_one_is_one_line(home: Path) -> None:
    env = home_env(home)
    first = home.parent / "first.csv"
    first.write_text("Email,First Name,Phone\r\nann@example.com,Ann,0611\r\n")
    again = home.parent / "again.csv"
    again.write_text("Email,First Name,Phone\r\nann@example.com,Anna,0699\r\n")
    for rules, expected in [
        (["--rule", "Shoe Size=keep"], "'Shoe Size' is not a field an import can write"),
        (["--rule", "phone=sometimes"], "Input should be 'overwrite', 'fill_empty' or 'keep'"),
        (["--rule", "phone"], "--rule 'phone': write it as FIELD=RULE"),
    ]:
        refused = run_bulkport("import", str(again), "--inline", *rules, env=env, cwd=home.parent)
        assert expected in one_error_line(refused)
    made = run_bulkport("import", str(first), "--inline", env=env, cwd=home.parent)
    assert made.returncode == 0, made.stderr
    ruled = run_bulkport("import", str(again), "--inline", "--rule", "Phone=keep",
                         "--rule", "first_name=overwrite", env=env, cwd=home.parent)  # fmt: skip
    assert ruled.returncode == 0, ruled.stderr
    ctx = Context.from_settings(Settings(home=home))
    with ctx.engine.connect() as conn:
        ann = dict(conn.execute(select(customers.c.first_name, customers.c.phone)).one()._mapping)
        jobs = job_rows.list_jobs(conn, 1, limit=1, offset=0)
    ctx.close()
    assert ann == {"first_name": "Anna", "phone": "0611"}
    assert jobs[0].options["column_rules"] == {"phone": "keep", "first_name": "overwrite"}


def test_retry_runs_the_rows_that_met_another_customers_email_once(home: Path) -> None:
    env = home_env(home)
    first = home.parent / "first.csv"
    first.write_text("Email,First Name\r\nann@example.com,Ann\r\nbea@example.com,Bea\r\n")
    taken = home.parent / "taken.csv"
    taken.write_text("Customer Record ID,Email\r\n1,bea@example.com\r\n")
    made = run_bulkport("import", str(first), "--inline", env=env, cwd=home.parent)
    assert made.returncode == 0, made.stderr
    failed = run_bulkport("import", str(taken), "--inline", env=env, cwd=home.parent)
    job_id = failed.stdout.split()[1]
    retried = run_bulkport("retry", job_id, "--inline", env=env, cwd=home.parent)
    assert retried.returncode == 0, retried.stderr
    assert f"Retrying rows 2 of job {job_id}" in retried.stdout
    retry_id = retried.stdout.split("Job ")[1].split()[0]
    again = run_bulkport("retry", job_id, "--inline", env=env, cwd=home.parent)
    assert f"Job {retry_id}" in again.stdout
    ctx = Context.from_settings(Settings(home=home))
    with ctx.engine.connect() as conn:
        retry = job_rows.get_job(conn, 1, retry_id)
    ctx.close()
    assert retry is not None and retry.options["retry_of"] == job_id
    assert (retry.counts.total, retry.counts.failed) == (1, 1)
    made_id = made.stdout.split()[1]
    nothing = run_bulkport("retry", made_id, "--inline", env=env, cwd=home.parent)
    assert "Nothing to retry" in one_error_line(nothing)
