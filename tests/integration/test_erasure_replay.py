"""Nothing comes back from a backup: every erasure is logged apart from the database, and
`bulkport privacy replay` erases again whoever a restored backup brought back, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from backup_support import (
    BOB,
    HEADER,
    JANE,
    JANE_BYTES,
    canary_in,
    cli,
    emails,
    jane_and_bob,
    run,
    settings,
)
from click.testing import CliRunner
from fastapi.testclient import TestClient
from support import csv_text, import_now, stage_list

from bulkport.cli.running import warn_undone_erasures
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.customer_lists import run_list
from bulkport.tasks.deletions import DELETE, delete_one
from bulkport.usecases.backups import back_up, restore

__all__ = ["cli", "settings"]  # fixtures, used by name


def log_lines(ctx: Context) -> list[dict[str, object]]:
    text = ctx.settings.erasure_log.read_text()
    return [json.loads(line) for line in text.splitlines()]


def test_each_erasure_writes_ids_store_and_time_only_to_an_owner_only_log(
    ctx: Context, admin: User
) -> None:
    jane = jane_and_bob(ctx, admin)
    delete_one(ctx, admin.store_id, admin.id, jane)
    job_id = stage_list(ctx, admin, DELETE, f"Email\n{BOB[2]}\n", confirm=True)
    run_list(ctx, job_id, DELETE)

    lines = log_lines(ctx)
    assert [(e["customer_id"], e["store_id"]) for e in lines] == [
        (jane, admin.store_id),
        (jane + 1, admin.store_id),
    ]
    assert all(set(e) == {"customer_id", "store_id", "at"} for e in lines)
    raw = ctx.settings.erasure_log.read_bytes()
    assert [v for v in [*JANE_BYTES, b"bob@example.com", b"Baker"] if v in raw] == []
    assert stat.S_IMODE(ctx.settings.erasure_log.stat().st_mode) == 0o600


def test_a_dry_run_delete_writes_nothing_to_the_log(ctx: Context, admin: User) -> None:
    jane_and_bob(ctx, admin)
    job_id = stage_list(ctx, admin, DELETE, f"Email\n{JANE[2]}\n", confirm=True, dry_run=True)
    run_list(ctx, job_id, DELETE)
    assert not ctx.settings.erasure_log.exists()


def test_replay_erases_again_who_a_restored_backup_brought_back_and_leaves_no_byte(
    ctx: Context,
    admin: User,
    cli: CliRunner,
    client: TestClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    jane = jane_and_bob(ctx, admin)
    last_week = tmp_path / "last-week.backup"
    back_up(ctx.settings, last_week)
    delete_one(ctx, admin.store_id, admin.id, jane)
    assert canary_in(ctx) == []
    assert client.get("/readyz").json()["warnings"] == []

    restore(ctx, last_week)
    assert JANE[2] in emails(ctx)
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["warnings"] == [
        "1 erased customer(s) hold personal data again (a restored backup?): "
        "run `bulkport privacy replay`."
    ]
    warn_undone_erasures(ctx.settings)  # what `bulkport up` says before it starts anything
    assert capsys.readouterr().err == f"Warning: {ready.json()['warnings'][0]}\n"

    replayed = run(cli, "privacy", "replay")
    assert replayed.exit_code == 0, replayed.output
    assert replayed.output.strip() == "Erased again: 1 customer(s)."
    assert canary_in(ctx) == []
    assert emails(ctx) == {BOB[2]}
    assert client.get("/readyz").json()["warnings"] == []
    assert run(cli, "privacy", "replay").output.strip() == "Erased again: 0 customer(s)."


def test_replay_also_erases_a_merged_record_and_the_row_errors_a_restore_brought_back(
    ctx: Context, admin: User, cli: CliRunner, tmp_path: Path
) -> None:
    jane = jane_and_bob(ctx, admin)
    # A repeat of Jane's row: a row error quoting her email, in the restored jobs too.
    import_now(ctx, admin, csv_text([HEADER, JANE, JANE]))
    backup = tmp_path / "b.backup"
    back_up(ctx.settings, backup)
    delete_one(ctx, admin.store_id, admin.id, jane)
    restore(ctx, backup)
    assert canary_in(ctx) != []

    assert run(cli, "privacy", "replay").output.strip() == "Erased again: 1 customer(s)."
    assert canary_in(ctx) == []
