"""The audit page, for admins: each event of the store's audit log said in words ("ana@… uploaded
customers.csv", "ana@… deleted customer 963") from its action and its ids, never a code alone."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from bulkport.http.deps import ContextDep
from bulkport.schemas.accounts import Permission
from bulkport.storage.db import as_utc
from bulkport.usecases.audit import named_audit_events
from bulkport.web.auth import SignedIn
from bulkport.web.customers import store_dates
from bulkport.web.pages import render

router = APIRouter(include_in_schema=False)
EVENTS_SHOWN = 200
# Who did it when no user is recorded: the command line (`bulkport users …`, job commands).
COMMAND_LINE = "The command line"
_LISTS = {
    "delete": "customers to delete",
    "archive": "customers to archive",
    "unarchive": "customers to un-archive",
    "merge": "customers to merge",
}
_FILES = {
    "input_file": "upload",
    "report_file": "report of failed rows",
    "output_file": "file",
    "report": "report of failed rows",
    "export": "file",
}
Said = Callable[[str, Mapping[str, Any], Mapping[int, str]], str]


def _customers(detail: Mapping[str, Any]) -> str:
    ids = [str(i) for i in detail.get("customer_ids") or []]
    if len(ids) == 1:
        return f"customer {ids[0]}"
    return f"{len(ids)} customers ({', '.join(ids[:10])}{', …' if len(ids) > 10 else ''})"


def _user(detail: Mapping[str, Any], emails: Mapping[int, str]) -> str:
    user_id = detail.get("user_id")
    return emails.get(user_id, f"user {user_id}") if isinstance(user_id, int) else "a user"


def _upload(who: str, detail: Mapping[str, Any], _: Mapping[int, str]) -> str:
    return f"{who} uploaded {detail.get('filename') or 'a file'} to import"


def _export(who: str, detail: Mapping[str, Any], _: Mapping[int, str]) -> str:
    kind = str(detail.get("format") or "").upper()
    return f"{who} asked for an export{f' as {kind}' if kind else ''}"


def _purge(_who: str, detail: Mapping[str, Any], _: Mapping[int, str]) -> str:
    what = _FILES.get(str(detail.get("file")), "file")
    done = "rewritten without" if detail.get("action") == "rewritten" else "deleted for"
    job = str(detail.get("purged_job_id") or "")[:8]
    return f"The {what} of job {job} was {done} the deleted customer"


_SAID: dict[str, Said] = {
    "import.upload": _upload,
    "export.request": _export,
    "privacy_export.request": lambda who, d, _: (
        f"{who} asked for a privacy export of customer {d.get('customer_id')}"
    ),
    "export.link": lambda who, _d, _e: f"{who} asked for a download link of the job's file",
    "report.link": lambda who, _d, _e: f"{who} asked for a download link of the report",
    "export.download": lambda who, _d, _e: f"{who} downloaded the job's file",
    "report.download": lambda who, _d, _e: f"{who} downloaded the report of failed rows",
    "errors.read": lambda who, _d, _e: f"{who} read the job's row errors",
    "job.cancel": lambda who, _d, _e: f"{who} cancelled the job",
    "customer.archive": lambda who, d, _: f"{who} archived {_customers(d)}",
    "customer.unarchive": lambda who, d, _: f"{who} un-archived {_customers(d)}",
    "customer.delete": lambda who, d, _: f"{who} deleted {_customers(d)}",
    "customer.merge": lambda who, d, _: (
        f"{who} merged customer {d.get('secondary_id')} into customer {d.get('primary_id')}"
    ),
    "file.purge": _purge,
    "permission.grant": lambda who, d, e: f"{who} granted {d.get('permission')} to {_user(d, e)}",
    "permission.revoke": lambda who, d, e: (
        f"{who} revoked {d.get('permission')} from {_user(d, e)}"
    ),
    "token.create": lambda who, d, e: (
        f"{who} issued API token {d.get('token_id')} to {_user(d, e)}"
    ),
    "token.revoke": lambda who, d, _: f"{who} revoked API token {d.get('token_id')}",
    "user.disable": lambda who, d, e: (
        f"{who} disabled {_user(d, e)}: {d.get('tokens_revoked', 0)} token(s) revoked, "
        f"{d.get('sessions_ended', 0)} session(s) ended"
    ),
}


def described(event: Mapping[str, Any], emails: Mapping[int, str]) -> str:
    """One audit event in words, with the email of whoever did it."""
    detail: Mapping[str, Any] = event.get("detail") or {}
    who = emails.get(event["user_id"]) if event.get("user_id") else None
    who = who or COMMAND_LINE
    action = str(event["action"])
    said = _SAID.get(action)
    if said is not None:
        return said(who, detail, emails) + "."
    kind, _, step = action.partition(".")
    if kind in _LISTS and step == "upload":
        trial = " to try (a dry run)" if detail.get("dry_run") else ""
        return f"{who} uploaded a list of {_LISTS[kind]}{trial}."
    if kind in _LISTS and step == "ready":
        return (
            f"The list of {_LISTS[kind]} was done: {detail.get('succeeded', 0)} succeeded, "
            f"{detail.get('failed', 0)} failed, {detail.get('skipped', 0)} skipped."
        )
    return f"{who}: {action}."


@router.get("/audit")
def audit_page(request: Request, ctx: ContextDep, web: SignedIn) -> HTMLResponse:
    """The store's audit log in words, newest first, for admins."""
    if not web.user.can(Permission.JOBS_ADMIN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only admins see the audit log.")
    found, emails = named_audit_events(ctx, web.user, EVENTS_SHOWN)
    events = [
        {**e, "created_at": as_utc(e["created_at"]), "said": described(e, emails)} for e in found
    ]
    return render(
        request, ctx, "audit.html", web, nav="audit", events=events, dates=store_dates(ctx, web)
    )
