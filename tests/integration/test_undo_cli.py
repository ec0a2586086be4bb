"""`bulkport undo JOB [--dry-run]` on both databases: the dry run changes nothing, the undo
removes what the import created, and a refusal is one line with a non-zero exit."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select
from test_lifecycle_cli import cli, run  # noqa: F401  the command's fixture, shared

from bulkport.config import get_settings
from bulkport.storage.db import make_engine
from bulkport.storage.tables import customers, jobs


def customer_count() -> int:
    engine = make_engine(get_settings().database)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(customers)).scalar_one())
    finally:
        engine.dispose()


def last_job_id() -> str:
    engine = make_engine(get_settings().database)
    try:
        with engine.connect() as conn:
            query = select(jobs.c.id).order_by(jobs.c.created_at.desc()).limit(1)
            return str(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def test_undo_command_previews_then_undoes_and_refuses_in_one_line(
    cli: CliRunner,  # noqa: F811  the fixture
) -> None:
    assert run(cli, "users", "create", "--store", "north", "--email", "s@north.example",
               "--role", "staff").exit_code == 0  # fmt: skip
    Path("c.csv").write_text("First Name,Email\nAnn,ann@x.example\nBob,bob@x.example\n")
    assert run(cli, "import", "c.csv", "--inline").exit_code == 0
    imported = last_job_id()
    assert run(cli, "undo", imported, "--dry-run", "--inline").exit_code == 0
    assert customer_count() == 2
    done = run(cli, "undo", imported, "--inline")
    assert done.exit_code == 0, done.output
    assert customer_count() == 0
    refused = run(cli, "undo", last_job_id())
    assert refused.exit_code != 0
    assert refused.output.strip().splitlines()[-1] == (
        "Error: An undo cannot be undone; import the file again instead."
    )
