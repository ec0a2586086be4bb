"""An import job from start to end: open the file, map it, plan and write batches, report."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bulkport.errors import BulkportError, UnreadableFile
from bulkport.schemas.dates import DateOrder
from bulkport.schemas.exports import ArchivedFilter, ExportFilters, ExportFormat, ExportRequest
from bulkport.schemas.jobs import ImportOptions, JobKind, JobStatus
from bulkport.spreadsheets.limits import ReadLimits
from bulkport.spreadsheets.sniff import SNIFF_BYTES, FileFormat, sniff_format
from bulkport.spreadsheets.spill import RowSpill
from bulkport.storage import accounts, audit, customers, mappings
from bulkport.storage import jobs as job_rows
from bulkport.storage.db import reading
from bulkport.tasks.batches import BatchPlan, BatchPlanner, Found, Prepared, write_plan
from bulkport.tasks.context import Context
from bulkport.tasks.exports import run_export, submit_export
from bulkport.tasks.outcomes import settled
from bulkport.tasks.reaper import gave_up
from bulkport.tasks.reports import write_report
from bulkport.tasks.survey import Survey, open_upload, override_of, survey

log = logging.getLogger(__name__)
T = TypeVar("T")
# A batch that hits a unique email another job wrote meanwhile is planned again this often.
PLAN_ATTEMPTS = 3
# Seconds a thread may hold the interpreter lock while another waits, during the pipeline.
PIPELINE_SWITCH_INTERVAL = 0.001
UNEXPECTED = (
    "The job stopped on an unexpected error. Rows counted as processed were saved; "
    "upload the file again to finish, or contact your administrator."
)


def run_import(ctx: Context, job_id: str) -> job_rows.Claimed | job_rows.Busy | job_rows.Finished:
    """Run (or resume) an import job; returns how the claim went.

    Each batch is written in one transaction together with its row errors, the job's counters
    and its checkpoint, so a redelivered job resumes after the last committed batch.
    """
    with ctx.engine.begin() as conn:
        claim = job_rows.claim(
            conn, job_id, ctx.settings.job_lease_seconds, ctx.settings.max_attempts, gave_up
        )
    if not isinstance(claim, job_rows.Claimed):
        return claim
    job, token = claim.job, claim.token
    with settled(ctx, job_id, token, UNEXPECTED):
        options, upload = _job_input(ctx, job)
        limits = ctx.settings.read_limits()
        with reading(ctx.engine) as conn:
            store_order = DateOrder(accounts.store_date_order(conn, job.store_id))
        with RowSpill(upload.parent) as spill:
            found = survey(upload, options, store_order, limits, spill)
            _import_rows(ctx, job, token, options, upload, limits, found, spill)
        report = None
        with reading(ctx.engine) as conn:
            done = job_rows.job_for_worker(conn, job_id)
        if done is not None and done.counts.failed:
            report = write_report(ctx, job_id, upload, options, found.info)
        with ctx.engine.begin() as conn:
            job_rows.finish(conn, job_id, token, JobStatus.READY, report_file=report)
    return claim


def _import_rows(
    ctx: Context,
    job: job_rows.Job,
    token: str,
    options: ImportOptions,
    upload: Path,
    limits: ReadLimits,
    found: Survey,
    spill: RowSpill,
) -> None:
    """Plan and write the surveyed rows, batch by batch, from where the job stands."""
    job_id = job.id
    if found.total == 0:
        raise BulkportError(
            "The file has a header row but no customers below it. Add one customer per "
            "row under the header and upload it again."
        )
    with ctx.engine.begin() as conn:
        job_rows.record_plan(
            conn, job_id, token,
            total=found.total, mapping=found.mapping.as_labels(),
            ignored_columns=found.mapping.ignored, source=found.source(),
        )  # fmt: skip
    if options.backup and not options.dry_run:
        _back_up(ctx, job, token)
    planner = BatchPlanner(
        store_id=job.store_id,
        mapping=found.mapping,
        options=options,
        date_order=found.date_order,
        complete_rows=found.info.format is FileFormat.CSV,
    )
    with ExitStack() as stack:
        if spill.usable:
            rows = spill.rows()
        else:
            sheet, _ = stack.enter_context(open_upload(upload, options, limits, found.info))
            rows = sheet.rows
        checkpoint = job.checkpoint
        for committed in _batches(islice(rows, checkpoint), ctx.settings.batch_size):
            planner.remember(committed)  # committed before a restart
        _run_batches(ctx, job_id, token, planner, rows, checkpoint, options.dry_run)


def _back_up(ctx: Context, job: job_rows.Job, token: str) -> None:
    """Export every customer of the store before the import changes any (seed 004, step 1).

    The backup is an export job of its own, linked from the import and run here, first; an
    import resumed after a restart finds its backup done and goes on.
    """
    backup_id = job.backup_job_id
    if backup_id is None:
        request = ExportRequest(
            format=ExportFormat.CSV,
            filters=ExportFilters(archived=ArchivedFilter.INCLUDE),
            purpose=f"Backup before import {job.id}",
        )
        backup_id = submit_export(
            ctx, store_id=job.store_id, user_id=job.created_by, request=request
        )
        with ctx.engine.begin() as conn:
            job_rows.set_backup(conn, job.id, token, backup_id)
    run_export(ctx, backup_id)
    with reading(ctx.engine) as conn:
        backup = job_rows.job_for_worker(conn, backup_id)
    if backup is None or backup.status is not JobStatus.READY:
        why = backup.error if backup is not None and backup.error else "it did not finish"
        raise BulkportError(f"The backup before this import failed ({why}); nothing was imported.")


def _job_input(ctx: Context, job: job_rows.Job) -> tuple[ImportOptions, Path]:
    """The job's options and the path of its upload, or a plain reason why there is none."""
    if job.kind is not JobKind.IMPORT or job.input_file is None:
        raise BulkportError("This job has no uploaded file to import.")
    try:
        options = ImportOptions.model_validate(job.options)
        override_of(options)
    except ValueError as exc:
        raise BulkportError(f"The import's options are not usable: {exc}") from None
    upload = ctx.files.path(job.input_file)
    if not upload.is_file():
        raise BulkportError("The uploaded file is no longer stored; upload it again.")
    return options, upload


def submit_import(
    ctx: Context,
    *,
    store_id: int,
    user_id: int | None,
    job_id: str,
    key: str,
    options: ImportOptions,
    idempotency_key: str | None = None,
) -> bool:
    """Create the import job for a stored upload, with its audit event, in one transaction.

    A file whose first bytes show it is no CSV becomes a job FAILED with the reason (never a
    lost upload); returns True when the job is QUEUED and should be sent to the workers.
    """
    with ctx.files.open(key) as handle:
        head = handle.read(SNIFF_BYTES)
    try:
        sniff_format(head)
        unreadable = None
    except UnreadableFile as exc:
        unreadable = str(exc)
    with ctx.engine.begin() as conn:
        job_rows.create_job(
            conn,
            store_id=store_id,
            kind=JobKind.IMPORT,
            options=options.model_dump(mode="json", exclude_none=True),
            created_by=user_id,
            idempotency_key=idempotency_key,
            job_id=job_id,
        )
        job_rows.set_input_file(conn, job_id, key)
        audit.record(
            conn,
            store_id=store_id,
            user_id=user_id,
            action="import.upload",
            job_id=job_id,
            detail={"filename": options.filename, "bytes": ctx.files.size(key)},
        )
        if unreadable is not None:
            job_rows.finish(conn, job_id, None, JobStatus.FAILED, error=unreadable)
    return unreadable is None


def resolve_options(ctx: Context, store_id: int, options: ImportOptions) -> ImportOptions:
    """The options a job will keep: a saved mapping named by the request is copied in (so a
    later change to it does not change this job) and every mapping target is checked.

    Raises ``ValueError`` with a reason for the person.
    """
    if options.mapping_name:
        with ctx.engine.connect() as conn:
            saved = mappings.get(conn, store_id, options.mapping_name)
        if saved is None:
            raise ValueError(f"there is no saved mapping named {options.mapping_name!r}")
        columns = {header: key or "" for header, key in saved.columns.items()}
        options = options.model_copy(update={"mapping": {**columns, **(options.mapping or {})}})
    override_of(options)
    return options


def upload_key(job_id: str) -> str:
    """Where a job's uploaded file is stored (a generated name, never the user's)."""
    return f"jobs/{job_id}/upload"


def _run_batches(
    ctx: Context,
    job_id: str,
    token: str,
    planner: BatchPlanner,
    rows: Iterable[tuple[int, list[str]]],
    checkpoint: int,
    dry_run: bool,
) -> None:
    """Apply the rows a batch at a time, in order, each batch committed with its errors,
    counters and checkpoint.

    On PostgreSQL the next batch is planned while the previous one is written (the database
    works on the other core meanwhile); SQLite writes in this process, under the same
    interpreter lock, so there a second thread was measured to lose and batches go one by one.
    """
    growth = customers.GrowthWatch(ctx.engine)
    growth.start()
    batches = _batches(rows, ctx.settings.batch_size)
    if ctx.engine.dialect.name == "postgresql":
        _run_overlapped(ctx, job_id, token, planner, batches, checkpoint, dry_run, growth)
        return
    for batch in batches:
        growth.created(_apply_batch(ctx, job_id, token, planner, batch, checkpoint, dry_run))
        checkpoint += len(batch)


@dataclass
class _InFlight:
    """A planned batch being written on the writer thread."""

    batch: list[tuple[int, list[str]]]
    plan: BatchPlan
    checkpoint: int
    written: Future[int]


@dataclass
class _LookingUp:
    """A prepared batch whose customers are being looked up on the look-up thread."""

    batch: list[tuple[int, list[str]]]
    prepared: Prepared
    found: Future[Found]


def _run_overlapped(
    ctx: Context,
    job_id: str,
    token: str,
    planner: BatchPlanner,
    batches: Iterable[list[tuple[int, list[str]]]],
    checkpoint: int,
    dry_run: bool,
    growth: customers.GrowthWatch,
) -> None:
    """Three batches at once, each at its own stage: batch N is written (writer thread) while
    batch N+1's customers are looked up (look-up thread) and batch N+2 is parsed (this
    thread). Batches are still decided and committed one at a time, in order.

    A look-up starts only once the batch two before it is committed, so it can miss at most
    the writes of the batch just before it. When that batch changed a customer this one read
    (or created customers while this one missed a record id), this one is planned again after
    that write: the result is exactly that of running the batches one after another.
    """

    looker_conn = _HeldConnection(ctx.engine)

    def look_up(prepared: Prepared) -> Found:
        conn = looker_conn.get()
        with conn.begin():
            return planner.look_up(conn, prepared)

    state = _Pipeline(ctx, job_id, token, planner, checkpoint, dry_run, growth)
    # Each answer from PostgreSQL needs the interpreter lock back, which the busy main thread
    # gives up only every switch interval (5 ms by default): at 1 ms the batches were 7 %
    # faster end to end (four paired runs of 100,000 rows; 0.3 ms cost more than it gave).
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(PIPELINE_SWITCH_INTERVAL)
    try:
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulkport-writer") as writer,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulkport-look-up") as looker,
        ):
            state.writer = writer
            looking: _LookingUp | None = None
            for batch in batches:
                prepared = planner.prepare(batch)
                if looking is not None:
                    prepared = state.send(looking, prepared) or prepared
                looking = _LookingUp(batch, prepared, looker.submit(look_up, prepared))
            if looking is not None:
                state.looked_up = True
                state.send(looking, None)
            if state.flight is not None:
                state.land(state.flight.batch[-1][0])
    finally:
        sys.setswitchinterval(switch_interval)
        looker_conn.close()
        state.writer_conn.close()


class _HeldConnection:
    """A connection one pipeline thread keeps for the whole job, opened on its first batch.

    Taking one from the pool for every batch cost a round trip (the pool's liveness ping)
    and a few hundred microseconds of Python on a thread that must answer quickly; each
    batch is still its own transaction. Closed (back to the pool) once the threads are done.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection | None = None

    def get(self) -> Connection:
        """The held connection, opened on first use."""
        if self.conn is None:
            self.conn = self.engine.connect()
        return self.conn

    def close(self) -> None:
        """Give the connection back."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class _Pipeline:
    """The batches in flight of ``_run_overlapped``, and how one moves to the writer."""

    def __init__(
        self,
        ctx: Context,
        job_id: str,
        token: str,
        planner: BatchPlanner,
        checkpoint: int,
        dry_run: bool,
        growth: customers.GrowthWatch,
    ) -> None:
        self.ctx, self.job_id, self.token, self.planner = ctx, job_id, token, planner
        self.checkpoint, self.dry_run, self.growth = checkpoint, dry_run, growth
        self.flight: _InFlight | None = None
        self.writer: ThreadPoolExecutor | None = None
        self.writer_conn = _HeldConnection(ctx.engine)
        self.looked_up = False  # every batch's look-up has been sent

    def send(self, looking: _LookingUp, upcoming: Prepared | None) -> Prepared | None:
        """Decide ``looking``, wait for the batch before it, and send it to the writer.

        ``upcoming`` (the batch prepared after it, its keys claimed) is prepared again when
        ``looking`` had to be planned again; returns it as it now stands.
        """
        planner, batch = self.planner, looking.batch
        plan = planner.decide(looking.prepared, looking.found.result())
        if self.flight is not None:
            last = (upcoming.rows if upcoming is not None else batch)[-1][0]
            redone = self.land(last)
            if redone or plan.stale_after(self.flight.plan):
                planner.seen.forget(batch[0][0], last)
                with reading(self.ctx.engine) as conn:
                    plan = planner.plan(conn, batch)
                if upcoming is not None:
                    upcoming = planner.prepare(upcoming.rows)
        assert self.writer is not None
        written = self.writer.submit(
            _write_batch,
            self.ctx, self.job_id, self.token, planner.store_id, plan, self.checkpoint,
            len(batch), self.dry_run, self.writer_conn,
        )  # fmt: skip
        self.flight = _InFlight(batch, plan, self.checkpoint, written)
        self.checkpoint += len(batch)
        return upcoming

    def land(self, last_claimed: int) -> bool:
        """Wait for the batch being written. Returns True when it had to be planned and
        written again (another job wrote one of its emails meanwhile): every batch prepared
        after it, up to row ``last_claimed``, is then stale."""
        flight = self.flight
        assert flight is not None
        try:
            created = flight.written.result()
        except IntegrityError:
            self.planner.seen.forget(flight.batch[0][0], last_claimed)
            created = _apply_batch(
                self.ctx, self.job_id, self.token, self.planner, flight.batch,
                flight.checkpoint, self.dry_run,
            )  # fmt: skip
            self.grew(created)
            return True
        self.grew(created)
        return False

    def grew(self, created: int) -> None:
        """Count created customers towards the next ANALYZE (``customers.GrowthWatch``).

        The statistics serve the look-ups still to come: once every batch's look-up has been
        sent, an ANALYZE would only make the job end later, and autovacuum analyses a table
        that changed this much soon after anyway.
        """
        if not self.looked_up:
            self.growth.created(created)


def _write_batch(
    ctx: Context,
    job_id: str,
    token: str,
    store_id: int,
    plan: BatchPlan,
    checkpoint: int,
    rows: int,
    dry_run: bool,
    held: _HeldConnection | None = None,
) -> int:
    """Write a planned batch with its errors, counters and checkpoint in one transaction (on
    ``held`` when given); returns the number of customers it created.

    On PostgreSQL the commit does not wait for the disk (``synchronous_commit = off``; a
    fifth off a batch's insert, measured): a server crash can lose the last batches
    committed, but only whole, and with the checkpoint that counts them, so the job resumes
    before them and writes them again. The job's end is committed the usual way, which makes
    every batch before it durable too (the log is written in order).
    """
    with ExitStack() as stack:
        if held is None:
            conn = stack.enter_context(ctx.engine.begin())
        else:
            conn = held.get()
            stack.enter_context(conn.begin())
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        if not dry_run:
            write_plan(conn, store_id, plan)
        job_rows.add_row_errors(conn, job_id, plan.errors)
        job_rows.advance(
            conn, job_id, token,
            expected_checkpoint=checkpoint, rows=rows, counts=plan.counts,
            lease_seconds=ctx.settings.job_lease_seconds,
        )  # fmt: skip
    return 0 if dry_run else len(plan.creates)


def _apply_batch(
    ctx: Context,
    job_id: str,
    token: str,
    planner: BatchPlanner,
    batch: list[tuple[int, list[str]]],
    checkpoint: int,
    dry_run: bool,
) -> int:
    """Plan one batch from a read snapshot (no write lock held while Python parses), then write
    it with its errors, counters and checkpoint in one transaction; plan again when another
    job wrote one of its emails in between. Returns the number of customers it created."""
    for attempt in range(PLAN_ATTEMPTS):
        try:
            with reading(ctx.engine) as conn:
                plan = planner.plan(conn, batch)
            return _write_batch(
                ctx, job_id, token, planner.store_id, plan, checkpoint, len(batch), dry_run
            )
        except IntegrityError:
            # Another job wrote one of these emails since we looked; look again.
            planner.seen.forget(batch[0][0], batch[-1][0])
            if attempt == PLAN_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable: the last attempt re-raises")


def _batches(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch
