"""The users page and the audit page through FastAPI's test client, on both databases: only
admins see them, permissions granted and revoked by the API's rule (the store keeps an admin),
CSRF refusals and store scoping, and the audit log said in words."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from support import PASSWORD, csrf_of, import_now, page_sign_in

from bulkport.schemas.accounts import Permission, Role
from bulkport.schemas.exports import ArchivedFilter
from bulkport.schemas.jobs import RowOutcome
from bulkport.storage import accounts
from bulkport.storage import customer_records as records
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.deletions import delete_one


@pytest.fixture
def owner(ctx: Context, admin: User) -> User:
    """The admin of store "north", with a password."""
    with ctx.engine.begin() as conn:
        accounts.set_password(conn, admin.id, PASSWORD)
    return admin


def allowed(ctx: Context, user: User, permission: Permission) -> bool:
    with ctx.engine.connect() as conn:
        found = accounts.user_in_store(conn, user.store_id, user.id)
    assert found is not None
    return found.can(permission)


def row_of(page: str, user: User, permission: Permission) -> str:
    """The users page's row of one permission of one user."""
    section = page.split(f'id="user-{user.id}"', 1)[1].split("</section>", 1)[0]
    return section.split(f'data-permission="{permission.value}"', 1)[1].split("</tr>", 1)[0]


def test_staff_see_no_users_page_and_cannot_change_permissions(
    client: TestClient, ctx: Context, owner: User, staff: User
) -> None:
    assert page_sign_in(client, staff.email) == 303
    assert 'href="/users"' not in client.get("/customers").text
    assert client.get("/users").status_code == 403
    csrf = csrf_of(client.get("/customers").text)
    forged = client.post(
        f"/users/{staff.id}/permissions",
        data={"csrf": csrf, "permission": "customers:delete", "change": "grant"},
    )
    assert forged.status_code == 403
    assert not allowed(ctx, staff, Permission.CUSTOMERS_DELETE)


def test_an_admin_grants_and_revokes_a_permission_and_the_audit_says_so(
    client: TestClient, ctx: Context, owner: User, staff: User
) -> None:
    assert page_sign_in(client, owner.email) == 303
    page = client.get("/users").text
    assert 'href="/users" aria-current="page"' in page
    assert "No" in row_of(page, staff, Permission.CUSTOMERS_DELETE)
    assert "(the staff role)" in row_of(page, staff, Permission.CUSTOMERS_BASIC)
    form = {"csrf": csrf_of(page), "permission": "customers:delete", "change": "grant"}
    forged = client.post(f"/users/{staff.id}/permissions", data={**form, "csrf": "forged"})
    assert forged.status_code == 403
    assert not allowed(ctx, staff, Permission.CUSTOMERS_DELETE)
    granted = client.post(f"/users/{staff.id}/permissions", data=form)
    assert "staff@north.example may now delete customers." in granted.text
    assert "Yes" in row_of(granted.text, staff, Permission.CUSTOMERS_DELETE)
    assert "(granted)" in row_of(granted.text, staff, Permission.CUSTOMERS_DELETE)
    assert allowed(ctx, staff, Permission.CUSTOMERS_DELETE)
    revoked = client.post(
        f"/users/{staff.id}/permissions",
        data={**form, "permission": "customers:basic", "change": "revoke"},
    )
    assert "staff@north.example may no longer work with customers." in revoked.text
    assert "(revoked from the role)" in row_of(revoked.text, staff, Permission.CUSTOMERS_BASIC)
    assert not allowed(ctx, staff, Permission.CUSTOMERS_BASIC)
    said = client.get("/audit").text
    assert "admin@north.example granted customers:delete to staff@north.example." in said
    assert "admin@north.example revoked customers:basic from staff@north.example." in said
    assert "permission.grant" not in re.sub(r'data-action="[^"]*"', "", said)


def test_the_last_admin_cannot_revoke_their_own_admin_but_one_of_two_can(
    client: TestClient, ctx: Context, owner: User
) -> None:
    assert page_sign_in(client, owner.email) == 303
    form = {"csrf": csrf_of(client.get("/users").text), "permission": "jobs:admin",
            "change": "revoke"}  # fmt: skip
    refused = client.post(f"/users/{owner.id}/permissions", data=form)
    assert refused.status_code == 409
    assert "admin@north.example is the store's last admin" in html.unescape(refused.text)
    assert allowed(ctx, owner, Permission.JOBS_ADMIN)
    with ctx.engine.begin() as conn:
        second = accounts.ensure_user(conn, owner.store_id, "second@north.example", Role.ADMIN)
        disabled = accounts.ensure_user(conn, owner.store_id, "gone@north.example", Role.ADMIN)
        accounts.disable_user(conn, disabled.id)
    done = client.post(f"/users/{second.id}/permissions", data=form)
    assert done.status_code == 200 and not allowed(ctx, second, Permission.JOBS_ADMIN)
    # A disabled admin does not count: the owner is the last one again.
    assert client.post(f"/users/{owner.id}/permissions", data=form).status_code == 409
    regranted = client.post(f"/users/{second.id}/permissions", data={**form, "change": "grant"})
    assert regranted.status_code == 200
    assert client.post(f"/users/{owner.id}/permissions", data=form).status_code == 200
    assert not allowed(ctx, owner, Permission.JOBS_ADMIN)
    assert client.get("/users").status_code == 403  # the owner is no admin any more


def test_another_stores_user_answers_404_and_is_not_listed(
    client: TestClient, ctx: Context, owner: User
) -> None:
    with ctx.engine.begin() as conn:
        south = accounts.ensure_store(conn, "south")
        other = accounts.ensure_user(conn, south, "owner@south.example", Role.STAFF)
    assert page_sign_in(client, owner.email) == 303
    page = client.get("/users").text
    assert "owner@south.example" not in page
    form = {"csrf": csrf_of(page), "permission": "customers:delete", "change": "grant"}
    assert client.post(f"/users/{other.id}/permissions", data=form).status_code == 404
    assert not allowed(ctx, other, Permission.CUSTOMERS_DELETE)


def test_the_audit_page_says_in_words_who_uploaded_deleted_and_archived_what(
    client: TestClient, ctx: Context, owner: User
) -> None:
    import_now(ctx, owner, "First Name,Email\r\nAna,ana@example.com\r\n", filename="klanten.csv")
    with ctx.engine.connect() as conn:
        (customer,) = records.search(
            conn,
            owner.store_id,
            text=None,
            archived=ArchivedFilter.INCLUDE,
            before_id=None,
            limit=5,
        )
    assert delete_one(ctx, owner.store_id, None, customer["id"]) is RowOutcome.UPDATED
    assert page_sign_in(client, owner.email) == 303
    page = client.get("/audit").text
    assert "admin@north.example uploaded klanten.csv to import." in page
    assert f"The command line deleted customer {customer['id']}." in page
    assert "ana@example.com" not in page
