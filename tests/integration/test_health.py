"""Liveness and readiness: /healthz while the process serves, /readyz names a failing part."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from support import Queue

from bulkport.app import create_app
from bulkport.cli.services import free_port
from bulkport.config import Settings
from bulkport.worker.app import broker_ready


def refuse() -> None:
    raise ConnectionError("Connection refused")


def test_readyz_is_ready_when_database_queue_and_file_store_answer(settings: Settings) -> None:
    with TestClient(create_app(settings, enqueue=Queue(), broker_check=broker_ready)) as client:
        response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "failing": [],
        "database": "ok",
        "broker": "ok",
        "files": "ok",
        "warnings": [],
    }


def test_readyz_names_the_broker_when_the_queue_cannot_be_reached(settings: Settings) -> None:
    with TestClient(create_app(settings, enqueue=Queue(), broker_check=refuse)) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert response.json()["broker"] == "unreachable"
    assert "refused" not in response.text  # reasons go to the log, not to callers


def test_readyz_names_the_database_and_the_file_store_while_healthz_still_answers(
    settings: Settings, tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "files"
    not_a_folder.write_text("a file where the store's folder should be")
    broken = settings.model_copy(
        update={
            "database_url": f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none",
            "files_dir": not_a_folder,
        }
    )
    with TestClient(create_app(broken, enqueue=Queue(), broker_check=broker_ready)) as client:
        ready = client.get("/readyz")
        alive = client.get("/healthz")
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["database", "files"]
    assert ready.json()["files"] == "not writable"
    assert alive.status_code == 200 and alive.json()["status"] == "ok"


def test_the_broker_check_fails_when_redis_does_not_answer() -> None:
    code = "from bulkport.worker.app import broker_ready; broker_ready()"
    dead = f"redis://127.0.0.1:{free_port()}/0"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "BULKPORT_BROKER_URL": dead},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "OperationalError" in done.stderr


def test_an_app_built_without_a_broker_check_is_ready_without_one(settings: Settings) -> None:
    with TestClient(create_app(settings, enqueue=Queue())) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["broker"] == "not checked"


def test_an_upload_answers_503_with_a_reason_when_the_local_folder_cannot_take_files(
    settings: Settings, tmp_path: Path
) -> None:
    from support import bearer, csv_text

    from bulkport.schemas.accounts import Role
    from bulkport.storage import accounts

    not_a_folder = tmp_path / "files"
    not_a_folder.write_text("a file where the store's folder should be")
    broken = settings.model_copy(update={"files_dir": not_a_folder})
    with TestClient(create_app(broken, enqueue=Queue())) as client:
        ctx = client.app.state.context  # type: ignore[attr-defined]
        with ctx.engine.begin() as conn:
            store_id = accounts.ensure_store(conn, "north")
            accounts.ensure_user(conn, store_id, "admin@north.example", Role.ADMIN)
        answer = client.post(
            "/api/v1/imports",
            headers=bearer(ctx, "north", "admin@north.example"),
            files={"file": ("shop.csv", csv_text([["Email"], ["a@example.com"]]), "text/csv")},
        )
    assert answer.status_code == 503, answer.text
    assert "cannot take files (Not a directory)" in answer.json()["detail"]
    assert answer.headers["retry-after"] == "30"
