"""The HTTP API in-process on both databases; jobs are run inline where the worker would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from support import Queue, bearer, count_customers, csv_text, local_files

from bulkport.app import create_app
from bulkport.config import Settings
from bulkport.schemas.accounts import Role
from bulkport.schemas.jobs import JobStatus
from bulkport.storage import audit
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.imports import run_import

CSV = csv_text([["First Name", "Email"], ["Ann", "ann@example.com"], ["Bob", "bob@"]])


@pytest.fixture
def queued(queue: Queue) -> list[str]:
    """Job ids sent to the queue; the jobs are not run."""
    return queue.ids


def upload(
    client: TestClient, auth: dict[str, str], content: str | bytes = CSV, **form: str
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/imports",
        headers=auth,
        files={"file": ("../../etc/customers.csv", content, "text/csv")},
        data=form,
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def test_upload_answers_202_with_a_queued_job_and_sends_only_its_id(
    client: TestClient, auth: dict[str, str], queued: list[str], ctx: Context
) -> None:
    job = upload(client, auth, mode="update", dry_run="true")
    assert job["status"] == "QUEUED"
    assert queued == [job["id"]]
    assert job["options"] == {
        "mode": "update",
        "dry_run": True,
        "blank_cells": "keep",
        "filename": "customers.csv",  # the folders of the name are dropped
        "backup": False,
    }
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=auth).json()["status"] == "QUEUED"


def test_a_finished_job_shows_counts_errors_and_its_report(
    client: TestClient, auth: dict[str, str], queued: list[str], ctx: Context, admin: User
) -> None:
    job_id = str(upload(client, auth)["id"])
    run_import(ctx, job_id)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=auth).json()
    assert job["status"] == "READY"
    assert job["counts"] == {
        "total": 2, "processed": 2, "succeeded": 1, "failed": 1, "skipped": 0,
        "created": 1, "updated": 0, "unchanged": 0, "unprocessed": 0,
    }  # fmt: skip
    assert job["progress"] == 1.0
    errors = client.get(job["links"]["errors"], headers=auth).json()
    assert errors == [
        {
            "row": 3,
            "column": "Email",
            "field": "email",
            "code": "invalid_email",
            "message": "'bob@' is not a valid email address.",
            "value": "bob@",
        }
    ]
    report = client.get(job["links"]["report"], headers=auth)
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert 'filename="customers-errors.csv"' in report.headers["content-disposition"]
    assert report.text.splitlines() == [
        "First Name,Email,Row,Errors",
        "Bob,bob@,3,Email: 'bob@' is not a valid email address.",
    ]
    with ctx.engine.connect() as conn:
        actions = [e["action"] for e in audit.events(conn, admin.store_id)]
    assert actions == ["report.download", "errors.read", "import.upload"]


def test_job_list_is_newest_first_and_filters_by_status(
    client: TestClient, auth: dict[str, str], queued: list[str], ctx: Context
) -> None:
    first = upload(client, auth)["id"]
    second = upload(client, auth)["id"]
    run_import(ctx, str(first))
    listed = client.get("/api/v1/jobs", headers=auth).json()
    assert [j["id"] for j in listed] == [second, first]
    ready = client.get("/api/v1/jobs", params={"status": "READY"}, headers=auth).json()
    assert [j["id"] for j in ready] == [first]
    assert client.get("/api/v1/jobs", params={"status": "DONE"}, headers=auth).status_code == 422


def test_errors_are_paged(
    client: TestClient, auth: dict[str, str], queued: list[str], ctx: Context
) -> None:
    bad = csv_text([["Email"], *([f"bad{i}@"] for i in range(30))])
    job_id = str(upload(client, auth, bad)["id"])
    run_import(ctx, job_id)
    page = client.get(
        f"/api/v1/jobs/{job_id}/errors", params={"offset": 10, "limit": 5}, headers=auth
    ).json()
    assert [e["row"] for e in page] == [12, 13, 14, 15, 16]


def test_another_stores_job_is_not_found(
    client: TestClient, auth: dict[str, str], queued: list[str], ctx: Context
) -> None:
    job_id = upload(client, auth)["id"]
    stranger = bearer(ctx, "south", "someone@south.example")
    for path in ("", "/errors", "/report"):
        response = client.get(f"/api/v1/jobs/{job_id}{path}", headers=stranger)
        assert response.status_code == 404, path
    assert client.get("/api/v1/jobs", headers=stranger).json() == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer bp_not-a-token"}, {"Authorization": "Basic YTpi"}],
)
def test_requests_without_a_valid_token_are_refused(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.get("/api/v1/jobs", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_uploads_over_the_limit_are_refused_and_leave_nothing(
    settings: Settings, ctx: Context, auth: dict[str, str], queue: Queue
) -> None:
    queued = queue.ids
    small = settings.model_copy(update={"max_upload_bytes": 1000})
    with TestClient(create_app(small, enqueue=queue)) as client:
        big = "First Name\r\n" + "x\r\n" * 600
        response = client.post("/api/v1/imports", headers=auth, files={"file": ("a.csv", big)})
        assert response.status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
            for _ in range(100):
                yield b"First Name\r\n" * 10
            yield b"\r\n--b--\r\n"

        response = client.post(
            "/api/v1/imports",
            headers={**auth, "Content-Type": "multipart/form-data; boundary=b"},
            content=chunks(),
        )
        assert response.status_code == 413
    assert queued == []
    assert not any(p.is_file() for p in local_files(ctx).root.rglob("*"))


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": {"mode": "upsert"}}, 422),  # no file field
        ({"files": {"file": ("a.csv", CSV)}, "data": {"mode": "merge"}}, 422),
        ({"json": {"file": "x"}}, 415),
    ],
)
def test_malformed_uploads_get_a_4xx_with_a_reason(
    client: TestClient,
    auth: dict[str, str],
    queued: list[str],
    kwargs: dict[str, Any],
    status: int,
) -> None:
    if "data" in kwargs and "files" not in kwargs:
        kwargs = {**kwargs, "files": {"other": ("a.csv", CSV)}}
    response = client.post("/api/v1/imports", headers=auth, **kwargs)
    assert response.status_code == status
    assert response.json()["detail"]
    assert queued == []


def test_a_file_that_is_no_csv_becomes_a_failed_job_with_the_reason(
    client: TestClient, auth: dict[str, str], queued: list[str]
) -> None:
    job = upload(client, auth, b"%PDF-1.7\n\x00\x01binary")
    assert job["status"] == "FAILED"
    assert "PDF" in str(job["error"])
    assert queued == []


def test_the_same_idempotency_key_returns_the_same_job(
    client: TestClient, auth: dict[str, str], queued: list[str]
) -> None:
    keyed = {**auth, "Idempotency-Key": "upload-42"}
    first = upload(client, keyed)
    second = upload(client, keyed)
    assert first["id"] == second["id"]
    assert queued == [first["id"]]


def test_an_unreachable_queue_answers_503_and_fails_the_job(
    client: TestClient, auth: dict[str, str], queue: Queue
) -> None:
    queue.down = True
    response = client.post("/api/v1/imports", headers=auth, files={"file": ("a.csv", CSV)})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    jobs = client.get("/api/v1/jobs", headers=auth).json()
    assert [j["status"] for j in jobs] == ["FAILED"]
    assert "could not be reached" in jobs[0]["error"]


def test_staff_may_import(client: TestClient, ctx: Context, queued: list[str]) -> None:
    staff = bearer(ctx, "north", "clerk@north.example", Role.STAFF)
    assert upload(client, staff)["status"] == "QUEUED"


def test_health_and_docs_answer(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert (
        "multipart/form-data"
        in schema["paths"]["/api/v1/imports"]["post"]["requestBody"]["content"]
    )


def test_preview_shows_what_was_found_and_what_the_first_rows_would_do(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User
) -> None:
    run_import(ctx, str(upload(client, auth, csv_text([["Email"], ["ann@example.com"]]))["id"]))
    content = (
        "Klanten van Café De Jong\r\n\r\nVoornaam;E-mail;Kleur\r\n"
        + "".join(f"N{i};n{i}@example.com;blauw\r\n" for i in range(30))
        + "Ann;ANN@example.com;rood\r\nBob;bob@;groen\r\n"
    )
    response = client.post(
        "/api/v1/imports/preview",
        headers=auth,
        files={"file": ("klanten.csv", content.encode("cp1252"))},
    )
    assert response.status_code == 200, response.text
    found = response.json()
    assert (found["format"], found["encoding"], found["delimiter"]) == ("csv", "cp1252", ";")
    assert found["header_row"] == 3
    assert found["mapping"] == {"Voornaam": "First Name", "E-mail": "Email"}
    assert found["ignored_columns"] == ["Kleur"]
    assert [c["field"] for c in found["columns"]] == ["first_name", "email", None]
    assert len(found["rows"]) == 20
    assert found["rows"][0] == {
        "row": 4, "cells": ["N0", "n0@example.com", "blauw"], "outcome": "created", "errors": []
    }  # fmt: skip
    assert any(f["label"] == "Shipping City" for f in found["fields"])
    with ctx.engine.connect() as conn:
        assert stored_count(conn, admin) == 1  # the preview wrote nothing
    assert not any(local_files(ctx).root.glob("previews/*"))


def stored_count(conn: Connection, admin: User) -> int:
    return count_customers(conn, admin.store_id)


def test_preview_of_an_unreadable_file_answers_with_the_reason_as_what_was_found(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/imports/preview", headers=auth, files={"file": ("x.csv", b"Colour\r\nred\r\n")}
    )
    assert response.status_code == 200  # the request was right; the file is what it is
    assert list(response.json()) == ["problem"]
    assert "No column of the header row matches" in response.json()["problem"]


def test_a_dry_run_commits_with_the_same_file_and_options(
    client: TestClient, auth: dict[str, str], queued: list[str], ctx: Context, admin: User
) -> None:
    mapping = '{"Naam": "Last Name"}'
    content = csv_text([["Naam", "Email"], ["Jansen", "j@example.com"], ["Bad", "bad@"]])
    dry = upload(client, auth, content, dry_run="true", mapping=mapping)
    run_import(ctx, str(dry["id"]))
    dry = client.get(f"/api/v1/jobs/{dry['id']}", headers=auth).json()
    assert dry["links"]["commit"].endswith(f"/api/v1/imports/{dry['id']}/commit")
    committed = client.post(dry["links"]["commit"], headers=auth)
    assert committed.status_code == 202
    real = committed.json()
    assert real["options"]["dry_run"] is False
    assert real["options"]["mapping"] == {"Naam": "Last Name"}
    assert client.post(dry["links"]["commit"], headers=auth).json()["id"] == real["id"]
    run_import(ctx, str(real["id"]))
    done = client.get(f"/api/v1/jobs/{real['id']}", headers=auth).json()
    assert done["counts"] == dry["counts"]
    with ctx.engine.connect() as conn:
        assert stored_count(conn, admin) == 1
    not_dry = client.post(f"/api/v1/imports/{real['id']}/commit", headers=auth)
    assert not_dry.status_code == 409


def test_saved_mappings_are_stored_per_store_and_used_by_name(
    client: TestClient, auth: dict[str, str], queued: list[str], ctx: Context
) -> None:
    body = {"columns": {"Naam": "Last Name", "Mail": "email", "Kleur": None}}
    created = client.put("/api/v1/mappings/old shop", headers=auth, json=body)
    assert created.status_code == 201
    assert created.json()["columns"] == {"Naam": "last_name", "Mail": "email", "Kleur": None}
    assert client.put("/api/v1/mappings/old shop", headers=auth, json=body).status_code == 200
    bad = client.put("/api/v1/mappings/x", headers=auth, json={"columns": {"A": "Shoe Size"}})
    assert bad.status_code == 422
    assert [m["name"] for m in client.get("/api/v1/mappings", headers=auth).json()] == ["old shop"]
    stranger = bearer(ctx, "south", "someone@south.example")
    assert client.get("/api/v1/mappings/old shop", headers=stranger).status_code == 404

    job = upload(
        client, auth, csv_text([["Naam", "Mail"], ["Jansen", "j@example.com"]]),
        mapping_name="old shop",
    )  # fmt: skip
    assert job["options"]["mapping"] == {"Naam": "last_name", "Mail": "email", "Kleur": ""}
    run_import(ctx, str(job["id"]))
    done = client.get(f"/api/v1/jobs/{job['id']}", headers=auth).json()
    assert done["counts"]["created"] == 1
    missing = client.post(
        "/api/v1/imports", headers=auth, files={"file": ("a.csv", CSV)},
        data={"mapping_name": "nope"},
    )  # fmt: skip
    assert missing.status_code == 404  # like any other thing the store does not have
    assert client.delete("/api/v1/mappings/old shop", headers=auth).status_code == 204
    assert client.delete("/api/v1/mappings/old shop", headers=auth).status_code == 404


def test_uploads_past_the_limit_a_minute_get_429_with_retry_after(
    settings: Settings, auth: dict[str, str], queue: Queue, redis_url: str
) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    limited = settings.model_copy(update={"uploads_per_minute": 3})
    with TestClient(create_app(limited, enqueue=queue)) as client:
        answers = [
            client.post("/api/v1/imports", headers=auth, files={"file": ("a.csv", CSV)})
            for _ in range(4)
        ]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert 1 <= int(answers[3].headers["retry-after"]) <= 60
    assert "at most 3 a minute" in answers[3].json()["detail"]
    assert len(queue.ids) == 3


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/jobs?offset=9223372036854775808",  # found by schemathesis: a 500 on SQLite
        "/api/v1/jobs/x/errors?offset=9223372036854775808",
    ],
)
def test_numbers_past_any_database_get_422_not_500(
    client: TestClient, auth: dict[str, str], path: str
) -> None:
    assert client.get(path, headers=auth).status_code == 422


def test_export_ids_past_any_database_get_422(client: TestClient, auth: dict[str, str]) -> None:
    body = {"filters": {"ids": [2**70]}}
    assert client.post("/api/v1/exports", headers=auth, json=body).status_code == 422


def test_cancelling_stops_a_job_and_keeps_what_it_wrote(
    client: TestClient,
    auth: dict[str, str],
    queued: list[str],
    ctx: Context,
    admin: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bulkport.tasks import pipeline

    many = csv_text([["Email"], *([f"c{i}@example.com"] for i in range(150))])
    job_id = str(upload(client, auth, many)["id"])
    real_write = pipeline._write_batch

    def cancelled_after_the_first_batch(*args: Any, **kwargs: Any) -> int:
        written = real_write(*args, **kwargs)
        if args[2] == 0:  # the first batch is written; now someone presses Cancel
            answer = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth)
            assert answer.status_code == 200, answer.text
        return written

    monkeypatch.setattr(pipeline, "_write_batch", cancelled_after_the_first_batch)
    run_import(ctx, job_id)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=auth).json()
    assert job["status"] == "CANCELLED"
    assert (job["counts"]["processed"], job["counts"]["unprocessed"]) == (50, 100)
    with ctx.engine.connect() as conn:
        assert stored_count(conn, admin) == 50
    again = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth)
    assert again.status_code == 409


def test_a_cancelled_queued_job_never_starts(
    client: TestClient, auth: dict[str, str], queued: list[str], ctx: Context, admin: User
) -> None:
    from bulkport.storage import job_rows

    job_id = str(upload(client, auth)["id"])
    stranger = bearer(ctx, "south", "someone@south.example")
    assert client.post(f"/api/v1/jobs/{job_id}/cancel", headers=stranger).status_code == 404
    assert client.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth).json()["status"] == (
        "CANCELLED"
    )
    assert run_import(ctx, job_id) == job_rows.Finished(JobStatus.CANCELLED)
    with ctx.engine.connect() as conn:
        assert stored_count(conn, admin) == 0


def test_the_audit_log_is_for_admins_and_staff_get_403(
    client: TestClient, auth: dict[str, str], queued: list[str], ctx: Context
) -> None:
    upload(client, auth)
    events = client.get("/api/v1/audit", headers=auth)
    assert events.status_code == 200
    assert [e["action"] for e in events.json()] == ["import.upload"]
    staff = bearer(ctx, "north", "clerk@north.example", Role.STAFF)
    refused = client.get("/api/v1/audit", headers=staff)
    assert refused.status_code == 403
    assert "jobs:admin" in refused.json()["detail"]


def test_the_file_signature_decides_not_the_declared_type(
    client: TestClient, auth: dict[str, str], queued: list[str]
) -> None:
    as_png = client.post(
        "/api/v1/imports", headers=auth, files={"file": ("a.png", CSV, "image/png")}
    )
    assert as_png.json()["status"] == "QUEUED"  # CSV bytes: read as CSV
    pdf_as_csv = client.post(
        "/api/v1/imports",
        headers=auth,
        files={"file": ("a.csv", b"%PDF-1.7\n\x00\x01", "text/csv")},
    )
    assert pdf_as_csv.json()["status"] == "FAILED"
