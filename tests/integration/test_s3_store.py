"""bulkport on an S3 file store: readiness and uploads say plainly what is wrong with S3, and
jobs run by a worker on another home (no shared disk) import, export and download through S3."""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi.testclient import TestClient
from support import (
    Queue,
    bearer,
    csv_text,
    moto_server,
    new_bucket,
    s3_client,
    s3_env,
    s3_settings,
    served,
    start_worker,
    wait_finished,
    worker_env,
)

from bulkport.app import create_app
from bulkport.config import Settings
from bulkport.schemas.accounts import Role
from bulkport.schemas.jobs import JobStatus
from bulkport.storage import accounts, audit
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.worker.app import TASKS, broker_ready

HEADER = ["First Name", "Last Name", "Email"]


def readyz(settings: Settings) -> httpx.Response:
    with TestClient(create_app(settings, enqueue=Queue(), broker_check=broker_ready)) as client:
        response: httpx.Response = client.get("/readyz")
    return response


def upload(settings: Settings) -> httpx.Response:
    with TestClient(create_app(settings, enqueue=Queue())) as client:
        ctx: Context = client.app.state.context  # type: ignore[attr-defined]
        with ctx.engine.begin() as conn:
            store_id = accounts.ensure_store(conn, "north")
            accounts.ensure_user(conn, store_id, "admin@north.example", Role.ADMIN)
        headers = bearer(ctx, "north", "admin@north.example")
        content = csv_text([HEADER, ["Ann", "Lee", "ann@example.com"]])
        answer: httpx.Response = client.post(
            "/api/v1/imports", headers=headers, files={"file": ("shop.csv", content, "text/csv")}
        )
    return answer


def assert_names_s3(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["failing"] == ["files"]
    assert response.json()["files"] == reason
    assert "testing" not in response.text  # never a key


def test_readyz_is_ready_on_a_working_bucket(s3_settings: Settings) -> None:
    response = readyz(s3_settings)
    assert response.status_code == 200, response.text
    assert response.json()["files"] == "ok"


def test_readyz_names_s3_when_its_server_has_stopped(settings: Settings) -> None:
    with moto_server() as endpoint:
        bucket = new_bucket(endpoint)
    stopped = s3_settings(settings, endpoint, bucket)
    assert_names_s3(readyz(stopped), "S3 endpoint unreachable")
    answer = upload(stopped)
    assert answer.status_code == 503, answer.text
    assert "S3 endpoint unreachable" in answer.json()["detail"]
    assert answer.headers["retry-after"] == "30"


def test_readyz_and_uploads_say_the_bucket_does_not_exist(
    settings: Settings, s3_endpoint: str
) -> None:
    missing = s3_settings(settings, s3_endpoint, "no-such-bucket")
    assert_names_s3(readyz(missing), "S3 bucket 'no-such-bucket' does not exist")
    answer = upload(missing)
    assert answer.status_code == 503, answer.text
    assert "S3 bucket 'no-such-bucket' does not exist" in answer.json()["detail"]


def test_readyz_and_uploads_say_s3_refused_the_credentials(settings: Settings) -> None:
    with moto_server(check_credentials=True) as endpoint:
        refused = s3_settings(settings, endpoint, "bulkport-files")
        assert_names_s3(readyz(refused), "S3 refused the credentials")
        answer = upload(refused)
    assert answer.status_code == 503, answer.text
    assert "S3 refused the credentials" in answer.json()["detail"]


def test_the_upload_page_answers_503_with_the_reason_on_a_missing_bucket(
    settings: Settings, s3_endpoint: str, admin: User, ctx: Context
) -> None:
    import re

    password = "a long enough password"
    with ctx.engine.begin() as conn:
        accounts.set_password(conn, admin.id, password)
    missing = s3_settings(settings, s3_endpoint, "no-such-bucket")
    with TestClient(create_app(missing, enqueue=Queue())) as client:

        def csrf(path: str) -> str:
            found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
            assert found
            return found.group(1)

        form = {"email": admin.email, "password": password, "csrf": csrf("/sign-in")}
        assert client.post("/sign-in", data=form, follow_redirects=False).status_code == 303
        page = client.post(
            "/imports/new",
            data={"csrf": csrf("/imports/new"), "mode": "create"},
            files={"file": ("shop.csv", b"Email\nann@example.com\n", "text/csv")},
        )
    assert page.status_code == 503
    assert "text/html" in page.headers["content-type"]
    assert "S3 bucket &#39;no-such-bucket&#39; does not exist" in page.text


@pytest.fixture
def s3_worker(
    s3_ctx: Context, redis_url: str, tmp_path: Path, admin: User
) -> Iterator[tuple[str, Path]]:
    """A worker on a home of its own, sharing only the database, Redis and the bucket."""
    queue = f"bulkport-s3-{tmp_path.name}"
    worker_home = tmp_path / "worker-home"
    env = worker_env(s3_ctx, redis_url, **s3_env(s3_ctx.settings))
    env.update(BULKPORT_HOME=str(worker_home), BULKPORT_FILES_DIR=str(worker_home / "files"))
    argv = [
        sys.executable, "-m", "celery", "-A", "bulkport.worker.app", "worker", "--pool=solo",
        "-Q", queue, "--without-mingle", "--without-gossip", "--loglevel=INFO",
    ]  # fmt: skip
    process = start_worker(argv, env, tmp_path / "worker.log")
    yield queue, worker_home
    process.terminate()
    process.wait(30)


def test_an_import_and_an_export_run_on_a_worker_through_s3_and_download_by_redirect(
    s3_ctx: Context, admin: User, s3_worker: tuple[str, Path]
) -> None:
    worker_queue, worker_home = s3_worker
    queue = Queue()
    people = [[f"P{n}", "Lee", f"p{n}@example.com"] for n in range(120)]
    with TestClient(create_app(s3_ctx.settings, enqueue=queue)) as client:
        auth = bearer(s3_ctx, "north", admin.email)
        content = csv_text([HEADER, *people, ["Bad", "Row", "bad@@example"]])
        sent = client.post(
            "/api/v1/imports", headers=auth, files={"file": ("shop.csv", content, "text/csv")}
        )
        assert sent.status_code == 202, sent.text
        import_id = sent.json()["id"]
        TASKS[queue.kinds[-1]].apply_async(args=(import_id,), queue=worker_queue)
        imported = wait_finished(s3_ctx, admin, import_id)
        assert imported.status is JobStatus.READY, imported.error
        assert (imported.counts.created, imported.counts.failed) == (120, 1)

        ordered = client.post("/api/v1/exports", headers=auth, json={"format": "csv"})
        assert ordered.status_code == 202, ordered.text
        export_id = ordered.json()["id"]
        TASKS[queue.kinds[-1]].apply_async(args=(export_id,), queue=worker_queue)
        exported = wait_finished(s3_ctx, admin, export_id)
        assert exported.status is JobStatus.READY, exported.error

        link = client.get(f"/api/v1/jobs/{export_id}/download-url", headers=auth).json()
        redirect = client.get(link["url"], follow_redirects=False)
        assert redirect.status_code == 307
        assert redirect.headers["cache-control"] == "no-store"
        report = client.get(
            f"/api/v1/jobs/{import_id}/report", headers=auth, follow_redirects=False
        )
        assert report.status_code == 307
    # The presigned URL goes to S3 itself, not through the API.
    location = redirect.headers["location"]
    assert location.startswith(s3_ctx.settings.s3_endpoint_url or "")
    body = httpx.get(location)
    assert body.status_code == 200
    assert link["filename"] in body.headers["content-disposition"]
    lines = body.text.splitlines()
    assert len(lines) == 121 and "p7@example.com" in body.text
    assert "bad@@example" in httpx.get(report.headers["location"]).text
    with s3_ctx.engine.connect() as conn:
        actions = [e["action"] for e in audit.events(conn, admin.store_id)]
    assert actions[:2] == ["report.download", "export.download"]
    # The job files are in the bucket; neither home holds any of them.
    bucket, prefix = s3_ctx.settings.s3_location.bucket, "files/jobs/"  # type: ignore[union-attr]
    client_s3 = s3_client(s3_ctx.settings.s3_endpoint_url or "")
    stored = [o["Key"] for o in client_s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert f"{prefix}{import_id}/upload" in stored
    assert exported.output_file and f"files/{exported.output_file}" in stored
    for home in (s3_ctx.settings.home, worker_home):
        assert not [p for p in (home / "files").rglob("*") if p.is_file()]
        assert not [p for p in (home / "scratch").rglob("*") if p.is_file()]


def test_expiry_deletes_the_jobs_objects_and_stray_previews_from_the_bucket(
    s3_ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from support import import_now

    from bulkport.schemas.exports import ExportRequest
    from bulkport.storage.db import now
    from bulkport.tasks import retention
    from bulkport.tasks.exports import run_export, submit_export
    from bulkport.tasks.retention import PREVIEW_SECONDS, expire_files

    people = [[f"P{n}", "Lee", f"p{n}@example.com"] for n in range(60)]
    imported = import_now(s3_ctx, admin, csv_text([HEADER, *people, ["X", "Y", "x@@"]]))
    assert imported.status is JobStatus.READY and imported.report_file
    export_id = submit_export(
        s3_ctx, store_id=admin.store_id, user_id=admin.id, request=ExportRequest(), queue=False
    )
    run_export(s3_ctx, export_id)
    with s3_ctx.files.writer("previews/left-by-a-crash/upload") as out:
        out.write(b"Email\n")
    bucket = s3_ctx.settings.s3_location.bucket  # type: ignore[union-attr]
    client = s3_client(s3_ctx.settings.s3_endpoint_url or "")

    def stored() -> list[str]:
        return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]

    assert len([key for key in stored() if key.startswith("files/jobs/")]) == 3
    assert expire_files(s3_ctx, now()) == 0
    assert stored() != []
    # The preview sweep reads the clock itself.
    later = time.time() + PREVIEW_SECONDS + 60
    monkeypatch.setattr(retention, "time", SimpleNamespace(time=lambda: later))
    assert expire_files(s3_ctx, now() + timedelta(days=8)) == 2
    assert stored() == []


def test_a_job_whose_store_stops_answering_fails_saying_so(s3_ctx: Context, admin: User) -> None:
    from support import stage_import

    from bulkport.tasks.imports import run_import

    job_id = stage_import(s3_ctx, admin, csv_text([HEADER, ["Ann", "Lee", "ann@example.com"]]))
    with moto_server() as endpoint:
        pass  # stopped: its port no longer answers
    cut_off = s3_ctx.settings.model_copy(update={"s3_endpoint_url": endpoint})
    worker_ctx = Context.from_settings(cut_off)
    try:
        run_import(worker_ctx, job_id)
    finally:
        worker_ctx.close()
    job = wait_finished(s3_ctx, admin, job_id, seconds=1)
    assert job.status is JobStatus.FAILED
    assert job.error == (
        "The job's files could not be stored or read (S3 endpoint unreachable); run it again later."
    )


def test_an_http_upload_streams_into_the_bucket_without_being_held_in_memory(
    s3_ctx: Context, admin: User
) -> None:
    """64 MB sent as a chunked form: the API parses it as it arrives, spools it to a local file
    and sends it to S3 in parts; Python (client, server and store) never holds it whole."""
    mb = 1024 * 1024
    row = b"Ann,Lee,ann@example.com\n"
    block = row * (mb // len(row))
    boundary = "bulkport-test-boundary"

    def form() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        yield b"First Name,Last Name,Email\n"
        for _ in range(64):
            yield block
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {
        **bearer(s3_ctx, "north", admin.email),
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    with served(s3_ctx.settings) as base:
        tracemalloc.start()
        try:
            answer = httpx.post(
                f"{base}/api/v1/imports", headers=headers, content=form(), timeout=120
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    assert s3_ctx.files.size(f"jobs/{job_id}/upload") == 27 + 64 * len(block)
    assert peak < 16 * mb, f"the upload held {peak / mb:.1f} MB"
