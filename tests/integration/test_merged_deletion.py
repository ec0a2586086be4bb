"""Deleting a record merged into another: the page and the API say that the primary, the same
person, still holds their details and lead to its delete; a delete list by the email finds the
primary. On both databases."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient
from support import PASSWORD, csrf_of, csv_text, page_sign_in, stage_list
from test_customer_pages import stored

from bulkport.storage import accounts
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.customer_lists import run_list
from bulkport.tasks.deletions import DELETE

API = "/api/v1/customers"
SECONDARY = {
    "first_name": "Sietske",
    "last_name": "Merrowdale",
    "email": "sietske.m@example.com",
    "phone": "+31 6 5550 1234",
    "notes": "prefers the blue catalogue",
}


@pytest.fixture
def merged(client: TestClient, auth: dict[str, str]) -> tuple[int, int]:
    """(primary, secondary): the secondary's email, phone and notes filled the primary's empty
    fields when it was merged into it."""
    primary = client.post(API, headers=auth, json={"first_name": "Sietske", "last_name": "M"})
    secondary = client.post(API, headers=auth, json=SECONDARY)
    pid, sid = primary.json()["id"], secondary.json()["id"]
    answer = client.post(f"{API}/{pid}/merge", headers=auth, json={"secondary_id": sid})
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"] == SECONDARY["email"]
    return pid, sid


def test_deleting_a_merged_record_answers_that_its_primary_holds_the_person_and_its_delete(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User, merged: tuple[int, int]
) -> None:
    pid, sid = merged

    answer = client.post(f"{API}/{sid}/delete", headers=auth, params={"confirm": "true"})

    assert answer.status_code == 200, answer.text
    held_by = answer.json()["held_by"]
    assert (held_by["id"], held_by["name"]) == (pid, "Sietske M")
    assert held_by["copied_fields"] == ["Email", "Notes", "Phone"]
    assert f"merged into Sietske M (Customer Record ID {pid})" in held_by["message"]
    assert held_by["delete"] == f"{API}/{pid}/delete"
    assert stored(ctx, admin, pid)["phone"] == SECONDARY["phone"]  # not deleted unasked
    # Following the offer erases the person for good.
    second = client.post(held_by["delete"], headers=auth, params={"confirm": "true"})
    assert second.status_code == 200
    primary = stored(ctx, admin, pid)
    assert (primary["email"], primary["phone"], primary["notes"]) == (None, None, None)
    plain = client.post(API, headers=auth, json={"first_name": "Unmerged"}).json()
    alone = client.post(f"{API}/{plain['id']}/delete", headers=auth, params={"confirm": "true"})
    assert "held_by" not in alone.json()


def test_the_delete_page_and_its_result_name_the_primary_and_lead_to_its_delete(
    client: TestClient, ctx: Context, admin: User, merged: tuple[int, int]
) -> None:
    pid, sid = merged
    with ctx.engine.begin() as conn:
        accounts.set_password(conn, admin.id, PASSWORD)
    assert page_sign_in(client, admin.email) == 303
    page = client.get(f"/customers/{sid}").text
    confirm = html.unescape(page.split('id="delete-heading"', 1)[1])
    assert "merged into Sietske M (Customer Record ID" in confirm
    assert "Deleting this record does not delete that customer" in confirm
    assert f'href="/customers/{pid}#delete-heading"' in confirm

    done = client.post(f"/customers/{sid}/delete", data={"csrf": csrf_of(page), "confirm": "yes"})

    assert done.status_code == 200
    shown = html.unescape(done.text)
    assert "Every personal detail is erased;" not in shown
    assert f"merged into Sietske M (Customer Record ID {pid}), the same person, who still " in shown
    assert "(Email, Notes, Phone)" in shown
    assert f'href="/customers/{pid}#delete-heading"' in shown
    primary_page = client.get(f"/customers/{pid}").text
    assert 'id="delete-heading"' in primary_page
    assert "held-by" not in primary_page  # the primary was merged into nobody


def test_a_delete_list_naming_the_email_deletes_the_primary_now_holding_it(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User, merged: tuple[int, int]
) -> None:
    pid, sid = merged
    listing = csv_text([["Email"], [SECONDARY["email"].upper()]])
    job_id = stage_list(ctx, admin, DELETE, listing, confirm=True)

    run_list(ctx, job_id, DELETE)

    report = client.get(f"/api/v1/jobs/{job_id}/report", headers=auth).text
    assert report.splitlines()[1].split(",")[:4] == ["2", str(pid), "", "deleted"]
    for customer_id in (pid, sid):
        erased = stored(ctx, admin, customer_id)
        assert erased["deleted_at"] is not None
        assert (erased["email"], erased["phone"], erased["notes"]) == (None, None, None)
