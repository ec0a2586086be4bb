"""Fixes: a READY import's failed rows shown as uploaded with their problems, edited, and
imported by a follow-up import job of their own. The fix job reads a file written into its
own folder (the failed rows with the edits, each at its row number in the original file), with
the original's options and mapping, restricted to the edited rows (``only_rows``), so its row
numbers are the original file's. Each request makes one fix job (a round); a row already fixed
in a round is fixed again from that round's job, whose failed rows it lists the same way."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from bulkport.errors import Conflict, Gone, Invalid, NotFound
from bulkport.schemas.fixes import FailedRowsPage, FailedRowView, RowCheck, RowFix
from bulkport.schemas.jobs import ImportOptions, JobKind, JobStatus, RowErrorView
from bulkport.schemas.row_ranges import RowRanges
from bulkport.storage import job_rows
from bulkport.storage.accounts import User
from bulkport.tasks import fix_files
from bulkport.tasks.context import Context
from bulkport.tasks.fix_files import FailedRow, failed_rows, write_fix_file
from bulkport.tasks.imports import upload_key
from bulkport.usecases.audit import record_access
from bulkport.usecases.imports import earlier_job, queue_import
from bulkport.usecases.jobs import get_job

FIX_KEY = "fix-of-"


def fix_key(job_id: str, round_: int) -> str:
    """The idempotency key of a job's ``round_``-th fix job (from 1)."""
    return f"{FIX_KEY}{job_id}-{round_}"


def fix_jobs_of(ctx: Context, store_id: int, job_id: str) -> list[job_rows.Job]:
    """The fix jobs started from ``job_id``'s failed rows, in order (one lookup per round)."""
    found: list[job_rows.Job] = []
    while (fix := earlier_job(ctx, store_id, fix_key(job_id, len(found) + 1))) is not None:
        found.append(fix)
    return found


def fixed_rows(fixes: list[job_rows.Job]) -> dict[int, str]:
    """Each row an earlier fix job took, with that job's id."""
    taken: dict[int, str] = {}
    for fix in fixes:
        for first, last in RowRanges.parse(str(fix.options["only_rows"])).spans:
            taken.update((row, fix.id) for row in range(first, (last or first) + 1))
    return taken


def fixable(ctx: Context, store_id: int, job_id: str) -> job_rows.Job:
    """The job, if its failed rows can be fixed: a READY import, not a dry run, whose report
    (the failed rows as uploaded) is still stored."""
    job = get_job(ctx, store_id, job_id)
    if job.kind is not JobKind.IMPORT or job.options.get("dry_run"):
        raise Conflict("Only the failed rows of an import that wrote its rows can be fixed.")
    if job.status is not JobStatus.READY:
        raise Conflict(f"The import is {job.status}; its failed rows are listed once it is READY.")
    if job.files_expired_at is not None:
        raise Gone("The failed rows were deleted after the time files are kept.")
    if not job.report_file or not ctx.files.exists(job.report_file):
        raise NotFound("No row of this import failed.")
    return job


def list_failed_rows(
    ctx: Context, user: User, job_id: str, *, offset: int, limit: int, client: str | None
) -> FailedRowsPage:
    """A page of the import's failed rows as uploaded, with their problems; audited as a read
    of the errors, since it shows the rows' values."""
    job = fixable(ctx, user.store_id, job_id)
    record_access(
        ctx, "errors.read", job.id, store_id=user.store_id, user_id=user.id, client=client
    )
    taken = fixed_rows(fix_jobs_of(ctx, user.store_id, job.id))
    with failed_rows(ctx, str(job.report_file), job.source or {}) as (columns, rows):
        page = list(islice(rows, offset, offset + limit))
    errors: dict[int, list[RowErrorView]] = {}
    if page:
        with ctx.uow.reading() as conn:
            for error in job_rows.errors_of_rows(conn, job.id, page[0].row, page[-1].row):
                errors.setdefault(error.row, []).append(error)
    views = [
        FailedRowView(
            row=row.row,
            cells=row.cells,
            errors=errors.get(row.row, []),
            fixed_in=taken.get(row.row),
        )
        for row in page
    ]
    return FailedRowsPage(columns=columns, total=job.counts.failed, offset=offset, rows=views)


def fix_rows(ctx: Context, user: User, job_id: str, fixes: list[RowFix]) -> job_rows.Job:
    """Start the import of the job's failed rows with these edits, as a new fix job.

    Refused (nothing started): a row not among the failed ones, a row named twice or already
    fixed in an earlier round, or a column the file does not have.
    """
    job = fixable(ctx, user.store_id, job_id)
    earlier = fix_jobs_of(ctx, user.store_id, job.id)
    edits = _edits(fixes, fixed_rows(earlier))
    new_id = job_rows.new_job_id()
    with failed_rows(ctx, str(job.report_file), job.source or {}) as (columns, rows):
        edited = _edited(columns, rows, edits)
        with ctx.files.writer(upload_key(new_id)) as out:
            write_fix_file(out, columns, edited)
    source = job.source or {}
    options = ImportOptions.model_validate(
        {**job.options, "encoding": "utf-8", "delimiter": ",", "sheet": None, "header_row": 1,
         "date_order": source.get("date_order") or job.options.get("date_order"),
         "only_rows": str(RowRanges.of_rows(edits)), "fix_of": job.id, "retry_of": None,
         "backup": False}
    )  # fmt: skip
    return queue_import(
        ctx, store_id=user.store_id, user_id=user.id, job_id=new_id, options=options,
        idempotency_key=fix_key(job.id, len(earlier) + 1),
    )  # fmt: skip


def _edits(fixes: list[RowFix], taken: dict[int, str]) -> dict[int, dict[str, str]]:
    """The edits by row number, once each; refused for a row already fixed."""
    edits: dict[int, dict[str, str]] = {}
    for fix in fixes:
        if fix.row in edits:
            raise Invalid(f"Row {fix.row} is named twice; send each row's cells once.")
        if fix.row in taken:
            raise Conflict(
                f"Row {fix.row} was fixed in job {taken[fix.row]}; if it failed again, fix it "
                "from that job."
            )
        edits[fix.row] = fix.cells
    return edits


def _edited(
    columns: list[str], rows: Iterator[FailedRow], edits: dict[int, dict[str, str]]
) -> list[FailedRow]:
    """The failed rows that have edits, with them applied, in row order; refused for a column
    the file does not have or a row that did not fail."""
    if unknown := sorted({c for cells in edits.values() for c in cells} - set(columns)):
        raise Invalid(
            f"The file has no column {unknown[0]!r}; its columns are "
            f"{', '.join(map(repr, columns))}."
        )
    edited = [
        FailedRow(row.row, {**row.cells, **edits[row.row]}) for row in rows if row.row in edits
    ]
    if missing := sorted(edits.keys() - {row.row for row in edited}):
        raise Invalid(
            f"Row {missing[0]} did not fail in this import; only its failed rows can be fixed."
        )
    return edited


def check_row(ctx: Context, user: User, job_id: str, row: int, cells: dict[str, str]) -> RowCheck:
    """What importing a failed row with these cells would do now, by the import's rules and
    mapping, against the store's customers as they are; nothing is written."""
    job = fixable(ctx, user.store_id, job_id)
    with failed_rows(ctx, str(job.report_file), job.source or {}) as (columns, rows):
        (edited,) = _edited(columns, rows, {row: cells})
    options = ImportOptions.model_validate(job.options)
    with ctx.uow.reading() as conn:
        outcome, errors = fix_files.check_row(
            conn, user.store_id, options, job.source or {}, columns, edited
        )
    return RowCheck(row=row, outcome=outcome, errors=errors)


def fix_changed_rows(
    ctx: Context, user: User, job_id: str, shown: dict[int, dict[str, str]]
) -> job_rows.Job:
    """Fix the rows of a page of failed rows whose cells the person changed (``shown``: each
    row's cells as the page sent them back); refused when none changed."""
    job = fixable(ctx, user.store_id, job_id)
    with failed_rows(ctx, str(job.report_file), job.source or {}) as (_, rows):
        changed = [
            RowFix(row=row.row, cells=shown[row.row])
            for row in rows
            if row.row in shown and any(row.cells.get(c) != v for c, v in shown[row.row].items())
        ]
    if not changed:
        raise Invalid("No cell was changed: edit the failed rows, then import them.")
    return fix_rows(ctx, user, job_id, changed)
