"""django-import-export on the same file and the same PostgreSQL server, in its own venv.

``bench/.venv-dj`` is made on first use (``python -m venv`` + ``pip install -r
bench/django/requirements.txt``); django-import-export is never a dependency of bulkport.
The import runs as its own process; its peak RSS is sampled like the worker's (psutil, every
50 ms) and also reported by the process itself (``ru_maxrss``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from .harness import MB, RssSampler

if TYPE_CHECKING:
    from .cases import Session
    from .data import Scenario

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "django"
VENV = HERE / ".venv-dj"
REQUIREMENTS = PROJECT / "requirements.txt"


def ensure_venv(log: Any) -> Path:
    """The comparison's interpreter, its venv made or brought up to date first."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".bench-installed"
    wanted = REQUIREMENTS.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    log(f"[django] creating {VENV} and installing {REQUIREMENTS.name} …")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip could not install {REQUIREMENTS}:\n{done.stderr[-3000:]}")
    stamp.write_text(wanted)
    return python


def run_django(s: Session, scenario: Scenario) -> dict[str, Any]:
    """Preload (untimed) and import the scenario with django-import-export; its figures."""
    python = ensure_venv(s.log)
    url = make_url(s.databases.create("dj", migrate=False))
    env = {
        **os.environ,
        "DJBENCH_DB_NAME": url.database or "",
        "DJBENCH_DB_USER": url.username or "postgres",
        "DJBENCH_DB_PASSWORD": url.password or "",
        "DJBENCH_DB_HOST": url.host or "127.0.0.1",
        "DJBENCH_DB_PORT": str(url.port or 5432),
        "PYTHONPATH": str(PROJECT),
    }
    script = str(PROJECT / "run_dj.py")
    s.log(f"[django] preloading {scenario.preloaded:,} customers (untimed) …")
    subprocess.run(
        [str(python), script, "setup", str(scenario.preload_csv)],
        env=env, cwd=PROJECT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    s.checkpoint()
    s.log(f"[django] importing {scenario.rows:,} rows with django-import-export …")
    timeout = max(600.0, scenario.rows / 100)
    log = s.services.logs / "django.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log.open("w") as err:
        process = subprocess.Popen(
            [str(python), script, "import", str(scenario.import_path)],
            env=env, cwd=PROJECT, stdout=subprocess.PIPE, stderr=err, text=True,
        )  # fmt: skip
        with RssSampler(process.pid) as sampler:
            try:
                out, _ = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                raise RuntimeError(f"django-import-export took over {timeout:.0f} s") from None
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"django-import-export failed (see {log})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    totals = result["totals"]
    if (
        totals.get("new") != scenario.new
        or totals.get("update") != scenario.preloaded
        or result["has_errors"]
        or result["has_validation_errors"]
    ):
        raise RuntimeError(f"django-import-export's result is not the expected one: {result}")
    result.update(
        process_wall_seconds=round(wall, 3),
        peak_rss_mb=round(sampler.peak_tree / MB, 1),
        peak_pss_mb=round(sampler.peak_pss / MB, 1),
        rows=scenario.rows,
    )
    s.log(
        f"[django] {result['seconds']:.1f} s "
        f"({scenario.rows / result['seconds']:,.0f} rows/s), peak {result['peak_rss_mb']} MB"
    )
    return result
