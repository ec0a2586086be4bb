"""An error nobody expected is logged with where it happened, never with a customer's values."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import Connection, text
from support import csv_text, import_now

from bulkport.schemas.jobs import JobStatus
from bulkport.storage.accounts import User
from bulkport.tasks import job_lifecycle, pipeline
from bulkport.tasks.context import Context

EMAIL = "lotte.vanthof@example.com"


def test_a_database_error_in_a_batch_is_logged_without_the_rows_values(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def write_plan(conn: Connection, store_id: int, plan: Any, job_id: str | None) -> None:
        # A statement that fails on both databases with the row's email as its parameter:
        # PostgreSQL quotes the failing row in its message, SQLAlchemy the parameters.
        conn.execute(text("INSERT INTO jobs (id) VALUES (:email)"), {"email": EMAIL})

    monkeypatch.setattr(pipeline, "write_plan", write_plan)
    content = csv_text([["First Name", "Last Name", "Email"], ["Lotte", "van 't Hof", EMAIL]])
    with caplog.at_level(logging.INFO):
        job = import_now(ctx, admin, content)
    assert job.status is JobStatus.FAILED
    logged = [r for r in caplog.records if r.name == job_lifecycle.__name__]
    assert logged and "IntegrityError" in caplog.text and "write_plan" in caplog.text
    assert EMAIL not in caplog.text and "Hof" not in caplog.text
