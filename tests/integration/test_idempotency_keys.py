"""A client's idempotency key finds its job again, but the database keeps only its hash: a
client may build the key from what it sends (a customer's email), and no purge reads keys."""

from __future__ import annotations

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from support import csv_text

from bulkport.storage.db import alembic_config, migrate
from bulkport.storage.tables import jobs
from bulkport.tasks.context import Context

EMAIL = "zorglub.quaxington@example.com"
CSV = csv_text([["First Name", "Email"], ["Zorglub", EMAIL]])


def test_an_idempotency_key_is_kept_as_a_hash_and_still_finds_its_job(
    client: TestClient, ctx: Context, auth: dict[str, str]
) -> None:
    keyed = {**auth, "Idempotency-Key": f"privacy-request-{EMAIL}"}
    answers = [
        client.post("/api/v1/imports", headers=keyed, files={"file": ("a.csv", CSV, "text/csv")})
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    with ctx.engine.connect() as conn:
        kept = conn.execute(select(jobs.c.idempotency_key)).scalars().all()
    assert len(kept) == 1 and kept[0] is not None
    assert "zorglub" not in kept[0].lower()


def test_a_key_stored_as_given_is_hashed_by_the_upgrade_and_still_finds_its_job(
    client: TestClient, ctx: Context, auth: dict[str, str]
) -> None:
    key = f"privacy-request-{EMAIL}"
    keyed = {**auth, "Idempotency-Key": key}
    first = client.post(
        "/api/v1/imports", headers=keyed, files={"file": ("a.csv", CSV, "text/csv")}
    )
    url = ctx.settings.database
    command.downgrade(alembic_config(url), "0011")
    with ctx.engine.begin() as conn:  # as a job made before keys were hashed kept it
        conn.execute(update(jobs).values(idempotency_key=key))
    ctx.engine.dispose()
    migrate(url)
    with ctx.engine.connect() as conn:
        kept = conn.execute(select(jobs.c.idempotency_key)).scalars().all()
    assert len(kept) == 1 and "zorglub" not in str(kept[0]).lower()
    again = client.post(
        "/api/v1/imports", headers=keyed, files={"file": ("a.csv", CSV, "text/csv")}
    )
    assert again.json()["id"] == first.json()["id"]


@pytest.mark.parametrize("key", ["commit-of-0123", "retry-of-0123", "fix-of-0123-1"])
def test_a_client_key_spelled_as_bulkports_own_is_refused_with_why(
    client: TestClient, ctx: Context, auth: dict[str, str], key: str
) -> None:
    answer = client.post(
        "/api/v1/imports", headers={**auth, "Idempotency-Key": key},
        files={"file": ("a.csv", CSV, "text/csv")},
    )  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("Idempotency-Key: may not begin with 'commit-of-'")
    with ctx.engine.connect() as conn:
        assert conn.execute(select(jobs.c.id)).scalars().all() == []
