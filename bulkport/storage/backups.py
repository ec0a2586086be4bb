"""Backups of the database bulkport runs on, and restoring one: SQLite through its online
backup API, PostgreSQL through ``pg_dump -Fc`` and ``pg_restore``.

SQLite's backup API copies a consistent snapshot page by page while others keep writing, so
the stack need not stop. PostgreSQL has no such call inside the driver, and its own tools
are the reliable way; they must be installed, of the server's major version or newer
(``pg_dump`` refuses an older server's newer version). A backup holds customers' personal
data: its file is the owner's alone (0600).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.engine import URL

from bulkport.errors import Invalid, Unavailable
from bulkport.storage.db import make_engine

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


def backup(database: str, target: Path, pg_bin: Path | None = None) -> None:
    """Write a backup of ``database`` (a SQLAlchemy URL) to ``target``, replacing it."""
    url = make_url(database)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.part")
    part.unlink(missing_ok=True)
    part.touch(mode=0o600)
    try:
        if url.get_backend_name() == "sqlite":
            with _sqlite(url.database or "") as source, _sqlite(str(part)) as copy:
                source.backup(copy)
        else:
            tool = _pg_tool("pg_dump", url, pg_bin)
            _run([str(tool), "-Fc", "-f", str(part), _libpq(url)], url, "pg_dump")
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)


def restore(database: str, source: Path, pg_bin: Path | None = None) -> None:
    """Replace everything in ``database`` with the backup in ``source``."""
    url = make_url(database)
    with source.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if url.get_backend_name() == "sqlite":
        if not head.startswith(SQLITE_MAGIC):
            raise Invalid(f"{source} is not a backup of a SQLite database.")
        readonly = f"file:{source}?mode=ro"
        with _sqlite(readonly, uri=True) as copy, _sqlite(url.database or "") as live:
            copy.backup(live)
        return
    if not head.startswith(PG_MAGIC):
        raise Invalid(f"{source} is not a PostgreSQL backup (pg_dump -Fc).")
    tool = _pg_tool("pg_restore", url, pg_bin)
    _run(
        [str(tool), "--clean", "--if-exists", "--no-owner", "--single-transaction",
         "--exit-on-error", "-d", _libpq(url), str(source)],
        url, "pg_restore",
    )  # fmt: skip


def _sqlite(path: str, *, uri: bool = False) -> closing[sqlite3.Connection]:
    """A plain sqlite3 connection, closed on leaving (``with`` on a sqlite3 connection only
    ends its transaction)."""
    return closing(sqlite3.connect(path, timeout=30, uri=uri))


def _libpq(url: URL) -> str:
    """The database's address for libpq, without its password (that goes in PGPASSWORD, not
    in a command line others on the machine can read)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(argv: list[str], url: URL, what: str) -> None:
    env = {**os.environ, **({"PGPASSWORD": str(url.password)} if url.password else {})}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        raise Unavailable(f"{what} failed: {lines[0]}")


def _major(version: str) -> int:
    """The major version in ``pg_dump (PostgreSQL) 16.2`` or ``16.2 (Debian …)``."""
    found = re.search(r"(?:PostgreSQL\)\s*)?(\d+)", version)
    return int(found.group(1)) if found else 0


def _pg_tool(name: str, url: URL, pg_bin: Path | None) -> Path:
    """The PostgreSQL tool of the server's major version or newer: in ``pg_bin`` if given,
    else on the PATH; refused in plain words when there is none."""
    found = (pg_bin / name) if pg_bin else shutil.which(name)
    if not found or not Path(found).exists():
        where = f"in {pg_bin}" if pg_bin else "on the PATH"
        raise Unavailable(
            f"{name} is not installed {where}: install the PostgreSQL client tools "
            "(or set BULKPORT_PG_BIN to their folder) to back up or restore PostgreSQL."
        )
    tool = Path(found)
    said = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=False)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            server = str(conn.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()
    if _major(said.stdout) < _major(server):
        raise Unavailable(
            f"{tool} is older ({said.stdout.strip()}) than the server (PostgreSQL {server}): "
            "install the server's client tools or set BULKPORT_PG_BIN to their folder."
        )
    return tool
