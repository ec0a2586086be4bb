"""The API's outer guard on both databases: token before body, bounded bodies, safe headers."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from support import Queue, csv_text

from bulkport.app import create_app
from bulkport.config import Settings
from bulkport.http.guard import CONTENT_POLICY
from bulkport.tasks.context import Context

MB = 1024 * 1024


class Body:
    """A request body sent in chunks, counting what the server pulled."""

    def __init__(self, size: int, chunk: int = 64 * 1024) -> None:
        self.size, self.chunk, self.pulled = size, chunk, 0

    def __iter__(self) -> Iterator[bytes]:
        while self.pulled < self.size:
            self.pulled += self.chunk
            yield b"x" * self.chunk


def call(app: Any, method: str, path: str, headers: dict[str, str], body: Body) -> dict[str, Any]:
    """One request straight through ASGI, the body pulled chunk by chunk as a server would."""
    chunks = iter(body)
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    anyio.run(app, scope, receive, send)
    return answer


@pytest.mark.parametrize("token", [None, "Bearer not-a-token", "Basic YTpi"])
def test_a_request_without_a_valid_token_is_refused_before_its_body_is_read(
    client: TestClient, token: str | None
) -> None:
    body = Body(8 * MB)
    headers = {"Content-Type": "application/json"} | ({"Authorization": token} if token else {})
    response = client.post("/api/v1/exports", headers=headers, content=iter(body))
    assert response.status_code == 401
    assert response.json() == {
        "detail": "A valid API token is needed: send 'Authorization: Bearer <token>'."
    }
    assert response.headers["www-authenticate"] == "Bearer"
    assert body.pulled == 0


def test_a_chunked_body_past_the_limit_gets_413_without_the_rest_being_read(
    settings: Settings, auth: dict[str, str]
) -> None:
    app = create_app(settings.model_copy(update={"max_json_bytes": 100_000}), enqueue=Queue())
    body = Body(50 * MB, chunk=10_000)
    headers = {**auth, "Content-Type": "application/json"}  # no Content-Length: chunked
    answer = call(app, "POST", "/api/v1/exports", headers, body)
    assert answer["status"] == 413
    assert b"100,000 bytes" in answer["body"]
    assert answer["headers"]["connection"] == "close"
    assert body.pulled <= 110_000


def test_a_declared_body_past_the_limit_gets_413_before_any_byte_is_read(
    settings: Settings, auth: dict[str, str]
) -> None:
    app = create_app(settings, enqueue=Queue())
    body = Body(2 * MB)
    headers = {**auth, "Content-Type": "application/json", "Content-Length": str(2 * MB)}
    answer = call(app, "PUT", "/api/v1/mappings/big", headers, body)
    assert answer["status"] == 413
    assert body.pulled == 0


def test_a_body_within_the_limit_is_read_as_before(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.put(
        "/api/v1/mappings/shop", headers=auth, json={"columns": {"Naam": "Last Name"}}
    )
    assert response.status_code == 201


def test_uploads_keep_their_own_limit_above_the_json_limit(
    client: TestClient, auth: dict[str, str]
) -> None:
    rows = [["First Name", "Email"]] + [[f"N{i}", f"n{i}@example.com"] for i in range(60_000)]
    content = csv_text(rows).encode()
    assert len(content) > 1 * MB
    response = client.post("/api/v1/imports", headers=auth, files={"file": ("a.csv", content)})
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("method", "path", "authorized", "status"),
    [
        ("GET", "/healthz", False, 200),
        ("GET", "/docs", False, 200),
        ("GET", "/openapi.json", False, 200),
        ("GET", "/api/v1/jobs", False, 401),
        ("GET", "/api/v1/jobs", True, 200),
        ("GET", "/api/v1/jobs/0123456789abcdef0123456789abcdef", True, 404),
        ("GET", "/api/v1/jobs?limit=0", True, 422),
        ("GET", "/api/v1/downloads/forged", False, 403),
        ("DELETE", "/healthz", False, 405),
    ],
)
def test_every_response_refuses_sniffing_framing_referrers_and_caches(
    client: TestClient,
    auth: dict[str, str],
    method: str,
    path: str,
    authorized: bool,
    status: int,
) -> None:
    response = client.request(method, path, headers=auth if authorized else {})
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    policy = response.headers["content-security-policy"]
    assert policy == CONTENT_POLICY or path == "/docs"  # the document pages have their own
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_the_api_document_pages_allow_their_own_inline_scripts_by_hash_alone(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    scripts = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy, path
    allowed = re.search(r"script-src ([^;]*)", policy)
    assert allowed is not None
    assert "'unsafe-inline'" not in allowed.group(1)
    assert allowed.group(1).count("'sha256-") == len(scripts)


def test_an_unexpected_error_still_carries_the_security_headers(
    settings: Settings, ctx: Context, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("bulkport.usecases.jobs.job_rows.list_jobs", broken)
    with TestClient(create_app(settings, enqueue=Queue()), raise_server_exceptions=False) as client:
        response = client.get("/api/v1/jobs", headers=auth)
    assert response.status_code == 500
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
