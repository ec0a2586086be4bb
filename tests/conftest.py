"""Shared test fixtures: real PostgreSQL and Redis, a fresh database per run, clean tables per test.

``BULKPORT_TEST_REDIS_URL`` and ``BULKPORT_TEST_PG_URL`` name the services to test against; one
that is named but does not answer fails the tests that need it. Where one is not named, the run
starts a private one on first use (a redis-server as `bulkport up` does, a PostgreSQL from the
``pgserver`` wheel) and stops it at the end, so every test runs on any machine and none is skipped.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bulkport.cli.services import Supervisor, free_port, redis_server_binary

CONFIGURED_REDIS = os.environ.get("BULKPORT_TEST_REDIS_URL")
CONFIGURED_PG = os.environ.get("BULKPORT_TEST_PG_URL")
# Chosen now, started on first use.
TEST_REDIS = CONFIGURED_REDIS or f"redis://127.0.0.1:{free_port()}/13"
# The broker of the Celery app in this process (configured from the environment on first use).
os.environ["BULKPORT_BROKER_URL"] = TEST_REDIS
# A home for settings made without one; removed when the run ends (pytest_unconfigure).
_MADE_HOME: str | None = None
if "BULKPORT_HOME" not in os.environ:
    _MADE_HOME = os.environ["BULKPORT_HOME"] = tempfile.mkdtemp(prefix="bulkport-test-home-")

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from support import PASSWORD, Queue  # noqa: E402

from bulkport.app import create_app  # noqa: E402
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


def unreachable(what: str, url: str, why: object) -> None:
    """A service the run was told to use does not answer: fail, loudly, every test needing it."""
    pytest.fail(f"{what} at {url} is not reachable: {why}", pytrace=False)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test Redis database, flushed before and after the run."""
    import redis

    from bulkport.cli.services import redis_reachable, wait_until

    supervisor = Supervisor()
    if CONFIGURED_REDIS is None:
        data = tmp_path_factory.mktemp("redis")
        port = TEST_REDIS.rsplit(":", 1)[1].split("/")[0]
        supervisor.start(
            "redis",
            [redis_server_binary(), "--port", port, "--bind", "127.0.0.1", "--dir", str(data),
             "--save", "", "--appendonly", "no", "--logfile", str(data / "redis.log")],
        )  # fmt: skip
        wait_until(lambda: redis_reachable(TEST_REDIS, 0.2), 15, "The test's private Redis")
    client = redis.Redis.from_url(TEST_REDIS, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        supervisor.stop()
        unreachable("Redis", TEST_REDIS, exc)
    yield TEST_REDIS
    client.flushdb()
    client.close()
    supervisor.stop()


def private_postgres() -> tuple[str, Callable[[], None]]:
    """A PostgreSQL of this run on a Unix socket (the pgserver wheel), and how to stop it."""
    from pgserver.postgres_server import get_server

    data = tempfile.mkdtemp(prefix="bulkport-pg-")
    server = get_server(data, cleanup_mode="stop")
    url = server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)

    def stop() -> None:
        server.cleanup()
        shutil.rmtree(data, ignore_errors=True)

    return url, stop


def _nothing() -> None:
    """Stopping a service the run did not start."""


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database made for this run, migrated, and dropped afterwards."""
    admin_url, stop = (CONFIGURED_PG, _nothing) if CONFIGURED_PG else private_postgres()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bulkport_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        stop()
        unreachable("PostgreSQL", admin_url, exc)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        stop()


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
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """Settings of one test: its own file store, the database under test, small batches."""
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        broker_url=redis_url,
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


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A local S3 (moto) for the whole run, started on first use."""
    from support import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_settings(settings: Settings, s3_endpoint: str) -> Settings:
    """The test's settings with its files in a bucket of its own on the local S3."""
    from support import new_bucket
    from support import s3_settings as with_s3

    return with_s3(settings, s3_endpoint, new_bucket(s3_endpoint))


@pytest.fixture
def s3_ctx(s3_settings: Settings) -> Iterator[Context]:
    """A context on the database under test, its files in the test's bucket."""
    context = Context.from_settings(s3_settings)
    yield context
    context.close()


@pytest.fixture
def staff(ctx: Context, admin: User) -> User:
    """A staff member of store "north" with a password."""
    with ctx.engine.begin() as conn:
        user = accounts.ensure_user(conn, admin.store_id, "staff@north.example", Role.STAFF)
        accounts.set_password(conn, user.id, PASSWORD)
    return user


@pytest.fixture
def sent(queue: Queue) -> list[str]:
    """Jobs the pages sent to the queue (no worker runs here)."""
    return queue.ids
