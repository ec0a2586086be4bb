"""The API document and the API agree: schemathesis, every check and every phase, against the
API under uvicorn with a token, on both databases (a bounded number of examples)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from support import Queue, served

from bulkport.api.app import create_app
from bulkport.config import Settings
from bulkport.storage import accounts
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_schemathesis_with_every_check_finds_no_failure(
    settings: Settings, ctx: Context, admin: User, redis_url: str, tmp_path: Path
) -> None:
    with ctx.engine.begin() as conn:
        token = accounts.issue_token(conn, admin.id)
    with served(settings) as base:
        run = subprocess.run(
            [
                str(SCHEMATHESIS), "run", f"{base}/openapi.json",
                "--checks", "all",
                "--phases", "coverage,fuzzing,stateful",
                "--max-examples", "12",
                "--seed", "20261203",
                "--max-time", "25",
                "--workers", "1",
                "--header", f"Authorization: Bearer {token}",
                "--report-dir", str(tmp_path),
            ],
            cwd=tmp_path,  # its cache of earlier failures stays out of the checkout
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    failures = run.stdout.partition("= FAILURES =")[2].partition("= WARNINGS =")[0]
    assert run.returncode == 0, (failures or run.stdout)[-8000:] + run.stderr[-2000:]


def test_the_document_resolves_every_reference_and_inlines_the_form_choices(
    settings: Settings,
) -> None:
    document = create_app(settings, enqueue=Queue()).openapi()
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    schemas = document["components"]["schemas"]
    assert refs
    assert all(r.startswith("#/components/schemas/") for r in refs), set(refs)
    assert all(r.rsplit("/", 1)[1] in schemas for r in refs)
    for path in ("/api/v1/imports", "/api/v1/imports/preview"):
        form = document["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]
        assert form["schema"]["properties"]["mode"]["enum"] == ["create", "update", "upsert"]
        assert form["encoding"]["mapping"]["contentType"] == "application/json"
