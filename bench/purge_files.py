"""What a delete job's file purge costs: N stored exports of R rows each, read and matched.

.venv/bin/python -m bench.purge_files --files 1000 --rows 1000 --format csv
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from bulkport.config import Settings
from bulkport.schemas.accounts import Role
from bulkport.spreadsheets.exportfiles import CsvExportWriter, ExportWriter, XlsxExportWriter
from bulkport.storage import accounts
from bulkport.storage.db import migrate, now
from bulkport.storage.tables import jobs
from bulkport.tasks.context import Context
from bulkport.tasks.purge import Traces, purge_files

KEYS = ["id", "first_name", "last_name", "email", "phone", "invoice_city", "notes", "company"]


def _write_store(ctx: Context, store_id: int, files: int, rows: int, fmt: str) -> None:
    for number in range(files):
        job_id = f"{number:032d}"
        key = f"jobs/{job_id}/export.{fmt}"
        with ctx.files.writer(key) as out:
            writer: ExportWriter = (CsvExportWriter if fmt == "csv" else XlsxExportWriter)(
                out, KEYS
            )
            writer.write_rows(
                [
                    number * rows + i, f"First{number}n{i}", f"Last{number}n{i}",
                    f"p{number}x{i}@example.com", f"+31 6 {number:04d} {i:04d}", "Utrecht",
                    "a note", "Company",
                ]
                for i in range(rows)
            )  # fmt: skip
            writer.close()
        with ctx.engine.begin() as conn:
            conn.execute(
                insert(jobs).values(
                    id=job_id,
                    store_id=store_id,
                    kind="export",
                    status="READY",
                    options={},
                    created_at=now(),
                    updated_at=now(),
                    output_file=key,
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        url = f"sqlite:///{home / 'bulkport.db'}"
        migrate(url)
        ctx = Context.from_settings(Settings(home=home, database_url=url, secret_key="bench"))
        with ctx.engine.begin() as conn:
            store = accounts.ensure_store(conn, "bench")
            user = accounts.ensure_user(conn, store, "admin@bench.example", Role.ADMIN)
        _write_store(ctx, store, args.files, args.rows, args.format)
        # One person in the seventh file, by email, phone and name; id 5 in the first.
        traces = Traces(
            customer_ids=frozenset({5}),
            values=frozenset({"p7x5@example.com"}),
            identifiers=frozenset({"p7x5@example.com", "+31 6 0007 0005", "31600070005"}),
            names=frozenset({("first7n5", "last7n5")}),
        )
        start = time.perf_counter()
        changed = purge_files(ctx, store, traces, job_id="z" * 32, user_id=user.id)
        seconds = time.perf_counter() - start
        ctx.close()
    total = args.files * args.rows
    print(
        f"purge_files: {args.files:,} {args.format} files of {args.rows:,} rows: "
        f"{seconds:.1f} s ({total / seconds:,.0f} rows/s), {changed} files rewritten"
    )


if __name__ == "__main__":
    main()
