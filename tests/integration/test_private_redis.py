"""The private Redis of `bulkport up`: a Unix socket only its owner can open, no TCP port."""

from __future__ import annotations

import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from kombu import Connection

from bulkport.cli.services import PrivateRedis, Supervisor, redis_reachable, remove_socket_dir
from bulkport.cli.services import start_private_redis as start


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    children = Supervisor()
    yield children
    children.stop()


def assert_private(server: PrivateRedis, supervisor: Supervisor) -> None:
    assert redis_reachable(server.url)
    with Connection(server.url, connect_timeout=2) as connection:  # as Celery connects
        connection.ensure_connection(max_retries=1)
    assert stat.S_IMODE(server.socket.stat().st_mode) == 0o700
    redis_pid = supervisor.children["redis"].pid
    assert psutil.Process(redis_pid).net_connections(kind="inet") == []


def test_the_private_redis_listens_on_a_socket_in_the_home_and_on_no_port(
    tmp_path: Path, supervisor: Supervisor
) -> None:
    server = start(supervisor, tmp_path / "home" / "redis")
    assert server.socket == tmp_path / "home" / "redis" / "redis.sock"
    assert server.url == f"redis+socket://{server.socket}" and server.made_dir is None
    assert_private(server, supervisor)


def test_a_home_too_deep_for_a_socket_gets_one_in_a_private_temporary_folder(
    tmp_path: Path, supervisor: Supervisor
) -> None:
    server = start(supervisor, tmp_path / ("d" * 60) / ("e" * 60) / "redis")
    assert server.made_dir is not None
    assert server.made_dir.parent == Path(tempfile.gettempdir())
    assert stat.S_IMODE(server.made_dir.stat().st_mode) == 0o700
    assert_private(server, supervisor)
    supervisor.stop()
    remove_socket_dir(server)
    assert not server.made_dir.exists()
