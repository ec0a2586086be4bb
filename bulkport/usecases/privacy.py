"""A person's own data: starting a privacy export of one customer (a zip, downloaded when READY)."""

from __future__ import annotations

from bulkport.storage import job_rows
from bulkport.tasks.context import Context
from bulkport.tasks.privacy_exports import submit_privacy_export


def start_privacy_export(
    ctx: Context, *, store_id: int, user_id: int | None, customer_id: int
) -> job_rows.Job:
    """Queue a privacy export of the store's customer, for the user (None: started from the
    command line), and return the job: ``NoSuchCustomer``, ``CustomerDeleted`` (nothing
    personal is held to export), or ``QueueUnreachable`` (the job then FAILED)."""
    job_id = submit_privacy_export(ctx, store_id=store_id, user_id=user_id, customer_id=customer_id)
    with ctx.uow.reading() as conn:
        job = job_rows.get_job(conn, store_id, job_id)
    assert job is not None
    return job
