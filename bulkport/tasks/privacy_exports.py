"""A privacy export: everything the store holds about one customer, as one zip of CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import Connection

from bulkport.errors import CustomerDeleted, JobProblem, NoSuchCustomer
from bulkport.rules.fields import FIELDS
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.spreadsheets.cells import safe_cell
from bulkport.spreadsheets.exportfiles import CsvExportWriter, text_of
from bulkport.storage import audit, customer_records, job_rows, privacy
from bulkport.storage.db import reading
from bulkport.tasks.context import Context
from bulkport.tasks.job_lifecycle import claim_job, send_or_fail, settled

UNEXPECTED = "The privacy export stopped on an unexpected error; no file was published. Try again."
GONE = (
    "This customer was deleted or no longer exists: the store holds nothing about them to export."
)
# The record's columns: those of a customer export, so the CSV also imports back.
RECORD_KEYS = tuple(f.key for f in FIELDS)
SALE_COLUMNS = ("Sale ID", "Amount", "Sold At")
HISTORY_COLUMNS = (
    "At",
    "Action",
    "Customer Record ID",
    "Other Customer Record ID",
    "Fields",
    "Job",
)


def privacy_export_key(job_id: str) -> str:
    """Where a privacy export's zip is stored."""
    return f"jobs/{job_id}/privacy-export.zip"


def file_name(customer_id: object, created_at: datetime) -> str:
    """The zip's name for the person saving it: privacy-export-42-2026-12-03T0915.zip."""
    return f"privacy-export-{customer_id}-{created_at:%Y-%m-%dT%H%M}.zip"


def submit_privacy_export(
    ctx: Context, *, store_id: int, user_id: int | None, customer_id: int
) -> str:
    """Create a QUEUED privacy export of one of the store's customers, audited with ids only,
    and send it to the workers; returns the job's id.

    Raises ``NoSuchCustomer``, ``CustomerDeleted``, or ``QueueUnreachable`` (the job then FAILED).
    """
    with ctx.engine.begin() as conn:
        customer = customer_records.get(conn, store_id, customer_id)
        if customer is None:
            raise NoSuchCustomer(customer_id)
        if customer["deleted_at"] is not None:
            raise CustomerDeleted(
                customer_id,
                "This customer was deleted: nothing personal is held about them to export.",
            )
        job_id = job_rows.create_job(
            conn,
            store_id=store_id,
            kind=JobKind.PRIVACY_EXPORT,
            options={"customer_id": customer_id},
            created_by=user_id,
        )
        audit.record(
            conn,
            store_id=store_id,
            user_id=user_id,
            action="privacy_export.request",
            job_id=job_id,
            detail={"customer_id": customer_id},
        )
    send_or_fail(ctx, JobKind.PRIVACY_EXPORT, job_id)
    return job_id


@dataclass(frozen=True)
class Held:
    """What the store holds about one customer, read in one snapshot."""

    record: dict[str, Any]
    sales: list[dict[str, Any]]
    history: list[dict[str, Any]]

    @property
    def count(self) -> int:
        """Rows in the export: the record, each sale, each event."""
        return 1 + len(self.sales) + len(self.history)


def run_privacy_export(
    ctx: Context, job_id: str
) -> job_rows.Claimed | job_rows.Busy | job_rows.Finished:
    """Run a privacy export from the start (a redelivered one writes its zip again); the zip
    appears under its key only when complete."""
    claim = claim_job(ctx, job_id)
    if not isinstance(claim, job_rows.Claimed):
        return claim
    job, token = claim.job, claim.token
    with settled(ctx, job_id, token, UNEXPECTED):
        if job.kind is not JobKind.PRIVACY_EXPORT:
            raise JobProblem("This job is not a privacy export.")
        with reading(ctx.engine) as conn:
            held = held_about(conn, job.store_id, int(job.options["customer_id"]))
        with ctx.engine.begin() as conn:
            job_rows.start_over(conn, job_id, token, total=held.count)
            # Counts only, for the job's page to say what the zip holds.
            job_rows.record_plan(
                conn, job_id, token, total=held.count, mapping={}, ignored_columns=(),
                source={"sales": len(held.sales), "events": len(held.history)},
            )  # fmt: skip
        key = privacy_export_key(job_id)
        with ctx.files.writer(key) as out:
            write_zip(out, held)
        with ctx.engine.begin() as conn:
            job_rows.advance(
                conn, job_id, token, expected_checkpoint=0, rows=held.count,
                counts={"processed": held.count, "succeeded": held.count},
                lease_seconds=ctx.settings.job_lease_seconds,
            )  # fmt: skip
            job_rows.finish(conn, job_id, token, JobStatus.READY, output_file=key)
    return claim


def held_about(conn: Connection, store_id: int, customer_id: int) -> Held:
    """The customer's record, sales and history; refused once they are deleted."""
    customer = customer_records.get(conn, store_id, customer_id)
    if customer is None or customer["deleted_at"] is not None:
        raise JobProblem(GONE)
    record = {key: customer[key] for key in RECORD_KEYS}
    record["merged_into_id"] = customer.get("merged_into_id")
    sales = [
        {"id": s["id"], "amount": s["amount"], "sold_at": s["sold_at"]}
        for s in reversed(customer_records.sales_of(conn, store_id, customer_id))
    ]
    history = [
        {
            "at": e["at"],
            "action": e["action"],
            "customer_id": e["customer_id"],
            "other_id": e["detail"].get("other_id"),
            "fields": e["detail"].get("fields"),
            "job_id": e["job_id"],
        }
        for e in privacy.events_concerning(conn, store_id, customer_id)
    ]
    return Held(record, sales, history)


def write_zip(out: BinaryIO, held: Held) -> None:
    """The zip: customer, sales and history, each as formula-safe CSV and as JSON (one
    person's data: each part is built in memory)."""
    record = io.BytesIO()
    writer = CsvExportWriter(record, RECORD_KEYS)
    writer.write_rows([[held.record[key] for key in RECORD_KEYS]])
    writer.close()
    parts = {
        "customer.csv": record.getvalue(),
        "sales.csv": _csv(SALE_COLUMNS, ([s["id"], s["amount"], s["sold_at"]] for s in held.sales)),
        "history.csv": _csv(HISTORY_COLUMNS, (_history_row(e) for e in held.history)),
        "customer.json": _json(held.record),
        "sales.json": _json(held.sales),
        "history.json": _json(held.history),
    }
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def _history_row(event: dict[str, Any]) -> list[object]:
    fields = event["fields"]
    return [
        event["at"], event["action"], event["customer_id"], event["other_id"],
        ", ".join(fields) if isinstance(fields, list) else fields, event["job_id"],
    ]  # fmt: skip


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 CSV with a byte-order mark, as exports are; no cell can run as a formula."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([safe_cell(text_of(v)) for v in row] for row in rows)
    return text.getvalue().encode("utf-8-sig")


def _json(data: object) -> bytes:
    # Moments, dates and amounts as an export writes them: UTC text, ISO dates, exact decimals.
    return json.dumps(data, default=text_of, ensure_ascii=False, indent=2).encode()
