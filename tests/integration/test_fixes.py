"""Fixing an import's failed rows in place, through the API, on SQLite and PostgreSQL: the
failed rows listed as uploaded with their problems, edited cells imported by a fix job with the
original file's row numbers, rounds of fixes, and each refusal."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import (
    bearer,
    csrf_of,
    csv_text,
    errors_of,
    get_job,
    import_now,
    page_sign_in,
    stored_customers,
)
from xlsx_parts import inline_workbook

from bulkport.schemas.accounts import Role
from bulkport.schemas.jobs import JobStatus
from bulkport.storage import accounts
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.imports import run_import
from bulkport.tasks.purge import purge_files, traces_of

HEADER = ["First Name", "Last Name", "Email", "Notes"]


def people(n: int, start: int = 0) -> list[list[str]]:
    return [
        [f"First{i}", f"Last{i}", f"person{i}@example.com", f"note {i}"]
        for i in range(start, start + n)
    ]


def with_three_bad_rows(ctx: Context, admin: User) -> str:
    """An import whose rows 12, 30 and 52 failed on their email (the header is row 1)."""
    rows = people(60)
    rows[10][2] = "bram@"
    rows[28][2] = "not an email"
    rows[50][2] = '=HYPERLINK("x")'
    job = import_now(ctx, admin, csv_text([HEADER, *rows]))
    assert (job.status, job.counts.failed) == (JobStatus.READY, 3)
    return job.id


def fix(client: TestClient, auth: dict[str, str], job_id: str, rows: list[dict[str, Any]]) -> Any:
    return client.post(f"/api/v1/jobs/{job_id}/fixes", headers=auth, json={"rows": rows})


def test_failed_rows_are_listed_as_uploaded_with_their_problems_page_by_page(
    ctx: Context, admin: User, client: TestClient, auth: dict[str, str]
) -> None:
    job_id = with_three_bad_rows(ctx, admin)
    url = f"/api/v1/jobs/{job_id}/rows"
    first = client.get(url, headers=auth, params={"outcome": "failed", "limit": 2})
    assert first.status_code == 200, first.text
    page = first.json()
    assert (page["columns"], page["total"], page["offset"]) == (HEADER, 3, 0)
    assert [row["row"] for row in page["rows"]] == [12, 30]
    assert page["rows"][0]["cells"] == {
        "First Name": "First10", "Last Name": "Last10", "Email": "bram@", "Notes": "note 10"
    }  # fmt: skip
    assert [(e["column"], e["code"]) for e in page["rows"][0]["errors"]] == [
        ("Email", "invalid_email")
    ]
    assert page["rows"][0]["fixed_in"] is None
    rest = client.get(url, headers=auth, params={"outcome": "failed", "offset": 2}).json()
    assert [row["row"] for row in rest["rows"]] == [52]
    assert rest["rows"][0]["cells"]["Email"] == '=HYPERLINK("x")'


def test_two_fixed_cells_are_imported_with_the_original_row_numbers_and_linked_both_ways(
    ctx: Context, admin: User, client: TestClient, auth: dict[str, str]
) -> None:
    job_id = with_three_bad_rows(ctx, admin)
    answer = fix(client, auth, job_id, [
        {"row": 52, "cells": {"Email": "bram@example.com"}},
        {"row": 12, "cells": {"Email": "anna@example.com", "First Name": "Anna"}},
    ])  # fmt: skip
    assert answer.status_code == 202, answer.text
    fix_job = answer.json()
    assert fix_job["options"]["only_rows"] == "12,52"
    assert fix_job["links"]["fix_of"].endswith(f"/api/v1/jobs/{job_id}")
    run_import(ctx, fix_job["id"])
    done = get_job(ctx, admin, fix_job["id"])
    assert (done.status, done.counts.total, done.counts.created, done.counts.failed) == (
        JobStatus.READY, 2, 2, 0
    )  # fmt: skip
    emails = {c["email"]: c for c in stored_customers(ctx, admin)}
    assert emails["anna@example.com"]["first_name"] == "Anna"
    assert emails["bram@example.com"]["last_name"] == "Last50"
    view = client.get(f"/api/v1/jobs/{job_id}", headers=auth).json()
    assert view["links"]["fix_job_1"].endswith(f"/api/v1/jobs/{fix_job['id']}")
    listed = client.get(f"/api/v1/jobs/{job_id}/rows", headers=auth, params={"outcome": "failed"})
    assert [(r["row"], r["fixed_in"]) for r in listed.json()["rows"]] == [
        (12, fix_job["id"]), (30, None), (52, fix_job["id"])
    ]  # fmt: skip


def test_a_fixed_row_that_fails_again_is_fixed_from_its_fix_job(
    ctx: Context, admin: User, client: TestClient, auth: dict[str, str]
) -> None:
    job_id = with_three_bad_rows(ctx, admin)
    first = fix(client, auth, job_id, [{"row": 30, "cells": {"Email": "still bad"}}]).json()
    run_import(ctx, first["id"])
    assert errors_of(ctx, first["id"]) == [(30, "invalid_email")]
    again = fix(client, auth, job_id, [{"row": 30, "cells": {"Email": "cora@example.com"}}])
    assert again.status_code == 409
    assert first["id"] in again.json()["detail"]
    second = fix(client, auth, first["id"], [{"row": 30, "cells": {"Email": "cora@example.com"}}])
    assert second.status_code == 202, second.text
    run_import(ctx, second.json()["id"])
    assert get_job(ctx, admin, second.json()["id"]).counts.created == 1
    cora = [c for c in stored_customers(ctx, admin) if c["email"] == "cora@example.com"]
    assert [c["first_name"] for c in cora] == ["First28"]
    other = fix(client, auth, job_id, [{"row": 12, "cells": {"Email": "anna@example.com"}}])
    assert other.status_code == 202, other.text
    view = client.get(f"/api/v1/jobs/{job_id}", headers=auth).json()
    assert view["links"]["fix_job_2"].endswith(f"/api/v1/jobs/{other.json()['id']}")


def test_fixes_that_cannot_be_applied_are_refused_with_a_reason(
    ctx: Context, admin: User, client: TestClient, auth: dict[str, str]
) -> None:
    job_id = with_three_bad_rows(ctx, admin)
    good_row = fix(client, auth, job_id, [{"row": 13, "cells": {"Email": "a@example.com"}}])
    assert good_row.status_code == 422
    assert "Row 13 did not fail" in good_row.json()["detail"]
    unknown = fix(client, auth, job_id, [{"row": 12, "cells": {"E-mail": "a@example.com"}}])
    assert unknown.status_code == 422
    assert "no column 'E-mail'" in unknown.json()["detail"]
    twice = fix(client, auth, job_id, [{"row": 12, "cells": {}}, {"row": 12, "cells": {}}])
    assert twice.status_code == 422
    assert fix(client, auth, job_id, []).status_code == 422
    south = bearer(ctx, "south", "admin@south.example")
    assert fix(client, south, job_id, [{"row": 12, "cells": {}}]).status_code == 404
    rows_url = f"/api/v1/jobs/{job_id}/rows"
    assert client.get(rows_url, headers=south, params={"outcome": "failed"}).status_code == 404
    assert client.get(rows_url, headers=auth, params={"outcome": "created"}).status_code == 422
    clean = import_now(ctx, admin, csv_text([HEADER, *people(2)]))
    no_failures = client.get(
        f"/api/v1/jobs/{clean.id}/rows", headers=auth, params={"outcome": "failed"}
    )
    assert no_failures.status_code == 404
    assert "No row of this import failed" in no_failures.json()["detail"]
    dry = import_now(ctx, admin, csv_text([HEADER, ["", "", "bad@", ""]]), dry_run=True)
    assert fix(client, auth, dry.id, [{"row": 2, "cells": {}}]).status_code == 409
    form = client.post(
        "/api/v1/imports", headers=auth, data={"fix_of": job_id},
        files={"file": ("a.csv", b"Email\r\na@example.com\r\n")},
    )  # fmt: skip
    assert form.status_code == 422
    assert "fix_of: not a form field" in form.json()["detail"]


def test_a_checked_row_shows_its_new_problem_or_that_it_is_good_and_writes_nothing(
    ctx: Context, admin: User, client: TestClient, auth: dict[str, str]
) -> None:
    job_id = with_three_bad_rows(ctx, admin)
    before = stored_customers(ctx, admin)
    url = f"/api/v1/jobs/{job_id}/rows/12/check"
    good = client.post(url, headers=auth, json={"cells": {"Email": "anna@example.com"}})
    assert good.status_code == 200, good.text
    assert good.json() == {"row": 12, "outcome": "created", "errors": []}
    stored = client.post(url, headers=auth, json={"cells": {"Email": "person3@example.com"}})
    assert stored.json() == {"row": 12, "outcome": "updated", "errors": []}
    bad = client.post(url, headers=auth, json={"cells": {"Email": "anna@", "First Name": ""}})
    assert [(e["column"], e["code"]) for e in bad.json()["errors"]] == [("Email", "invalid_email")]
    assert stored_customers(ctx, admin) == before
    unknown = client.post(url, headers=auth, json={"cells": {"Mail": "a@example.com"}})
    assert unknown.status_code == 422
    not_failed = client.post(
        f"/api/v1/jobs/{job_id}/rows/13/check", headers=auth, json={"cells": {}}
    )
    assert not_failed.status_code == 422
    south = bearer(ctx, "south", "admin@south.example")
    assert client.post(url, headers=south, json={"cells": {}}).status_code == 404


@pytest.mark.parametrize("kind", ["xlsx", "semicolon-cp1252"])
def test_a_workbook_or_a_semicolon_file_is_fixed_with_its_own_row_numbers(
    ctx: Context, admin: User, client: TestClient, auth: dict[str, str], kind: str
) -> None:
    rows = [["Customers of Zoë"], HEADER, *people(5)]  # a title above the header: row 2
    rows[4][2] = "zoë@"
    if kind == "xlsx":
        job = import_now(ctx, admin, inline_workbook(rows), filename="shop.xlsx")
    else:
        content = csv_text(rows, delimiter=";").encode("cp1252")
        job = import_now(ctx, admin, content, filename="shop.csv")
    assert errors_of(ctx, job.id) == [(5, "invalid_email")]
    listed = client.get(f"/api/v1/jobs/{job.id}/rows", headers=auth, params={"outcome": "failed"})
    assert listed.json()["rows"][0]["cells"]["Email"] == "zoë@"
    answer = fix(client, auth, job.id, [{"row": 5, "cells": {"Email": "zoe@example.com"}}])
    assert answer.status_code == 202, answer.text
    run_import(ctx, answer.json()["id"])
    done = get_job(ctx, admin, answer.json()["id"])
    assert (done.status, done.counts.created) == (JobStatus.READY, 1)
    zoe = [c for c in stored_customers(ctx, admin) if c["email"] == "zoe@example.com"]
    assert [c["first_name"] for c in zoe] == ["First2"]


def test_the_page_grid_checks_a_row_and_imports_only_the_changed_rows(
    ctx: Context, admin: User, staff: User, client: TestClient
) -> None:
    job_id = with_three_bad_rows(ctx, admin)
    assert page_sign_in(client, staff.email) == 303
    grid = client.get(f"/jobs/{job_id}/fixes")
    assert grid.status_code == 200
    assert 'name="12:Email" data-column="Email" value="bram@"' in grid.text
    token = csrf_of(grid.text)
    shown = {"12:First Name": "First10", "12:Email": "anna@example.com", "30:Email": "not an email"}
    check = f"/jobs/{job_id}/fixes/12/check"
    assert client.post(check, data=shown).status_code == 403
    checked = client.post(check, data={**shown, "csrf": token})
    assert "Good now: it will be added" in checked.text
    unchanged = {"csrf": token, "30:Email": "not an email"}
    refused = client.post(f"/jobs/{job_id}/fixes", data=unchanged, follow_redirects=False)
    assert refused.status_code == 422
    assert "No cell was changed" in refused.text
    started = client.post(
        f"/jobs/{job_id}/fixes", data={**shown, "csrf": token}, follow_redirects=False
    )
    assert started.status_code == 303
    fix_id = started.headers["location"].rsplit("/", 1)[-1]
    assert get_job(ctx, admin, fix_id).options["only_rows"] == "12"
    assert client.get(f"/jobs/{fix_id}/fixes").status_code == 409  # not READY yet
    with ctx.engine.begin() as conn:
        south = accounts.ensure_user(
            conn, accounts.ensure_store(conn, "south"), "a@south.example", Role.ADMIN
        )
    theirs = import_now(ctx, south, csv_text([HEADER, ["", "", "bad@", ""]]))
    assert client.get(f"/jobs/{theirs.id}/fixes").status_code == 404
    assert client.post(f"/jobs/{theirs.id}/fixes/2/check", data={"csrf": token}).status_code == 404


def test_a_privacy_deletion_removes_the_fix_file_that_held_the_person(
    ctx: Context, admin: User, client: TestClient, auth: dict[str, str]
) -> None:
    job_id = with_three_bad_rows(ctx, admin)
    answer = fix(client, auth, job_id, [{"row": 12, "cells": {"Email": "anna@example.com"}}])
    run_import(ctx, answer.json()["id"])
    fix_job = get_job(ctx, admin, answer.json()["id"])
    assert fix_job.input_file == f"jobs/{fix_job.id}/upload"
    assert ctx.files.exists(fix_job.input_file)
    anna = [
        int(str(c["id"])) for c in stored_customers(ctx, admin) if c["email"] == "anna@example.com"
    ]
    with ctx.engine.connect() as conn:
        traces = traces_of(conn, admin.store_id, anna)
    purge_files(ctx, admin.store_id, traces, job_id="d" * 32, user_id=admin.id)
    assert not ctx.files.exists(fix_job.input_file)
