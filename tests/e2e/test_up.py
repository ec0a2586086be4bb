"""`bulkport up` starts the whole stack with a private Redis, serves a job, and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bulkport.services import free_port


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
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


def test_up_runs_api_worker_flower_and_private_redis_then_stops_them_all(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    api_port, flower_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULKPORT_")}
    env.update(
        BULKPORT_HOME=str(home),
        BULKPORT_FLOWER_PORT=str(flower_port),
        BULKPORT_FLOWER_PASSWORD="flower-test-pw",
        BULKPORT_WORKER_CONCURRENCY="1",
    )
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            [sys.executable, "-m", "bulkport", "up", "--port", str(api_port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(f"http://127.0.0.1:{api_port}/healthz", up, log)
        wait_for(f"http://127.0.0.1:{flower_port}/healthcheck", up, log)
        assert "private server" in log.read_text()

        made = subprocess.run(
            [sys.executable, "-m", "bulkport", "users", "create", "--store", "s",
             "--email", "a@s.example", "--role", "admin"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        headers = {"Authorization": f"Bearer {made.stdout.splitlines()[-1]}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", headers=headers) as client:
            job = client.post(
                "/api/v1/imports", files={"file": ("c.csv", b"Email\r\nann@example.com\r\n")}
            ).json()
            deadline = time.monotonic() + 60
            while job["status"] not in ("READY", "FAILED"):
                assert time.monotonic() < deadline, job
                time.sleep(0.3)
                job = client.get(f"/api/v1/jobs/{job['id']}").json()
        assert job["status"] == "READY" and job["counts"]["created"] == 1

        flower = f"http://127.0.0.1:{flower_port}/api/workers"
        assert httpx.get(flower, timeout=5).status_code == 401
        assert httpx.get(flower, auth=("admin", "flower-test-pw"), timeout=5).status_code == 200

        children = descendants(up.pid)
        assert len(children) >= 4  # redis, api, worker (+ its pool), flower
    finally:
        up.send_signal(signal.SIGTERM)
        code = up.wait(60)
    assert code == 0, log.read_text()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if alive(pid)], "children left running"
