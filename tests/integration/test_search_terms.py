"""Control and invisible formatting characters in a search, at every place a search is typed:
a 422 naming the field on the API, a plain message on the pages, never a 500; on both
databases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from support import csrf_of, page_sign_in

from bulkport.storage import customer_records as records
from bulkport.storage import job_rows
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context

# NUL, a C0 control, DEL, zero-width space, right-to-left override, byte-order mark.
BAD_TERMS = ["\x00", "a\x01b", "ann\x7f", "an\u200bn", "\u202eann", "\ufeffann"]
PAGE_MESSAGE = "The search must not contain control or invisible formatting characters"


@pytest.fixture
def ann(ctx: Context, staff: User) -> int:
    with ctx.engine.begin() as conn:
        return records.create(conn, staff.store_id, {"first_name": "Ann", "email": "ann@x.example"})


@pytest.mark.parametrize("term", BAD_TERMS)
@pytest.mark.parametrize("path", ["/api/v1/customers", "/api/v1/reports/sales-by-customer"])
def test_the_apis_searches_answer_422_naming_the_search(
    client: TestClient, auth: dict[str, str], path: str, term: str
) -> None:
    response = client.get(path, params={"search": term}, headers=auth)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("search: ") and "control" in detail, detail


def test_the_apis_search_still_finds_a_customer_by_a_clean_term(
    client: TestClient, auth: dict[str, str], ann: int
) -> None:
    response = client.get("/api/v1/customers", params={"search": "ann@x"}, headers=auth)
    assert [c["id"] for c in response.json()["customers"]] == [ann]


@pytest.mark.parametrize("term", BAD_TERMS)
def test_the_pages_searches_show_a_plain_message_with_422(
    client: TestClient, staff: User, ann: int, term: str
) -> None:
    assert page_sign_in(client, staff.email) == 303
    for path in ("/customers", f"/customers/{ann}/merge"):
        response = client.get(path, params={"search": term})
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"].startswith("text/html")
        assert PAGE_MESSAGE in response.text, path
        assert "No customer matches" not in response.text
        assert "\x00" not in response.text and "\u202e" not in response.text


def test_the_pages_search_finds_a_customer_by_a_clean_term(
    client: TestClient, staff: User, ann: int
) -> None:
    assert page_sign_in(client, staff.email) == 303
    response = client.get("/customers", params={"search": "Ann"})
    assert response.status_code == 200
    assert f"/customers/{ann}" in response.text and PAGE_MESSAGE not in response.text


@pytest.mark.parametrize("term", BAD_TERMS)
def test_an_export_searched_by_a_bad_term_is_refused_on_its_page_and_queues_nothing(
    client: TestClient, ctx: Context, staff: User, sent: list[str], term: str
) -> None:
    assert page_sign_in(client, staff.email) == 303
    token = csrf_of(client.get("/exports/new").text)
    response = client.post("/exports/new", data={"csrf": token, "search": term})
    assert response.status_code == 422, response.text
    assert "control or invisible formatting characters" in response.text
    assert sent == []
    with ctx.engine.connect() as conn:
        assert job_rows.list_jobs(conn, staff.store_id, limit=5, offset=0) == []
