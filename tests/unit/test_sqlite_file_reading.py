"""Tests that look into a SQLite database's own files must not cost this process its locks."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support import sqlite_file_bytes

TAKE_OVER = (
    "import sqlite3, sys\n"
    "conn = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
    "try:\n"
    "    conn.execute('BEGIN EXCLUSIVE')\n"
    "except sqlite3.OperationalError:\n"
    "    sys.exit(3)\n"
)


def another_process_could_take_it(database: Path) -> bool:
    """Whether a second process gets the database to itself now."""
    result = subprocess.run([sys.executable, "-c", TAKE_OVER, str(database)], check=False)
    return result.returncode == 0


def in_this_process(database: Path) -> bytes:
    return database.read_bytes()


@pytest.mark.parametrize(
    ("read", "keeps_lock"), [(sqlite_file_bytes, True), (in_this_process, False)]
)
def test_reading_a_database_file_through_the_helper_keeps_this_process_s_lock(
    tmp_path: Path, read: Callable[[Path], bytes], keeps_lock: bool
) -> None:
    """A file closed in this process drops every POSIX lock the process holds on it, so the
    helper reads in a child process; reading here lets another process in (the case shown
    second), which is how a worker once reset a mapped index under the tests (SIGBUS)."""
    database = tmp_path / "shop.db"
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("INSERT INTO t VALUES (1)")
    assert not another_process_could_take_it(database)

    assert read(database).startswith(b"SQLite format 3")

    assert another_process_could_take_it(database) is not keeps_lock
    conn.rollback()
    conn.close()
