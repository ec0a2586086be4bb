"""Privacy deletion, of one customer or of a spreadsheet of them: archive, erase every personal
field, keep the id (the anonymized identifier) and the sales, and leave nothing behind.

A delete job first removes the people from every stored file (``purge_files``: idempotent, so a
resumed job does it again), then erases them batch by batch, each batch in one transaction that
also keeps their traces for the purge of row errors, job details and audit details. That purge
runs once the batches are done (a pass per 20 batches' traces), and when a run stops otherwise:
it consumes every kept trace of the store, so people erased by a run that died before its
purge are purged by the run that resumes the job (or by the store's next delete job). Its own
upload is deleted once it has run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from bulkport.rules.fields import FIELDS_BY_KEY
from bulkport.schemas.jobs import JobKind, RowOutcome
from bulkport.schemas.lifecycle import display_name
from bulkport.storage import audit, erasure_log, job_rows, undo_data
from bulkport.storage import customer_records as records
from bulkport.storage.db import reading
from bulkport.tasks.context import Context
from bulkport.tasks.customer_changes import change_one
from bulkport.tasks.customer_lists import Change, ListKind, Target, Verdict
from bulkport.tasks.purge import (
    after_deletion,
    purge_files,
    purge_pending,
    purge_rows,
    remember_for_purge,
    traces_of,
)

ALREADY = ("deleted_customer", "This customer was already deleted.")


def delete(
    conn: Connection, change: Change, targets: Sequence[Target], found: dict[int, dict[str, Any]]
) -> list[Verdict]:
    """Erase each target's personal fields (archived, marked deleted, id and sales kept), and
    those of the records merged into it, in the caller's transaction; in that transaction
    too, purge the row errors that hold their values (one customer) or keep their traces for
    the job's purge (``purge_pending``)."""
    verdicts: list[Verdict] = []
    erasing: list[int] = []
    for t in targets:
        if found[t.customer_id]["deleted_at"] is not None:
            verdicts.append(ALREADY)
        elif t.customer_id in erasing:
            verdicts.append(RowOutcome.UNCHANGED)
        else:
            verdicts.append(RowOutcome.UPDATED)
            erasing.append(t.customer_id)
    if erasing and not change.dry_run:
        # The records merged into them are the same people's: they go too.
        erasing = records.with_merged(conn, change.store_id, erasing)
        traces = traces_of(conn, change.store_id, erasing)
        records.erase(conn, erasing)
        undo_data.erase_customers(conn, erasing)
        if change.erasure_log is not None:
            # On disk before the commit, so that no restore brings back an erasure unlogged.
            erasure_log.append(change.erasure_log, change.store_id, erasing)
        if change.job_id is None:
            purge_rows(conn, change.store_id, traces)
        else:
            remember_for_purge(conn, change.store_id, change.job_id, traces)
        records.add_events(
            conn,
            (
                {"store_id": change.store_id, "customer_id": i, "action": "deleted",
                 "job_id": change.job_id, "user_id": change.user_id}
                for i in erasing
            ),
        )  # fmt: skip
        if change.job_id is None:
            audit.record(
                conn, store_id=change.store_id, user_id=change.user_id,
                action="customer.delete", detail={"customer_ids": erasing},
            )  # fmt: skip
    return verdicts


def _purge_files_first(ctx: Context, job: job_rows.Job, customer_ids: list[int]) -> None:
    with ctx.engine.connect() as conn:
        customer_ids = records.with_merged(conn, job.store_id, customer_ids)
        traces = traces_of(conn, job.store_id, customer_ids)
    purge_files(ctx, job.store_id, traces, job_id=job.id, user_id=job.created_by)


def _forget_upload(ctx: Context, job: job_rows.Job) -> None:
    """The job's own upload names the people it deleted: it goes once the job has run (a dry
    run keeps it, to be committed as previewed)."""
    if not job.options.get("dry_run"):
        if job.input_file is not None:
            ctx.files.delete(job.input_file)
        with ctx.engine.begin() as conn:
            audit.record(
                conn, store_id=job.store_id, user_id=job.created_by, action="file.purge",
                job_id=job.id, detail={"purged_job_id": job.id, "file": "input_file",
                                       "action": "deleted"},
            )  # fmt: skip
        after_deletion(ctx)


def _purge_rows_last(ctx: Context, job: job_rows.Job) -> None:
    """Once the batches are done (or the run stopped): purge the row errors, job details and
    audit details of everyone the store's delete jobs erased since the last purge."""
    if not job.options.get("dry_run"):
        purge_pending(ctx, job.store_id)


DELETE = ListKind(
    JobKind.DELETE, "deleted", delete, before=_purge_files_first, after=_forget_upload,
    ended=_purge_rows_last, columns=records.STATE_COLUMNS,
)  # fmt: skip


@dataclass(frozen=True)
class Holder:
    """The customer a merged record was merged into: the same person, holding what the merge
    copied from the record (its empty fields filled) and its sales, whatever befalls the record.
    """

    id: int
    name: str
    copied: tuple[str, ...]

    def said(self, *, deleted: bool) -> str:
        """The plain words the pages and the API say about it, before and after the delete."""
        what = f"the details the merge copied from it ({', '.join(self.copied)})"
        held = what if self.copied else "their details"
        who = f"{self.name} (Customer Record ID {self.id})"
        if deleted:
            return (
                f"This record was merged into {who}, the same person, who still holds {held} "
                "and the sales. Delete that customer too to erase them."
            )
        return (
            f"This record was merged into {who}, the same person, who holds {held} and the "
            "sales. Deleting this record does not delete that customer: delete it too."
        )


def merge_holder(ctx: Context, store_id: int, customer_id: int) -> Holder | None:
    """Who still holds a merged record's person (deleting the record leaves them be)."""
    with reading(ctx.engine) as conn:
        found = records.merge_holder(conn, store_id, customer_id)
        record = records.get(conn, store_id, customer_id)
        if found is None or record is None:
            return None
        keys = records.fields_merged_from(conn, store_id, record["merged_into_id"], customer_id)
    labels = tuple(FIELDS_BY_KEY[k].label for k in keys if k in FIELDS_BY_KEY)
    return Holder(found["id"], display_name(found), labels)


def delete_one(ctx: Context, store_id: int, user_id: int | None, customer_id: int) -> Verdict:
    """Delete one customer now, by the same rule as a delete job: stored files first, then the
    customer and its row errors in one transaction, then the database's leftovers."""
    with ctx.engine.connect() as conn:
        live = records.live_ids(conn, store_id, [customer_id])
        traces = traces_of(conn, store_id, records.with_merged(conn, store_id, live))
    purge_files(ctx, store_id, traces, job_id="", user_id=user_id)
    change = Change(store_id, user_id, erasure_log=ctx.settings.erasure_log)
    verdict = change_one(ctx, delete, change, customer_id)
    if verdict is RowOutcome.UPDATED:
        after_deletion(ctx)
    return verdict
