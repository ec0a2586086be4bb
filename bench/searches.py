"""Customer searches in a store of a million customers on PostgreSQL, beside a bare lookup.

The store is loaded (untimed) with the bench's generated customers plus one to find; each
search is the list's query (``customer_records.search``: a page of 51, newest first, active
customers), as the API and the pages run it, timed in this process against the database.
The floor is the cheapest question PostgreSQL answers about a customer: one row by its email
through the unique index.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from bulkport.schemas.exports import ArchivedFilter
from bulkport.storage import customer_records
from bulkport.storage.db import reading

from . import data
from .harness import Store

# The customer staff look for, among the generated ones.
NEEDLE: dict[str, Any] = {
    "first_name": "Lotte",
    "last_name": "van 't Hof",
    "email": "Lotte.vanTHof@Example.com",
    "phone": "+31 40 123 4567",
}
# What staff type, and whether the needle must be among the answers.
SEARCHES: tuple[tuple[str, str, bool], ...] = (
    ("email", "LOTTE.VANTHOF@EXAMPLE.COM", True),
    ("full name", "Lotte van 't Hof", True),
    ("name, last first", "Hof, Lotte", True),
    ("phone, national", "0401234567", True),
    ("phone, international", "+31 40 123 4567", True),
    ("common name (a full page)", "Emma de Vries", False),
    ("one letter (a full page)", "e", False),
    ("a word every customer has", "example", False),
    ("nobody", "Zyxwvut", False),
)
TURNS = 7


@dataclass(frozen=True)
class Timing:
    """A search's times over its turns, and what it found."""

    label: str
    typed: str
    median: float
    best: float
    found: int

    def as_json(self) -> dict[str, Any]:
        """The figures for results.json."""
        return {
            "typed": self.typed,
            "median_ms": round(self.median * 1000, 2),
            "best_ms": round(self.best * 1000, 2),
            "found": self.found,
        }


def load(store: Store, rows: int, log: Callable[[str], None]) -> None:
    """``rows`` customers (the needle among them), through the import's own writes."""
    path = data.DATA_DIR / f"search-v{data.VERSION}-{rows}.csv"
    if not path.exists():
        data.DATA_DIR.mkdir(parents=True, exist_ok=True)
        data.write_csv(path, (data.customer_row(i) for i in range(rows - 1)))
    log(f"[customer-search] loading {rows:,} customers (untimed) …")
    with store.ctx.engine.begin() as conn:
        customer_records.create(conn, store.store_id, NEEDLE)
    store.preload(path)


def _timed(store: Store, run: Callable[[], int]) -> tuple[float, float, int]:
    run()  # warm: the first turn reads the index pages from disk
    seconds = []
    found = 0
    for _ in range(TURNS):
        started = time.perf_counter()
        found = run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), min(seconds), found


def search(store: Store, typed: str) -> Timing:
    """One search, timed."""

    def run() -> int:
        with reading(store.ctx.engine) as conn:
            return len(
                customer_records.search(
                    conn, store.store_id, text=typed, archived=ArchivedFilter.EXCLUDE,
                    before_id=None, limit=51,
                )
            )  # fmt: skip

    median, best, found = _timed(store, run)
    return Timing(typed, typed, median, best, found)


def needle_found(store: Store, typed: str) -> bool:
    """Whether the search answers the needle."""
    with reading(store.ctx.engine) as conn:
        rows = customer_records.search(
            conn, store.store_id, text=typed, archived=ArchivedFilter.EXCLUDE,
            before_id=None, limit=51,
        )  # fmt: skip
    return any(row["email"] == NEEDLE["email"] for row in rows)


def floor(store: Store) -> Timing:
    """One customer by email through the unique index: the database's own least time."""
    query = text(
        "SELECT * FROM customers WHERE email_key = :e AND store_id = :s AND deleted_at IS NULL"
    )

    def run() -> int:
        with reading(store.ctx.engine) as conn:
            params = {"e": NEEDLE["email"].lower(), "s": store.store_id}
            return len(conn.execute(query, params).all())

    median, best, found = _timed(store, run)
    return Timing("floor", "email_key =", median, best, found)
