"""Each stage of an import's pipeline, per thread: wall time beside the thread's own CPU time.

    python -m bench.stages [--rows 100000] [--backend pg|sqlite]

The import runs inline (``run_import`` in this process, the store preloaded with half the
customers as in the measured lines), with the pipeline's stages wrapped to note, each time
they run, the wall time and the CPU time of the thread running them
(``time.thread_time``). A stage whose wall time is far above its CPU time waited: on the
database, or for the interpreter lock while another thread held it. A profiler cannot tell
those apart.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .harness import Services, staged_import

OUT = Path(__file__).resolve().parent / "out"
Stage = tuple[str, str, float, float]  # thread, stage, wall seconds, thread CPU seconds


def _wrapped(target: Any, name: str, stage: str, noted: list[Stage]) -> Callable[[], None]:
    """Wrap ``target.name`` to note each call; returns what puts it back."""
    original = getattr(target, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            thread = threading.current_thread().name.split("_")[0]
            noted.append((thread, stage, time.perf_counter() - wall, time.thread_time() - cpu))

    setattr(target, name, timed)
    return lambda: setattr(target, name, original)


def main() -> None:
    """Run one import with its stages timed; print each stage's totals and means."""
    parser = argparse.ArgumentParser(prog="python -m bench.stages")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=("pg", "sqlite"), default="pg")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    from bulkport.storage import customer_writes, job_rows
    from bulkport.tasks import batches, imports, pipeline

    services = Services.inline(
        args.pg_url, OUT / f"stages-work-{uuid.uuid4().hex[:6]}", OUT / "logs"
    )
    noted: list[Stage] = []
    with staged_import(services, args.backend, args.rows, "csv", "stages") as (store, job_id):
        # Wrapped only now: the preload's own inserts are not the import's.
        undo = [
            _wrapped(imports, "survey", "survey", noted),
            _wrapped(batches.BatchPlanner, "prepare", "prepare", noted),
            _wrapped(batches.BatchPlanner, "look_up", "look-up", noted),
            _wrapped(batches.BatchPlanner, "decide", "decide", noted),
            _wrapped(pipeline._Pipeline, "land", "wait for writer", noted),
            _wrapped(pipeline, "_write_batch", "write", noted),
            _wrapped(customer_writes, "insert_many", "  insert", noted),
            _wrapped(customer_writes, "update_many", "  update", noted),
            _wrapped(job_rows, "advance", "  counters", noted),
        ]
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            imports.run_import(store.ctx, job_id)
        finally:
            for put_back in undo:
                put_back()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        job = store.job(job_id)
    print(
        f"{job.status}: {args.rows:,} rows ({args.backend}) in {wall:.2f} s, the process's "
        f"CPU {cpu:.2f} s; counts {job.counts.model_dump()}"
    )
    stages: dict[tuple[str, str], list[Stage]] = {}
    for entry in noted:
        stages.setdefault((entry[0], entry[1]), []).append(entry)
    print(f"\n{'thread':<18} {'stage':<16} {'runs':>5} {'wall s':>8} {'CPU s':>7} "
          f"{'wall ms/run':>12} {'CPU ms/run':>11}")  # fmt: skip
    for (thread, stage), runs in sorted(stages.items()):
        walls, cpus = [r[2] for r in runs], [r[3] for r in runs]
        print(
            f"{thread:<18} {stage:<16} {len(runs):>5} {sum(walls):>8.2f} {sum(cpus):>7.2f} "
            f"{1000 * statistics.mean(walls):>12.2f} {1000 * statistics.mean(cpus):>11.2f}"
        )


if __name__ == "__main__":
    main()
