"""The record of a running `bulkport up` in its home, so that every command of that home finds it.

`up` writes ``HOME/stack.json`` (0600) once its broker answers and removes it when it stops;
a record whose process is gone is stale and ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RECORD = "stack.json"


@dataclass(frozen=True)
class Stack:
    """What other commands need to know about a running `bulkport up`."""

    pid: int
    broker_url: str
    api_url: str
    flower_url: str


def record(home: Path, stack: Stack) -> None:
    """Write the record of this home's running stack (readable by its owner only)."""
    path = home / RECORD
    partial = path.with_suffix(".tmp")
    partial.unlink(missing_ok=True)
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        json.dump(asdict(stack), out)
    partial.replace(path)


def running(home: Path) -> Stack | None:
    """The stack `bulkport up` runs for this home, if its process is alive."""
    try:
        found = Stack(**json.loads((home / RECORD).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return found if _alive(found.pid) else None


def forget(home: Path, pid: int) -> None:
    """Remove the record, if it is the one process ``pid`` wrote."""
    current = running(home)
    if current is None or current.pid == pid:
        (home / RECORD).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
