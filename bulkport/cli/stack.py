"""The record of a running `bulkport up` in its home, so that every command of that home finds it.

`up` writes ``HOME/stack.json`` (0600) once its broker answers and removes it when it stops;
a record whose process is gone is stale and ignored. Settings read the record (a running
stack's broker wins), so its format lives in ``bulkport.config``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from bulkport.config import RECORD, Stack, running

__all__ = ["RECORD", "Stack", "forget", "record", "running"]


def record(home: Path, stack: Stack) -> None:
    """Write the record of this home's running stack (readable by its owner only)."""
    path = home / RECORD
    partial = path.with_suffix(".tmp")
    partial.unlink(missing_ok=True)
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        json.dump(asdict(stack), out)
    partial.replace(path)


def forget(home: Path, pid: int) -> None:
    """Remove the record, if it is the one process ``pid`` wrote."""
    current = running(home)
    if current is None or current.pid == pid:
        (home / RECORD).unlink(missing_ok=True)
