"""Column rules for stored values (overwrite, fill_empty, keep) and the `[clear]` cell, on both
databases: in a job's options, through the API, a dry run's commit, a saved mapping, and a
split import."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import (
    Queue,
    csrf_of,
    csv_text,
    errors_of,
    get_job,
    import_now,
    page_sign_in,
    stage_import,
    stored_customers,
)

from bulkport.config import Settings
from bulkport.schemas.jobs import JobStatus
from bulkport.storage import customer_writes, mappings
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.imports import run_import

HEADER = ["Email", "First Name", "Phone", "Notes"]


def seed(ctx: Context, user: User, *people: dict[str, Any]) -> None:
    with ctx.engine.begin() as conn:
        customer_writes.insert_many(conn, user.store_id, list(people))


def by_email(ctx: Context, user: User) -> dict[object, dict[str, object]]:
    return {row["email"]: row for row in stored_customers(ctx, user)}


@pytest.mark.parametrize(
    ("rule", "expected", "outcome"),
    [
        ("overwrite", ("Anna", "0699", "vip"), "updated"),
        ("fill_empty", ("Ann", "0611", "vip"), "updated"),  # only the empty Notes is written
        ("keep", ("Ann", "0611", None), "unchanged"),  # every change held back
    ],
)
def test_each_rule_decides_what_an_update_does_with_stored_values(
    ctx: Context, admin: User, rule: str, expected: tuple[object, ...], outcome: str
) -> None:
    seed(ctx, admin, {"email": "ann@example.com", "first_name": "Ann", "phone": "0611"})
    content = csv_text([HEADER, ["ann@example.com", "Anna", "0699", "vip"]])
    rules = {"first_name": rule, "Phone": rule, "notes": rule}  # a label is taken too
    job = import_now(ctx, admin, content, column_rules=rules)
    assert job.status is JobStatus.READY, job.error
    assert job.options["column_rules"] == {"first_name": rule, "phone": rule, "notes": rule}
    ann = by_email(ctx, admin)["ann@example.com"]
    assert (ann["first_name"], ann["phone"], ann["notes"]) == expected
    assert getattr(job.counts, outcome) == 1 and job.counts.succeeded == 1


def test_keep_and_fill_empty_still_write_a_new_customer(ctx: Context, admin: User) -> None:
    content = csv_text([HEADER, ["new@example.com", "Nina", "0633", "first"]])
    job = import_now(
        ctx, admin, content, column_rules={"phone": "keep", "first_name": "fill_empty"}
    )
    assert job.counts.created == 1
    nina = by_email(ctx, admin)["new@example.com"]
    assert (nina["first_name"], nina["phone"], nina["notes"]) == ("Nina", "0633", "first")


def test_a_held_back_email_is_not_a_taken_email(ctx: Context, admin: User) -> None:
    seed(
        ctx, admin,
        {"email": "ann@example.com", "first_name": "Ann"},
        {"email": "bob@example.com", "first_name": "Bob"},
    )  # fmt: skip
    ann_id = by_email(ctx, admin)["ann@example.com"]["id"]
    content = csv_text(
        [["Customer Record ID", "Email", "Notes"], [str(ann_id), "bob@example.com", "x"]]
    )
    job = import_now(ctx, admin, content, column_rules={"email": "keep"})
    assert errors_of(ctx, job.id) == [] and job.counts.updated == 1
    assert by_email(ctx, admin)["ann@example.com"]["notes"] == "x"


def test_the_clear_cell_empties_stored_fields_whatever_blank_cells_says(
    ctx: Context, admin: User
) -> None:
    seed(
        ctx, admin,
        {"email": "ann@example.com", "first_name": "Ann", "phone": "0611", "notes": "n",
         "invoice_country": "NL", "date_of_birth": date(1990, 4, 3), "accepts_marketing": True,
         "customer_type": "business"},
    )  # fmt: skip
    header = [*HEADER, "Country", "Date of Birth", "Accepts Marketing Emails", "Customer Type"]
    content = csv_text(
        [
            header,
            # Phone and the typed fields cleared; the blank Notes keeps its value.
            ["ann@example.com", "Anna", " [clear] ", "", *["[clear]"] * 4],
            ["new@example.com", "Nina", "[clear]", "", "", "", "", ""],  # created without a phone
        ]
    )
    job = import_now(ctx, admin, content, blank_cells="keep")
    assert job.status is JobStatus.READY, job.error
    assert errors_of(ctx, job.id) == []
    assert (job.counts.updated, job.counts.created) == (1, 1)
    people = by_email(ctx, admin)
    ann = people["ann@example.com"]
    assert (ann["first_name"], ann["phone"], ann["notes"]) == ("Anna", None, "n")
    typed = ("invoice_country", "date_of_birth", "accepts_marketing", "customer_type")
    assert [ann[key] for key in typed] == [None] * 4
    assert people["new@example.com"]["phone"] is None


def test_a_clear_that_would_leave_no_identity_or_clears_an_id_fails_its_row(
    ctx: Context, admin: User
) -> None:
    seed(
        ctx, admin,
        {"email": "ann@example.com", "first_name": "Ann"},
        {"email": "bob@example.com", "phone": "0622"},
    )  # fmt: skip
    people = by_email(ctx, admin)
    ann_id, bob_id = people["ann@example.com"]["id"], people["bob@example.com"]["id"]
    content = csv_text(
        [
            ["Customer Record ID", "Email", "First Name", "Phone"],
            [str(ann_id), "[clear]", "[clear]", ""],  # nothing would be left of Ann
            ["[clear]", "bob@example.com", "", ""],  # an id is never cleared
            [str(bob_id), "[clear]", "", "0699"],  # Bob keeps his phone: the email may go
        ]
    )
    job = import_now(ctx, admin, content)
    assert errors_of(ctx, job.id) == [(2, "missing_identity"), (3, "not_clearable")]
    people = {row["id"]: row for row in stored_customers(ctx, admin)}
    assert people[ann_id]["email"] == "ann@example.com"
    assert (people[bob_id]["email"], people[bob_id]["phone"]) == (None, "0699")


def test_keep_and_fill_empty_hold_a_clear_back(ctx: Context, admin: User) -> None:
    seed(ctx, admin, {"email": "ann@example.com", "first_name": "Ann", "phone": "0611"})
    content = csv_text([HEADER, ["ann@example.com", "[clear]", "[clear]", ""]])
    job = import_now(
        ctx, admin, content, column_rules={"first_name": "keep", "phone": "fill_empty"}
    )
    assert job.counts.unchanged == 1
    ann = by_email(ctx, admin)["ann@example.com"]
    assert (ann["first_name"], ann["phone"]) == ("Ann", "0611")


def upload(client: TestClient, auth: dict[str, str], content: str, **form: str) -> Any:
    return client.post(
        "/api/v1/imports",
        headers=auth,
        files={"file": ("customers.csv", content, "text/csv")},
        data=form,
    )


def test_the_api_refuses_a_rule_for_an_unknown_field_with_the_reason(
    client: TestClient, auth: dict[str, str], queue: Queue
) -> None:
    content = csv_text([HEADER, ["ann@example.com", "Ann", "", ""]])
    for path in ("/api/v1/imports", "/api/v1/imports/preview"):
        answer = client.post(
            path,
            headers=auth,
            files={"file": ("customers.csv", content, "text/csv")},
            data={"column_rules": '{"Shoe Size": "keep"}'},
        )
        assert answer.status_code == 422, answer.text
        assert "'Shoe Size' is not a field an import can write" in answer.json()["detail"]
    bad_rule = upload(client, auth, content, column_rules='{"phone": "sometimes"}')
    assert bad_rule.status_code == 422 and "column_rules" in bad_rule.json()["detail"]
    not_json = upload(client, auth, content, column_rules="phone=keep")
    assert not_json.status_code == 422 and "JSON object" in not_json.json()["detail"]
    assert queue.ids == []


def test_rules_survive_a_dry_run_into_its_commit(
    client: TestClient, auth: dict[str, str], queue: Queue, ctx: Context, admin: User
) -> None:
    seed(ctx, admin, {"email": "ann@example.com", "first_name": "Ann", "phone": "0611"})
    content = csv_text([HEADER, ["ann@example.com", "Anna", "0699", ""]])
    dry = upload(client, auth, content, dry_run="true", column_rules='{"phone": "keep"}').json()
    run_import(ctx, str(dry["id"]))
    committed = client.post(f"/api/v1/imports/{dry['id']}/commit", headers=auth).json()
    assert committed["options"]["column_rules"] == {"phone": "keep"}
    run_import(ctx, str(committed["id"]))
    ann = by_email(ctx, admin)["ann@example.com"]
    assert (ann["first_name"], ann["phone"]) == ("Anna", "0611")


def test_a_saved_mappings_rules_are_used_when_a_job_names_it(
    client: TestClient, auth: dict[str, str], queue: Queue, ctx: Context, admin: User
) -> None:
    body = {"columns": {"Mail": "email", "Tel": "phone", "Naam": "first_name"},
            "rules": {"Phone": "fill_empty", "first_name": "keep"}}  # fmt: skip
    saved = client.put("/api/v1/mappings/shop", headers=auth, json=body)
    assert saved.status_code == 201, saved.text
    assert saved.json()["rules"] == {"phone": "fill_empty", "first_name": "keep"}
    assert (
        client.get("/api/v1/mappings/shop", headers=auth).json()["rules"] == saved.json()["rules"]
    )
    unknown = client.put("/api/v1/mappings/x", headers=auth, json={**body, "rules": {"x": "keep"}})
    assert unknown.status_code == 422

    seed(ctx, admin, {"email": "ann@example.com", "first_name": "Ann"})
    content = csv_text([["Mail", "Tel", "Naam"], ["ann@example.com", "0611", "Anna"]])
    job = upload(client, auth, content, mapping_name="shop").json()
    assert job["options"]["column_rules"] == {"phone": "fill_empty", "first_name": "keep"}
    # The request's own rules win field by field.
    second = upload(client, auth, content, mapping_name="shop", column_rules='{"phone": "keep"}')
    assert second.json()["options"]["column_rules"] == {"phone": "keep", "first_name": "keep"}
    run_import(ctx, str(job["id"]))
    ann = by_email(ctx, admin)["ann@example.com"]
    assert (ann["first_name"], ann["phone"]) == ("Ann", "0611")


CHUNK_ROWS = 500


@pytest.fixture
def split_ctx(settings: Settings) -> Iterator[Context]:
    """A context that splits imports of more than 500 rows (chunks run in this process)."""
    context = Context.from_settings(settings.model_copy(update={"chunk_rows": CHUNK_ROWS}))
    yield context
    context.close()


def test_a_split_import_honours_the_rules_in_every_chunk(split_ctx: Context, admin: User) -> None:
    stored = [{"email": f"p{i}@example.com", "first_name": f"Old{i}"} for i in range(0, 1200, 50)]
    seed(split_ctx, admin, *stored)
    rows = [[f"p{i}@example.com", f"New{i}", f"06{i}", "[clear]"] for i in range(1200)]
    job_id = stage_import(split_ctx, admin, csv_text([HEADER, *rows]),
                          column_rules={"first_name": "keep"})  # fmt: skip
    run_import(split_ctx, job_id)
    people = by_email(split_ctx, admin)
    job = get_job(split_ctx, admin, job_id)
    assert job.status is JobStatus.READY and job.chunks == 3, job.error
    assert (job.counts.created, job.counts.updated) == (1200 - len(stored), len(stored))
    for i in range(1200):
        person = people[f"p{i}@example.com"]
        name = f"Old{i}" if i % 50 == 0 else f"New{i}"
        assert (person["first_name"], person["phone"], person["notes"]) == (name, f"06{i}", None)


def test_the_mapping_screen_offers_a_rule_per_column_saves_and_starts_with_it(
    client: TestClient, ctx: Context, staff: User, sent: list[str]
) -> None:
    assert page_sign_in(client, staff.email) == 303
    csrf = csrf_of(client.get("/imports/new").text)
    content = b"Naam,Mail,Tel\r\nAnn,ann@example.com,0611\r\n"
    uploaded = client.post(
        "/imports/new",
        data={"csrf": csrf},
        files={"file": ("shop.csv", content, "text/csv")},
        follow_redirects=False,
    )
    screen = uploaded.headers["location"]
    page = client.get(screen).text
    assert 'name="rule-2"' in page and "Fill only where empty" in page
    form = {"csrf": csrf, "header-0": "Naam", "field-0": "last_name", "rule-0": "keep"}
    form |= {"header-1": "Mail", "field-1": "email", "rule-1": "overwrite"}
    form |= {"header-2": "Tel", "field-2": "phone", "rule-2": "fill_empty"}
    saved = client.post(screen, data={**form, "action": "save", "save_name": "shop"})
    assert saved.status_code == 200
    assert 'value="keep" selected' in saved.text
    with ctx.engine.connect() as conn:
        kept = mappings.get(conn, staff.store_id, "shop")
    assert kept is not None and kept.rules == {"last_name": "keep", "phone": "fill_empty"}
    # The saved mapping's rules come back with it; the job starts with them.
    blank = {**form, "rule-0": "overwrite", "rule-2": "overwrite"}
    used = client.post(screen, data={**blank, "action": "use", "saved_mapping": "shop"})
    assert 'value="fill_empty" selected' in used.text
    started = client.post(screen, data={**form, "action": "start"}, follow_redirects=False)
    assert started.status_code == 303
    job = get_job(ctx, staff, started.headers["location"].rsplit("/", 1)[-1])
    assert job.options["column_rules"] == {"last_name": "keep", "phone": "fill_empty"}
