"""The undo of a committed import: its created customers deleted (archived when they have
sales), the fields it changed given back their stored values, and every field changed again
since left alone and reported as a conflict.

Each batch is ONE transaction with its report part and checkpoint, and it consumes the undo
data it applied (a deleted customer is gone, a kept one unmarked, an applied change removed),
so a resumed job goes on exactly where the last committed batch ended. A dry run reads the
same data, changes nothing, and writes the same report.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage import audit, customer_writes, job_rows, undo_data
from bulkport.storage import customer_records as records
from bulkport.storage.undo_data import as_field, as_json
from bulkport.tasks.context import Context
from bulkport.tasks.job_lifecycle import claim_job, send_or_fail, settled
from bulkport.tasks.reports import outcomes_key

UNDO_KEY = "undo-of-"
UNEXPECTED = (
    "The undo stopped on an unexpected error. Batches counted as processed were undone; "
    "start the undo again to finish, or contact your administrator."
)
REPORT_COLUMNS = [
    "customer_id", "action", "field", "imported_value", "current_value", "restored_value",
]  # fmt: skip


def undo_key(job_id: str) -> str:
    """The idempotency key of an import's undo: one undo per import."""
    return f"{UNDO_KEY}{job_id}"


def submit_undo(
    ctx: Context,
    *,
    store_id: int,
    user_id: int | None,
    job_id: str,
    undo_of: str,
    dry_run: bool,
    idempotency_key: str | None = None,
) -> None:
    """Create the undo job of import ``undo_of``, audited, in one transaction; then send it."""
    with ctx.engine.begin() as conn:
        job_rows.create_job(
            conn, store_id=store_id, kind=JobKind.UNDO,
            options={"undo_of": undo_of, "dry_run": dry_run}, created_by=user_id,
            idempotency_key=idempotency_key, job_id=job_id,
        )  # fmt: skip
        audit.record(
            conn, store_id=store_id, user_id=user_id, action="undo.start", job_id=job_id,
            detail={"undo_of": undo_of, "dry_run": dry_run},
        )  # fmt: skip
    send_or_fail(ctx, JobKind.UNDO, job_id)


@dataclass
class _Batch:
    """What one batch did: report lines, counters, and the undo data it consumed."""

    lines: list[list[object]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    delete: list[int] = field(default_factory=list)
    keep: list[int] = field(default_factory=list)
    archive: list[int] = field(default_factory=list)
    restores: list[dict[str, Any]] = field(default_factory=list)
    applied: list[int] = field(default_factory=list)

    def count(self, name: str) -> None:
        self.rows += 1
        self.counts["processed"] = self.counts.get("processed", 0) + 1
        self.counts[name] = self.counts.get(name, 0) + 1


def _created(conn: Connection, store_id: int, ids: list[int]) -> _Batch:
    """Decide each created customer: deleted, archived (has sales) or kept (changed since)."""
    batch = _Batch()
    found = records.locked(conn, store_id, ids)
    sold = undo_data.with_sales(conn, ids)
    for customer_id in ids:
        customer = found[customer_id]
        if customer["deleted_at"] is not None:
            batch.keep.append(customer_id)
            batch.lines.append([customer_id, "already_deleted", "", "", "", ""])
            batch.count("skipped")
        elif customer["updated_at"] != customer["created_at"]:
            batch.keep.append(customer_id)
            batch.lines.append([customer_id, "kept_changed_since", "", "", "", ""])
            batch.count("skipped")
        elif customer_id in sold:
            batch.archive.append(customer_id)
            batch.lines.append([customer_id, "archived_has_sales", "", "", "", ""])
            batch.count("succeeded")
        else:
            batch.delete.append(customer_id)
            batch.lines.append([customer_id, "deleted", "", "", "", ""])
            batch.count("succeeded")
    return batch


def _updated(
    conn: Connection,
    store_id: int,
    changes: list[tuple[int, int, dict[str, list[Any]]]],
    seen: dict[int, dict[str, Any]],
) -> _Batch:
    """Decide each change: restore the fields still as imported, report the others.

    ``seen``: customers as an earlier change of this run left them (newest changes come first,
    so an older change of the same customer compares against the state before the newer)."""
    batch = _Batch()
    found = customer_writes.by_ids(conn, store_id, {c for _, c, _ in changes})
    for change_id, customer_id, fields in changes:
        batch.applied.append(change_id)
        current = seen.get(customer_id) or found.get(customer_id)
        if current is None:
            batch.lines.append([customer_id, "customer_gone", "", "", "", ""])
            batch.count("skipped")
            continue
        restore: dict[str, Any] = {}
        conflict = False
        for key, (old, new) in fields.items():
            now_value = as_json(current.get(key))
            if now_value != new:
                conflict = True
                batch.lines.append([customer_id, "conflict", key, new, now_value, ""])
            else:
                restore[key] = as_field(key, old)
                batch.lines.append([customer_id, "restored", key, new, now_value, old])
        if restore:
            batch.restores.append({"id": customer_id, **restore})
        seen[customer_id] = {**current, **restore}
        batch.count("skipped" if conflict else "updated")
    return batch


def _apply(conn: Connection, store_id: int, batch: _Batch) -> None:
    undo_data.delete_created(conn, store_id, batch.delete)
    records.set_archived(conn, batch.archive, True)
    undo_data.forget_created(conn, [*batch.keep, *batch.archive])
    customer_writes.update_many(conn, store_id, batch.restores)
    undo_data.drop_changes(conn, batch.applied)


def _one_per_customer(
    changes: list[tuple[int, int, dict[str, list[Any]]]],
) -> list[tuple[int, int, dict[str, list[Any]]]]:
    """The changes up to the first that repeats a customer: a batch restores each customer
    once, and that customer's older change waits for the next batch."""
    taken: set[int] = set()
    kept = []
    for change in changes:
        if change[1] in taken:
            break
        taken.add(change[1])
        kept.append(change)
    return kept


def _report_part(ctx: Context, job_id: str, checkpoint: int, lines: list[list[object]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(lines)
    with ctx.files.writer(_part_key(job_id, checkpoint)) as out:
        out.write(buffer.getvalue().encode())


def _parts_folder(job_id: str) -> str:
    return f"jobs/{job_id}/undo-parts"


def _part_key(job_id: str, checkpoint: int) -> str:
    return f"{_parts_folder(job_id)}/{checkpoint:012d}.csv"


@dataclass
class _Walk:
    """Where a walk over an import's undo data stands: its created customers first, by id,
    then its changes, newest first. A real undo consumes what it applies, so it reads its
    changes from the newest left; a dry run moves past what it read (``before``) and keeps
    each customer as it would stand (``seen``)."""

    store_id: int
    undo_of: str
    size: int
    dry_run: bool
    start: int | None = None
    before: int | None = None
    seen: dict[int, dict[str, Any]] = field(default_factory=dict)

    def next(self, conn: Connection) -> _Batch | None:
        """The next batch's decisions; None when nothing is left."""
        if self.start is not None:
            ids = undo_data.created_batch(conn, self.store_id, self.undo_of, self.start, self.size)
            if ids:
                self.start = ids[-1] + 1
                return _created(conn, self.store_id, ids)
            self.start = None
        changes = undo_data.changes_batch(conn, self.store_id, self.undo_of, self.size, self.before)
        if not changes:
            return None
        if self.dry_run:
            self.before = changes[-1][0]
            return _updated(conn, self.store_id, changes, self.seen)
        return _updated(conn, self.store_id, _one_per_customer(changes), {})


def _walk(ctx: Context, job: job_rows.Job, undo_of: str, dry_run: bool) -> _Walk:
    with ctx.engine.begin() as conn:
        start = undo_data.first_created(conn, job.store_id, undo_of)
    return _Walk(job.store_id, undo_of, ctx.settings.batch_size, dry_run, start)


def _undo(ctx: Context, job: job_rows.Job, token: str, undo_of: str) -> None:
    """Undo batch by batch, from the job's checkpoint; each batch consumes its undo data."""
    walk = _walk(ctx, job, undo_of, dry_run=False)
    checkpoint = job.checkpoint
    while True:
        with ctx.engine.begin() as conn:
            batch = walk.next(conn)
            if batch is None:
                return
            _apply(conn, job.store_id, batch)
            _report_part(ctx, job.id, checkpoint, batch.lines)
            job_rows.advance(
                conn, job.id, token, expected_checkpoint=checkpoint, rows=batch.rows,
                counts=batch.counts, lease_seconds=ctx.settings.job_lease_seconds,
            )  # fmt: skip
        checkpoint += batch.rows


def _preview(ctx: Context, job: job_rows.Job, token: str, undo_of: str) -> None:
    """What the undo would do, batch by batch, changing nothing; counted in one step."""
    walk = _walk(ctx, job, undo_of, dry_run=True)
    total = _Batch()
    with ctx.engine.connect() as conn:
        while True:
            with conn.begin():
                batch = walk.next(conn)
            if batch is None:
                break
            total.lines += batch.lines
            total.rows += batch.rows
            for name, value in batch.counts.items():
                total.counts[name] = total.counts.get(name, 0) + value
    _report_part(ctx, job.id, 0, total.lines)
    with ctx.engine.begin() as conn:
        job_rows.advance(
            conn, job.id, token, expected_checkpoint=job.checkpoint, rows=total.rows,
            counts=total.counts, lease_seconds=ctx.settings.job_lease_seconds,
        )  # fmt: skip


def _assemble(ctx: Context, job_id: str) -> None:
    """One report of every batch's part, in order."""
    folder = _parts_folder(job_id)
    with ctx.files.writer(outcomes_key(job_id)) as out:
        out.write((",".join(REPORT_COLUMNS) + "\r\n").encode())
        # Only finished parts: a writer killed mid-write leaves a ``.part-`` file beside them.
        for key in sorted(k for k in ctx.files.keys_under(folder) if k.endswith(".csv")):
            with ctx.files.open(key) as part:
                out.write(part.read())


def run_undo(ctx: Context, job_id: str) -> job_rows.Claimed | job_rows.Busy | job_rows.Finished:
    """Run (or resume) an undo job; returns how the claim went."""
    claim = claim_job(ctx, job_id)
    if not isinstance(claim, job_rows.Claimed):
        return claim
    job, token = claim.job, claim.token
    with settled(ctx, job_id, token, UNEXPECTED):
        undo_of = str(job.options["undo_of"])
        if job.options.get("dry_run"):
            if job.checkpoint == 0:
                _preview(ctx, job, token, undo_of)
        else:
            _undo(ctx, job, token, undo_of)
        _assemble(ctx, job_id)
        with ctx.engine.begin() as conn:
            job_rows.finish(conn, job_id, token, JobStatus.READY, report_file=outcomes_key(job_id))
            done = job_rows.job_for_worker(conn, job_id)
            audit.record(
                conn, store_id=job.store_id, user_id=job.created_by, action="undo.ready",
                job_id=job_id, detail=done.counts.model_dump() if done else {},
            )  # fmt: skip
        # The parts stay until the job is READY: a run stopped after the report was assembled
        # assembles it again from them.
        ctx.files.delete_tree(_parts_folder(job_id))
    return claim
