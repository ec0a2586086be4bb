"""The bench's CPU accounting keeps the time of processes that end during a job.

A PostgreSQL backend whose connection is closed mid-job exits before the job's CPU is
summed; its seconds then live on in the postmaster's count of its ended children.
"""

from __future__ import annotations

import subprocess
import sys

import psutil

from bench.harness import _cpu_of

BURN = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"


def test_a_child_that_ended_still_counts_for_its_parent() -> None:
    me = psutil.Process()
    before = sum(_cpu_of([me]).values())
    subprocess.run([sys.executable, "-c", BURN], check=True)
    after = sum(_cpu_of([me]).values())
    assert after - before >= 0.35
