"""The servers' own log lines name an unexpected error and where it happened, never its message,
which may quote a customer: uvicorn's "Exception in ASGI application" and Celery's "Task …
raised unexpected"."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import served, task_events, worker_env

from bulkport.logs import WITHHELD, exception_kind
from bulkport.storage import customer_records
from bulkport.tasks.context import Context
from bulkport.worker.app import export_customers

EMAIL = "zorglub.quaxington@example.com"


def test_a_request_that_fails_unexpectedly_is_logged_without_the_value_it_quotes(
    ctx: Context,
    auth: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def search(*_: Any, **kwargs: Any) -> None:
        # As a library error quotes its input (pydantic's input_value, a driver's message).
        raise ValueError(f"cannot search for {kwargs!r}")

    monkeypatch.setattr(customer_records, "search", search)
    with caplog.at_level(logging.INFO), served(ctx.settings) as base:
        answer = httpx.get(
            f"{base}/api/v1/customers", params={"search": EMAIL}, headers=auth, timeout=10
        )
    assert answer.status_code == 500
    # The access log's line is the request's path, whose query the access log's own filter treats.
    formatter = logging.Formatter()
    text = "\n".join(formatter.format(r) for r in caplog.records if r.name == "uvicorn.error")
    assert "Exception in ASGI application" in text
    assert "ValueError" in text and "list_customers" in text
    assert "zorglub" not in text.lower()


WORKER = """
import logging
import sys
import bulkport.worker.app as worker

def run_export(ctx, job_id):
    try:
        raise ValueError(sys.argv[1] + " is not a valid email address")
    except ValueError:
        # Any logger's exception reaches the worker's output through Celery's handlers.
        logging.getLogger("bulkport.tasks").exception("job %s: logged on its way out", job_id)
        raise

worker.run_export = run_export
from bulkport.cli import main
main(["worker", "--concurrency", "1", "--queues", "exports", "--name", "logs@%h"])
"""


def test_a_task_that_fails_unexpectedly_tells_its_log_events_and_flower_only_its_kind(
    ctx: Context, redis_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    env = worker_env(ctx, redis_url)
    with task_events(ctx.settings) as events:
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-c", WORKER, EMAIL], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            _wait_for(log, "ready.", process)
            export_customers.apply_async(args=("0" * 32,), queue="exports")
            _wait_for(log, "raised unexpected", process)
            deadline = time.monotonic() + 30
            while not any(e["type"] == "task-failed" for e in events):
                assert time.monotonic() < deadline, events
                time.sleep(0.2)
        finally:
            process.terminate()
            process.wait(30)
    text = log.read_text(errors="replace")
    assert "raised unexpected: TaskFailed" in text and "task failed: ValueError" in text
    assert "run_export" in text and "logged on its way out\nValueError" in text
    assert "zorglub" not in text.lower()
    failed = next(e for e in events if e["type"] == "task-failed")
    assert failed["exception"] == "TaskFailed('ValueError')"
    assert "zorglub" not in str(events).lower()


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(log.read_text(errors="replace"))
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("shown", "kept"),
    [
        (f"ValueError('{EMAIL}')", "ValueError"),
        (f"errors.UniqueViolation('Key (email)=({EMAIL})')", "errors.UniqueViolation"),
        (f"Retry in 2s: OperationalError('{EMAIL}')", "Retry in 2s: OperationalError"),
        ("Retry at 2026-12-07 05:48:00+00:00", "Retry at 2026-12-07 05:48:00+00:00"),
        (f"{EMAIL} is taken", WITHHELD),
    ],
)
def test_celerys_text_of_an_exception_keeps_only_its_kind(shown: str, kept: str) -> None:
    assert exception_kind(shown) == kept
