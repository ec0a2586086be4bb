"""Engines for SQLite and PostgreSQL, and bringing the schema up to date with Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).with_name("migrations")


def now() -> datetime:
    """The current time in UTC; every stored moment is UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored moment as aware UTC (SQLite hands them back naive)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings each backend needs for concurrent job workers. Its errors
    never quote a statement's parameters (customers' values), so a logged error holds none."""
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    # No server-side prepared statements: psycopg would otherwise fix a statement's plan after
    # five runs, and a batch lookup planned while an import's table was small would keep
    # scanning it as it grows to millions of rows.
    return create_engine(
        url, pool_pre_ping=True, connect_args={"prepare_threshold": None}, **kwargs
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, open transactions, so that BEGIN IMMEDIATE below is ours.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted and overwritten content is zeroed, not left in free pages: a deleted customer's
    # values must not stay readable in the file (docs/privacy.md).
    cursor.execute("PRAGMA secure_delete=ON")
    # A batch of a thousand customers dirties about as many pages (its rows and their places
    # in the email index): at SQLite's default of 1,000 pages every commit would copy the WAL
    # back into the database and wait for the disk. Every 16,000 pages, pages that several
    # batches touch are copied once; the WAL is then cut back to 64 MB.
    cursor.execute("PRAGMA wal_autocheckpoint=16000")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.close()


READ_ONLY = "bulkport_read_only"


def _sqlite_begin_immediate(connection: Any) -> None:
    # Take the write lock at BEGIN: two workers then queue on busy_timeout instead of failing
    # with "database is locked" when a read transaction tries to become a write. A connection
    # marked read-only begins deferred: in WAL mode it reads a snapshot and blocks no writer.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only: on SQLite it takes no write lock, so a long read (an export,
    a report) never holds up the workers' batch commits."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        yield conn


def ping(engine: Engine) -> None:
    """Ask the database for an answer; raises when it cannot give one."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


def runs_apart(engine: Engine) -> bool:
    """Whether the database works in a server process of its own (PostgreSQL), so that a
    thread here waiting on it leaves this interpreter to the others; SQLite works in ours."""
    return engine.dialect.name == "postgresql"


def commit_lazily(conn: Connection) -> None:
    """Let this transaction's commit return before its log reaches the disk (PostgreSQL's
    ``synchronous_commit = off``): a database crash can lose it, but only whole."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")


def alembic_config(url: str) -> Config:
    """Alembic's configuration for this package's migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema."""
    if make_url(url).get_backend_name() == "sqlite":
        make_engine(url).dispose()  # creates the folder of the SQLite file
    command.upgrade(alembic_config(url), "head")
