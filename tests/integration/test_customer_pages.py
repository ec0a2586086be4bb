"""The customer pages through FastAPI's test client, on both databases: the list and its
archived filter, editing with the version check, archive, merge with its preview, delete only
with the permission and the ticked box, privacy export, CSRF refusals and store scoping."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from support import PASSWORD, csrf_of, get_job, page_sign_in

from bulkport import __version__
from bulkport.schemas.accounts import Role
from bulkport.schemas.exports import ArchivedFilter
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage import accounts
from bulkport.storage import customer_records as records
from bulkport.storage.accounts import User
from bulkport.storage.tables import stores
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


def set_date_order(ctx: Context, store_id: int, order: str) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(update(stores).where(stores.c.id == store_id).values(date_order=order))


def test_a_customer_added_by_hand_keeps_the_edit_forms_rules(
    client: TestClient, ctx: Context, staff: User, sent: list[str], ann: int
) -> None:
    assert page_sign_in(client, staff.email) == 303
    listed = client.get("/customers").text
    assert 'href="/customers/new"' in listed
    page = client.get("/customers/new").text
    assert 'placeholder="DD-MM-YYYY"' in page and 'type="date"' not in page
    form = {"csrf": csrf_of(page), "first_name": "Cas", "date_of_birth": "31-03-1990"}
    forged = client.post("/customers/new", data={**form, "csrf": "forged"})
    assert forged.status_code == 403
    empty = client.post("/customers/new", data={"csrf": form["csrf"], "first_name": " "})
    assert empty.status_code == 422
    assert "Each customer needs at least a first name, last name, email or phone" in empty.text
    refused = client.post("/customers/new", data={**form, "email": "not an address"})
    assert refused.status_code == 422 and 'id="p-email"' in refused.text
    assert 'value="Cas"' in refused.text and 'value="31-03-1990"' in refused.text  # kept
    taken = client.post("/customers/new", data={**form, "email": "ANN@example.com"})
    assert (
        taken.status_code == 422 and "Another customer of this store has this email" in taken.text
    )
    exempt = client.post("/customers/new", data={**form, "tax_exempt": "yes"})
    assert exempt.status_code == 422
    assert "A tax exempt customer needs a Sales Tax Number" in exempt.text
    bad_day = client.post("/customers/new", data={**form, "date_of_birth": "31-02-1990"})
    assert bad_day.status_code == 422
    assert "not a real date: write it as DD-MM-YYYY, for example 31-03-1990" in bad_day.text
    with ctx.engine.connect() as conn:
        assert len(records.search(conn, staff.store_id, text=None, archived=ArchivedFilter.INCLUDE,
                                  before_id=None, limit=10)) == 1  # fmt: skip
    added = client.post("/customers/new", data=form, follow_redirects=False)
    assert added.status_code == 303
    new_id = int(added.headers["location"].split("?")[0].rsplit("/", 1)[-1])
    shown = client.get(added.headers["location"]).text
    assert "Added the customer." in shown and 'value="31-03-1990"' in shown
    after = stored(ctx, staff, new_id)
    assert (after["first_name"], str(after["date_of_birth"])) == ("Cas", "1990-03-31")
    assert sent == []


def test_dates_are_read_and_shown_in_the_stores_day_and_month_order(
    client: TestClient, ctx: Context, staff: User, ann: int
) -> None:
    with ctx.engine.begin() as conn:
        records.change(conn, ann, {"date_of_birth": date(1990, 3, 31)})
    assert page_sign_in(client, staff.email) == 303
    dmy = client.get(f"/customers/{ann}").text
    assert 'value="31-03-1990"' in dmy and "Written as DD-MM-YYYY" in dmy
    set_date_order(ctx, staff.store_id, "mdy")
    page = client.get(f"/customers/{ann}").text
    assert 'value="03-31-1990"' in page and 'placeholder="MM-DD-YYYY"' in page
    form = {"csrf": csrf_of(page), "version": version_of(page)}
    same = client.post(f"/customers/{ann}", data={**form, "date_of_birth": "1990-03-31"})
    assert "Nothing to save" in same.text  # the same day written another way
    wrong = client.post(f"/customers/{ann}", data={**form, "date_of_birth": "31-13-1990"})
    assert wrong.status_code == 422 and 'id="p-date_of_birth"' in wrong.text
    assert "write it as MM-DD-YYYY" in wrong.text
    future = client.post(f"/customers/{ann}", data={**form, "date_of_birth": "04-01-2999"})
    assert future.status_code == 422 and "from 1900 up to last year" in future.text
    saved = client.post(f"/customers/{ann}", data={**form, "date_of_birth": "04-01-1990"})
    assert "Saved the changes" in saved.text
    assert stored(ctx, staff, ann)["date_of_birth"] == date(1990, 4, 1)


def test_the_customer_page_shows_their_sales_newest_first_with_the_total(
    client: TestClient, ctx: Context, staff: User, ann: int
) -> None:
    other = add_customer(ctx, staff, first_name="Bob")
    with ctx.engine.begin() as conn:
        for amount, day in (("10.50", 1), ("4.25", 3), ("7.00", 2)):
            moment = datetime(2026, 5, day, 9, 30, tzinfo=UTC)
            records.add_sale(conn, staff.store_id, ann, Decimal(amount), moment)
        records.add_sale(conn, staff.store_id, other, Decimal("99.99"), datetime.now(UTC))
    assert page_sign_in(client, staff.email) == 303
    page = client.get(f"/customers/{ann}").text
    sales = page.split('<table class="cards sales"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'data-label="Amount" class="amount">([\d.]+)<', sales) == [
        "4.25", "7.00", "10.50",
    ]  # fmt: skip
    assert "03-05-2026 09:30" in sales  # the store's day-first order
    assert "3 sales, 21.75 in all" in page
    assert "99.99" not in page
    nobody = add_customer(ctx, staff, first_name="Cas")
    assert "<p>No sales.</p>" in client.get(f"/customers/{nobody}").text


def test_the_list_shows_ids_and_a_merge_of_namesakes_names_each_by_id(
    client: TestClient, ctx: Context, staff: User
) -> None:
    first = add_customer(ctx, staff, first_name="Mia", last_name="Vos")
    second = add_customer(ctx, staff, first_name="Mia", last_name="Vos", email="mia@example.com")
    other = add_customer(ctx, staff, first_name="Ann")
    assert page_sign_in(client, staff.email) == 303
    listed = client.get("/customers").text
    assert f'<td data-label="ID">{first}</td>' in listed
    assert f'<td data-label="ID">{second}</td>' in listed
    namesakes = client.get(f"/customers/{first}/merge/{second}").text
    assert f"<h1>Merge Mia Vos (ID {second}) into Mia Vos (ID {first})</h1>" in namesakes
    # Fields empty in both are one line, not a row each.
    assert 'data-field="Initials"' not in namesakes and 'data-field="Email"' in namesakes
    assert "Empty in both, and so after the merge: Initials, Phone," in namesakes
    told_apart = client.get(f"/customers/{other}/merge/{second}").text
    assert "<h1>Merge Mia Vos into Ann</h1>" in told_apart


def test_a_merged_customer_offers_no_merge_that_cannot_happen(
    client: TestClient, ctx: Context, staff: User, ann: int
) -> None:
    twin = add_customer(ctx, staff, first_name="Ann", email="ann.twin@example.com")
    assert page_sign_in(client, staff.email) == 303
    primary_page = client.get(f"/customers/{ann}").text
    assert "Merge a duplicate into this customer" in primary_page
    client.post(f"/customers/{ann}/merge/{twin}", data={"csrf": csrf_of(primary_page)})
    assert stored(ctx, staff, twin)["merged_into_id"] == ann
    merged = client.get(f"/customers/{twin}").text
    assert "Merge a duplicate into this customer" not in merged
    assert f'Merged into <a href="/customers/{ann}">' in merged
    pick = client.get(f"/customers/{twin}/merge", params={"search": "ann"}).text
    assert "was merged into another and is archived" in pick
    assert 'name="search"' not in pick and "Preview the merge" not in pick
