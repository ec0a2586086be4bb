"""Downloads through short-lived signed links, bound to a store, a job and one of its files.

A link is issued to a caller of the owner's store; the link itself then works without a
token for a few minutes, and every issue and every download is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bulkport.errors import Gone, LinkRefused, NotFound
from bulkport.schemas.downloads import DownloadFile
from bulkport.schemas.jobs import JobKind
from bulkport.storage import job_rows
from bulkport.storage.accounts import User
from bulkport.storage.db import now
from bulkport.tasks import privacy_exports
from bulkport.tasks.context import Context
from bulkport.usecases.audit import record_access
from bulkport.usecases.jobs import XLSX_TYPE, StoredFile, get_job, report_name

_SALT = "bulkport.download"
# A privacy export is one zip of CSV and JSON files.
ZIP_TYPE = "application/zip"
_MEDIA_TYPES = {".xlsx": XLSX_TYPE, ".zip": ZIP_TYPE}
# Jobs whose main file is their output, not a report.
_OUTPUT_KINDS = frozenset({JobKind.EXPORT, JobKind.PRIVACY_EXPORT})


@dataclass(frozen=True)
class IssuedLink:
    """A signed token for one file, good until ``expires_at``, and the file's name."""

    token: str
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


def _gone(job: job_rows.Job) -> Gone:
    return Gone(
        f"This file was deleted on {job.files_expired_at:%Y-%m-%d}: files are kept for a "
        "limited time. Run the job again to get a new one."
    )


def issue_link(
    ctx: Context, user: User, job_id: str, which: DownloadFile | None, *, client: str | None
) -> IssuedLink:
    """A token that downloads the job's file (by default its main one) for the next few
    minutes, without a token of the caller's; audited."""
    job = get_job(ctx, user.store_id, job_id)
    which = which or (DownloadFile.EXPORT if job.kind in _OUTPUT_KINDS else DownloadFile.REPORT)
    if job.files_expired_at is not None:
        raise _gone(job)
    if _stored(job, which) is None:
        raise NotFound(
            f"This job has no {which.value} file"
            + (" yet: it is written when the job is READY." if not job.status.finished else ".")
        )
    token = _signer(ctx).dumps({"j": job.id, "s": user.store_id, "u": user.id, "f": which.value})
    expires = now() + timedelta(seconds=ctx.settings.download_link_seconds)
    record_access(
        ctx, f"{which.value}.link", job.id, store_id=user.store_id, user_id=user.id,
        client=client,
    )  # fmt: skip
    return IssuedLink(token=token, expires_at=expires, filename=download_name(job, which))


def resolve_link(ctx: Context, token: str, *, client: str | None) -> StoredFile:
    """The file a signed link names, audited as downloaded by the user the link was made for.
    A link works, as often as asked, until it expires."""
    try:
        claims = _signer(ctx).loads(token, max_age=ctx.settings.download_link_seconds)
        job_id, store_id, user_id = str(claims["j"]), int(claims["s"]), claims.get("u")
        which = DownloadFile(claims["f"])
    except SignatureExpired:
        raise LinkRefused("This download link has expired; ask for a new one.") from None
    except (BadSignature, KeyError, TypeError, ValueError):
        raise LinkRefused("This download link is not valid.") from None
    with ctx.uow.reading() as conn:
        job = job_rows.get_job(conn, store_id, job_id)
    if job is None:
        raise NotFound("No such file.")
    if job.files_expired_at is not None:
        raise _gone(job)
    key = _stored(job, which)
    if key is None or not ctx.files.exists(key):
        raise NotFound("No such file.")
    link_user = user_id if isinstance(user_id, int) else None
    record_access(
        ctx, f"{which.value}.download", job.id, store_id=store_id, user_id=link_user,
        client=client,
    )  # fmt: skip
    suffix = PurePath(key).suffix
    return StoredFile(key, _MEDIA_TYPES.get(suffix, "text/csv"), download_name(job, which))
