"""The lease heartbeat: a claimed job's lease renewed while its work is alive."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from bulkport.storage import chunks as chunk_rows
from bulkport.storage import job_rows
from bulkport.tasks.context import Context

log = logging.getLogger(__name__)
# Beats per lease: two beats may be missed (a slow database, a busy interpreter) before the
# lease lapses and another worker may take the job over.
BEATS_PER_LEASE = 3


class Heartbeat:
    """A daemon thread renewing one claim's lease every third of a lease.

    The lease is short so that a job whose worker died (a pool process killed, a machine gone)
    is taken up again within seconds; the beat keeps it from lapsing while the work is alive.
    Each beat is its own short transaction on a connection of its own, never inside the job's
    batch transactions. The thread dies with its process, which is the point: a dead worker
    stops renewing.
    """

    def __init__(self, ctx: Context, job_id: str, token: str, chunk: int | None = None) -> None:
        """``chunk``: the claim is on that chunk of a split import, not on the job."""
        self.ctx, self.job_id, self.token, self.chunk = ctx, job_id, token, chunk
        self.lease = ctx.settings.job_lease_seconds
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"lease-{job_id}", daemon=True)

    def start(self) -> None:
        """Start renewing."""
        self.thread.start()

    def stop(self) -> None:
        """Stop renewing and wait for the thread (a beat in flight finishes first)."""
        self.stopped.set()
        self.thread.join(timeout=self.lease)

    def _beat(self) -> None:
        while not self.stopped.wait(self.lease / BEATS_PER_LEASE):
            try:
                with self.ctx.engine.begin() as conn:
                    held = self._renew(conn)
            except Exception:
                # A database away for a moment: the next beat tries again; the batch
                # that meets the same fault decides what happens to the job.
                log.warning("job %s: could not renew its lease", self.job_id, exc_info=True)
                continue
            if not held:
                return

    def _renew(self, conn: Connection) -> bool:
        if self.chunk is None:
            return job_rows.renew(conn, self.job_id, self.token, self.lease)
        return chunk_rows.renew(conn, self.job_id, self.chunk, self.token, self.lease)


@contextmanager
def lease_kept(ctx: Context, job_id: str, token: str, chunk: int | None = None) -> Iterator[None]:
    """Keep the claim's lease (on the job, or on one of its chunks) renewed while the block
    runs."""
    beat = Heartbeat(ctx, job_id, token, chunk)
    beat.start()
    try:
        yield
    finally:
        beat.stop()
