"""The small job: a 10-row CSV uploaded over HTTP, timed until the job is READY.

The API (``python -m bulkport api``) and one worker (default queue, ``--concurrency=1``) run as
their own processes with the same environment, as in production; the token comes from
``python -m bulkport users create`` (its last line).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx

from . import data
from .harness import ROOT, Store, Worker

if TYPE_CHECKING:
    from .cases import Session

POLL = 0.02


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _one(client: httpx.Client, content: bytes, name: str, timeout: float = 60) -> float:
    started = time.perf_counter()
    answer = client.post("/api/v1/imports", files={"file": (name, content, "text/csv")})
    if answer.status_code != 202:
        raise RuntimeError(f"upload answered {answer.status_code}: {answer.text[:300]}")
    job_id = answer.json()["id"]
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in ("READY", "FAILED", "CANCELLED"):
            seconds = time.perf_counter() - started
            break
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"small job {job_id} still {job['status']} after {timeout} s")
        time.sleep(POLL)
    if job["status"] != "READY" or job["counts"]["created"] != 10:
        raise RuntimeError(f"small job ended {job['status']} with {job['counts']}")
    return seconds


def run_small_jobs(s: Session, runs: int = 20, rows: int = 10) -> tuple[list[float], float]:
    """``runs`` measured uploads after one cold one; returns (their seconds, the cold one's)."""
    url = s.databases.create("small")
    store = Store.open(s.services, s.services.work / "home-small", url, "bench")
    s.stores.append(store)
    env = {**os.environ, **store.env()}
    made = subprocess.run(
        [sys.executable, "-m", "bulkport", "users", "create", "--store", "bench",
         "--email", "small@example.com", "--role", "admin"],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    token = made.stdout.strip().splitlines()[-1]
    port = _free_port()
    log = s.services.logs / "api.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        api = subprocess.Popen(
            [sys.executable, "-m", "bulkport", "api", "--port", str(port)],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    worker = Worker(store, s.services.logs / "worker-small.log", concurrency=1)
    try:
        worker.start()
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if api.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the API did not start (see {log})")
                time.sleep(0.1)
            cold = _one(client, data.small_csv(rows, start=60_000_000), "cold.csv")
            times = []
            for run in range(runs):
                content = data.small_csv(rows, start=60_000_000 + (run + 1) * rows)
                times.append(_one(client, content, f"small-{run}.csv"))
        s.log(f"[small-job] cold {cold:.3f} s, runs {', '.join(f'{t:.3f}' for t in times)}")
        return times, cold
    finally:
        worker.stop()
        api.terminate()
        try:
            api.wait(30)
        except subprocess.TimeoutExpired:
            api.kill()
            api.wait(10)
