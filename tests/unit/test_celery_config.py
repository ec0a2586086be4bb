"""The Celery app is configured when it is used, from the settings it is given."""

from __future__ import annotations

import os
import subprocess
import sys

CHECK = """
from bulkport.config import Settings
from bulkport.worker.app import app, configure
configure(Settings(broker_url="redis://configured.example:6390/4", batch_size=7))
print(app.conf.broker_url, app.conf.task_acks_late)
"""


def run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_importing_the_worker_reads_no_settings() -> None:
    # Settings this broken would fail the import if it read them.
    done = run("import bulkport.worker.app", BULKPORT_BATCH_SIZE="not a number")
    assert done.returncode == 0, done.stderr


def test_the_app_takes_the_settings_it_is_configured_with() -> None:
    done = run(CHECK, BULKPORT_BROKER_URL="redis://environment.example:6391/5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["redis://configured.example:6390/4", "True"]


def test_celery_a_reads_the_environment_when_the_app_is_first_used() -> None:
    code = "from bulkport.worker.app import app; print(app.conf.broker_url)"
    done = run(code, BULKPORT_BROKER_URL="redis://environment.example:6391/5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "redis://environment.example:6391/5"
