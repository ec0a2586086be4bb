"""Shared test fixtures: real PostgreSQL and Redis, a fresh database per run, clean tables per test.

With ``CI`` set, a service that cannot be reached fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

TEST_REDIS = os.environ.get("BULKPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
PG_ADMIN = os.environ.get(
    "BULKPORT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# The broker of the Celery app in this process (configured from the environment on first use).
os.environ["BULKPORT_BROKER_URL"] = TEST_REDIS
# A home for settings made without one; removed when the run ends (pytest_unconfigure).
_MADE_HOME: str | None = None
if "BULKPORT_HOME" not in os.environ:
    _MADE_HOME = os.environ["BULKPORT_HOME"] = tempfile.mkdtemp(prefix="bulkport-test-home-")

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from support import Queue  # noqa: E402

from bulkport.api.app import create_app  # noqa: E402
from bulkport.config import Settings  # noqa: E402
from bulkport.schemas.accounts import Role  # noqa: E402
from bulkport.storage import accounts  # noqa: E402
from bulkport.storage.accounts import User  # noqa: E402
from bulkport.storage.db import make_engine, migrate  # noqa: E402
from bulkport.storage.tables import metadata  # noqa: E402
from bulkport.tasks.context import Context  # noqa: E402

IN_CI = bool(os.environ.get("CI"))


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's own home folder goes with the run."""
    if _MADE_HOME is not None:
        shutil.rmtree(_MADE_HOME, ignore_errors=True)


# Property tests explore new examples on a developer's machine; in CI they replay the same
# ones, so that a run's verdict never depends on chance.
from hypothesis import settings as hypothesis_settings  # noqa: E402

hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if IN_CI:
    hypothesis_settings.load_profile("ci")


def unavailable(what: str, why: object) -> None:
    """Skip, or in CI fail: CI must run every test against the real services."""
    message = f"{what} is not reachable: {why}"
    if IN_CI:
        pytest.fail(message + " (CI needs it)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The test Redis database, flushed before and after the run."""
    import redis

    client = redis.Redis.from_url(TEST_REDIS, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    yield TEST_REDIS
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database made for this run, migrated, and dropped afterwards."""
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"bulkport_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        unavailable("PostgreSQL", exc)
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file for this run."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'bulkport.db'}"
    migrate(url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each storage test runs on SQLite and on PostgreSQL, starting from empty tables."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    engine = make_engine(url)
    empty_tables(engine)
    engine.dispose()
    yield url


def empty_tables(engine: Engine) -> None:
    """Delete every row, children first, and restart the id counters."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings of one test: its own file store, the database under test, small batches."""
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        broker_url=TEST_REDIS,
        batch_size=50,
        secret_key="test-secret",
        uploads_per_minute=0,  # tests upload often; the limit has its own test
    )


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    """A context on the database under test."""
    context = Context.from_settings(settings)
    yield context
    context.close()


@pytest.fixture
def admin(ctx: Context) -> User:
    """An admin of store "north"."""
    with ctx.engine.begin() as conn:
        store_id = accounts.ensure_store(conn, "north")
        return accounts.ensure_user(conn, store_id, "admin@north.example", Role.ADMIN)


@pytest.fixture
def queue() -> Queue:
    """The job queue of the API under test: it notes the jobs sent, and runs none."""
    return Queue()


@pytest.fixture
def client(settings: Settings, queue: Queue) -> Iterator[TestClient]:
    """The API in this process, on the database under test."""
    with TestClient(create_app(settings, enqueue=queue)) as test_client:
        yield test_client


@pytest.fixture
def auth(ctx: Context, admin: User) -> dict[str, str]:
    """Headers of the admin of store "north"."""
    from support import bearer

    return bearer(ctx, "north", admin.email)
