"""The API under a real uvicorn, as `bulkport api` runs it: its access log and the proxies it
believes, on both databases."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from support import PASSWORD, csrf_of, csv_text, served

from bulkport.config import Settings
from bulkport.http.access_log import ACCESS_LOGGER
from bulkport.storage import audit, customer_records
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.imports import run_import

BAD = csv_text([["Email"], ["broken@"]])


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def access_lines() -> Iterator[list[str]]:
    logger = logging.getLogger(ACCESS_LOGGER)
    handler, level = Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_the_access_log_shows_signed_download_paths_without_their_tokens(
    settings: Settings,
    ctx: Context,
    auth: dict[str, str],
    access_lines: list[str],
) -> None:
    with served(settings) as base, httpx.Client(base_url=base, timeout=10) as client:
        job = client.post("/api/v1/imports", headers=auth, files={"file": ("a.csv", BAD)}).json()
        run_import(ctx, job["id"])
        url = client.get(f"/api/v1/jobs/{job['id']}/download-url", headers=auth).json()["url"]
        assert client.get(url).status_code == 200
        assert client.get(url + "?again=1").status_code == 200
    token = url.rsplit("/", 1)[1]
    downloads = [line for line in access_lines if "/api/v1/downloads/" in line]
    assert len(downloads) == 2, access_lines
    assert all("/api/v1/downloads/…" in line for line in downloads)
    assert not any(token in line or token[:20] in line for line in access_lines)


def test_search_terms_on_the_pages_and_the_api_never_reach_the_access_log(
    settings: Settings,
    ctx: Context,
    staff: User,
    auth: dict[str, str],
    access_lines: list[str],
) -> None:
    email = "jane.quistorp@example.org"
    with ctx.engine.begin() as conn:
        jane = customer_records.create(
            conn, staff.store_id, {"first_name": "Jane", "last_name": "Quistorp", "email": email}
        )
    with served(settings) as base, httpx.Client(base_url=base, timeout=10) as client:
        found = client.get("/api/v1/customers", params={"search": email}, headers=auth)
        assert [c["id"] for c in found.json()["customers"]] == [jane]
        token = csrf_of(client.get("/sign-in").text)
        signed_in = client.post(
            "/sign-in",
            data={"email": staff.email, "password": PASSWORD, "csrf": token},
            follow_redirects=True,
        )
        assert signed_in.status_code == 200, signed_in.text
        assert f"/customers/{jane}" in client.get("/customers", params={"search": email}).text
        picked = client.get(f"/customers/{jane}/merge", params={"search": "Quistorp"})
        assert picked.status_code == 200
    searches = [line for line in access_lines if "/customers" in line]
    assert len(searches) == 3, access_lines
    assert all("/customers?…" in line or "/merge?…" in line for line in searches), searches
    assert not any("quistorp" in line.lower() for line in access_lines), access_lines


@pytest.mark.parametrize(("proxies", "recorded"), [("", "127.0.0.1"), ("127.0.0.1", "203.0.113.9")])
def test_only_the_configured_proxies_may_name_the_client_address(
    settings: Settings,
    ctx: Context,
    admin: User,
    auth: dict[str, str],
    proxies: str,
    recorded: str,
) -> None:
    configured = settings.model_copy(update={"forwarded_allow_ips": proxies})
    with served(configured) as base, httpx.Client(base_url=base, timeout=10) as client:
        job = client.post("/api/v1/imports", headers=auth, files={"file": ("a.csv", BAD)}).json()
        forged = {**auth, "X-Forwarded-For": "203.0.113.9"}
        assert client.get(f"/api/v1/jobs/{job['id']}/errors", headers=forged).status_code == 200
    with ctx.engine.connect() as conn:
        event = next(e for e in audit.events(conn, admin.store_id) if e["action"] == "errors.read")
    assert event["detail"] == {"client": recorded}
