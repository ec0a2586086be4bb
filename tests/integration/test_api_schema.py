"""Schemathesis over the OpenAPI schema: generated requests find no 5xx and no response that
breaks the schema (bounded examples, SQLite and the real Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from support import Queue

from bulkport.api.app import create_app
from bulkport.config import Settings
from bulkport.schemas.accounts import Role
from bulkport.storage import accounts
from bulkport.tasks.context import Context

TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(
    sqlite_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    home: Path = tmp_path_factory.mktemp("schema-home")
    config = Settings(
        home=home, database_url=sqlite_url, broker_url=redis_url, uploads_per_minute=0
    )
    ctx = Context.from_settings(config)
    with ctx.engine.begin() as conn:
        store = accounts.ensure_store(conn, "schemathesis")
        user = accounts.ensure_user(conn, store, "fuzz@schemathesis.example", Role.ADMIN)
        TOKEN["Authorization"] = f"Bearer {accounts.issue_token(conn, user.id)}"
    ctx.close()
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(config, enqueue=Queue()))


def test_generated_requests_get_no_5xx_and_answers_match_the_schema(api_schema: Any) -> None:
    # Driven by hand: schemathesis' pytest plugin does not run under this pytest version.
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            case.call_and_validate(headers=TOKEN, checks=checks)

        call()
