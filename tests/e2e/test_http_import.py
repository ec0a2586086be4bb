"""End to end as a user would: HTTP upload → API process → Redis → worker process → READY.

Runs the API and a worker as separate processes (`bulkport api`, `bulkport worker`) on a
SQLite file, the real Redis and the shipped example file.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from support import wait_until_serving

from bulkport.cli.services import free_port

EXAMPLE = Path(__file__).parents[2] / "examples" / "customers.csv"


@dataclass
class Stack:
    base: str
    token: str
    home: Path

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=30
        )


def bulkport(*args: str, env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    out = log.open("wb") if log else subprocess.PIPE
    return subprocess.Popen(
        [sys.executable, "-m", "bulkport", *args], env=env, stdout=out, stderr=subprocess.STDOUT
    )


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("e2e-home")
    port = free_port()
    env = dict(
        os.environ,
        BULKPORT_HOME=str(home),
        BULKPORT_BROKER_URL=redis_url,
        BULKPORT_DATABASE_URL="",
        BULKPORT_FILES_DIR="",
        BULKPORT_BATCH_SIZE="200",
        BULKPORT_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    env.pop("BULKPORT_DATABASE_URL")
    env.pop("BULKPORT_FILES_DIR")
    made = subprocess.run(
        [sys.executable, "-m", "bulkport", "users", "create", "--store", "demo",
         "--email", "owner@demo.example", "--role", "admin"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    token = made.stdout.strip().splitlines()[-1]
    api = bulkport("api", "--port", str(port), env=env, log=home / "api.log")
    worker = bulkport("worker", "--concurrency", "1", env=env, log=home / "worker.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, api, home / "api.log")
        yield Stack(base, token, home)
    finally:
        for process in (api, worker):
            process.terminate()
        for process in (api, worker):
            process.wait(30)


def wait_ready(
    client: httpx.Client, job: dict[str, object], seconds: float = 180
) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while True:
        current: dict[str, object] = client.get(f"/api/v1/jobs/{job['id']}").json()
        if current["status"] in ("READY", "FAILED", "CANCELLED"):
            return current
        assert time.monotonic() < deadline, f"job still {current['status']}"
        time.sleep(0.2)


def upload(client: httpx.Client, content: bytes, name: str = "customers.csv") -> dict[str, object]:
    response = client.post("/api/v1/imports", files={"file": (name, content, "text/csv")})
    assert response.status_code == 202, response.text
    job: dict[str, object] = response.json()
    # The answer shows the job as it is once queued: the worker may have claimed it, or even
    # finished it, before the API read it back (seen in a fresh-clone CI run).
    assert job["status"] in ("QUEUED", "PROCESSING", "READY")
    return job


def test_example_file_imports_with_its_bad_rows_reported_and_reimports_unchanged(
    stack: Stack,
) -> None:
    content = EXAMPLE.read_bytes()
    with stack.client() as client:
        job = wait_ready(client, upload(client, content))
        assert job["status"] == "READY", job
        counts = job["counts"]
        assert isinstance(counts, dict)
        assert (counts["total"], counts["succeeded"], counts["failed"]) == (1000, 990, 10)
        assert counts["created"] == 990

        errors = client.get(f"/api/v1/jobs/{job['id']}/errors", params={"limit": 100}).json()
        failed_rows = sorted({e["row"] for e in errors})
        assert len(failed_rows) == 10
        sheet = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        for error in errors:
            assert 2 <= error["row"] <= len(sheet)
            if error["column"] is not None:
                index = sheet[0].index(error["column"])
                assert sheet[error["row"] - 1][index][:200] == error["value"]

        links = job["links"]
        assert isinstance(links, dict)
        report = client.get(links["report"])
        assert report.status_code == 200
        report_rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
        assert report_rows[0][-2:] == ["Row", "Errors"]
        assert sorted(int(r[-2]) for r in report_rows[1:]) == failed_rows

        again = wait_ready(client, upload(client, content))
        counts = again["counts"]
        assert isinstance(counts, dict)
        assert (counts["unchanged"], counts["failed"], counts["created"]) == (990, 10, 0)


def test_a_broken_upload_fails_plainly_and_the_worker_keeps_serving(stack: Stack) -> None:
    with stack.client() as client:
        broken = wait_ready(client, upload(client, b"Colour;Size\r\nred;L\r\n"))
        assert broken["status"] == "FAILED"
        assert "No column of the header row matches" in str(broken["error"])
        fine = wait_ready(client, upload(client, b"First Name\r\nZo\xc3\xab\r\n"))
        assert fine["status"] == "READY"


def test_an_export_downloads_through_its_link_and_imports_back_unchanged(stack: Stack) -> None:
    with stack.client() as client:
        imported = wait_ready(client, upload(client, EXAMPLE.read_bytes()))
        assert imported["status"] == "READY"
        for fmt in ("csv", "xlsx"):
            response = client.post("/api/v1/exports", json={"format": fmt})
            assert response.status_code == 202, response.text
            job = wait_ready(client, response.json())
            assert job["status"] == "READY", job
            counts = job["counts"]
            assert isinstance(counts, dict) and counts["succeeded"] >= 990  # + earlier tests'
            exported = counts["succeeded"]
            links = job["links"]
            assert isinstance(links, dict)
            link = client.get(links["download_url"]).json()
            data = httpx.get(link["url"], timeout=30)  # a browser: no token, just the link
            assert data.status_code == 200
            assert link["filename"].endswith(f".{fmt}")
            again = wait_ready(client, upload(client, data.content, f"export.{fmt}"))
            counts = again["counts"]
            assert isinstance(counts, dict)
            assert (counts["unchanged"], counts["failed"], counts["updated"]) == (exported, 0, 0)


def test_with_redis_down_an_upload_answers_503_and_no_job_is_left_queued(
    redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULKPORT_")}
    env.update(
        BULKPORT_HOME=str(tmp_path), BULKPORT_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0"
    )
    made = subprocess.run(
        [sys.executable, "-m", "bulkport", "users", "create", "--store", "s",
         "--email", "a@s.example", "--role", "staff"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {made.stdout.splitlines()[-1]}"}
    api = bulkport("api", "--port", str(port), env=env, log=tmp_path / "api.log")
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, (tmp_path / "api.log").read_text()
                time.sleep(0.2)
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            started = time.monotonic()
            response = client.post(
                "/api/v1/imports", files={"file": ("c.csv", b"Email\r\nann@example.com\r\n")}
            )
            assert time.monotonic() - started < 20
            assert response.status_code == 503
            assert response.headers["retry-after"]
            jobs = client.get("/api/v1/jobs").json()
        assert [j["status"] for j in jobs] == ["FAILED"]  # said plainly, never "202 then lost"
    finally:
        api.terminate()
        api.wait(30)
