"""The bench's memory sampler catches a worker's peak while reading PSS only now and then.

Reading PSS makes the kernel walk the process's page tables; read twenty times a second it
slowed the measured jobs by a sixth (``bench/harness.py``, ``RssSampler``).
"""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from bench.harness import MB, RssSampler

# Grows by 20 MB three times, a third of a second apart, then holds its memory.
GROWING = """
import time
held = []
for _ in range(3):
    held.append(bytearray(20 * 1024 * 1024))
    for i in range(0, len(held[-1]), 4096):
        held[-1][i] = 1
    time.sleep(0.3)
print("grown", flush=True)
time.sleep(30)
"""


def test_the_pss_peak_is_caught_with_few_pss_readings() -> None:
    child = subprocess.Popen([sys.executable, "-c", GROWING], stdout=subprocess.PIPE, text=True)
    try:
        with RssSampler(child.pid, interval=0.02) as sampler:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "grown"
            time.sleep(0.5)
        final = psutil.Process(child.pid).memory_full_info().pss
    finally:
        child.kill()
        child.wait()
    assert sampler.peak_pss >= final - RssSampler.PSS_STEP
    assert sampler.peak_pss >= 60 * MB
    assert sampler.peak_pss <= sampler.peak_tree
    # RSS every 20 ms; PSS at most every PSS_SOONEST while memory climbs, else every second.
    assert sampler.samples >= 40
    assert sampler.pss_samples <= sampler.samples // 4
