"""Where an import's time goes: ``run_import`` inline under cProfile on a bench scenario.

    python -m bench.profiling --rows 100000 [--backend pg|sqlite] [--fmt csv|xlsx] [--top 35]
    python -m bench.profiling --job export --rows 100000 [--fmt csv|xlsx]

The store is preloaded with half the customers (untimed) as in the measured line; the import
then runs in this process (``bulkport.tasks.imports.run_import``, no worker), so the profile
shows bulkport's own code and the driver calls, not Celery. ``--job export`` imports the CSV
scenario unprofiled, then profiles ``run_export`` of every customer in ``--fmt``. The full
profile is saved as ``bench/out/profile-<job>-<backend>-<fmt>-<rows>.pstats``
(``python -m pstats`` or snakeviz opens it).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
import uuid
from pathlib import Path

from .harness import Services, staged_import

OUT = Path(__file__).resolve().parent / "out"


def main() -> None:
    """Profile one import and print the functions that take the most time."""
    parser = argparse.ArgumentParser(prog="python -m bench.profiling")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=("pg", "sqlite"), default="pg")
    parser.add_argument("--fmt", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--job", choices=("import", "export"), default="import")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()

    from bulkport.tasks.exports import run_export
    from bulkport.tasks.imports import run_import

    work = OUT / f"profile-work-{uuid.uuid4().hex[:6]}"
    services = Services.inline(args.pg_url, work, OUT / "logs", args.batch_size)
    source = "csv" if args.job == "export" else args.fmt
    with staged_import(services, args.backend, args.rows, source, "profile") as (store, job_id):
        if args.job == "export":
            run_import(store.ctx, job_id)
            job_id = store.stage_export(args.fmt)
        runner = run_export if args.job == "export" else run_import
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        runner(store.ctx, job_id)
        profiler.disable()
        seconds = time.perf_counter() - started
        job = store.job(job_id)
    saved = OUT / f"profile-{args.job}-{args.backend}-{args.fmt}-{args.rows}.pstats"
    profiler.dump_stats(saved)
    print(
        f"{job.status}: {args.rows:,} rows in {seconds:.2f} s under cProfile "
        f"({args.rows / seconds:,.0f} rows/s); counts {job.counts.model_dump()}"
    )
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(args.top)
        print(f"\n--- by {order} ---")
        print(text.getvalue().split("\n", 6)[-1] if order == "tottime" else text.getvalue())
    print(f"saved {saved}")


if __name__ == "__main__":
    main()
