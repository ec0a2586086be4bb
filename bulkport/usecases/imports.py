"""Imports: check an upload's options, queue its job (once per idempotency key), preview a
file for a mapping screen, and run a READY dry run for real."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from bulkport.errors import AddressRefused, Conflict, Gone, Invalid, JobProblem, NotFound
from bulkport.rules.text import strip_control
from bulkport.schemas.jobs import NOT_FORM_FIELDS, ImportOptions, JobKind, JobStatus
from bulkport.storage import job_rows, mappings
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.imports import resolve_options, submit_import, upload_key
from bulkport.tasks.previews import preview
from bulkport.usecases.jobs import get_job

# The keys bulkport gives the jobs it starts itself: a dry run's commit, a retry, a fix.
OWN_KEYS = ("commit-of-", "retry-of-", "fix-of-")


def client_key(key: str | None) -> str | None:
    """A client's idempotency key (an empty one is none); one spelled as bulkport's own is
    refused, since it would find, or take the place of, the job of a commit or a retry."""
    if not key:
        return None
    if key.startswith(OWN_KEYS):
        raise Invalid(
            f"Idempotency-Key: may not begin with {' or '.join(map(repr, OWN_KEYS))}; "
            "bulkport keys the jobs it starts itself that way."
        )
    return key


def import_options(
    ctx: Context, user: User, fields: Mapping[str, str], filename: str, folder: str
) -> ImportOptions:
    """A form's import options, checked, with a named saved mapping copied in; when refused,
    the upload under ``folder`` is removed."""
    try:
        if given := [name for name in NOT_FORM_FIELDS if name in fields]:
            raise ValueError(f"{given[0]}: not a form field; bulkport sets it")
        options = ImportOptions.model_validate({**fields, "filename": filename})
        if options.mapping_name and not _saved(ctx, user, options.mapping_name):
            ctx.files.delete_tree(folder)
            raise NotFound(f"No mapping is named {options.mapping_name!r}.")
        return resolve_options(ctx, user.store_id, options)
    except ValidationError as exc:
        ctx.files.delete_tree(folder)
        problems = "; ".join(f"{strip_control(str(e['loc'][0]))}: {e['msg']}" for e in exc.errors())
        raise Invalid(problems) from None
    except ValueError as exc:
        ctx.files.delete_tree(folder)
        raise Invalid(str(exc)) from None
    except (AddressRefused, Conflict):  # the job's notify_url
        ctx.files.delete_tree(folder)
        raise


def queue_import(
    ctx: Context,
    *,
    store_id: int,
    user_id: int | None,
    job_id: str,
    options: ImportOptions,
    idempotency_key: str | None = None,
) -> job_rows.Job:
    """Queue the import of the upload stored for ``job_id``; the earlier job instead when the
    store already started one under ``idempotency_key`` (the new upload is then removed).
    Raises ``QueueUnreachable`` (the job then FAILED) when the queue cannot be reached."""
    earlier = earlier_job(ctx, store_id, idempotency_key)
    if earlier is not None:
        ctx.files.delete_tree(f"jobs/{job_id}")
        return earlier
    return submit_once(
        ctx, store_id, job_id, idempotency_key,
        lambda: submit_import(
            ctx, store_id=store_id, user_id=user_id, job_id=job_id, key=upload_key(job_id),
            options=options, idempotency_key=idempotency_key,
        ),
    )  # fmt: skip


def submit_once(
    ctx: Context,
    store_id: int,
    job_id: str,
    idempotency_key: str | None,
    submit: Callable[[], object],
) -> job_rows.Job:
    """Create and send job ``job_id`` by ``submit``; the job, or the earlier job of a request
    with the same idempotency key that won the race."""
    try:
        submit()
    except IntegrityError:
        ctx.files.delete_tree(f"jobs/{job_id}")
        earlier = earlier_job(ctx, store_id, idempotency_key)
        if earlier is None:
            raise
        return earlier
    return get_job(ctx, store_id, job_id)


def earlier_job(ctx: Context, store_id: int, idempotency_key: str | None) -> job_rows.Job | None:
    """The job the store already started under this idempotency key, if any."""
    if not idempotency_key:
        return None
    with ctx.uow.reading() as conn:
        return job_rows.find_by_idempotency_key(conn, store_id, idempotency_key)


def preview_upload(
    ctx: Context, user: User, folder: str, fields: Mapping[str, str], filename: str
) -> dict[str, Any]:
    """What an import of the upload under ``folder`` would find, read from its first rows: or,
    for a file that cannot be read, only ``problem``. The upload is removed either way."""
    try:
        options = import_options(ctx, user, fields, filename, folder)
        try:
            with ctx.files.local(f"{folder}/upload") as path:
                return preview(ctx, user.store_id, path, options)
        except JobProblem as exc:
            # What was found is that the file cannot be read, as an import of it would say.
            return {"problem": str(exc)}
    finally:
        ctx.files.delete_tree(folder)


def commit_dry_run(ctx: Context, user: User, job_id: str) -> job_rows.Job:
    """Run a READY import dry run for real, with the same file, mapping and options; the job
    that already did, for a dry run committed before."""
    dry = get_job(ctx, user.store_id, job_id)
    if dry.kind is not JobKind.IMPORT or not dry.options.get("dry_run"):
        raise Conflict("Only a dry run can be committed.")
    if dry.status is not JobStatus.READY:
        raise Conflict(f"The dry run is {dry.status}; only a READY one commits.")
    if dry.input_file is None or not ctx.files.exists(dry.input_file):
        raise Gone("The dry run's file is no longer stored; upload it again.")
    commit_key = f"commit-of-{dry.id}"
    earlier = earlier_job(ctx, user.store_id, commit_key)
    if earlier is not None:
        return earlier
    new_id = job_rows.new_job_id()
    with ctx.files.open(dry.input_file) as source, ctx.files.writer(upload_key(new_id)) as out:
        while chunk := source.read(1024 * 1024):
            out.write(chunk)
    options = ImportOptions.model_validate({**dry.options, "dry_run": False})
    return queue_import(
        ctx, store_id=user.store_id, user_id=user.id, job_id=new_id, options=options,
        idempotency_key=commit_key,
    )  # fmt: skip


def _saved(ctx: Context, user: User, name: str) -> bool:
    with ctx.uow.reading() as conn:
        return mappings.get(conn, user.store_id, name) is not None


def import_staged(
    ctx: Context, user: User, staged_key: str, *, job_id: str, options: ImportOptions
) -> job_rows.Job:
    """Queue the import of an upload kept under ``staged_key`` (the mapping screen's), with
    the mapping chosen there, as job ``job_id``. Raises ``Invalid`` for options the file's
    import cannot take, and ``QueueUnreachable`` (the job then FAILED)."""
    try:
        options = resolve_options(ctx, user.store_id, options)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    with ctx.files.open(staged_key) as source, ctx.files.writer(upload_key(job_id)) as out:
        shutil.copyfileobj(source, out)
    return queue_import(
        ctx, store_id=user.store_id, user_id=user.id, job_id=job_id, options=options
    )
