"""The customer pages through FastAPI's test client, on both databases: the list and its
archived filter, editing with the version check, archive, merge with its preview, delete only
with the permission and the ticked box, privacy export, CSRF refusals and store scoping."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import PASSWORD, csrf_of, get_job, page_sign_in

from bulkport import __version__
from bulkport.schemas.accounts import Role
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage import accounts
from bulkport.storage import customer_records as records
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context


def add_customer(ctx: Context, user: User, **values: Any) -> int:
    with ctx.engine.begin() as conn:
        return records.create(conn, user.store_id, values)


def stored(ctx: Context, user: User, customer_id: int) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        found = records.get(conn, user.store_id, customer_id)
    assert found is not None
    return found


@pytest.fixture
def ann(ctx: Context, admin: User) -> int:
    """A customer of store "north"."""
    return add_customer(ctx, admin, first_name="Ann", email="ann@example.com")


def version_of(page: str) -> str:
    """The version of the customer that the edit form was given."""
    return html.unescape(page.split('name="version" value="', 1)[1].split('"', 1)[0])


@pytest.fixture
def owner(ctx: Context, admin: User) -> User:
    """The admin of store "north", with a password: may delete customers."""
    with ctx.engine.begin() as conn:
        accounts.set_password(conn, admin.id, PASSWORD)
    return admin


def test_the_list_searches_and_shows_archived_customers_only_when_asked_greyed_and_marked(
    client: TestClient, ctx: Context, staff: User, ann: int
) -> None:
    bob = add_customer(ctx, staff, first_name="Bob", last_name="Archer", email="bob@example.com")
    with ctx.engine.begin() as conn:
        records.set_archived(conn, [bob], True)
    assert page_sign_in(client, staff.email) == 303
    active = client.get("/customers").text
    assert f"/customers/{ann}" in active
    assert f"/customers/{bob}" not in active
    archived = client.get("/customers", params={"show": "only"}).text
    assert f"/customers/{ann}" not in archived
    assert '<tr class="archived">' in archived
    assert ">Archived<" in archived  # said in words, not only greyed
    searched = client.get("/customers", params={"show": "include", "search": "bob@exa"}).text
    assert f"/customers/{bob}" in searched
    assert f"/customers/{ann}" not in searched
    assert 'href="/customers" aria-current="page"' in searched


def test_the_list_pages_by_cursor_with_each_customer_once(
    client: TestClient, ctx: Context, staff: User
) -> None:
    with ctx.engine.begin() as conn:
        ids = [records.create(conn, staff.store_id, {"first_name": f"C{n}"}) for n in range(52)]
    assert page_sign_in(client, staff.email) == 303
    first = client.get("/customers").text
    assert first.count('<td data-label="Name">') == 50
    after = re.search(r'href="(/customers\?[^"]*cursor=\d+)">Next page', first)
    assert after, first
    second = client.get(html.unescape(after.group(1))).text
    assert second.count('<td data-label="Name">') == 2
    assert "Next page" not in second and "First page" in second
    assert all(f'href="/customers/{i}"' in second for i in ids[:2])  # the oldest come last


def test_customer_forms_without_their_csrf_token_are_refused_and_change_nothing(
    client: TestClient, ctx: Context, owner: User, sent: list[str], ann: int
) -> None:
    bob = add_customer(ctx, owner, first_name="Bob", email="bob@example.com")
    assert page_sign_in(client, owner.email) == 303
    forms = {
        f"/customers/{ann}": {"first_name": "Changed"},
        f"/customers/{ann}/archive": {},
        f"/customers/{ann}/merge/{bob}": {},
        f"/customers/{ann}/delete": {"confirm": "yes"},
        f"/customers/{ann}/privacy-export": {},
    }
    for path, data in forms.items():
        response = client.post(path, data={**data, "csrf": "forged"}, follow_redirects=False)
        assert response.status_code == 403, path
        assert "out of date" in response.text
    after = stored(ctx, owner, ann)
    assert (after["first_name"], after["archived"], after["deleted_at"]) == ("Ann", False, None)
    assert stored(ctx, owner, bob)["merged_into_id"] is None
    assert sent == []


def test_another_stores_customer_answers_404_on_every_customer_page(
    client: TestClient, ctx: Context, staff: User
) -> None:
    with ctx.engine.begin() as conn:
        south = accounts.ensure_store(conn, "south")
        other = accounts.ensure_user(conn, south, "owner@south.example", Role.ADMIN)
    theirs = add_customer(ctx, other, first_name="Zed", email="zed@example.com")
    ours = add_customer(ctx, staff, first_name="Ann", email="ann@example.com")
    assert page_sign_in(client, staff.email) == 303
    pages = (f"/customers/{theirs}", f"/customers/{theirs}/merge",
             f"/customers/{ours}/merge/{theirs}", f"/customers/{theirs}/merge/{ours}")  # fmt: skip
    for path in pages:
        assert client.get(path).status_code == 404, path
    csrf = csrf_of(client.get(f"/customers/{ours}").text)
    forms = (f"/customers/{theirs}/archive", f"/customers/{ours}/merge/{theirs}",
             f"/customers/{theirs}/privacy-export", f"/customers/{theirs}")  # fmt: skip
    for path in forms:
        response = client.post(path, data={"csrf": csrf, "first_name": "X"})
        assert response.status_code == 404, path
    assert "Zed" not in client.get("/customers", params={"show": "include"}).text
    assert stored(ctx, other, theirs)["archived"] is False


def test_an_edit_is_saved_and_a_bad_email_is_told_beside_its_field(
    client: TestClient, ctx: Context, staff: User, ann: int
) -> None:
    assert page_sign_in(client, staff.email) == 303
    page = client.get(f"/customers/{ann}").text
    version = version_of(page)
    form = {"csrf": csrf_of(page), "version": version}
    untouched = client.post(f"/customers/{ann}", data={**form, "first_name": "Ann"})
    assert "Nothing to save" in untouched.text
    assert version_of(untouched.text) == version  # nothing was written
    refused = client.post(f"/customers/{ann}", data={**form, "email": "not an address"})
    assert refused.status_code == 422
    assert 'id="p-email"' in refused.text
    assert "not a valid email address" in refused.text
    assert 'value="not an address"' in refused.text  # what was typed stays in the field
    saved = client.post(
        f"/customers/{ann}",
        data={**form, "last_name": "Jansen", "tax_exempt": "no", "date_of_birth": "1980-02-29"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    shown = client.get(saved.headers["location"]).text
    assert "Saved the changes" in shown
    assert f"bulkport {__version__}</small>" in shown  # the form's version is not the footer's
    after = stored(ctx, staff, ann)
    assert (after["last_name"], after["tax_exempt"], str(after["date_of_birth"])) == (
        "Jansen", False, "1980-02-29",
    )  # fmt: skip
    assert after["email"] == "ann@example.com"


def test_an_edit_of_a_customer_changed_meanwhile_is_refused_and_loses_neither_change(
    client: TestClient, ctx: Context, staff: User, ann: int
) -> None:
    assert page_sign_in(client, staff.email) == 303
    page = client.get(f"/customers/{ann}").text
    version = version_of(page)
    with ctx.engine.begin() as conn:
        records.change(conn, ann, {"phone": "+31 6 0000 0001"})
    late = client.post(
        f"/customers/{ann}", data={"csrf": csrf_of(page), "version": version, "phone": "112"}
    )
    assert late.status_code == 409
    assert "Someone else changed this customer" in late.text
    assert 'value="+31 6 0000 0001"' in late.text  # the form shows the other change
    assert stored(ctx, staff, ann)["phone"] == "+31 6 0000 0001"


def test_archive_and_unarchive_from_the_customer_page(
    client: TestClient, ctx: Context, staff: User, ann: int
) -> None:
    assert page_sign_in(client, staff.email) == 303
    csrf = csrf_of(client.get(f"/customers/{ann}").text)
    archived = client.post(f"/customers/{ann}/archive", data={"csrf": csrf})
    assert "Archived. The customer is hidden" in archived.text
    assert "Un-archive" in archived.text
    assert stored(ctx, staff, ann)["archived"] is True
    client.post(f"/customers/{ann}/unarchive", data={"csrf": csrf})
    assert stored(ctx, staff, ann)["archived"] is False


def test_the_merge_preview_shows_what_the_primary_keeps_and_takes_and_the_merge_does_it(
    client: TestClient, ctx: Context, staff: User
) -> None:
    primary = add_customer(ctx, staff, first_name="Ann", email="ann@example.com", mobile="06 1")
    secondary = add_customer(
        ctx,
        staff,
        first_name="Annie",
        email="annie@example.com",
        mobile="06 2",
        invoice_city="Utrecht",
    )
    assert page_sign_in(client, staff.email) == 303
    found = client.get(f"/customers/{primary}/merge", params={"search": "annie"}).text
    assert f"/customers/{primary}/merge/{secondary}" in found
    preview = client.get(f"/customers/{primary}/merge/{secondary}").text
    city = preview.split('data-field="City"', 1)[1].split("</tr>", 1)[0]
    assert "Utrecht" in city and "taken from the secondary" in city
    mobile = preview.split('data-field="Mobile Phone"', 1)[1].split("</tr>", 1)[0]
    assert "the primary's value wins" in mobile
    assert "The email moves" not in preview  # both have one: each keeps its own
    merged = client.post(
        f"/customers/{primary}/merge/{secondary}",
        data={"csrf": csrf_of(preview)},
        follow_redirects=False,
    )
    assert merged.status_code == 303
    after = stored(ctx, staff, primary)
    assert (after["first_name"], after["mobile"], after["invoice_city"]) == (
        "Ann",
        "06 1",
        "Utrecht",
    )
    assert stored(ctx, staff, secondary)["merged_into_id"] == primary
    again = client.post(f"/customers/{primary}/merge/{secondary}", data={"csrf": csrf_of(preview)})
    assert again.status_code == 409
    assert "already merged" in again.text


def test_the_merge_preview_says_when_the_email_moves_and_the_merge_moves_it(
    client: TestClient, ctx: Context, staff: User
) -> None:
    primary = add_customer(ctx, staff, first_name="Kim")
    secondary = add_customer(ctx, staff, first_name="Kim", email="kim@example.com")
    assert page_sign_in(client, staff.email) == 303
    preview = client.get(f"/customers/{primary}/merge/{secondary}").text
    assert "The email moves" in preview
    client.post(f"/customers/{primary}/merge/{secondary}", data={"csrf": csrf_of(preview)})
    assert stored(ctx, staff, primary)["email"] == "kim@example.com"
    assert stored(ctx, staff, secondary)["email"] is None


def test_a_staff_user_sees_no_delete_and_a_forged_delete_is_refused(
    client: TestClient, ctx: Context, staff: User, ann: int
) -> None:
    assert page_sign_in(client, staff.email) == 303
    page = client.get(f"/customers/{ann}").text
    assert "Delete this customer" not in page
    forged = client.post(f"/customers/{ann}/delete", data={"csrf": csrf_of(page), "confirm": "yes"})
    assert forged.status_code == 403
    assert "does not allow deleting customers" in forged.text
    assert stored(ctx, staff, ann)["deleted_at"] is None


def test_deleting_needs_the_ticked_box_then_erases_the_person_for_good(
    client: TestClient, ctx: Context, owner: User, ann: int
) -> None:
    assert page_sign_in(client, owner.email) == 303
    page = client.get(f"/customers/{ann}").text
    assert "Deleting a customer cannot be undone" in page
    unticked = client.post(f"/customers/{ann}/delete", data={"csrf": csrf_of(page)})
    assert unticked.status_code == 422
    assert "Tick the box to confirm" in unticked.text
    assert stored(ctx, owner, ann)["deleted_at"] is None
    deleted = client.post(
        f"/customers/{ann}/delete", data={"csrf": csrf_of(page), "confirm": "yes"}
    )
    assert deleted.status_code == 200
    assert f"Deleted customer {ann}" in deleted.text
    after = stored(ctx, owner, ann)
    assert after["deleted_at"] is not None
    assert (after["first_name"], after["email"], after["archived"]) == (None, None, True)


def test_a_privacy_export_starts_its_job_and_opens_its_page(
    client: TestClient, ctx: Context, staff: User, sent: list[str], ann: int
) -> None:
    assert page_sign_in(client, staff.email) == 303
    csrf = csrf_of(client.get(f"/customers/{ann}").text)
    started = client.post(
        f"/customers/{ann}/privacy-export", data={"csrf": csrf}, follow_redirects=False
    )
    assert started.status_code == 303
    job_id = started.headers["location"].rsplit("/", 1)[-1]
    assert sent == [job_id]
    job = get_job(ctx, staff, job_id)
    assert (job.kind, job.status) == (JobKind.PRIVACY_EXPORT, JobStatus.QUEUED)
    assert "Privacy export" in client.get(started.headers["location"]).text
