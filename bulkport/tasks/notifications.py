"""Job notifications by webhook: when a job ends, one signed POST of its JSON to the address
the job (or its store) names.

The POST is its own task, sent with the job id only once the job has ended, so a slow or
broken receiver never holds up a job. It is signed by the Standard Webhooks convention
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) with the store's secret,
retried with doubling waits until ``BULKPORT_WEBHOOK_RETRY_SECONDS`` have passed, and its state
is recorded in the job's delivery row. An address on a loopback, private, link-local,
multicast or reserved network is refused when the job is made and again before each POST
(a name may resolve elsewhere later), unless ``BULKPORT_WEBHOOKS_ALLOW_PRIVATE``.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from bulkport.config import Settings
from bulkport.errors import AddressRefused, Conflict
from bulkport.schemas.jobs import JobStatus
from bulkport.storage import job_rows
from bulkport.storage import webhooks as rows
from bulkport.tasks.context import Context

log = logging.getLogger(__name__)
# The longest wait between two attempts.
MAX_BACKOFF_SECONDS = 600
CANNOT_SIGN = "the store has no webhook secret: create one (POST /api/v1/webhooks/secret) first"


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast or address.is_reserved


def check_address(url: str, settings: Settings) -> None:
    """Raise ``AddressRefused`` unless every address ``url``'s host resolves to is public (or
    the settings allow private ones)."""
    if settings.webhooks_allow_private:
        return
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a bracketed host that is no IPv6 address
        raise AddressRefused("notify_url: its host is no name or address") from None
    try:
        found = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise AddressRefused(f"notify_url: the host {host!r} cannot be resolved") from None
    for *_, sockaddr in found:
        if _refused(ipaddress.ip_address(str(sockaddr[0]).split("%")[0])):
            raise AddressRefused(
                f"notify_url: {host!r} is on a loopback, private or reserved network, "
                "which job notifications may not reach"
            )


def check_notify_url(ctx: Context, store_id: int, url: str | None) -> None:
    """The checks made when a job names an address: ``AddressRefused`` unless the rules let
    bulkport reach it, ``Conflict`` while the store has no secret to sign with."""
    if url is None:
        return
    check_address(url, ctx.settings)
    with ctx.engine.connect() as conn:
        if rows.store_settings(conn, store_id).secret is None:
            raise Conflict(f"notify_url: {CANNOT_SIGN}")


def announce(ctx: Context, job_id: str) -> bool:
    """Open the delivery of an ended job that asks for one (its own address, else its
    store's); True when the caller should now send the notification task, False when the job
    is still running, asks for none or was announced already."""
    with ctx.engine.begin() as conn:
        job = job_rows.job_for_worker(conn, job_id)
        if job is None or not job.status.finished:
            return False
        url = job.options.get("notify_url") or rows.store_settings(conn, job.store_id).default_url
        if not url:
            return False
        return rows.open_delivery(conn, job.store_id, job_id, str(url))


def job_body(job: job_rows.Job, settings: Settings) -> dict[str, object]:
    """The job as ``GET /api/v1/jobs/{id}`` shows it, with its links on the public URL."""
    counts = job.counts
    progress = 1.0 if job.status is JobStatus.READY else 0.0
    if counts.total and job.status is not JobStatus.READY:
        progress = round(counts.processed / counts.total, 4)
    base = f"{settings.public_url or ''}/api/v1/jobs/{job.id}"
    moments = {
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "files_expired_at": job.files_expired_at,
    }
    return {
        "id": job.id,
        "kind": job.kind.value,
        "status": job.status.value,
        # A person's address is for bulkport's own message, not for the receiver.
        "options": {k: v for k, v in job.options.items() if k != "notify_email"},
        "counts": counts.model_dump(mode="json"),
        "progress": progress,
        **{name: value.isoformat() if value else None for name, value in moments.items()},
        "error": job.error,
        "mapping": job.mapping,
        "ignored_columns": job.ignored_columns,
        "source": job.source,
        "links": {"self": base, "errors": f"{base}/errors"},
    }


def signed_headers(secret: str, message_id: str, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one POST."""
    moment = datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, moment, body.decode()),
    }


def _post(url: str, secret: str, job: job_rows.Job, settings: Settings) -> str | None:
    """One POST; None when answered 2xx, else why not (never the receiver's body)."""
    body = json.dumps(job_body(job, settings), separators=(",", ":")).encode()
    # The same id on every attempt, so that a receiver can drop a repeat.
    headers = signed_headers(secret, f"job_{job.id}", body)
    try:
        answer = httpx.post(url, content=body, headers=headers, timeout=settings.webhook_timeout)
    except httpx.HTTPError as exc:
        return f"could not be sent ({type(exc).__name__})"
    if 200 <= answer.status_code < 300:
        return None
    return f"answered HTTP {answer.status_code}"


def deliver(ctx: Context, job_id: str, attempt: int) -> float | None:
    """Make attempt ``attempt`` (0 first) of a job's POST; the seconds to wait before the next
    one, or None when the delivery has ended (DELIVERED, or FAILED for good)."""
    with ctx.engine.connect() as conn:
        delivery = rows.delivery_for_worker(conn, job_id)
        job = job_rows.job_for_worker(conn, job_id)
        secret = rows.store_settings(conn, delivery.store_id).secret if delivery else None
    if delivery is None or job is None or delivery.state != rows.PENDING:
        return None
    error: str | None = CANNOT_SIGN
    if secret is not None:
        try:
            check_address(delivery.url, ctx.settings)
            error = _post(delivery.url, secret, job, ctx.settings)
        except AddressRefused as exc:
            _record(ctx, job_id, rows.FAILED, str(exc))
            return None
    if error is None:
        _record(ctx, job_id, rows.DELIVERED, None)
        return None
    wait = float(min(MAX_BACKOFF_SECONDS, 2**attempt))
    deadline = delivery.created_at + timedelta(seconds=ctx.settings.webhook_retry_seconds)
    if secret is None or datetime.now(UTC) + timedelta(seconds=wait) > deadline:
        _record(ctx, job_id, rows.FAILED, error)
        return None
    log.info("job %s: notification not delivered (%s); again in %.0f s", job_id, error, wait)
    _record(ctx, job_id, rows.PENDING, error)
    return wait


def _record(ctx: Context, job_id: str, state: str, error: str | None) -> None:
    """Record one attempt's outcome."""
    with ctx.engine.begin() as conn:
        rows.record_attempt(conn, job_id, state, error)
    if state == rows.FAILED:
        log.warning("job %s: notification failed: %s", job_id, error)
    return
