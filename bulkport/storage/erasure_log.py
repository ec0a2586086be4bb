"""The erasure log: one JSON line per erased customer (its id, its store, the time), kept in a
file of its own so that a database restored from a backup cannot bring the erasure back.

The customer id is the anonymized identifier an erasure keeps; nothing personal is written.
Lines are only appended (``O_APPEND``, one ``write`` each batch, ``fsync`` before the erasing
transaction commits), in a file only its owner reads (0600). A line whose transaction then
rolled back is harmless: replay erases only customers that still hold personal data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bulkport.storage.db import now


@dataclass(frozen=True)
class Erasure:
    """One customer erased: which, in which store, when."""

    customer_id: int
    store_id: int
    at: datetime


def append(path: Path, store_id: int, customer_ids: Iterable[int]) -> None:
    """Add the erased customers to the log, on disk before returning."""
    moment = now().isoformat()
    lines = "".join(
        json.dumps({"customer_id": i, "store_id": store_id, "at": moment}) + "\n"
        for i in customer_ids
    )
    if not lines:
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, lines.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: Path) -> list[Erasure]:
    """Every erasure logged, oldest first (none when there is no log yet). A last line cut
    short by a crash is skipped: its transaction never committed."""
    if not path.exists():
        return []
    found: list[Erasure] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            at = datetime.fromisoformat(entry["at"])
            found.append(Erasure(entry["customer_id"], entry["store_id"], at))
    return found


def by_store(erasures: Iterable[Erasure]) -> dict[int, list[int]]:
    """The logged customer ids of each store, each once."""
    stores: dict[int, set[int]] = {}
    for e in erasures:
        stores.setdefault(e.store_id, set()).add(e.customer_id)
    return {store: sorted(ids) for store, ids in stores.items()}
