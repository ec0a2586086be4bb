"""Lifecycle lists from the pages, for a store that uploads a spreadsheet of customers to remove:
delete, archive, un-archive or merge the customers a spreadsheet names.

An upload always starts a dry run, by ``usecases.lists.queue_list`` as the API's upload
does; its job page says in words who would change (read from the dry run's report, ids only,
named from the store's customers) and which rows would fail, and offers to run it for real by
``usecases.lists.commit_list``, the function the API's commit calls, so exactly the customers
shown change.
Deleting needs ``customers:delete`` on every step and the warning's ticked box, both checked
here on the server.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bulkport.errors import DryRunGone, QueueUnreachable
from bulkport.http.deps import ContextDep
from bulkport.http.rate_limits import upload_quota
from bulkport.http.uploads import receive_file, upload_name
from bulkport.schemas import job_words
from bulkport.schemas.accounts import Permission
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.schemas.lifecycle import ListOptions
from bulkport.storage import job_rows
from bulkport.storage.sessions import WebSession
from bulkport.tasks.context import Context
from bulkport.tasks.customer_changes import ARCHIVE, MERGE, UNARCHIVE
from bulkport.tasks.customer_lists import ListKind, list_key, names_pairs
from bulkport.tasks.deletions import DELETE
from bulkport.usecases import lists
from bulkport.usecases.jobs import job_detail
from bulkport.web import auth
from bulkport.web.auth import SignedIn
from bulkport.web.customers import display_name as customer_name
from bulkport.web.deletions import NOT_ALLOWED, TICK_FIRST
from bulkport.web.pages import render

router = APIRouter(include_in_schema=False)
# The word in a list page's path, and the kind of job it starts.
SPECS: dict[str, ListKind] = {
    "delete": DELETE,
    "archive": ARCHIVE,
    "unarchive": UNARCHIVE,
    "merge": MERGE,
}
BY_KIND: dict[JobKind, ListKind] = {spec.kind: spec for spec in SPECS.values()}
PATHS: dict[JobKind, str] = {spec.kind: word for word, spec in SPECS.items()}
# The fields of a file that names customers and writes nothing to them.
KEY_FIELDS = frozenset({"id", "email"})
# Customers a job page names; the report holds every row.
SHOWN = 100


@dataclass(frozen=True)
class ListPage:
    """What a list's upload page says of the file it takes."""

    heading: str
    lead: str
    columns: str


PAGES: dict[str, ListPage] = {
    "delete": ListPage(
        "Delete customers from a list",
        "Delete for privacy every customer your spreadsheet names.",
        "a column headed Customer Record ID or Email, one customer per row",
    ),
    "archive": ListPage(
        "Archive customers from a list",
        "Archive every customer your spreadsheet names: they leave the customer list and "
        "cannot be sold to, and keep all their details and sales.",
        "a column headed Customer Record ID or Email, one customer per row",
    ),
    "unarchive": ListPage(
        "Un-archive customers from a list",
        "Bring back to the customer list every archived customer your spreadsheet names.",
        "a column headed Customer Record ID or Email, one customer per row",
    ),
    "merge": ListPage(
        "Merge duplicates from a list",
        "Merge each duplicate into the customer to keep: the kept customer's details stay, "
        "its empty fields take the duplicate's, the duplicate's sales move to it and the "
        "duplicate is archived.",
        "two columns, Primary ID (the customer to keep) and Secondary ID (the duplicate), "
        "one pair per row",
    ),
}


def may_delete(web: WebSession) -> bool:
    """Only a user with the Customers - Customer Deletion permission sees or runs a delete."""
    return web.user.can(Permission.CUSTOMERS_DELETE)


def _spec(web: WebSession, what: str) -> ListKind:
    """The list kind a path names; 404 for none, 403 for a delete without the permission."""
    spec = SPECS.get(what)
    if spec is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such page.")
    if spec is DELETE and not may_delete(web):
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_ALLOWED)
    return spec


def _list_page(
    request: Request, ctx: Context, web: WebSession, what: str, problem: str | None, code: int
) -> HTMLResponse:
    return render(
        request, ctx, "list_new.html", web, nav="lists", status_code=code, what=what,
        about=PAGES[what], problem=problem,
    )  # fmt: skip


@router.get("/lists")
def lists_page(request: Request, ctx: ContextDep, web: SignedIn) -> HTMLResponse:
    """The four lists a store can upload, delete only for those who may."""
    shown = {w: p for w, p in PAGES.items() if w != "delete" or may_delete(web)}
    return render(request, ctx, "lists.html", web, nav="lists", pages=shown)


@router.get("/lists/{what}")
def new_list(request: Request, ctx: ContextDep, web: SignedIn, what: str) -> HTMLResponse:
    """Choose the spreadsheet of a delete, archive, un-archive or merge list."""
    _spec(web, what)
    return _list_page(request, ctx, web, what, None, status.HTTP_200_OK)


@router.post("/lists/{what}")
async def upload_list(request: Request, ctx: ContextDep, web: SignedIn, what: str) -> Response:
    """Store the spreadsheet and start its dry run; its job page shows who would change."""
    spec = _spec(web, what)
    job_id = job_rows.new_job_id()
    try:
        received = await receive_file(request, ctx, list_key(job_id))
        auth.check_csrf(web.csrf_token, received.fields.get("csrf"))
        upload_quota(ctx, web.user)
    except HTTPException as exc:
        ctx.files.delete_tree(f"jobs/{job_id}")
        if exc.status_code == status.HTTP_403_FORBIDDEN:
            raise
        return _list_page(request, ctx, web, what, str(exc.detail), exc.status_code)
    options = ListOptions(dry_run=True, filename=upload_name(received.filename))
    # A queue that cannot be reached leaves the job FAILED with the reason, which its page shows.
    with contextlib.suppress(QueueUnreachable):
        lists.queue_list(
            ctx, spec, store_id=web.user.store_id, user_id=web.user.id, job_id=job_id,
            options=options,
        )  # fmt: skip
    return RedirectResponse(f"/jobs/{job_id}", status.HTTP_303_SEE_OTHER)


@router.post("/lists/{job_id}/commit")
async def run_for_real(request: Request, ctx: ContextDep, web: SignedIn, job_id: str) -> Response:
    """Run a READY dry run for real; a delete only with the permission and the ticked box."""
    # Its failures by kind, for the confirmation page; no row errors are listed there.
    detail = job_detail(ctx, web.user.store_id, job_id, offset=0, limit=0)
    job = detail.job
    spec = BY_KIND.get(job.kind)
    if spec is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "Only a list's dry run runs from here.")
    if spec is DELETE and not may_delete(web):
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_ALLOWED)
    form = await request.form(max_files=0, max_fields=20)
    auth.check_csrf(web.csrf_token, str(form.get("csrf") or ""))
    if spec is DELETE and form.get("confirm") != "yes":
        return render(
            request, ctx, "list_confirm.html", web, nav="lists", job=job,
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, delete_problem=TICK_FIRST,
            **job_values(ctx, web, job, detail.failures),
        )  # fmt: skip
    try:
        started = lists.commit_list(ctx, web.user, spec, job.id)
    except DryRunGone as exc:
        raise HTTPException(
            status.HTTP_410_GONE, f"{exc} Upload the list again to see a new dry run."
        ) from None
    return RedirectResponse(f"/jobs/{started.id}", status.HTTP_303_SEE_OTHER)


def _named(ctx: Context, web: WebSession, job: job_rows.Job, outcome: str) -> list[dict[str, Any]]:
    """The customers the report says had this outcome, by id and name (as stored now)."""
    lines, stored = lists.report_customers(ctx, web.user, job, outcome, SHOWN)

    def name(customer_id: int) -> str:
        customer = stored.get(customer_id)
        return customer_name(customer) if customer else f"Customer {customer_id}"

    return [
        {"row": line.row, "id": line.customer_id, "name": name(line.customer_id),
         "other_id": line.other_id, "other_name": name(line.other_id) if line.other_id else ""}
        for line in lines
    ]  # fmt: skip


def job_values(
    ctx: Context, web: WebSession, job: job_rows.Job, failures: dict[str, int]
) -> dict[str, Any]:
    """What a job page says the job did, in its kind's words (``failures``: its failed rows by
    kind); and for a list, who."""
    values: dict[str, Any] = {
        "title": job_words.title(job.kind, job.options),
        "summary": job_words.summary(job.kind, job.options, job.counts, failures, job.source),
    }
    if job.kind in BY_KIND and job.status.finished:
        values.update(list_values(ctx, web, job))
    return values


def list_values(ctx: Context, web: WebSession, job: job_rows.Job) -> dict[str, Any]:
    """A list job's customers by id and name, and whether and how it can run for real."""
    words = job_words.words_of(job.kind)
    dry = bool(job.options.get("dry_run"))
    outcome = f"would be {BY_KIND[job.kind].verb}" if dry else BY_KIND[job.kind].verb
    ready_dry = dry and job.status is JobStatus.READY
    committed = lists.committed_job(ctx, web.user, job.id) if ready_dry else None
    changed = job.counts.updated
    return {
        "list_path": PATHS[job.kind],
        "named": _named(ctx, web, job, outcome),
        "named_more": max(0, changed - SHOWN),
        "named_heading": (
            f"Who {'would be' if dry else 'was'} {words.done}"
            if job.kind is not JobKind.MERGE
            else f"The duplicates that {'would be' if dry else 'were'} merged"
        ),
        "failed_heading": f"Rows that {'would not be' if dry else 'were not'} {words.done}",
        "committed": committed,
        "can_run": ready_dry
        and committed is None
        and changed > 0
        and (job.kind is not JobKind.DELETE or may_delete(web)),
        "run_label": job_words.button(job.kind, changed),
    }


def list_hint(web: WebSession, columns: list[dict[str, Any]]) -> dict[str, Any] | None:
    """When a file on the import's mapping screen looks like a list (pairs of ids, or only ids
    and emails with nothing to write), what to say and which list pages to offer."""
    if names_pairs([str(c["header"]) for c in columns]):
        return {"pairs": True, "links": {"merge": "Merge list"}}
    fields = {c["field"] for c in columns if c["field"]}
    if not fields or not fields <= KEY_FIELDS:
        return None
    links = {"delete": "Delete list"} if may_delete(web) else {}
    links |= {"archive": "Archive list", "unarchive": "Un-archive list"}
    return {"pairs": False, "links": links}
