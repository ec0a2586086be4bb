"""Compiled loops of an import give the interpreter lock a chance to move (tasks/turns.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bulkport.schemas.dates import DateOrder
from bulkport.schemas.jobs import ImportOptions
from bulkport.spreadsheets.mapping import guess_mapping
from bulkport.tasks import turns
from bulkport.tasks.batches import BatchPlanner, Found

ROOT = Path(__file__).resolve().parents[2]


def test_the_module_that_gives_way_is_never_compiled() -> None:
    # Compiled, give_way would be a C call: no pass through the interpreter's loop.
    listed = re.findall(r'"(bulkport/[\w/]+\.py)"', (ROOT / "setup.py").read_text())
    assert "bulkport/tasks/batches.py" in listed  # the list is read right
    assert "bulkport/tasks/turns.py" not in listed
    assert str(turns.__file__).endswith(".py")


def test_parsing_and_deciding_a_batch_give_way_every_64_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(turns, "give_way", lambda: calls.append("turn"))
    header = ["First Name", "Last Name", "Email"]
    planner = BatchPlanner(
        store_id=1,
        mapping=guess_mapping(header),
        options=ImportOptions(filename="customers.csv"),
        date_order=DateOrder.DMY,
    )
    rows = [(n + 2, ["Ann", f"Lee {n}", f"ann{n}@example.com"]) for n in range(200)]
    prepared = planner.prepare(rows)
    assert len(calls) == 4  # rows 0, 64, 128 and 192 of the batch
    plan = planner.decide(prepared, Found(by_id={}, by_email={}, missing_id=False))
    assert len(calls) == 8
    assert len(plan.creates) == 200
