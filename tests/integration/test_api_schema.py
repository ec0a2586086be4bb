"""The API document and the API agree: schemathesis, every check and every phase, against the
API under uvicorn with a token, on both databases (a bounded number of examples). The
document is one client generators read as it is: enum members with distinct constant names,
and operation ids named area then action (``imports-create``), fixed here."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import Queue, csv_text, served, stage_list

from bulkport.app import create_app
from bulkport.config import Settings
from bulkport.rules.fields import FIELDS
from bulkport.storage import accounts
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.customer_changes import ARCHIVE, MERGE, UNARCHIVE
from bulkport.tasks.customer_lists import ListKind, run_list
from bulkport.tasks.deletions import DELETE

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_schemathesis_with_every_check_finds_no_failure(
    settings: Settings, ctx: Context, admin: User, redis_url: str, tmp_path: Path
) -> None:
    with ctx.engine.begin() as conn:
        token = accounts.issue_token(conn, admin.id)
    config = tmp_path / "schemathesis.toml"
    config.write_text(lax_boolean_config(create_app(settings, enqueue=Queue()).openapi()))
    with served(settings) as base:
        run = subprocess.run(
            [
                str(SCHEMATHESIS), "--config-file", str(config), "run", f"{base}/openapi.json",
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


def lax_boolean_config(document: dict[str, Any]) -> str:
    """schemathesis's settings: form and query booleans take pydantic's words (``0``, ``yes``,
    ``True``), which schemathesis sends as wrongly typed data, so the operations that have such
    a boolean skip only that one check; every other check runs on them."""
    lines = ["checks.enabled = true  # every check, on every operation but as below", ""]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if _has_form_or_query_boolean(document, operation):
                lines += [
                    "[[operations]]",
                    f'include-name = "{method.upper()} {path}"',
                    "checks.negative_data_rejection.enabled = false",
                    "",
                ]
    assert len(lines) > 2, "no operation takes a form or query boolean"
    return "\n".join(lines)


def _has_form_or_query_boolean(document: dict[str, Any], operation: dict[str, Any]) -> bool:
    if any(
        p.get("in") == "query" and "boolean" in str(p.get("schema"))
        for p in operation.get("parameters", [])
    ):
        return True
    form = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
    if form is None:
        return False
    schema = form["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return "boolean" in str(schema.get("properties", {}))


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


def _enums(node: Any, where: str = "") -> Iterator[tuple[str, list[Any]]]:
    """Every ``enum`` of the document with where it is."""
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield where, node["enum"]
        for key, value in node.items():
            yield from _enums(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _enums(value, f"{where}/{i}")


def constant_name(value: object) -> str:
    """An enum member's constant as client generators make it: upper case, and every
    character that is not a letter or a digit an underscore."""
    return re.sub(r"[^0-9A-Z]", "_", str(value).upper())


def test_no_enum_of_the_document_has_two_values_a_generator_names_alike(
    settings: Settings,
) -> None:
    document = create_app(settings, enqueue=Queue()).openapi()
    found = list(_enums(document))
    collisions = []
    for where, values in found:
        named: dict[str, object] = {}
        for value in values:
            name = constant_name(value)
            if name in named:
                collisions.append(f"{where}: {named[name]!r} and {value!r} are both {name}")
            named[name] = value
    assert len(found) > 20  # the walk reaches the forms' inlined choices too
    assert not collisions, "\n".join(collisions)


def test_the_document_lists_field_keys_and_describes_labels_as_aliases(
    settings: Settings,
) -> None:
    document = create_app(settings, enqueue=Queue()).openapi()
    columns = document["components"]["schemas"]["ExportRequest"]["properties"]["columns"]
    assert columns["anyOf"][0]["items"]["enum"] == [f.key for f in FIELDS]
    assert "label" in columns["description"] and "/api/v1/fields" in columns["description"]
    form = document["paths"]["/api/v1/imports"]["post"]["requestBody"]["content"]
    options = form["multipart/form-data"]["schema"]["properties"]
    assert "Email" not in options["mapping"]["additionalProperties"]["enum"]
    assert options["delimiter"]["enum"] == ["comma", "semicolon", "tab", "pipe"]


EXPECTED_OPERATIONS = [
    "archives-commit", "archives-create", "audit-list", "customers-archive",
    "customers-create", "customers-delete", "customers-get", "customers-list",
    "customers-merge", "customers-privacy_export", "customers-sales", "customers-unarchive",
    "customers-update", "deletions-commit", "deletions-create", "downloads-get",
    "downloads-link", "exports-create", "fields-list", "health-live", "health-ready",
    "imports-commit", "imports-create", "imports-preview", "jobs-cancel", "jobs-errors",
    "jobs-fixes", "jobs-get", "jobs-list", "jobs-report", "jobs-retry", "jobs-rows",
    "jobs-rows_check", "jobs-undo", "mappings-delete", "mappings-get",
    "mappings-list", "mappings-save", "merges-commit", "merges-create", "sales-by_customer",
    "sales-create", "tokens-list", "tokens-revoke_current", "unarchives-commit",
    "unarchives-create", "users-grant_permission", "users-revoke_permission",
    "webhooks-get", "webhooks-rotate_secret", "webhooks-set_default",
]  # fmt: skip


def test_every_operation_has_one_tag_and_an_id_named_area_then_action(
    settings: Settings,
) -> None:
    document = create_app(settings, enqueue=Queue()).openapi()
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert sorted(op["operationId"] for op in operations) == EXPECTED_OPERATIONS
    for op in operations:
        assert len(op["tags"]) == 1, op["operationId"]
        assert op["operationId"].startswith(f"{op['tags'][0]}-")


@pytest.mark.parametrize(
    ("spec", "listing", "area"),
    [
        (ARCHIVE, [["Customer Record ID"], ["1"]], "archives"),
        (UNARCHIVE, [["Customer Record ID"], ["1"]], "unarchives"),
        (MERGE, [["Primary ID", "Secondary ID"], ["1", "2"]], "merges"),
        (DELETE, [["Email"], ["ann@example.com"]], "deletions"),
    ],
)
def test_a_dry_runs_commit_link_names_the_commit_of_its_own_area(
    client: TestClient,
    auth: dict[str, str],
    ctx: Context,
    admin: User,
    spec: ListKind,
    listing: list[list[str]],
    area: str,
) -> None:
    # Every area's commit is named `commit`: the link is built from the operation id.
    job_id = stage_list(ctx, admin, spec, csv_text(listing), dry_run=True)
    run_list(ctx, job_id, spec)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=auth).json()
    assert job["status"] == "READY", job
    assert job["links"]["commit"] == f"/api/v1/{area}/{job_id}/commit"
    assert job["links"]["self"] == f"/api/v1/jobs/{job_id}"
