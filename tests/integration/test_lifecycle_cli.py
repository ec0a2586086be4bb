"""`bulkport archive|unarchive|merge|delete FILE` and `users grant|revoke`, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bulkport.cli import main
from bulkport.config import get_settings


@pytest.fixture
def cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The `bulkport` command on the database under test, in its own folder."""
    monkeypatch.setenv("BULKPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("BULKPORT_HOME", str(tmp_path / "cli-home"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def north(cli: CliRunner) -> None:
    """Store "north" with a staff member, and Ann and Bob imported."""
    assert run(cli, "users", "create", "--store", "north", "--email", "s@north.example",
               "--role", "staff").exit_code == 0  # fmt: skip
    Path("c.csv").write_text("First Name,Email\nAnn,ann@x.example\nBob,bob@x.example\n")
    assert run(cli, "import", "c.csv", "--inline").exit_code == 0


@pytest.mark.usefixtures("north")
def test_lifecycle_commands_run_their_jobs_inline_and_delete_needs_confirm(cli: CliRunner) -> None:
    Path("l.csv").write_text("Email\nann@x.example\n")
    archived = run(cli, "archive", "l.csv", "--inline")
    assert "Rows: 1 total. 1 customer archived." in archived.output
    assert "1 customer un-archived." in run(cli, "unarchive", "l.csv", "--inline").output
    Path("p.csv").write_text("Primary ID,Secondary ID\n1,2\n")
    assert "Would merge 1 duplicate." in run(cli, "merge", "p.csv", "--inline", "--dry-run").output
    refused = run(cli, "delete", "l.csv", "--inline")
    assert refused.exit_code != 0 and "--confirm" in refused.output
    assert "1 customer deleted." in run(cli, "delete", "l.csv", "--inline", "--confirm").output
    granted = run(cli, "users", "grant", "s@north.example", "customers:delete")
    assert granted.output.strip() == "s@north.example: customers:delete granted."
    revoked = run(cli, "users", "revoke", "s@north.example", "customers:delete")
    assert revoked.output.strip() == "s@north.example: customers:delete revoked."


@pytest.mark.usefixtures("north")
def test_a_delete_dry_run_says_who_would_go_and_what_was_not_found(cli: CliRunner) -> None:
    Path("l.csv").write_text("Email\nann@x.example\nbob@x.example\nnobody@x.example\n\n")
    said = run(cli, "delete", "l.csv", "--inline", "--dry-run").output
    assert "Rows: 3 total. Would delete 2 customers, 1 not found." in said
    assert "updated" not in said
