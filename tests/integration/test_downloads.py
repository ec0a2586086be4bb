"""Exports over HTTP, signed download links, and retention of files, on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from support import Queue, bearer, csv_text, import_now, local_files

from bulkport.app import create_app
from bulkport.config import Settings
from bulkport.schemas.accounts import Role
from bulkport.storage import accounts, audit
from bulkport.storage.accounts import User
from bulkport.storage.db import now
from bulkport.tasks.context import Context
from bulkport.tasks.exports import run_export
from bulkport.tasks.imports import run_import
from bulkport.tasks.retention import expire_files

PEOPLE = csv_text([["First Name", "Email"], ["Ann", "ann@example.com"], ["Bob", "bob@example.com"]])


@pytest.fixture
def sent(queue: Queue) -> list[str]:
    return queue.ids


def ready_export(
    client: TestClient, auth: dict[str, str], ctx: Context, body: dict[str, Any]
) -> dict[str, Any]:
    response = client.post("/api/v1/exports", headers=auth, json=body)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    assert (job["kind"], job["status"]) == ("export", "QUEUED")
    run_export(ctx, job["id"])
    done: dict[str, Any] = client.get(f"/api/v1/jobs/{job['id']}", headers=auth).json()
    assert done["status"] == "READY"
    return done


def test_an_export_is_downloaded_through_a_signed_link_and_audited(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User, sent: list[str]
) -> None:
    import_now(ctx, admin, PEOPLE)
    job = ready_export(client, auth, ctx, {"format": "xlsx", "columns": ["Email"]})
    assert sent == [job["id"]]
    assert job["counts"]["succeeded"] == 2
    link = client.get(job["links"]["download_url"], headers=auth).json()
    assert link["filename"].startswith("customers-") and link["filename"].endswith(".xlsx")
    response = client.get(link["url"])  # no token needed: the link is the permission
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert link["filename"] in response.headers["content-disposition"]
    assert response.content.startswith(b"PK")
    with ctx.engine.connect() as conn:
        actions = [e["action"] for e in audit.events(conn, admin.store_id)]
    assert actions[0] == "export.download"
    assert "export.request" in actions


def test_tampered_expired_and_other_store_links_are_refused(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User, settings: Settings,
    sent: list[str],
) -> None:  # fmt: skip
    import_now(ctx, admin, PEOPLE)
    job = ready_export(client, auth, ctx, {})
    url = client.get(job["links"]["download_url"], headers=auth).json()["url"]
    token = url.rsplit("/", 1)[1]
    tampered = url[:-3] + ("aaa" if not url.endswith("aaa") else "bbb")
    assert client.get(tampered).status_code == 403
    signer = URLSafeTimedSerializer(settings.secret(), salt="bulkport.download")
    with ctx.engine.begin() as conn:
        south = accounts.ensure_store(conn, "south")
    other = signer.dumps({"j": job["id"], "s": south, "u": None, "f": "export"})
    assert client.get(f"/api/v1/downloads/{other}").status_code == 404
    stranger = bearer(ctx, "south", "x@south.example", Role.STAFF)
    assert client.get(job["links"]["download_url"], headers=stranger).status_code == 404
    short = settings.model_copy(update={"download_link_seconds": 10})
    with TestClient(create_app(short, enqueue=Queue())) as later:
        import time

        real = time.time
        try:
            time.time = lambda: real() + 60
            expired = later.get(f"/api/v1/downloads/{token}")
        finally:
            time.time = real
    assert expired.status_code == 403
    assert "expired" in expired.json()["detail"]


def test_files_past_their_time_are_deleted_and_downloads_answer_410(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User, sent: list[str]
) -> None:
    import_now(ctx, admin, PEOPLE)
    job = ready_export(client, auth, ctx, {})
    link = client.get(job["links"]["download_url"], headers=auth).json()["url"]
    assert expire_files(ctx, now()) == 0  # a fresh export stays
    assert expire_files(ctx, now() + timedelta(days=8)) >= 1
    assert not (local_files(ctx).root / "jobs" / job["id"]).exists()
    gone = client.get(link)
    assert gone.status_code == 410
    assert "deleted" in gone.json()["detail"]
    assert client.get(f"/api/v1/jobs/{job['id']}/download-url", headers=auth).status_code == 410
    view = client.get(f"/api/v1/jobs/{job['id']}", headers=auth).json()
    assert view["files_expired_at"] is not None and "download_url" not in view["links"]
    assert expire_files(ctx, now() + timedelta(days=9)) == 0  # once only


def test_unfinished_jobs_keep_their_files(ctx: Context, admin: User) -> None:
    from support import stage_import

    job_id = stage_import(ctx, admin, PEOPLE)  # QUEUED: its upload must stay
    assert expire_files(ctx, now() + timedelta(days=30)) == 0
    assert (local_files(ctx).root / "jobs" / job_id / "upload").is_file()


def test_an_import_can_back_up_the_customers_first(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User, sent: list[str]
) -> None:
    import_now(ctx, admin, PEOPLE)
    changed = csv_text([["Email", "First Name"], ["ann@example.com", "Annie"]])
    response = client.post(
        "/api/v1/imports", headers=auth, files={"file": ("c.csv", changed)},
        data={"backup": "true"},
    )  # fmt: skip
    job_id = response.json()["id"]
    run_import(ctx, job_id)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=auth).json()
    assert job["counts"]["updated"] == 1
    backup = client.get(job["links"]["backup"], headers=auth).json()
    assert (backup["kind"], backup["status"]) == ("export", "READY")
    assert backup["options"]["purpose"] == f"Backup before import {job_id}"
    link = client.get(backup["links"]["download_url"], headers=auth).json()["url"]
    text = client.get(link).content.decode("utf-8-sig")
    assert "Ann," in text and "Annie" not in text  # taken before the import changed Ann


def test_report_downloads_also_go_through_signed_links(
    client: TestClient, auth: dict[str, str], ctx: Context, sent: list[str]
) -> None:
    bad = csv_text([["Email"], ["broken@"]])
    job_id = client.post("/api/v1/imports", headers=auth, files={"file": ("shop.csv", bad)}).json()[
        "id"
    ]
    run_import(ctx, job_id)
    link = client.get(f"/api/v1/jobs/{job_id}/download-url", headers=auth).json()
    assert link["filename"] == "shop-errors.csv"
    assert "broken@" in client.get(link["url"]).text
    missing = client.get(f"/api/v1/jobs/{job_id}/download-url?file=export", headers=auth)
    assert missing.status_code == 404


def test_bad_export_requests_get_422(client: TestClient, auth: dict[str, str]) -> None:
    for body in (
        {"format": "pdf"},
        {"columns": ["Shoe Size"]},
        {"filters": {"archived": "sometimes"}},
        {"filters": {"colour": "red"}},
    ):
        assert client.post("/api/v1/exports", headers=auth, json=body).status_code == 422, body


def test_links_come_from_the_public_url_never_from_the_host_header(
    settings: Settings, ctx: Context, admin: User, auth: dict[str, str], sent: list[str]
) -> None:
    import_now(ctx, admin, PEOPLE)
    public = settings.model_copy(update={"public_url": "https://bulkport.example.com"})
    hostile = {**auth, "Host": "attacker.example", "X-Forwarded-Host": "attacker.example"}
    with TestClient(create_app(public, enqueue=Queue())) as client:
        job = client.post("/api/v1/exports", headers=hostile, json={}).json()
        run_export(ctx, job["id"])
        job = client.get(f"/api/v1/jobs/{job['id']}", headers=hostile).json()
        link = client.get(job["links"]["download_url"], headers=hostile).json()
    urls = [*job["links"].values(), link["url"]]
    assert all(url.startswith("https://bulkport.example.com/api/v1/") for url in urls), urls
    with TestClient(create_app(settings, enqueue=Queue())) as client:  # no public URL: paths
        job = client.get(f"/api/v1/jobs/{job['id']}", headers=hostile).json()
        link = client.get(job["links"]["download_url"], headers=hostile).json()
    urls = [*job["links"].values(), link["url"]]
    assert all(url.startswith("/api/v1/") for url in urls), urls


def test_links_downloads_and_error_reads_are_audited_with_user_and_client(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User, sent: list[str]
) -> None:
    bad = csv_text([["Email"], ["broken@"]])
    job_id = client.post("/api/v1/imports", headers=auth, files={"file": ("shop.csv", bad)}).json()[
        "id"
    ]
    run_import(ctx, job_id)
    assert client.get(f"/api/v1/jobs/{job_id}/errors", headers=auth).status_code == 200
    link = client.get(f"/api/v1/jobs/{job_id}/download-url", headers=auth).json()
    assert client.get(link["url"]).status_code == 200
    with ctx.engine.connect() as conn:
        events = audit.events(conn, admin.store_id)
    seen = {e["action"]: e for e in events}
    for action in ("errors.read", "report.link", "report.download"):
        assert seen[action]["user_id"] == admin.id, action
        assert seen[action]["job_id"] == job_id, action
        assert seen[action]["detail"] == {"client": "testclient"}, action


@pytest.mark.parametrize(
    ("uploaded", "shown"),
    [
        ("\u202eslx.csv", "slx-errors.csv"),  # a right-to-left override would show "vsc.xls"
        ("shop\x00\x1b[31m.csv", "shop[31m-errors.csv"),
        ("..\\..\\a;b<c>.csv", "a_b_c_-errors.csv"),
    ],
)
def test_downloads_are_attachments_with_a_safe_name(
    client: TestClient,
    auth: dict[str, str],
    ctx: Context,
    sent: list[str],
    uploaded: str,
    shown: str,
) -> None:
    body = (
        f'--b\r\nContent-Disposition: form-data; name="file"; filename="{uploaded}"\r\n\r\n'
        + csv_text([["Email"], ["broken@"]])
        + "\r\n--b--\r\n"
    ).encode()  # as written: a client library would percent-encode the name
    headers = {**auth, "Content-Type": "multipart/form-data; boundary=b"}
    job = client.post("/api/v1/imports", headers=headers, content=body).json()
    assert job["options"]["filename"] == shown.replace("-errors", "")
    run_import(ctx, job["id"])
    for response in (
        client.get(
            client.get(f"/api/v1/jobs/{job['id']}/download-url", headers=auth).json()["url"]
        ),
        client.get(f"/api/v1/jobs/{job['id']}/report", headers=auth),
    ):
        assert response.status_code == 200
        kind, name = response.headers["content-disposition"].split("; ", 1)
        assert kind == "attachment"
        assert name in (f'filename="{shown}"', f"filename*=utf-8''{quote(shown)}")
