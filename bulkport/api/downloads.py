"""Downloads through short-lived signed links, bound to a store, a job and one of its files.

The caller asks for a link with their token (so only the owner's store can); the link itself
then works in a browser for a few minutes, and every download is written to the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import BaseModel

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.api.file_responses import REDIRECT_RESPONSE, stored_file
from bulkport.api.jobs import XLSX_TYPE, JobId, load_job, report_name
from bulkport.api.links import link
from bulkport.http.deps import ContextDep, Staff, client_of
from bulkport.schemas.jobs import JobKind
from bulkport.storage import job_rows
from bulkport.storage.db import now, reading
from bulkport.tasks import privacy_exports
from bulkport.tasks.context import Context
from bulkport.usecases.audit import record_access

router = APIRouter(prefix="/api/v1", tags=["downloads"], responses=ERROR_RESPONSES)
_SALT = "bulkport.download"


# A privacy export is one zip of CSV and JSON files.
ZIP_TYPE = "application/zip"
_MEDIA_TYPES = {".xlsx": XLSX_TYPE, ".zip": ZIP_TYPE}
# Jobs whose main file is their output, not a report.
_OUTPUT_KINDS = frozenset({JobKind.EXPORT, JobKind.PRIVACY_EXPORT})


class DownloadFile(StrEnum):
    """Which of a job's files: an export's file (a privacy export's zip), or an import's error
    report."""

    EXPORT = "export"
    REPORT = "report"


class DownloadLink(BaseModel):
    """A signed link to one file, good until ``expires_at``."""

    url: str
    expires_at: datetime
    filename: str


def _signer(ctx: Context) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(ctx.settings.secret(), salt=_SALT)


def _stored(job: job_rows.Job, which: DownloadFile) -> str | None:
    return job.output_file if which is DownloadFile.EXPORT else job.report_file


def download_name(job: job_rows.Job, which: DownloadFile) -> str:
    """A file name that says what and when: customers-2026-11-22T0815.xlsx, shop-errors.csv."""
    if which is DownloadFile.REPORT:
        return report_name(job)
    suffix = PurePath(_stored(job, which) or "").suffix
    if job.kind is JobKind.PRIVACY_EXPORT:
        return privacy_exports.file_name(job.options.get("customer_id"), job.created_at)
    return f"customers-{job.created_at:%Y-%m-%dT%H%M}{suffix}"


def _gone(job: job_rows.Job) -> HTTPException:
    return HTTPException(
        status.HTTP_410_GONE,
        f"This file was deleted on {job.files_expired_at:%Y-%m-%d}: files are kept for a "
        "limited time. Run the job again to get a new one.",
    )


@router.get("/jobs/{job_id}/download-url", name="link", response_model=DownloadLink)
def download_url(
    request: Request,
    ctx: ContextDep,
    user: Staff,
    job_id: JobId,
    file: Annotated[DownloadFile | None, Query(description="Default: the job's main file.")] = (
        None
    ),
) -> DownloadLink:
    """A link that downloads the job's file for the next few minutes, without a token."""
    job = load_job(ctx, user, job_id)
    which = file or (DownloadFile.EXPORT if job.kind in _OUTPUT_KINDS else DownloadFile.REPORT)
    if job.files_expired_at is not None:
        raise _gone(job)
    if _stored(job, which) is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"This job has no {which.value} file"
            + (" yet: it is written when the job is READY." if not job.status.finished else "."),
        )
    token = _signer(ctx).dumps({"j": job.id, "s": user.store_id, "u": user.id, "f": which.value})
    expires = now() + timedelta(seconds=ctx.settings.download_link_seconds)
    record_access(
        ctx, f"{which.value}.link", job.id, store_id=user.store_id, user_id=user.id,
        client=client_of(request),
    )  # fmt: skip
    url = link(request, "downloads-get", token=token)
    return DownloadLink(url=url, expires_at=expires, filename=download_name(job, which))


@router.get(
    "/downloads/{token}",
    name="get",
    response_class=FileResponse,
    responses={
        200: {"content": {"text/csv": {}, XLSX_TYPE: {}, ZIP_TYPE: {}}},
        403: {"description": "The link is not valid or has expired"},
        404: {"description": "No such file"},
        410: {"description": "The file was deleted after its retention time"},
        **REDIRECT_RESPONSE,
    },
)
def download(request: Request, ctx: ContextDep, token: str) -> Response:
    """Stream the file a signed link names, and record the download with the user the link
    was made for and the client's address. A link works, as often as asked, until it expires."""
    try:
        claims = _signer(ctx).loads(token, max_age=ctx.settings.download_link_seconds)
        job_id, store_id, user_id = str(claims["j"]), int(claims["s"]), claims.get("u")
        which = DownloadFile(claims["f"])
    except SignatureExpired:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "This download link has expired; ask for a new one."
        ) from None
    except (BadSignature, KeyError, TypeError, ValueError):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "This download link is not valid.") from None
    with reading(ctx.engine) as conn:
        job = job_rows.get_job(conn, store_id, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such file.")
    if job.files_expired_at is not None:
        raise _gone(job)
    key = _stored(job, which)
    if key is None or not ctx.files.exists(key):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such file.")
    link_user = user_id if isinstance(user_id, int) else None
    record_access(
        ctx, f"{which.value}.download", job.id, store_id=store_id, user_id=link_user,
        client=client_of(request),
    )  # fmt: skip
    suffix = PurePath(key).suffix
    return stored_file(ctx, key, _MEDIA_TYPES.get(suffix, "text/csv"), download_name(job, which))
