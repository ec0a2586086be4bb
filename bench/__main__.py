"""``python -m bench``: measure every line of the performance table beside its floor.

    python -m bench                         # all lines, 1,000,000 rows (XLSX: 100,000)
    python -m bench --quick                 # every line at a tenth of the size (smoke run)
    python -m bench --only pg-import,csv-export --rows 200000 --json /tmp/r.json

Needs PostgreSQL (creates and drops its own ``bulkport_bench_*`` databases) and Redis (db 12,
flushed before and after). Prints a table and writes ``bench/out/results.json``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path

from . import growth
from .cases import CASES, CaseResult, Session, failed
from .harness import BENCH_REDIS, Databases, Services, flush_redis
from .report import machine, table, write_json

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="bulkport's benchmark, each line beside its floor."
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of the big cases (XLSX: a tenth)"
    )
    parser.add_argument(
        "--dj-rows",
        type=int,
        default=100_000,
        help="rows of the django-import-export comparison (it imports ~1,000 rows/s)",
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated lines to run: {', '.join(CASES)}"
    )
    parser.add_argument("--json", type=Path, default=OUT / "results.json", help="results file")
    parser.add_argument("--quick", action="store_true", help="every case at 1/10 size")
    parser.add_argument(
        "--turns",
        type=int,
        default=3,
        help="times each export line runs its job and its floor, in turns (best of each)",
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="BULKPORT_BATCH_SIZE")
    parser.add_argument(
        "--pg-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a database on the server where the bench creates its own",
    )
    parser.add_argument("--redis-url", default=BENCH_REDIS)
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        help="before each measured job, wait up to this many seconds for the CPUs to be idle",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (file stores, SQLite)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a line misses its target"
    )
    parser.add_argument(
        "--growth",
        action="store_true",
        help="also run each sized line at a tenth of the rows, and show how its figure moved",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rows = max(100, args.rows // 10)
        args.dj_rows = max(100, args.dj_rows // 10)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown line(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    args.names = [n for n in CASES if n in names]
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen lines; print the table; write the JSON. Exit 1 if a line broke."""
    args = _arguments(argv)
    # SIGTERM ends the run like Ctrl-C: workers stopped, databases dropped, Redis flushed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # The bench process sends tasks through bulkport's own Celery app, which reads its broker
    # from the environment when first imported: point it at the bench's Redis before that.
    os.environ["BULKPORT_BROKER_URL"] = args.redis_url
    if "bulkport.worker.app" in sys.modules:
        sys.modules["bulkport.worker.app"].app.conf.broker_url = args.redis_url
    tag = uuid.uuid4().hex[:6]
    work = OUT / f"work-{tag}"
    services = Services(
        pg_admin_url=args.pg_url,
        redis_url=args.redis_url,
        work=work,
        logs=OUT / "logs",
        batch_size=args.batch_size,
    )
    started = time.monotonic()

    def log(text: str) -> None:
        print(f"{time.monotonic() - started:7.1f}s  {text}", flush=True)

    work.mkdir(parents=True, exist_ok=True)
    services.logs.mkdir(parents=True, exist_ok=True)
    databases = Databases(services)
    facts = machine(databases.server_version())
    log(
        f"bench: lines {', '.join(args.names)}; rows {args.rows:,} (XLSX {args.rows // 10:,}), "
        f"django {args.dj_rows:,}; batch {args.batch_size}; {facts['cpu_count']} × "
        f"{facts['cpu_model']}, {facts['memory_gib']} GiB, PostgreSQL {facts['postgresql']}"
    )
    flush_redis(args.redis_url)
    session = Session(
        services, databases, args.rows, args.dj_rows, log, args.quiet_wait, args.turns
    )
    results: list[CaseResult] = []
    small: list[CaseResult] = []
    try:
        if args.growth:
            tenth = session.tenth()
            sized = [n for n in args.names if n not in growth.UNSIZED]
            log(f"-- first at a tenth of the rows: {', '.join(sized)}")
            small = _run_lines(tenth, sized, services, log, suffix="-tenth")
            log(f"-- then at the full size ({args.rows:,} rows)")
        results = _run_lines(session, args.names, services, log)
    finally:
        session.close()
        databases.drop_all()
        flush_redis(args.redis_url)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    options = {
        "rows": args.rows,
        "xlsx_rows": session.xlsx_rows,
        "dj_rows": args.dj_rows,
        "batch_size": args.batch_size,
        "quick": args.quick,
        "turns": args.turns,
        "quiet_wait": args.quiet_wait,
        "lines": args.names,
        "growth": args.growth,
        "seconds": round(time.monotonic() - started, 1),
    }
    growths = growth.compare(small, results) if args.growth else None
    write_json(args.json, facts, options, results, small, growths)
    print()
    print(table(results))
    if growths is not None:
        print("\nAs the rows grow tenfold (each line also run at a tenth of its rows):\n")
        print(growth.table(growths))
    print(f"\nwritten to {args.json}")
    if any(r.error for r in [*small, *results]):
        return 1
    if args.strict and not all(r.passed for r in results):
        return 1
    return 0


def _run_lines(
    session: Session,
    names: list[str],
    services: Services,
    log: Callable[[str], None],
    suffix: str = "",
) -> list[CaseResult]:
    """Run ``names`` on ``session``; a line whose measurement breaks fails with its reason."""
    results = []
    for name in names:
        log(f"== {name}{suffix}")
        try:
            result = CASES[name](session)
        except Exception as exc:
            (services.logs / f"error-{name}{suffix}.txt").write_text(traceback.format_exc())
            log(f"{name}: ERROR {type(exc).__name__}: {exc}")
            result = failed(name, exc)
        results.append(result)
        log(f"{name}: {result.bulkport} | {result.floor} | {result.ratio} | {result.target}")
    return results


if __name__ == "__main__":
    sys.exit(main())
