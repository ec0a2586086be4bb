"""Where PostgreSQL's own time goes in an import: its CPU per statement of a batch, and what
each index and constraint of the customers table adds to a created customer.

    python -m bench.pg_costs [--rows 300000] [--batches 60]

The store is preloaded with half the customers, as in the measured lines. The first
``--batches`` batches of the import file are then planned and written one after another on
one connection (no overlap, nothing else running), and the CPU time of that connection's
server process is read before and after each statement (psutil: the server must run on this
machine). Then the created customers of the next batches are copied in again and again, each
time rolled back, first into the table as it is, then with one constraint or index after
another dropped, down to the bare table the import floor copies into.

The figures say what no client-side change can remove: the server's work for a look-up, a
created row and an updated row. ``docs/performance.md`` uses them to explain the ratio of the
PostgreSQL line.
"""

from __future__ import annotations

import argparse
import csv
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import Connection, Engine

from bulkport.read_limits import ReadLimits
from bulkport.rules.dates import DateOrder
from bulkport.schemas.jobs import ImportOptions
from bulkport.storage import customer_writes
from bulkport.tasks.batches import BatchPlanner
from bulkport.tasks.survey import survey

from . import data
from .harness import Services, staged_import

OUT = Path(__file__).resolve().parent / "out"
BATCH = 1000


class ServerClock:
    """The CPU seconds one connection's server process has used so far."""

    def __init__(self, conn: Connection) -> None:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        conn.commit()
        try:
            self.process = psutil.Process(pid)
        except psutil.NoSuchProcess:
            raise SystemExit(
                "PostgreSQL's server process is not on this machine: its CPU cannot be read"
            ) from None

    def __call__(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)


@contextmanager
def _measured(clock: ServerClock, totals: dict[str, float], name: str) -> Iterator[None]:
    started = clock()
    yield
    totals[name] = totals.get(name, 0.0) + clock() - started


def _batches(path: Path, first: int, count: int) -> list[list[tuple[int, list[str]]]]:
    """Batches ``first`` to ``first + count`` of the import file, as the reader numbers rows."""
    batches: list[list[tuple[int, list[str]]]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch: list[tuple[int, list[str]]] = []
        for number, cells in enumerate(reader, start=2):
            if number - 2 >= (first + count) * BATCH:
                break
            if number - 2 >= first * BATCH:
                batch.append((number, cells))
                if len(batch) == BATCH:
                    batches.append(batch)
                    batch = []
    return batches


def _written(
    engine: Engine, planner: BatchPlanner, batches: list[list[tuple[int, list[str]]]]
) -> tuple[dict[str, float], dict[str, int]]:
    """Plan and write each batch, timing the server per statement kind."""
    totals: dict[str, float] = {}
    counts = {"keys": 0, "created": 0, "updated": 0}
    with engine.connect() as conn:
        clock = ServerClock(conn)
        for batch in batches:
            prepared = planner.prepare(batch)
            with conn.begin(), _measured(clock, totals, "look-up"):
                found = planner.look_up(conn, prepared)
            plan = planner.decide(prepared, found)
            counts["keys"] += len(prepared.parsed)
            counts["created"] += len(plan.creates)
            counts["updated"] += len(plan.updates)
            transaction = conn.begin()
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            with _measured(clock, totals, "COPY of created customers"):
                customer_writes.insert_many(conn, planner.store_id, plan.creates)
            with _measured(clock, totals, "UPDATE of changed customers"):
                customer_writes.update_many(conn, planner.store_id, plan.updates)
            with _measured(clock, totals, "commit"):
                transaction.commit()
        conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
        conn.commit()
    return totals, counts


def _hot_share(engine: Engine) -> tuple[int, int]:
    """Updates of the customers table so far, and how many of them were HOT (no index
    entry written)."""
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'customers'"
        ).one()
    return int(row[0]), int(row[1])


def _creates(
    engine: Engine, planner: BatchPlanner, batches: list[list[tuple[int, list[str]]]]
) -> list[dict[str, Any]]:
    """The customers these batches would create (planned, not written)."""
    records: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for batch in batches:
            with conn.begin():
                records.extend(planner.plan(conn, batch).creates)
    return records


def _insert_cost(engine: Engine, store_id: int, records: list[dict[str, Any]]) -> float:
    """Server CPU seconds per created customer, each batch rolled back afterwards."""
    with engine.connect() as conn:
        clock = ServerClock(conn)
        spent = 0.0
        for start in range(0, len(records), BATCH // 2):
            transaction = conn.begin()
            before = clock()
            customer_writes.insert_many(conn, store_id, records[start : start + BATCH // 2])
            spent += clock() - before
            transaction.rollback()
    return spent / len(records)


def _execute(engine: Engine, statement: str) -> None:
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(statement)


def _store_foreign_key(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(
            conn.exec_driver_sql(
                "SELECT conname FROM pg_constraint WHERE conrelid = 'customers'::regclass "
                "AND contype = 'f'"
            ).scalar_one()
        )


def main() -> None:
    """Measure and print the server's cost per statement and per index."""
    parser = argparse.ArgumentParser(prog="python -m bench.pg_costs")
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if 2 * args.batches * BATCH > args.rows:
        parser.error("--rows must hold twice --batches batches of 1,000")

    services = Services.inline(
        args.pg_url, OUT / f"pg-costs-{uuid.uuid4().hex[:6]}", OUT / "logs", BATCH
    )
    scenario = data.scenario(args.rows, "csv")
    with staged_import(services, "pg", args.rows, "csv", "pgcosts") as (store, _):
        engine = store.ctx.engine
        options = ImportOptions()
        found = survey(scenario.import_path, options, DateOrder.DMY, ReadLimits())

        def planner() -> BatchPlanner:
            return BatchPlanner(
                store_id=store.store_id,
                mapping=found.mapping,
                options=options,
                date_order=found.date_order,
            )

        upd0, hot0 = _hot_share(engine)
        measured = _batches(scenario.import_path, 0, args.batches)
        totals, counts = _written(engine, planner(), measured)
        upd1, hot1 = _hot_share(engine)
        print(
            f"{args.batches} batches of {BATCH:,} rows, {store.count():,} customers stored; "
            "server CPU (µs):"
        )
        per = {
            "look-up": ("key", counts["keys"]),
            "COPY of created customers": ("created customer", counts["created"]),
            "UPDATE of changed customers": ("updated customer", counts["updated"]),
            "commit": ("batch", len(measured)),
        }
        rows = sum(len(batch) for batch in measured)
        for name, seconds in totals.items():
            unit, many = per[name]
            print(
                f"  {name:30s} {seconds / max(many, 1) * 1e6:8.1f} per {unit:18s}"
                f"{seconds / rows * 1e6:6.1f} per row of the file"
            )
        print(
            f"  all of it {sum(totals.values()) / rows * 1e6:.1f} per row of the file; "
            f"{hot1 - hot0:,} of {upd1 - upd0:,} updates HOT (no index entry written)"
        )

        unwritten = _batches(scenario.import_path, args.batches, args.batches)
        records = _creates(engine, planner(), unwritten)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("the customers table as it is", lambda: None),
            ("without the store foreign key", lambda: _execute(
                engine, f"ALTER TABLE customers DROP CONSTRAINT {_store_foreign_key(engine)}"
            )),
            ("and without the (store, id) index", lambda: _execute(
                engine, "DROP INDEX ix_customers_store_id_id"
            )),
            ("and without the unique email index", lambda: _execute(
                engine, "DROP INDEX uq_customers_email_store"
            )),
            ("and without the primary key", lambda: _execute(
                engine, "ALTER TABLE customers DROP CONSTRAINT pk_customers CASCADE"
            )),
        ]  # fmt: skip
        print(f"COPY of {len(records):,} new customers, rolled back; server CPU (µs per row):")
        for label, change in steps:
            change()
            _execute(engine, "VACUUM customers")  # the rolled-back rows of the step before
            print(f"  {label:40s} {_insert_cost(engine, store.store_id, records) * 1e6:6.1f}")


if __name__ == "__main__":
    main()
