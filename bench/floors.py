"""What the same work costs with nothing of bulkport in it, measured on the same files and rows.

* import floor: ``csv.reader`` over the file, and the same parse feeding PostgreSQL ``COPY FROM``
  (psycopg 3 ``cursor.copy``) into a plain table with the same 22 columns and types (no index,
  no constraint); parse + COPY is the floor. Beside it, for context, the same parse feeding
  COPY into bulkport's own (empty) customers table, with its indexes and keys.
* export floor: ``COPY (SELECT … the export's columns …) TO STDOUT`` into a file.
* XLSX export floor: xlsxwriter in constant-memory mode writing the same rows alone.
* context for the absolute targets: raw ``csv.reader`` and openpyxl read-only speeds.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import Copy
from sqlalchemy.dialects import postgresql

from bulkport.storage.tables import customers

from .data import HEADER, KEYS

FLOOR_TABLE = "bench_copy_floor"


def warm(path: Path) -> None:
    """Read a file once, untimed, so that a floor reads it from memory as the job does.

    The job reads an upload the bench has just copied into its file store; the floors read
    the generated file, which on these VMs may no longer be in memory: the kernel's DAMON
    reclaim pages out file pages not touched for about a minute (``kdamond``), and reading
    them back from disk added up to a second to a floor.
    """
    with path.open("rb") as handle:
        while handle.read(1 << 20):
            pass


def csv_parse(path: Path) -> tuple[float, int]:
    """Seconds to read every row of a CSV file with ``csv.reader``; and the data rows."""
    warm(path)
    started = time.perf_counter()
    rows = 0
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for _ in reader:
            rows += 1
    return time.perf_counter() - started, rows


def pg_parse_and_copy(path: Path, conninfo: str) -> tuple[float, int]:
    """Seconds to parse the CSV and COPY its rows into a plain table (committed); rows."""
    pg = postgresql.dialect()  # type: ignore[no-untyped-call]
    columns = ", ".join(f"{key} {customers.c[key].type.compile(dialect=pg)}" for key in KEYS)
    with psycopg.connect(conninfo) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        conn.execute(f"CREATE TABLE {FLOOR_TABLE} ({columns})")
        conn.commit()
        statement = f"COPY {FLOOR_TABLE} ({', '.join(KEYS)}) FROM STDIN"
        rows = 0
        warm(path)
        started = time.perf_counter()
        with _copy_from_csv(conn, path, statement) as (reader, copy):
            for cells in reader:
                copy.write_row([cell or None for cell in cells])
                rows += 1
        seconds = time.perf_counter() - started
        conn.execute(f"DROP TABLE {FLOOR_TABLE}")
        conn.commit()
    return seconds, rows


def pg_parse_and_copy_into_customers(path: Path, conninfo: str) -> tuple[float, int]:
    """Seconds to parse the CSV and COPY its rows into bulkport's own customers table of a
    migrated, empty database (committed); rows.

    Not the line's floor, which copies into a bare table: this one pays what any import of
    customers pays the database, the unique email index, the (store, id) index, the primary
    key and the store's foreign key, with nothing of bulkport's checking, looking up or
    deciding. Each row gets the store, its email lower-cased and a moment, as the table
    requires.
    """
    moment = datetime.now(UTC).isoformat()
    email = KEYS.index("email")
    with psycopg.connect(conninfo) as conn:
        store_id = conn.execute(
            "INSERT INTO stores (name, date_order, created_at) VALUES ('floor', 'dmy', now()) "
            "RETURNING id"
        ).fetchone()
        conn.commit()
        assert store_id is not None
        extra = ["store_id", "email_key", "created_at", "updated_at"]
        statement = f"COPY customers ({', '.join([*KEYS, *extra])}) FROM STDIN"
        store = store_id[0]
        rows = 0
        warm(path)
        started = time.perf_counter()
        with _copy_from_csv(conn, path, statement) as (reader, copy):
            for cells in reader:
                values = [cell or None for cell in cells]
                copy.write_row([*values, store, cells[email].lower() or None, moment, moment])
                rows += 1
        return time.perf_counter() - started, rows


@contextmanager
def _copy_from_csv(
    conn: psycopg.Connection[Any], path: Path, statement: str
) -> Iterator[tuple[Iterator[list[str]], Copy]]:
    """The bench CSV's data rows and a COPY by ``statement`` to write them to; committed when
    the block ends. The loop stays with the caller: a call per row would slow the floor."""
    with path.open(encoding="utf-8", newline="") as handle, conn.cursor() as cur:
        reader = csv.reader(handle)
        if tuple(next(reader)) != HEADER:
            raise RuntimeError(f"{path} does not have the bench's columns")
        with cur.copy(statement) as copy:
            yield reader, copy
    conn.commit()


def openpyxl_read(path: Path) -> tuple[float, int]:
    """Seconds to read every row of an XLSX file with openpyxl read-only; and the data rows."""
    import openpyxl

    started = time.perf_counter()
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = -1  # the header
    try:
        for _ in book.worksheets[0].iter_rows(values_only=True):
            rows += 1
    finally:
        book.close()
    return time.perf_counter() - started, rows


def export_select(store_id: int, keys: list[str]) -> str:
    """The SQL of the rows an unfiltered export writes, in the export's order."""
    columns = ", ".join(keys)
    return (
        f"SELECT {columns} FROM customers WHERE store_id = {int(store_id)} "
        "AND deleted_at IS NULL AND archived = false ORDER BY id"
    )


def pg_copy_to(conninfo: str, store_id: int, keys: list[str], out: Path) -> tuple[float, int]:
    """Seconds to COPY the export's rows TO STDOUT as CSV into a file; and the bytes written."""
    written = 0
    started = time.perf_counter()
    with (
        psycopg.connect(conninfo) as conn,
        conn.cursor() as cur,
        out.open("wb") as target,
    ):
        statement = f"COPY ({export_select(store_id, keys)}) TO STDOUT WITH (FORMAT csv, HEADER)"
        with cur.copy(statement) as copy:
            for data in copy:
                target.write(data)
                written += len(data)
    return time.perf_counter() - started, written


def fetch_rows(conninfo: str, store_id: int, keys: list[str]) -> list[tuple[Any, ...]]:
    """The export's rows as Python values (setup for the XLSX writer floor; untimed)."""
    with psycopg.connect(conninfo) as conn:
        return list(conn.execute(export_select(store_id, keys)).fetchall())


def xlsxwriter_alone(rows: list[tuple[Any, ...]], header: list[str], out: Path) -> float:
    """Seconds for xlsxwriter (constant memory) to write the rows: strings as string cells,
    dates as dates, blanks skipped."""
    import xlsxwriter

    started = time.perf_counter()
    book = xlsxwriter.Workbook(
        str(out),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    sheet = book.add_worksheet("Customers")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, header)
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values):
            if value is None:
                continue
            if isinstance(value, datetime):
                sheet.write_datetime(r, c, value.replace(tzinfo=None), day)
            elif isinstance(value, date):
                sheet.write_datetime(r, c, value, day)
            else:
                sheet.write_string(r, c, str(value))
    book.close()
    return time.perf_counter() - started
