"""An import's batches written in order, each in one transaction with its errors and counters.

On PostgreSQL three batches are at work at once: one written, the next looked up, the one after
parsed. SQLite writes in this process, under the same interpreter lock, so there they go one by
one.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import islice
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bulkport.storage import chunks as chunk_rows
from bulkport.storage import customer_writes, db, job_rows
from bulkport.storage.db import reading
from bulkport.tasks.batches import BatchPlan, BatchPlanner, Found, Prepared, write_plan
from bulkport.tasks.context import Context

T = TypeVar("T")
Batch = list[tuple[int, list[str]]]
# A batch that hits a unique email another job wrote meanwhile is planned again this often.
PLAN_ATTEMPTS = 3
# Seconds a thread may hold the interpreter lock while another waits, during the pipeline.
PIPELINE_SWITCH_INTERVAL = 0.001


def batches(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """The rows in lists of ``size`` (the last one shorter)."""
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


@dataclass(frozen=True)
class BatchRun:
    """The job whose batches are written, and where it stands."""

    ctx: Context
    job_id: str
    token: str
    planner: BatchPlanner
    dry_run: bool
    chunk: int | None = None  # the chunk of a split import whose rows these are (its claim)


def write_batches(run: BatchRun, rows: Iterable[tuple[int, list[str]]], checkpoint: int) -> None:
    """Apply the rows a batch at a time, in order, each batch committed with its errors,
    counters and checkpoint."""
    growth = customer_writes.GrowthWatch(run.ctx.engine)
    growth.start()
    parts = batches(rows, run.ctx.settings.batch_size)
    if db.runs_apart(run.ctx.engine):
        _run_overlapped(run, parts, checkpoint, growth)
        return
    for batch in parts:
        growth.created(_apply_batch(run, batch, checkpoint))
        checkpoint += len(batch)


@dataclass
class _InFlight:
    """A planned batch being written on the writer thread."""

    batch: Batch
    plan: BatchPlan
    checkpoint: int
    written: Future[int]


@dataclass
class _LookingUp:
    """A prepared batch whose customers are being looked up on the look-up thread."""

    batch: Batch
    prepared: Prepared
    found: Future[Found]


def _run_overlapped(
    run: BatchRun,
    parts: Iterable[Batch],
    checkpoint: int,
    growth: customer_writes.GrowthWatch,
) -> None:
    """Three batches at once, each at its own stage: batch N is written (writer thread) while
    batch N+1's customers are looked up (look-up thread) and batch N+2 is parsed (this
    thread). Batches are still decided and committed one at a time, in order.

    A look-up starts only once the batch two before it is committed, so it can miss at most
    the writes of the batch just before it. When that batch changed a customer this one read
    (or created customers while this one missed a record id), this one is planned again after
    that write: the result is exactly that of running the batches one after another.
    """
    looker_conn = _HeldConnection(run.ctx.engine)
    planner = run.planner

    def look_up(prepared: Prepared) -> Found:
        conn = looker_conn.get()
        with conn.begin():
            return planner.look_up(conn, prepared)

    state = _Pipeline(run, checkpoint, growth)
    # Each answer from PostgreSQL needs the interpreter lock back, which the busy main thread
    # gives up only every switch interval (5 ms by default).
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(PIPELINE_SWITCH_INTERVAL)
    try:
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulkport-writer") as writer,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulkport-look-up") as looker,
        ):
            state.writer = writer
            looking: _LookingUp | None = None
            for batch in parts:
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

    Taking one from the pool for every batch costs a round trip (the pool's liveness ping) on
    a thread that must answer quickly; each batch is still its own transaction. Closed (back
    to the pool) once the threads are done.
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
    """The batch in flight of ``_run_overlapped``, and how the next one moves to the writer."""

    def __init__(self, run: BatchRun, checkpoint: int, growth: customer_writes.GrowthWatch) -> None:
        self.run, self.checkpoint, self.growth = run, checkpoint, growth
        self.flight: _InFlight | None = None
        self.writer: ThreadPoolExecutor | None = None
        self.writer_conn = _HeldConnection(run.ctx.engine)
        self.looked_up = False  # every batch's look-up has been sent

    def send(self, looking: _LookingUp, upcoming: Prepared | None) -> Prepared | None:
        """Decide ``looking``, wait for the batch before it, and send it to the writer.

        ``upcoming`` (the batch prepared after it, its keys claimed) is prepared again when
        ``looking`` had to be planned again; returns it as it now stands.
        """
        planner, batch = self.run.planner, looking.batch
        plan = planner.decide(looking.prepared, looking.found.result())
        if self.flight is not None:
            last = (upcoming.rows if upcoming is not None else batch)[-1][0]
            redone = self.land(last)
            if redone or plan.stale_after(self.flight.plan):
                planner.seen.forget(batch[0][0], last)
                with reading(self.run.ctx.engine) as conn:
                    plan = planner.plan(conn, batch)
                if upcoming is not None:
                    upcoming = planner.prepare(upcoming.rows)
        assert self.writer is not None
        written = self.writer.submit(
            _write_batch, self.run, plan, self.checkpoint, len(batch), self.writer_conn
        )
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
            self.run.planner.seen.forget(flight.batch[0][0], last_claimed)
            self.grew(_apply_batch(self.run, flight.batch, flight.checkpoint))
            return True
        self.grew(created)
        return False

    def grew(self, created: int) -> None:
        """Count created customers towards the next ANALYZE (``GrowthWatch``).

        The statistics serve the look-ups still to come: once every batch's look-up has been
        sent, an ANALYZE would only make the job end later, and autovacuum analyses a table
        that changed this much soon after anyway.
        """
        if not self.looked_up:
            self.growth.created(created)


def _write_batch(
    run: BatchRun,
    plan: BatchPlan,
    checkpoint: int,
    rows: int,
    held: _HeldConnection | None = None,
) -> int:
    """Write a planned batch with its errors, counters and checkpoint in one transaction (on
    ``held`` when given); returns the number of customers it created.

    The commit does not wait for the disk (``db.commit_lazily``): a server crash can lose the
    last batches committed, but only whole, and with the checkpoint that counts them, so the
    job resumes before them and writes them again. The job's end is committed the usual way,
    which makes every batch before it durable too (the log is written in order).
    """
    ctx = run.ctx
    with ExitStack() as stack:
        if held is None:
            conn = stack.enter_context(ctx.engine.begin())
        else:
            conn = held.get()
            stack.enter_context(conn.begin())
        db.commit_lazily(conn)
        if not run.dry_run:
            write_plan(conn, run.planner.store_id, plan, run.job_id)
        job_rows.add_row_errors(conn, run.job_id, plan.errors)
        _advance(run, conn, checkpoint, rows, plan.counts)
    return 0 if run.dry_run else len(plan.creates)


def _advance(
    run: BatchRun, conn: Connection, checkpoint: int, rows: int, counts: dict[str, int]
) -> None:
    """Move the checkpoint (the job's, or its chunk's) and add the batch's counters."""
    lease = run.ctx.settings.job_lease_seconds
    if run.chunk is None:
        job_rows.advance(
            conn, run.job_id, run.token,
            expected_checkpoint=checkpoint, rows=rows, counts=counts, lease_seconds=lease,
        )  # fmt: skip
        return
    chunk_rows.advance(
        conn, run.job_id, run.chunk, run.token,
        expected_checkpoint=checkpoint, rows=rows, counts=counts, lease_seconds=lease,
    )  # fmt: skip


def _apply_batch(run: BatchRun, batch: Batch, checkpoint: int) -> int:
    """Plan one batch from a read snapshot (no write lock held while Python parses), then write
    it with its errors, counters and checkpoint in one transaction; plan again when another
    job wrote one of its emails in between. Returns the number of customers it created."""
    planner = run.planner
    for attempt in range(PLAN_ATTEMPTS):
        try:
            with reading(run.ctx.engine) as conn:
                plan = planner.plan(conn, batch)
            return _write_batch(run, plan, checkpoint, len(batch))
        except IntegrityError:
            # Another job wrote one of these emails since we looked; look again.
            planner.seen.forget(batch[0][0], batch[-1][0])
            if attempt == PLAN_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable: the last attempt re-raises")
