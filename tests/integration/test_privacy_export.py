"""Privacy exports on SQLite and PostgreSQL: one person's record, sales and history in a zip of
CSV and JSON, nothing about anyone else, through the API, the download link and the CLI."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import update
from support import Queue, bearer, local_files

from bulkport.cli import main
from bulkport.config import get_settings
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage import audit, job_rows
from bulkport.storage.accounts import User
from bulkport.storage.db import now
from bulkport.storage.tables import customers
from bulkport.tasks.context import Context
from bulkport.tasks.privacy_exports import run_privacy_export
from bulkport.tasks.purge import purge_files, traces_of

API = "/api/v1/customers"
JANE = {
    "first_name": "Jane", "last_name": "Quistorp", "email": "jane.quistorp@example.org",
    "phone": "+31 6 9876 5432", "notes": '=HYPERLINK("http://evil.example")',
}  # fmt: skip
BOB = {"first_name": "Bob", "last_name": "Baker", "email": "bob@example.com", "company": "Bakery"}


def create(client: TestClient, auth: dict[str, str], fields: dict[str, Any]) -> int:
    response = client.post(API, headers=auth, json=fields)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def sell(client: TestClient, auth: dict[str, str], customer_id: int, amount: str) -> None:
    response = client.post(
        "/api/v1/sales",
        headers=auth,
        json={"customer_id": customer_id, "amount": amount, "sold_at": "2026-01-02T10:00:00Z"},
    )
    assert response.status_code in (200, 201), response.text


def request_export(client: TestClient, auth: dict[str, str], customer_id: int) -> Any:
    return client.post(f"{API}/{customer_id}/privacy-export", headers=auth)


def download(client: TestClient, auth: dict[str, str], job_id: str) -> Any:
    link = client.get(f"/api/v1/jobs/{job_id}/download-url", headers=auth)
    assert link.status_code == 200, link.text
    response = client.get(link.json()["url"])
    assert response.status_code == 200, response.text
    return link.json()["filename"], response


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.fixture
def store(client: TestClient, auth: dict[str, str]) -> dict[str, int]:
    """Jane with two sales and a duplicate merged into her; Bob with a sale of his own."""
    jane = create(client, auth, JANE)
    bob = create(client, auth, BOB)
    dup = create(
        client, auth, {"first_name": "J.", "email": "jq@example.net", "invoice_city": "Delft"}
    )
    sell(client, auth, jane, "12.50")
    sell(client, auth, jane, "7.25")
    sell(client, auth, bob, "999.99")
    merged = client.post(f"{API}/{jane}/merge", headers=auth, json={"secondary_id": dup})
    assert merged.status_code == 200, merged.text
    return {"jane": jane, "bob": bob, "dup": dup}


def test_a_privacy_export_holds_the_persons_record_sales_and_history_and_nobody_else(
    client: TestClient,
    auth: dict[str, str],
    ctx: Context,
    admin: User,
    queue: Queue,
    store: dict[str, int],
) -> None:
    jane = store["jane"]

    started = request_export(client, auth, jane)
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    assert (queue.kinds, queue.ids) == ([JobKind.PRIVACY_EXPORT], [job_id])
    run_privacy_export(ctx, job_id)
    filename, response = download(client, auth, job_id)

    assert response.headers["content-type"] == "application/zip"
    assert filename.startswith(f"privacy-export-{jane}-") and filename.endswith(".zip")
    files = parts(response.content)
    assert sorted(files) == [
        "customer.csv", "customer.json", "history.csv", "history.json", "sales.csv", "sales.json",
    ]  # fmt: skip
    everything = b"".join(files.values())
    for other in (b"bob@example.com", b"Baker", b"Bakery", b"999.99", b"jq@example.net"):
        assert other not in everything, other
    record = json.loads(files["customer.json"])
    assert (record["id"], record["email"], record["invoice_city"]) == (jane, JANE["email"], "Delft")
    header, row = csv_rows(files["customer.csv"])
    assert header[0] == "Customer Record ID" and row[0] == str(jane)
    assert row[header.index("Notes")] == "'" + JANE["notes"]  # never runs as a formula
    assert sorted(s["amount"] for s in json.loads(files["sales.json"])) == ["12.50", "7.25"]
    assert len(csv_rows(files["sales.csv"])) == 3
    history = json.loads(files["history.json"])
    assert {(e["action"], e["customer_id"], e["other_id"]) for e in history} >= {
        ("created", jane, None),
        ("merged_from", jane, store["dup"]),
        ("merged_into", store["dup"], jane),
    }
    with ctx.engine.connect() as conn:
        job = job_rows.get_job(conn, admin.store_id, job_id)
        events = audit.events(conn, admin.store_id)
    assert job is not None and job.status is JobStatus.READY
    assert job.counts.succeeded == 1 + 2 + len(history)
    requested = [e for e in events if e["action"] == "privacy_export.request"]
    assert [(e["job_id"], e["detail"]) for e in requested] == [(job_id, {"customer_id": jane})]
    assert any(e["action"] == "export.download" and e["job_id"] == job_id for e in events)


def test_another_stores_customer_answers_404_and_a_deleted_one_409(
    client: TestClient, auth: dict[str, str], ctx: Context, store: dict[str, int], queue: Queue
) -> None:
    other = bearer(ctx, "south", "admin@south.example")
    assert request_export(client, other, store["jane"]).status_code == 404
    assert request_export(client, auth, 10**9).status_code == 404
    with ctx.engine.begin() as conn:
        conn.execute(
            update(customers).where(customers.c.id == store["bob"]).values(deleted_at=now())
        )
    assert request_export(client, auth, store["bob"]).status_code == 409
    assert queue.ids == []


def test_a_customer_deleted_before_the_job_runs_ends_it_failed_without_a_file(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User, store: dict[str, int]
) -> None:
    job_id = request_export(client, auth, store["bob"]).json()["id"]
    with ctx.engine.begin() as conn:
        conn.execute(
            update(customers).where(customers.c.id == store["bob"]).values(deleted_at=now())
        )

    run_privacy_export(ctx, job_id)

    with ctx.engine.connect() as conn:
        job = job_rows.get_job(conn, admin.store_id, job_id)
    assert job is not None and job.status is JobStatus.FAILED and job.output_file is None
    assert "deleted" in (job.error or "")


def test_deleting_the_person_deletes_their_privacy_export_and_keeps_the_others(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User, store: dict[str, int]
) -> None:
    exports = {}
    for name in ("jane", "bob"):
        exports[name] = request_export(client, auth, store[name]).json()["id"]
        run_privacy_export(ctx, exports[name])
    with ctx.engine.connect() as conn:
        traces = traces_of(conn, admin.store_id, [store["jane"]])

    changed = purge_files(ctx, admin.store_id, traces, job_id="d" * 32, user_id=admin.id)

    assert changed == 1
    with ctx.engine.connect() as conn:
        jane_job = job_rows.get_job(conn, admin.store_id, exports["jane"])
        bob_job = job_rows.get_job(conn, admin.store_id, exports["bob"])
    assert jane_job is not None and jane_job.output_file is None
    assert jane_job.files_expired_at is not None
    assert not (local_files(ctx).root / "jobs" / exports["jane"] / "privacy-export.zip").exists()
    assert bob_job is not None and bob_job.output_file is not None
    assert ctx.files.exists(bob_job.output_file)


@pytest.fixture
def cli(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The `bulkport` command on the database and file store under test."""
    monkeypatch.setenv("BULKPORT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BULKPORT_HOME", str(settings.home))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_the_cli_runs_a_privacy_export_inline_and_saves_the_zip(
    cli: CliRunner, store: dict[str, int], tmp_path: Path
) -> None:
    target = tmp_path / "jane.zip"
    result = cli.invoke(
        main,
        ["privacy-export", str(store["jane"]), "--inline", "--output", str(target)],
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    record = json.loads(parts(target.read_bytes())["customer.json"])
    assert record["email"] == JANE["email"]
    missing = cli.invoke(main, ["privacy-export", "999999", "--inline"])
    assert missing.exit_code != 0 and "no customer 999999" in missing.output
