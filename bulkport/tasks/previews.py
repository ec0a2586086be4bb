"""A preview of an upload for a mapping screen: what was found and what the first rows would do."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

from bulkport.rules.columns import column_name
from bulkport.rules.dates import DateOrder, DateOrderVotes
from bulkport.rules.fields import FIELDS, FIELDS_BY_KEY, FieldKind
from bulkport.schemas.jobs import ImportOptions, RowOutcome
from bulkport.spreadsheets.sniff import FileFormat
from bulkport.storage import accounts
from bulkport.storage.db import reading
from bulkport.tasks.batches import BatchPlanner
from bulkport.tasks.context import Context
from bulkport.tasks.survey import date_columns, open_upload, vote

PREVIEW_ROWS = 20


def preview(ctx: Context, store_id: int, path: Path, options: ImportOptions) -> dict[str, Any]:
    """Read only the first rows; plan them as the import would, in a transaction that writes
    nothing, so each row shows the errors and outcome the real import would give it."""
    limits = ctx.settings.read_limits()
    with open_upload(path, options, limits) as (sheet, mapping):
        rows = list(islice(sheet.rows, PREVIEW_ROWS))
        info = sheet.info
    with reading(ctx.engine) as conn:
        order = options.date_order
        if order is None:
            votes = DateOrderVotes()
            for _, cells in rows:
                vote(votes, cells, date_columns(mapping))
            order = votes.decide(DateOrder(accounts.store_date_order(conn, store_id)))
        planner = BatchPlanner(
            store_id=store_id, mapping=mapping, options=options, date_order=order,
            complete_rows=info.format is FileFormat.CSV,
        )  # fmt: skip
        plan = planner.plan(conn, rows)
        conn.rollback()
    errors: dict[int, list[dict[str, Any]]] = {}
    for error in plan.errors:
        errors.setdefault(error.row, []).append(error.model_dump())
    return {
        "format": info.format.value,
        "encoding": info.encoding,
        "delimiter": info.delimiter,
        "sheet": info.sheet_name,
        "sheet_names": info.sheet_names,
        "header_row": info.header_row,
        "date_order": order.value,
        "columns": [
            {
                "header": header,
                "field": mapping.columns.get(index),
                "label": FIELDS_BY_KEY[mapping.columns[index]].label
                if index in mapping.columns
                else None,
            }
            for index, header in enumerate(sheet.header)
        ],
        "mapping": mapping.as_labels(),
        "ignored_columns": mapping.ignored,
        "shared_fields": [
            {
                "field": key,
                "label": FIELDS_BY_KEY[key].label,
                "columns": [sheet.header[i] for i in indexes],
                "fallback_columns": [sheet.header[i] for i in indexes if i in mapping.fallback],
                "message": _shared_message(
                    sheet.header, indexes, mapping.fallback, FIELDS_BY_KEY[key].label
                ),
            }
            for key, indexes in mapping.shared_fields().items()
        ],
        "fields": [
            {"field": f.key, "label": f.label} for f in FIELDS if f.kind is not FieldKind.READ_ONLY
        ],
        "rows": [
            {
                "row": number,
                "cells": cells,
                "outcome": plan.outcomes.get(number, RowOutcome.FAILED),
                "errors": errors.get(number, []),
            }
            for number, cells in rows
        ],
    }


def _shared_message(
    headers: list[str], indexes: list[int], fallback: frozenset[int], label: str
) -> str:
    """What it means that several columns give one field, in plain words."""
    main = _listed(headers, [i for i in indexes if i not in fallback])
    if len(main) == 1:
        said = f"{main[0]} gives {label}."
    else:
        every = "both" if len(main) == 2 else "all"
        said = (
            f"{_joined(main)} {every} give {label}: a row may fill any of them, and where more "
            "than one is filled they must hold the same value, else the row fails."
        )
    spare = _listed(headers, [i for i in indexes if i in fallback])
    if spare:
        verb = "is" if len(spare) == 1 else "are"
        where = "that column is" if len(main) == 1 else "those are"
        said += f" {_joined(spare)} {verb} read only in rows where {where} empty."
    return said


def _listed(headers: list[str], indexes: list[int]) -> list[str]:
    return [column_name(headers, i) for i in indexes]


def _joined(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
