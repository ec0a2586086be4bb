"""The machine a run happened on, the printed table and results.json."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .cases import CaseResult
from .growth import Growth
from .growth import table as growth_table
from .harness import ROOT
from .markdown import markdown_table


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _git(*args: str) -> str:
    # Read-only: --no-optional-locks keeps `git status` from refreshing the index.
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=20,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "?"
    return done.stdout.strip()


def machine(pg_version: str) -> dict[str, Any]:
    """What the figures came from."""
    dirty = _git("status", "--porcelain", "--untracked-files=no", "--", "bulkport")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "postgresql": pg_version,
        "commit": _git("rev-parse", "--short", "HEAD"),
        "bulkport_uncommitted_changes": bool(dirty) if dirty != "?" else None,
    }


COLUMNS = ("case", "bulkport", "floor / context", "ratio / figure", "target", "result")


def table(results: list[CaseResult]) -> str:
    """The results as a Markdown table (also readable as plain text)."""
    rows = [
        (
            r.what if r.error is None else f"{r.what} — {r.error}",
            r.bulkport,
            r.floor,
            r.ratio,
            r.target,
            "PASS" if r.passed else ("FAIL" if r.passed is False else "n/a"),
        )
        for r in results
    ]
    return markdown_table(COLUMNS, rows, first_width=90)


def write_json(
    path: Path,
    facts: dict[str, Any],
    options: dict[str, Any],
    results: list[CaseResult],
    small: list[CaseResult] | None = None,
    growths: list[Growth] | None = None,
) -> None:
    """results.json: the machine, the options of the run and every line with its figures
    (with ``--growth``, also each line at a tenth of the rows and the comparison)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "machine": facts,
        "options": options,
        "results": [r.as_json() for r in results],
        "table": table(results),
    }
    if growths is not None:
        document["results_at_a_tenth"] = [r.as_json() for r in small or []]
        document["growth"] = [g.as_json() for g in growths]
        document["growth_table"] = growth_table(growths)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
