"""What a batch plan says about each customer it creates or changes, decided without a
database: the stored customers are handed to ``decide`` as a look-up would find them."""

from __future__ import annotations

from typing import Any

from bulkport.rules.dates import DateOrder
from bulkport.schemas.jobs import ImportOptions
from bulkport.spreadsheets.mapping import ColumnMapping
from bulkport.tasks.batches import BatchPlan, BatchPlanner, Found

HEADERS = ["Email", "Phone"]


def _plan(rows: list[tuple[int, list[str]]], stored: list[dict[str, Any]]) -> BatchPlan:
    mapping = ColumnMapping(columns={0: "email", 1: "phone"}, headers=HEADERS, ignored=[])
    planner = BatchPlanner(
        store_id=1, mapping=mapping, options=ImportOptions(), date_order=DateOrder.DMY
    )
    found = Found(
        by_id={c["id"]: c for c in stored},
        by_email={c["email"].lower(): c for c in stored},
        missing_id=False,
    )
    return planner.decide(planner.prepare(rows), found)


def test_an_update_remembers_the_stored_value_of_each_field_it_changes() -> None:
    stored = {"id": 7, "email": "ana@example.com", "email_key": "ana@example.com",
              "phone": "+32 470 12 34 56", "first_name": "Ana"}  # fmt: skip
    plan = _plan([(2, ["ana@example.com", "+32 470 99 99 99"])], [stored])
    assert plan.updates == [{"id": 7, "phone": "+32 470 99 99 99"}]
    assert plan.previous == [{"phone": "+32 470 12 34 56"}]
    assert plan.update_rows == [2]


def test_each_created_customer_keeps_the_file_row_it_came_from() -> None:
    plan = _plan([(2, ["new@example.com", ""]), (3, ["", ""]), (4, ["two@example.com", ""])], [])
    assert [c["email"] for c in plan.creates] == ["new@example.com", "two@example.com"]
    assert plan.create_rows == [2, 4]
    assert plan.previous == [] and plan.update_rows == []
