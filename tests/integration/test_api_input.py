"""What the API takes, exactly as its document says, on both databases: no control characters
in names and search terms, bounded mappings and errors, strict types, exact answers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import csv_text

from bulkport.schemas.jobs import JobStatus
from bulkport.storage import job_rows
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context

CSV = csv_text([["First Name", "Email"], ["Ann", "ann@example.com"]])


def upload(client: TestClient, auth: dict[str, str], **form: str) -> Any:
    files = {"file": ("a.csv", CSV)}
    return client.post("/api/v1/imports", headers=auth, files=files, data=form)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/exports", {"filters": {"search": "a\x00"}}, "filters.search"),
        ("POST", "/api/v1/exports", {"filters": {"search": "\u202egnp.exe"}}, "filters.search"),
        ("POST", "/api/v1/exports", {"purpose": "backup\r\nX-Injected: 1"}, "purpose"),
        ("PUT", "/api/v1/mappings/shop%00", {"columns": {"A": "Email"}}, "name"),
        ("PUT", "/api/v1/mappings/shop%E2%80%AE", {"columns": {"A": "Email"}}, "name"),
        ("PUT", "/api/v1/mappings/shop", {"columns": {"A\u2028B": "Email"}}, "columns.AB"),
    ],
)
def test_control_characters_in_names_and_search_terms_get_422_naming_the_field(
    client: TestClient,
    auth: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    response = client.request(method, path, headers=auth, json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"{field}") and "control" in detail, detail


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"mapping_name": "old\x1bshop"}, "mapping_name"),
        ({"sheet": "Blad\x001"}, "sheet"),
        ({"mapping": '{"E\\u0000mail": "Email"}'}, "mapping"),
    ],
)
def test_control_characters_in_import_options_get_422_naming_the_field(
    client: TestClient, auth: dict[str, str], form: dict[str, str], field: str
) -> None:
    response = upload(client, auth, **form)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}:")


def test_saved_mappings_are_bounded_in_columns_header_length_and_bytes(
    client: TestClient, auth: dict[str, str]
) -> None:
    def put(columns: dict[str, str]) -> Any:
        return client.put("/api/v1/mappings/big", headers=auth, json={"columns": columns})

    assert put({f"h{i}": "Email" for i in range(501)}).status_code == 422
    assert put({"h" * 201: "Email"}).status_code == 422
    wide = {f"{i:03}" + "é" * 196: "Email" for i in range(200)}  # about 80 KB as JSON
    response = put(wide)
    assert response.status_code == 422
    assert "bytes" in response.json()["detail"]
    assert put({f"{i:03}" + "é" * 196: "Email" for i in range(50)}).status_code == 201


def test_a_jobs_error_is_capped_and_the_job_list_shows_a_summary(
    client: TestClient, auth: dict[str, str], ctx: Context
) -> None:
    job_id = upload(client, auth).json()["id"]
    with ctx.engine.begin() as conn:
        assert job_rows.finish(conn, job_id, None, JobStatus.FAILED, error="x" * 240_000)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=auth).json()
    assert len(job["error"]) == job_rows.MAX_ERROR_CHARS
    listed = client.get("/api/v1/jobs", headers=auth).json()
    assert len(listed[0]["error"]) == 200
    assert "options" not in listed[0] and "mapping" not in listed[0]
    assert listed[0]["links"]["self"] == f"/api/v1/jobs/{job_id}"


@pytest.mark.parametrize(
    "body",
    [
        {"filters": {"tax_exempt": 0.0}},
        {"filters": {"accepts_marketing": "yes"}},
        {"filters": {"ids": ["1"]}},
        {"filters": {"ids": [2**53]}},
        {"filters": {"created_from": 3}},
        {"filters": {"created_from": "2026-01-01"}},
        {"filters": {"created_from": "2026-01-01T00:00:00"}},  # no offset
        {"columns": ["first name"]},  # a label, but not as the document spells it
        {"columns": [""]},
    ],
)
def test_exports_the_document_forbids_are_refused(
    client: TestClient, auth: dict[str, str], body: dict[str, Any]
) -> None:
    assert client.post("/api/v1/exports", headers=auth, json=body).status_code == 422


def test_exports_the_document_allows_are_taken(client: TestClient, auth: dict[str, str]) -> None:
    body = {
        "columns": ["first_name", "Email"],
        "filters": {"ids": [1.0, 2], "created_from": "0003-01-01T00:00:00+01:00"},
    }
    response = client.post("/api/v1/exports", headers=auth, json=body)
    assert response.status_code == 202, response.text
    assert response.json()["options"]["columns"] == ["first_name", "email"]


@pytest.mark.parametrize(
    "form",
    [
        {"dry_run": "maybe"},
        {"header_row": "01"},
        {"header_row": "null"},
        {"encoding": "no-such-codec"},
        {"sheet": "2024"},  # a form cannot tell it from the number
        {"mapping": '{"Naam": "achternaam"}'},  # an alias: the document lists keys and labels
        {"filename": "other.csv"},
    ],
)
def test_import_forms_the_document_forbids_are_refused(
    client: TestClient, auth: dict[str, str], form: dict[str, str]
) -> None:
    response = upload(client, auth, **form)
    assert response.status_code == 422, response.text


def test_a_form_field_sent_twice_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/imports",
        headers=auth,
        files=[("file", ("a.csv", CSV)), ("mode", (None, "create")), ("mode", (None, "update"))],
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "mode: sent more than once."


def test_an_unknown_saved_mapping_answers_404(client: TestClient, auth: dict[str, str]) -> None:
    assert upload(client, auth, mapping_name="nope").status_code == 404


def test_an_empty_idempotency_key_is_no_key_and_a_known_key_never_hides_a_bad_form(
    client: TestClient, auth: dict[str, str]
) -> None:
    empty = {**auth, "Idempotency-Key": ""}
    first = client.post("/api/v1/imports", headers=empty, files={"file": ("a.csv", CSV)})
    second = client.post("/api/v1/imports", headers=empty, files={"file": ("a.csv", CSV)})
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["id"] != second.json()["id"]
    keyed = {**auth, "Idempotency-Key": "k1"}
    assert upload(client, keyed).status_code == 202
    assert upload(client, keyed, mode="merge").status_code == 422


def test_405_names_every_method_the_path_has(client: TestClient, auth: dict[str, str]) -> None:
    response = client.request("OPTIONS", "/api/v1/mappings/shop", headers=auth)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) >= {"GET", "PUT", "DELETE"}


def test_a_job_id_that_no_job_could_have_gets_422_not_a_database_error(
    client: TestClient, auth: dict[str, str], admin: User
) -> None:
    response = client.get("/api/v1/jobs/%00", headers=auth)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("job_id:")


def test_a_form_with_more_fields_than_options_is_refused(
    client: TestClient, auth: dict[str, str]
) -> None:
    fields = [(f"f{i}", (None, "x")) for i in range(40)]
    response = client.post(
        "/api/v1/imports", headers=auth, files=[("file", ("a.csv", CSV)), *fields]
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "The form has too many fields."


@pytest.mark.parametrize(
    ("word", "meant"),
    [("true", True), ("False", False), ("TRUE", True), ("1", True), ("0", False),
     ("yes", True), ("No", False), ("on", True), ("OFF", False)],
)  # fmt: skip
def test_an_import_form_takes_every_boolean_pydantic_reads(
    client: TestClient, auth: dict[str, str], word: str, meant: bool
) -> None:
    response = upload(client, auth, dry_run=word, backup=word)
    assert response.status_code == 202, response.text
    assert response.json()["options"]["dry_run"] is meant
    assert response.json()["options"]["backup"] is meant


def test_a_form_boolean_pydantic_cannot_read_is_refused_by_name(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = upload(client, auth, dry_run="maybe", backup=" true")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("dry_run: must be true or false")
    assert "; backup: must be true or false" in response.json()["detail"]


@pytest.mark.parametrize("word", ["True", "1", "YES", "on"])
def test_a_query_boolean_takes_the_words_a_form_boolean_takes(
    client: TestClient, auth: dict[str, str], word: str
) -> None:
    ann = client.post("/api/v1/customers", headers=auth, json={"first_name": "Ann"}).json()
    path = f"/api/v1/customers/{ann['id']}/delete"
    refused = client.post(path, headers=auth, params={"confirm": "nope"})
    assert refused.status_code == 422
    assert "confirm" in refused.text
    deleted = client.post(path, headers=auth, params={"confirm": word})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted"] is True


def test_a_lifecycle_form_takes_a_generated_clients_booleans(
    client: TestClient, auth: dict[str, str]
) -> None:
    listing = csv_text([["Email"], ["nobody@example.com"]])
    response = client.post(
        "/api/v1/deletions",
        headers=auth,
        files={"file": ("list.csv", listing)},
        data={"dry_run": "True", "confirm": "False"},
    )
    assert response.status_code == 202, response.text
    assert response.json()["options"]["dry_run"] is True


def test_the_field_list_gives_each_key_its_label_and_the_headers_it_answers_to(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.get("/api/v1/fields", headers=auth)
    assert response.status_code == 200
    fields = {f["key"]: f for f in response.json()}
    assert next(iter(fields)) == "id"  # export order: Customer Record ID first
    assert fields["email"]["label"] == "Email"
    assert "e-mail address" in fields["email"]["aliases"]
    assert (fields["email"]["writable"], fields["email"]["exported"]) == (True, True)
    assert (fields["created_at"]["writable"], fields["created_at"]["exported"]) == (False, True)
    assert fields["id"]["aliases"] == []  # another platform's "ID" is its own number
    # An alias listed reaches its field when a file's header says it: one of each field's.
    headers = {f["aliases"][-1]: key for key, f in fields.items() if f["aliases"]}
    sheet = csv_text([list(headers), ["x"] * len(headers)])
    preview = client.post("/api/v1/imports/preview", headers=auth, files={"file": ("a.csv", sheet)})
    assert preview.status_code == 200, preview.text
    assert {c["header"]: c["field"] for c in preview.json()["columns"]} == headers
    assert client.get("/api/v1/fields").status_code == 401
