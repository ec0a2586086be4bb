"""The undo's rate beside the import's own, in the same run, and the undo data's size.

    python -m bench.undo [--created 1000000] [--updated 100000] [--backend sqlite|pg]

One store: an import that creates ``--created`` customers is timed, then its undo; then
``--updated`` customers are stored, an import that changes one field of each is timed, then
its undo. Each job runs inline (no worker), so the rates are the jobs' own. The undo data's
bytes per changed row are those of ``import_changes`` (its JSON text; on PostgreSQL the
table's whole size with its indexes).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select, text

from bulkport.config import Settings
from bulkport.schemas.accounts import Role
from bulkport.schemas.jobs import ImportOptions
from bulkport.storage import accounts, job_rows
from bulkport.storage.db import make_engine, migrate
from bulkport.storage.tables import import_changes
from bulkport.tasks.context import Context
from bulkport.tasks.imports import run_import, submit_import, upload_key
from bulkport.tasks.undo import run_undo, submit_undo

HEADER = ["First Name", "Last Name", "Email", "Phone"]


def _file(path: Path, rows: int, phone: str) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(
            [f"F{i}", f"L{i}", f"b{i}@example.com", f"{phone}{i}"] for i in range(rows)
        )
    return path


def _timed(label: str, run: object, rows: int) -> float:
    started = time.perf_counter()
    assert callable(run)
    run()
    seconds = time.perf_counter() - started
    print(f"{label:>30}: {rows:>9,} rows in {seconds:7.2f} s = {rows / seconds:>9,.0f} rows/s")
    return seconds


def _import(ctx: Context, store_id: int, path: Path) -> str:
    job_id = job_rows.new_job_id()
    with ctx.files.writer(upload_key(job_id)) as out:
        out.write(path.read_bytes())
    submit_import(
        ctx, store_id=store_id, user_id=None, job_id=job_id, key=upload_key(job_id),
        options=ImportOptions(filename=path.name),
    )  # fmt: skip
    return job_id


def _undo(ctx: Context, store_id: int, import_id: str) -> str:
    job_id = job_rows.new_job_id()
    submit_undo(ctx, store_id=store_id, user_id=None, job_id=job_id, undo_of=import_id,
                dry_run=False)  # fmt: skip
    return job_id


def _undo_bytes(ctx: Context) -> int:
    with ctx.engine.connect() as conn:
        if ctx.engine.dialect.name == "postgresql":
            size = conn.execute(text("SELECT pg_total_relation_size('import_changes')"))
            return int(size.scalar_one())
        length = select(func.coalesce(func.sum(func.length(import_changes.c.changes)), 0))
        return int(conn.execute(length).scalar_one())


def main() -> None:
    """Run the scenario and print the rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--created", type=int, default=1_000_000)
    parser.add_argument("--updated", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "pg"), default="sqlite")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bulkport-undo-bench-") as folder:
        work = Path(folder)
        url, admin = f"sqlite:///{work / 'bench.db'}", None
        if args.backend == "pg":
            name = f"bench_undo_{uuid.uuid4().hex[:8]}"
            admin = make_engine(args.pg_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = args.pg_url.rsplit("/", 1)[0] + f"/{name}"
        try:
            migrate(url)
            ctx = Context.from_settings(Settings(home=work / "home", database_url=url))
            with ctx.engine.begin() as conn:
                store_id = accounts.ensure_store(conn, "bench")
                accounts.ensure_user(conn, store_id, "bench@example.com", Role.ADMIN)
            created = _import(ctx, store_id, _file(work / "new.csv", args.created, "555"))
            _timed("import, creating", lambda: run_import(ctx, created), args.created)
            undo = _undo(ctx, store_id, created)
            _timed("undo, deleting", lambda: run_undo(ctx, undo), args.created)
            run_import(ctx, _import(ctx, store_id, _file(work / "old.csv", args.updated, "555")))
            updated = _import(ctx, store_id, _file(work / "changed.csv", args.updated, "999"))
            _timed("import, updating a field", lambda: run_import(ctx, updated), args.updated)
            print(f"{'undo data':>30}: {_undo_bytes(ctx) / args.updated:,.0f} bytes a changed row")
            undo = _undo(ctx, store_id, updated)
            _timed("undo, restoring", lambda: run_undo(ctx, undo), args.updated)
            ctx.close()
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
