"""Instructions an import costs, old code beside new: a measure that does not move with the machine.

    python -m bench.instructions [--rows 20000] [--backend pg|sqlite] [--fmt csv|xlsx]
                                 [--against REV]

Wall-clock times on a shared 2-core VM move by up to a quarter between runs of the same code;
callgrind's instruction counts repeat to about 0.1 %. Each side runs one import inline
(``run_import`` in one process, no worker, the store preloaded with half the customers as in
the measured lines) under ``valgrind --tool=callgrind``; with ``--against`` the same runs at
that git revision, from a temporary worktree, at the same time (one core each). The counts
include the process's start and the preload, the same on both sides, so the difference is the
import's. Threads run one at a time under valgrind: count instructions, never time, this way.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
_COLLECTED = re.compile(r"Collected : (\d+)")
K = TypeVar("K")


def main() -> None:
    """Count one side, or two side by side, and print the counts."""
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--backend", choices=("pg", "sqlite"), default="pg")
    parser.add_argument("--fmt", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--against", metavar="REV", help="also count this git revision")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _run_one(args)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt install valgrind)")
    from bench import data

    data.scenario(args.rows, args.fmt)  # written once, here, before the sides read it
    sides = {"this checkout": ROOT}
    worktree = None
    try:
        if args.against:
            worktree = Path(tempfile.mkdtemp(prefix="bulkport-against-"))
            add = ["worktree", "add", "--detach", str(worktree), args.against]
            subprocess.run(["git", "-C", str(ROOT), *add], check=True, capture_output=True)
            # The generated data files are shared, not written twice.
            (worktree / "bench" / "data").unlink(missing_ok=True)
            (worktree / "bench" / "data").symlink_to(ROOT / "bench" / "data")
            sides[args.against] = worktree
        counts = _count(sides, args)
    finally:
        if worktree is not None:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)],
                check=False,
                capture_output=True,
            )
    for name, count in counts.items():
        print(f"{name:>20}: {count:,} instructions")
    if len(counts) == 2:
        (_, new), (_, old) = counts.items()
        print(f"{'difference':>20}: {new - old:+,} ({(new - old) / old:+.2%}), "
              f"{(new - old) / args.rows:+,.0f} a row")  # fmt: skip


def _count(sides: dict[str, Path], args: argparse.Namespace) -> dict[str, int]:
    """Run every side under callgrind at once; their instruction counts."""
    runs = {
        # This file's child, whatever the side: a revision may predate it.
        name: (
            [
                str(Path(__file__).resolve()), "--child",
                "--rows", str(args.rows), "--backend", args.backend, "--fmt", args.fmt,
                "--pg-url", args.pg_url,
            ],
            source,
        )
        for name, source in sides.items()
    }  # fmt: skip
    return callgrind_counts(runs, "READY")


def callgrind_counts(runs: dict[K, tuple[list[str], Path]], done: str) -> dict[K, int]:
    """Run each ``python <arguments>`` in its folder under callgrind, all at once (one core
    each); their instruction counts. PYTHONPATH is the folder, so that its own bulkport and
    bench are the ones imported. A run that fails, or does not print ``done``, ends the
    program with its output."""
    started = {}
    for name, (arguments, folder) in runs.items():
        command = [
            "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
            sys.executable, *arguments,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(folder)}
        started[name] = subprocess.Popen(
            command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    counts = {}
    for name, run in started.items():
        out, err = run.communicate()
        found = _COLLECTED.search(err)
        if run.returncode != 0 or found is None or done not in out:
            sys.exit(f"{name}: the counted run failed\n{out}\n{err[-2000:]}")
        counts[name] = int(found.group(1))
    return counts


def _run_one(args: argparse.Namespace) -> None:
    """One import inline, as ``bench.profiling`` runs it, without a profiler."""
    from bench.harness import Services, staged_import
    from bulkport.tasks.imports import run_import

    work = Path(tempfile.gettempdir()) / f"bulkport-instructions-{uuid.uuid4().hex[:6]}"
    services = Services.inline(args.pg_url, work)
    with staged_import(services, args.backend, args.rows, args.fmt, "instructions") as staged:
        store, job_id = staged
        run_import(store.ctx, job_id)
        job = store.job(job_id)
        print(job.status.value, job.counts.model_dump())


if __name__ == "__main__":
    main()
