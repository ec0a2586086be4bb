"""`bulkport backup` and `bulkport restore`, to a file and into the file store, on SQLite and
PostgreSQL: a restored backup brings back who was erased since, until `privacy replay`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from backup_support import BOB, JANE, canary_in, cli, emails, jane_and_bob, run, settings
from click.testing import CliRunner

from bulkport.cli.stack import Stack, record
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.deletions import delete_one

__all__ = ["cli", "settings"]  # fixtures, used by name


def test_backup_erase_restore_brings_the_canary_back_and_replay_takes_it_away(
    ctx: Context, admin: User, cli: CliRunner, tmp_path: Path
) -> None:
    jane = jane_and_bob(ctx, admin)
    target = tmp_path / "weekly" / "bulkport.backup"
    made = run(cli, "backup", str(target))
    assert made.exit_code == 0, made.output
    assert made.output.strip() == f"Backup written to {target}"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    delete_one(ctx, admin.store_id, admin.id, jane)
    assert canary_in(ctx) == []

    restored = run(cli, "restore", str(target))
    assert restored.exit_code == 0, restored.output
    assert f"Restored the database from {target}" in restored.output
    assert "Warning: 1 erased customer(s) hold personal data again" in restored.output
    assert emails(ctx) == {JANE[2], BOB[2]}
    assert canary_in(ctx) != []

    assert run(cli, "privacy", "replay").output.strip() == "Erased again: 1 customer(s)."
    assert canary_in(ctx) == []
    assert emails(ctx) == {BOB[2]}


def test_a_backup_kept_in_the_file_store_restores_the_database_as_it_was(
    ctx: Context, admin: User, cli: CliRunner
) -> None:
    jane = jane_and_bob(ctx, admin)
    made = run(cli, "backup", "--to-store", "weekly.backup")
    assert made.output.strip() == "Backup kept in the file store as backups/weekly.backup"
    assert ctx.files.exists("backups/weekly.backup")
    delete_one(ctx, admin.store_id, admin.id, jane)

    restored = run(cli, "restore", "--from-store", "backups/weekly.backup")
    assert restored.exit_code == 0, restored.output
    assert emails(ctx) == {JANE[2], BOB[2]}
    # The passing copy of the backup is gone from the home.
    assert list(ctx.settings.home.glob("backup-*")) == []


def test_restore_refuses_a_file_that_is_no_backup_in_one_line(
    ctx: Context, admin: User, cli: CliRunner, tmp_path: Path
) -> None:
    jane_and_bob(ctx, admin)
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database\n")
    refused = run(cli, "restore", str(junk))
    assert refused.exit_code == 1
    assert refused.output.strip().startswith(f"Error: {junk} is not a")
    assert emails(ctx) == {JANE[2], BOB[2]}
    missing = run(cli, "restore", str(tmp_path / "nowhere.backup"))
    assert missing.exit_code == 1 and "No backup at" in missing.output


def test_restore_is_refused_while_the_stack_runs_for_the_home(
    ctx: Context, admin: User, cli: CliRunner, tmp_path: Path
) -> None:
    jane_and_bob(ctx, admin)
    target = tmp_path / "b.backup"
    assert run(cli, "backup", str(target)).exit_code == 0
    record(ctx.settings.home, Stack(os.getpid(), ctx.settings.broker_url or "", "", ""))
    refused = run(cli, "restore", str(target))
    assert refused.exit_code == 1
    assert "stop it before restoring a backup" in refused.output


def test_without_pg_dump_postgresql_backups_are_refused_saying_so_and_sqlite_needs_none(
    ctx: Context, admin: User, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jane_and_bob(ctx, admin)
    monkeypatch.setenv("BULKPORT_PG_BIN", str(tmp_path / "no-tools"))
    made = run(cli, "backup", str(tmp_path / "b.backup"))
    if ctx.engine.dialect.name == "sqlite":
        assert made.exit_code == 0, made.output
        return
    assert made.exit_code == 1
    assert made.output.strip() == (
        f"Error: pg_dump is not installed in {tmp_path / 'no-tools'}: install the PostgreSQL "
        "client tools (or set BULKPORT_PG_BIN to their folder) to back up or restore PostgreSQL."
    )
    assert not (tmp_path / "b.backup").exists()
