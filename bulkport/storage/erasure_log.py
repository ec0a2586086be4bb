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
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bulkport.storage.db import now


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
    data = lines.encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # after a line a crash cut short, which stays unreadable
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class _Read:
    """What has been read of one log: up to which byte, and each store's customer ids."""

    inode: int = 0
    offset: int = 0
    stores: dict[int, set[int]] = field(default_factory=dict)


_read: dict[Path, _Read] = {}
_lock = threading.Lock()


def logged(path: Path) -> dict[int, list[int]]:
    """Each store's logged customer ids, each once (none when there is no log yet).

    The log only grows, so each call reads only the lines appended since the last one (a
    readiness probe every few seconds would otherwise parse the whole log each time); a log
    replaced (another file, or shorter than what was read) is read again. A last line cut
    short by a crash is left for the next call: its transaction never committed, or is
    still writing.
    """
    with _lock:
        found = path.stat() if path.exists() else None
        size, inode = (found.st_size, found.st_ino) if found else (0, 0)
        known = _read.get(path)
        if known is None or size < known.offset or inode != known.inode:
            known = _read[path] = _Read(inode)
        if size > known.offset:
            with path.open("rb") as handle:
                handle.seek(known.offset)
                chunk = handle.read(size - known.offset)
            whole = chunk[: chunk.rfind(b"\n") + 1]
            for line in whole.splitlines():
                _take(known, line)
            known.offset += len(whole)
        return {store: sorted(ids) for store, ids in known.stores.items()}


def _take(known: _Read, line: bytes) -> None:
    try:
        entry = json.loads(line)
        known.stores.setdefault(int(entry["store_id"]), set()).add(int(entry["customer_id"]))
    except (ValueError, KeyError, TypeError):
        return  # a line torn by a crash in an earlier run: its erasure never committed
