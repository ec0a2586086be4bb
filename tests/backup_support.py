"""What the backup and replay tests share: the `bulkport` command on the test's home and
database, and Jane, the canary whose every byte must go."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pgserver._commands import POSTGRES_BIN_PATH
from sqlalchemy import select
from support import csv_text, import_now, sqlite_file_bytes

from bulkport.cli import main
from bulkport.config import Settings, get_settings
from bulkport.storage.accounts import User
from bulkport.storage.tables import customers, metadata
from bulkport.tasks.context import Context

HEADER = ["First Name", "Last Name", "Email", "Phone", "City"]
JANE = ["Jane", "Quistorp", "jane.quistorp@example.org", "+31 6 9876 5432", "Utrecht"]
BOB = ["Bob", "Baker", "bob@example.com", "0612345678", "Utrecht"]
JANE_BYTES = [b"Quistorp", b"quistorp", b"jane.quistorp@", b"9876 5432", b"+31698765432"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test's settings, with the client tools of its PostgreSQL: the PATH's for a
    configured server, else the private server's own (pg_dump refuses a newer server)."""
    private = not os.environ.get("BULKPORT_TEST_PG_URL")
    return settings.model_copy(update={"pg_bin": POSTGRES_BIN_PATH if private else None})


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The `bulkport` command on the test's home and database."""
    monkeypatch.setenv("BULKPORT_HOME", str(settings.home))
    monkeypatch.setenv("BULKPORT_DATABASE_URL", settings.database)
    if settings.pg_bin:
        monkeypatch.setenv("BULKPORT_PG_BIN", str(settings.pg_bin))
    else:
        monkeypatch.delenv("BULKPORT_PG_BIN", raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str) -> Result:
    """One command; its output (errors included) in ``.output``."""
    return cli.invoke(main, list(args), catch_exceptions=False)


def jane_and_bob(ctx: Context, admin: User) -> int:
    """Jane and Bob imported; Jane's customer id."""
    import_now(ctx, admin, csv_text([HEADER, JANE, BOB]), filename="jane-quistorp.csv")
    with ctx.engine.connect() as conn:
        return int(
            conn.execute(
                select(customers.c.id).where(customers.c.email_key == JANE[2])
            ).scalar_one()
        )


def emails(ctx: Context) -> set[str]:
    """Every email the customers table holds."""
    with ctx.engine.connect() as conn:
        return {e for e in conn.execute(select(customers.c.email)).scalars() if e}


def kept_bytes(ctx: Context) -> bytes:
    """Every byte the stack keeps that this process can read: each table's rows, the home's
    files (SQLite's database and WAL read by a child process), the erasure log."""
    with ctx.engine.connect() as conn:
        rows = "\n".join(
            repr(dict(row._mapping))
            for t in metadata.sorted_tables
            for row in conn.execute(select(t))
        )
    out = rows.encode()
    home = ctx.settings.home
    for path in sorted(home.rglob("*")):
        if path.is_file() and not path.name.startswith("bulkport.db"):
            out += path.read_bytes()
    database = ctx.engine.url.database
    if ctx.engine.dialect.name == "sqlite" and database:
        out += sqlite_file_bytes(Path(database))
    return out


def canary_in(ctx: Context) -> list[bytes]:
    """Those of Jane's values found in what the stack keeps."""
    kept = kept_bytes(ctx)
    return [value for value in JANE_BYTES if value in kept]
