"""The customers, sales, archive, merge and permission endpoints on both databases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from jsonschema_rs import Draft202012Validator
from support import bearer

from bulkport.schemas.accounts import Permission, Role
from bulkport.storage import audit
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context

API = "/api/v1/customers"


def create(client: TestClient, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = client.post(API, headers=auth, json=fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def sell(client: TestClient, auth: dict[str, str], customer_id: int, amount: str) -> Any:
    return client.post(
        "/api/v1/sales",
        headers=auth,
        json={"customer_id": customer_id, "amount": amount, "sold_at": "2026-01-02T10:00:00Z"},
    )


def test_customers_are_created_by_the_import_rules_and_listed_newest_first(
    client: TestClient, auth: dict[str, str]
) -> None:
    ann = create(client, auth, first_name="Ann", email="Ann@Example.COM", company="Acme")
    bob = create(client, auth, first_name="Bob", phone="+31 6 1234")
    assert ann["email"] == "Ann@example.com"
    bad = client.post(API, headers=auth, json={"email": "nope@", "tax_exempt": "yes"})
    assert bad.status_code == 422
    assert "email" in bad.json()["detail"] and "tax_exempt" in bad.json()["detail"]
    untaxed = client.post(API, headers=auth, json={"first_name": "Cy", "tax_exempt": True})
    assert untaxed.status_code == 422 and "Sales Tax Number" in untaxed.json()["detail"]
    assert client.post(API, headers=auth, json={"city": "x"}).status_code == 422
    assert client.post(API, headers=auth, json={"email": "ann@example.com"}).status_code == 409
    page = client.get(API, headers=auth, params={"limit": 1}).json()
    assert [c["id"] for c in page["customers"]] == [bob["id"]]
    rest = client.get(API, headers=auth, params={"limit": 1, "cursor": page["next_cursor"]})
    assert [c["id"] for c in rest.json()["customers"]] == [ann["id"]]
    found = client.get(API, headers=auth, params={"search": "acme"}).json()["customers"]
    assert [c["id"] for c in found] == [ann["id"]]


def test_the_document_states_the_new_customer_rules_and_the_api_keeps_them(
    client: TestClient, auth: dict[str, str]
) -> None:
    document = client.get("/openapi.json").json()
    schema = document["components"]["schemas"]["NewCustomer"]
    check = Draft202012Validator(schema, validate_formats=True)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["email"]["anyOf"][0]["maxLength"] == 254
    refused: tuple[dict[str, Any], ...] = (
        {},
        {"city": "Utrecht"},
        {"first_name": "  "},
        {"first_name": "Ann", "tax_exempt": True},
        {"first_name": "Ann", "date_of_birth": "1899-12-31"},
        {"first_name": "Ann", "nickname": "An"},
        {"email": "ann@example..com"},
    )
    for body in refused:
        assert not check.is_valid(body), body
        assert client.post(API, headers=auth, json=body).status_code == 422, body
    taken: tuple[dict[str, Any], ...] = (
        {"first_name": "Ann", "tax_exempt": True, "sales_tax_number": "T-1"},
        {"mobile": "06 1234", "date_of_birth": "1990-04-03", "customer_type": "business"},
        {"email": "bo@example.com", "accepts_marketing": False, "notes": None},
    )
    for body in taken:
        assert check.is_valid(body), body
        assert client.post(API, headers=auth, json=body).status_code == 201, body


def test_a_change_that_would_leave_a_customer_nameless_answers_409(
    client: TestClient, auth: dict[str, str]
) -> None:
    ann = create(client, auth, first_name="Ann")
    answer = client.patch(f"{API}/{ann['id']}", headers=auth, json={"first_name": None})
    assert answer.status_code == 409 and "at least a first name" in answer.json()["detail"]
    untaxed = client.patch(f"{API}/{ann['id']}", headers=auth, json={"tax_exempt": True})
    assert untaxed.status_code == 409 and "Sales Tax Number" in untaxed.json()["detail"]


def test_a_stale_if_match_answers_412_and_a_fresh_one_writes(
    client: TestClient, auth: dict[str, str]
) -> None:
    ann = create(client, auth, first_name="Ann")
    read = client.get(f"{API}/{ann['id']}", headers=auth)
    tag = read.headers["ETag"]
    first = client.patch(
        f"{API}/{ann['id']}", headers={**auth, "If-Match": tag}, json={"last_name": "Lee"}
    )
    assert first.status_code == 200 and first.json()["last_name"] == "Lee"
    stale = client.patch(
        f"{API}/{ann['id']}", headers={**auth, "If-Match": tag}, json={"last_name": "X"}
    )
    assert stale.status_code == 412
    assert (
        client.patch(f"{API}/{ann['id']}", headers=auth, json={"email": "bad"}).status_code == 422
    )


def test_a_blank_if_match_names_no_version_and_the_change_is_written(
    client: TestClient, auth: dict[str, str]
) -> None:
    ann = create(client, auth, first_name="Ann")
    for blank in ("", " "):
        answer = client.patch(
            f"{API}/{ann['id']}", headers={**auth, "If-Match": blank}, json={"last_name": "Lee"}
        )
        assert answer.status_code == 200 and answer.json()["last_name"] == "Lee"


def test_an_archived_customer_leaves_lists_is_found_when_asked_and_cannot_be_sold_to(
    client: TestClient, auth: dict[str, str]
) -> None:
    ann = create(client, auth, first_name="Ann")
    assert sell(client, auth, ann["id"], "12.50").status_code == 201
    assert client.post(f"{API}/{ann['id']}/archive", headers=auth).json()["archived"] is True
    assert client.get(API, headers=auth).json()["customers"] == []
    only = client.get(API, headers=auth, params={"archived": "only", "search": "ann"}).json()
    assert [c["id"] for c in only["customers"]] == [ann["id"]]
    refused = sell(client, auth, ann["id"], "1.00")
    assert refused.status_code == 409 and "archived" in refused.json()["detail"]
    assert client.post(f"{API}/{ann['id']}/unarchive", headers=auth).json()["archived"] is False
    sales = client.get(f"{API}/{ann['id']}/sales", headers=auth).json()
    assert [s["amount"] for s in sales] == ["12.50"]


def test_merging_keeps_the_primary_fills_its_blanks_and_the_former_id_leads_to_it(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User
) -> None:
    ann = create(client, auth, first_name="Ann", last_name="Lee", phone="+31 1")
    dup = create(client, auth, first_name="Anne", email="ann@example.com", invoice_city="Utrecht")
    sell(client, auth, dup["id"], "30.00")
    merged = client.post(f"{API}/{ann['id']}/merge", headers=auth, json={"secondary_id": dup["id"]})
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert (body["first_name"], body["email"], body["invoice_city"]) == (
        "Ann",
        "ann@example.com",
        "Utrecht",
    )
    former = client.get(f"{API}/{dup['id']}", headers=auth).json()
    assert (former["merged_into_id"], former["archived"], former["email"]) == (
        ann["id"],
        True,
        None,
    )
    report = client.get("/api/v1/reports/sales-by-customer", headers=auth).json()
    assert report == [{"customer_id": ann["id"], "name": "Ann Lee", "sales": 1, "total": "30.00"}]
    again = client.post(f"{API}/{ann['id']}/merge", headers=auth, json={"secondary_id": dup["id"]})
    assert again.status_code == 409 and "already merged" in again.json()["detail"]
    own = client.post(f"{API}/{ann['id']}/merge", headers=auth, json={"secondary_id": ann["id"]})
    assert own.status_code == 409
    with ctx.engine.connect() as conn:
        actions = [e["action"] for e in audit.events(conn, admin.store_id)]
    assert "customer.merge" in actions


def test_another_stores_customer_answers_404_everywhere(
    client: TestClient, auth: dict[str, str], ctx: Context
) -> None:
    ann = create(client, auth, first_name="Ann")
    other = bearer(ctx, "south", "staff@south.example", Role.STAFF)
    path = f"{API}/{ann['id']}"
    assert client.get(path, headers=other).status_code == 404
    assert client.patch(path, headers=other, json={"last_name": "X"}).status_code == 404
    assert client.get(f"{path}/sales", headers=other).status_code == 404
    assert client.post(f"{path}/archive", headers=other).status_code == 404
    assert client.post(f"{path}/unarchive", headers=other).status_code == 404
    mine = create(client, other, first_name="Sam")
    cross = client.post(
        f"{API}/{mine['id']}/merge", headers=other, json={"secondary_id": ann["id"]}
    )
    assert cross.status_code == 404
    assert sell(client, other, ann["id"], "1.00").status_code == 404


def test_an_admin_grants_and_revokes_one_permission_for_one_user(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User
) -> None:
    from bulkport.storage import accounts

    staff = bearer(ctx, "north", "staff@north.example", Role.STAFF)
    with ctx.engine.connect() as conn:
        user = accounts.users_by_email(conn, "staff@north.example", "north")[0]
    path = f"/api/v1/users/{user.id}/permissions/customers:delete"
    assert client.put(path, headers=staff).status_code == 403
    assert client.put(path, headers=auth).json()["allowed"] is True
    assert accounts_user(ctx, admin, user.id).can(Permission.CUSTOMERS_DELETE)
    assert client.delete(path, headers=auth).json()["allowed"] is False
    assert not accounts_user(ctx, admin, user.id).can(Permission.CUSTOMERS_DELETE)
    own = f"/api/v1/users/{admin.id}/permissions/customers:delete"
    assert client.delete(own, headers=auth).json()["allowed"] is False  # revoked from the role
    with ctx.engine.connect() as conn:
        actions = [e["action"] for e in audit.events(conn, admin.store_id)]
    assert actions.count("permission.revoke") == 2


def test_the_api_refuses_to_revoke_the_stores_last_admin(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User
) -> None:
    own = f"/api/v1/users/{admin.id}/permissions/jobs:admin"
    refused = client.delete(own, headers=auth)
    assert refused.status_code == 409
    assert "is the store's last admin" in refused.json()["detail"]
    assert accounts_user(ctx, admin, admin.id).can(Permission.JOBS_ADMIN)


def accounts_user(ctx: Context, admin: User, user_id: int) -> User:
    from bulkport.storage import accounts

    with ctx.engine.connect() as conn:
        found = accounts.user_in_store(conn, admin.store_id, user_id)
    assert found is not None
    return found
