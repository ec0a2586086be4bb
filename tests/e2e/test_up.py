"""`bulkport up` starts the whole stack with a private Redis, serves every command of its home
from any folder, keeps its files private, and stops cleanly; a busy port ends it in one line."""

from __future__ import annotations

import csv
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from support import home_env, process_parents, run_bulkport

from bulkport.cli.services import free_port

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "customers.csv"


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, from /proc."""
    parents = process_parents()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{url} did not answer\n{log.read_text()}"
        time.sleep(0.3)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def assert_private_files(home: Path) -> None:
    """0700 folders, 0600 files, and the Redis socket for its owner only."""
    loose = []
    for path in [home, *home.rglob("*")]:
        mode = path.lstat().st_mode
        wanted = 0o700 if stat.S_ISDIR(mode) or stat.S_ISSOCK(mode) else 0o600
        if stat.S_IMODE(mode) != wanted:
            loose.append(f"{path.relative_to(home)} {stat.S_IMODE(mode):o}")
    assert not loose, loose


def import_over_http(api_port: int, token: str) -> dict[str, Any]:
    """Upload a one-customer file to the API and wait for its job to end."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", headers=headers) as client:
        job: dict[str, Any] = client.post(
            "/api/v1/imports", files={"file": ("c.csv", b"Email\r\nann@example.com\r\n")}
        ).json()
        deadline = time.monotonic() + 60
        while job["status"] not in ("READY", "FAILED"):
            assert time.monotonic() < deadline, job
            time.sleep(0.3)
            job = client.get(f"/api/v1/jobs/{job['id']}").json()
    return job


def assert_locked_down(home: Path, children: set[int], flower_port: int) -> None:
    """Flower asks for the generated password; Redis has no TCP port; the home is private."""
    flower = f"http://127.0.0.1:{flower_port}/api/workers"
    password = (home / "flower-password").read_text()
    assert httpx.get(flower, timeout=5).status_code == 401
    assert httpx.get(flower, auth=("admin", password), timeout=5).status_code == 200
    (redis_server,) = [
        psutil.Process(pid) for pid in children if "redis" in psutil.Process(pid).name()
    ]
    assert redis_server.net_connections(kind="inet") == []
    assert_private_files(home)


def test_up_serves_every_command_of_its_home_from_any_folder_then_stops_them_all(
    tmp_path: Path, taken_port: int
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    api_port = free_port()
    # Flower's port is taken: up picks another and says which.
    env = home_env(home, BULKPORT_FLOWER_PORT=str(taken_port), BULKPORT_WORKER_CONCURRENCY="1")
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            [sys.executable, "-m", "bulkport", "up", "--port", str(api_port)],
            env=env, cwd=elsewhere, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    children: set[int] = set()
    try:
        wait_for(f"http://127.0.0.1:{api_port}/healthz", up, log)
        banner = log.read_text()
        assert f"Home:         {home}" in banner
        moved = re.search(rf"Flower's port {taken_port} is in use; using (\d+)", banner)
        assert moved, banner
        flower_port = int(moved[1])
        wait_for(f"http://127.0.0.1:{flower_port}/healthcheck", up, log)
        assert f"password in {home / 'flower-password'}" in banner
        assert "private server on" in banner and "(no TCP port)" in banner

        made = run_bulkport("users", "create", "--store", "s", "--email", "a@s.example",
                        "--role", "admin", env=env, cwd=elsewhere)  # fmt: skip
        assert made.returncode == 0, made.stderr
        job = import_over_http(api_port, made.stdout.splitlines()[-1])
        assert job["status"] == "READY" and job["counts"]["created"] == 1

        # The CLI, run from another folder with no broker named, finds the stack's queue.
        imported = run_bulkport("import", str(SAMPLE), "--wait", env=env, cwd=elsewhere)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        assert "Status: READY" in imported.stdout and "990 succeeded" in imported.stdout
        exported = run_bulkport("export", "--output", "out.csv", env=env, cwd=elsewhere)
        assert exported.returncode == 0, exported.stderr
        assert "991 customers written to out.csv" in exported.stdout
        with (elsewhere / "out.csv").open(encoding="utf-8-sig", newline="") as written:
            assert sum(1 for _ in csv.reader(written)) == 992  # the header and 991 customers

        again = run_bulkport("up", env=env, cwd=elsewhere)
        assert again.returncode == 1
        assert again.stderr.startswith(f"Error: bulkport up already runs for {home}")

        children = descendants(up.pid)
        assert len(children) >= 4  # redis, api, worker (+ its pool), flower
        assert_locked_down(home, children, flower_port)
        # Nothing lands in the folder the commands ran in but what was asked for.
        assert sorted(p.name for p in elsewhere.iterdir()) == ["out.csv"]
    finally:
        up.send_signal(signal.SIGTERM)
        code = up.wait(60)
    assert code == 0, log.read_text()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if alive(pid)], "children left running"
    assert not (home / "stack.json").exists()


def test_a_busy_api_port_stops_up_in_one_line_naming_the_setting(
    tmp_path: Path, taken_port: int
) -> None:
    env = home_env(tmp_path / "home")
    started = time.monotonic()
    up = run_bulkport("up", "--port", str(taken_port), env=env, cwd=tmp_path)
    assert time.monotonic() - started < 20
    assert up.returncode == 1
    error = up.stderr.strip().splitlines()
    assert error == [
        f"Error: The API's port {taken_port} on 127.0.0.1 is in use: stop what uses it, "
        "or choose another with --port or BULKPORT_API_PORT."
    ]
    assert not (tmp_path / "home" / "stack.json").exists()
