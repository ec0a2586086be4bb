"""The list pages through FastAPI's test client, on both databases: a delete, archive,
un-archive or merge list uploaded as a dry run that says who would change, run for real from
its job page; deletion only with the permission and the ticked box; CSRF refusals; another
store's job; each job kind's own words on its page and in the jobs list; and the mapping
screen pointing a list uploaded as an import to the list pages."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import PASSWORD, Queue, csrf_of, get_job, local_files, page_sign_in

from bulkport.schemas.accounts import Role
from bulkport.schemas.jobs import JobStatus
from bulkport.storage import accounts, job_rows
from bulkport.storage import customer_records as records
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.customer_lists import run_list
from bulkport.tasks.privacy_exports import run_privacy_export
from bulkport.web.lists import BY_KIND


def stored(ctx: Context, user: User, customer_id: int) -> dict[str, Any]:
    """The customer as stored now, whatever the pages showed."""
    with ctx.engine.connect() as conn:
        return records.get(conn, user.store_id, customer_id) or {}


def text_of(page: str) -> str:
    """The page's words, tags and runs of spaces taken out."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def owner(ctx: Context, admin: User) -> User:
    """The admin of store "north", with a password: may delete customers."""
    with ctx.engine.begin() as conn:
        accounts.set_password(conn, admin.id, PASSWORD)
    return admin


@pytest.fixture
def people(ctx: Context, admin: User) -> dict[str, int]:
    """Three customers of store "north", by first name."""
    with ctx.engine.begin() as conn:
        return {
            name: records.create(
                conn, admin.store_id,
                {"first_name": name, "last_name": "Quist", "email": f"{name}@x.example"},
            )
            for name in ("Ann", "Bob", "Cleo")
        }  # fmt: skip


def upload_list(client: TestClient, what: str, content: str, csrf: str | None = None) -> Any:
    """Upload a list from its page as a browser does; the answer, redirects not followed."""
    token = csrf or csrf_of(client.get("/lists").text)
    return client.post(
        f"/lists/{what}",
        data={"csrf": token},
        files={"file": ("list.csv", content.encode(), "text/csv")},
        follow_redirects=False,
    )


def run_sent(ctx: Context, answer: Any, sent: list[str]) -> str:
    """Run, here, the job an answer redirected to (the pages sent it to the queue)."""
    assert answer.status_code == 303, answer.text
    job_id = str(answer.headers["location"]).rsplit("/", 1)[-1]
    assert sent[-1] == job_id
    with ctx.engine.connect() as conn:
        job = job_rows.job_for_worker(conn, job_id)
    assert job is not None
    run_list(ctx, job_id, BY_KIND[job.kind])
    return job_id


def test_a_delete_list_shows_who_would_go_and_deletes_only_with_the_ticked_box(
    client: TestClient, ctx: Context, owner: User, people: dict[str, int], sent: list[str]
) -> None:
    assert page_sign_in(client, owner.email) == 303
    form = client.get("/lists/delete").text
    assert "cannot be undone" in form
    listing = "Email\r\nann@x.example\r\nnobody@x.example\r\nBOB@x.example\r\n"
    dry = run_sent(ctx, upload_list(client, "delete", listing, csrf_of(form)), sent)
    page = client.get(f"/jobs/{dry}").text
    words = text_of(page)
    assert "Delete list (dry run): list.csv" in words
    assert "Would delete 2 customers, 1 not found." in words
    assert f"{people['Ann']} Ann Quist" in words and f"{people['Bob']} Bob Quist" in words
    assert "Cleo" not in words
    assert "Rows that would not be deleted" in words
    assert "No customer of this store has this email." in words
    assert "cannot be undone" in words
    assert "Delete 2 customers" in words
    assert "Customers written" not in words and "Fix them there" not in words
    assert stored(ctx, owner, people["Ann"])["deleted_at"] is None  # a dry run changes nothing

    # Without the ticked box the server refuses, whatever the browser let through.
    unticked = client.post(f"/lists/{dry}/commit", data={"csrf": csrf_of(page)})
    assert unticked.status_code == 422
    assert "Tick the box to confirm" in unticked.text
    assert 'aria-invalid="true"' in unticked.text
    assert sent == [dry]
    assert stored(ctx, owner, people["Ann"])["deleted_at"] is None

    ticked = client.post(
        f"/lists/{dry}/commit", data={"csrf": csrf_of(page), "confirm": "yes"},
        follow_redirects=False,
    )  # fmt: skip
    real = run_sent(ctx, ticked, sent)
    done = text_of(client.get(f"/jobs/{real}").text)
    assert "Delete list: list.csv" in done
    assert "2 customers deleted, 1 not found." in done
    assert "Would delete" not in done
    for name in ("Ann", "Bob"):
        assert stored(ctx, owner, people[name])["deleted_at"] is not None
    assert stored(ctx, owner, people["Cleo"])["deleted_at"] is None
    # The dry run now points to the run, and a second click starts nothing new.
    again = text_of(client.get(f"/jobs/{dry}").text)
    assert "was run for real" in again and "Delete 2 customers" not in again
    twice = client.post(
        f"/lists/{dry}/commit", data={"csrf": csrf_of(page), "confirm": "yes"},
        follow_redirects=False,
    )  # fmt: skip
    assert twice.headers["location"] == f"/jobs/{real}"


def test_staff_see_no_delete_list_and_a_forged_one_is_refused(
    client: TestClient, ctx: Context, owner: User, staff: User, people: dict[str, int],
    sent: list[str],
) -> None:  # fmt: skip
    # An admin's dry run, that the staff member then tries to run for real.
    assert page_sign_in(client, owner.email) == 303
    dry = run_sent(ctx, upload_list(client, "delete", "Email\r\nann@x.example\r\n"), sent)
    client.cookies.clear()
    assert page_sign_in(client, staff.email) == 303
    lists = client.get("/lists").text
    assert 'href="/lists/archive"' in lists
    assert 'href="/lists/delete"' not in lists
    assert 'href="/lists/delete"' not in client.get("/customers").text
    assert client.get("/lists/delete").status_code == 403
    csrf = csrf_of(lists)
    forged = upload_list(client, "delete", "Email\r\nbob@x.example\r\n", csrf)
    assert forged.status_code == 403
    assert "does not allow deleting customers" in forged.text
    page = client.get(f"/jobs/{dry}").text
    assert "Delete 1 customer" not in text_of(page)
    refused = client.post(f"/lists/{dry}/commit", data={"csrf": csrf, "confirm": "yes"})
    assert refused.status_code == 403
    assert sent == [dry]
    assert all(stored(ctx, owner, i)["deleted_at"] is None for i in people.values())


def test_list_forms_without_their_csrf_token_are_refused_and_keep_nothing(
    client: TestClient, ctx: Context, owner: User, people: dict[str, int], sent: list[str]
) -> None:
    assert page_sign_in(client, owner.email) == 303
    for what in ("delete", "archive", "unarchive", "merge"):
        refused = upload_list(client, what, "Email\r\nann@x.example\r\n", "forged")
        assert refused.status_code == 403, what
        assert "out of date" in refused.text
    jobs = local_files(ctx).root / "jobs"
    assert not jobs.exists() or not any(jobs.iterdir())
    dry = run_sent(ctx, upload_list(client, "archive", "Email\r\nann@x.example\r\n"), sent)
    forged = client.post(f"/lists/{dry}/commit", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert sent == [dry]
    assert stored(ctx, owner, people["Ann"])["archived"] is False
    assert upload_list(client, "shred", "Email\r\nann@x.example\r\n").status_code == 404


def test_another_stores_list_job_answers_404(
    client: TestClient, ctx: Context, owner: User, people: dict[str, int], sent: list[str]
) -> None:
    with ctx.engine.begin() as conn:
        south = accounts.ensure_store(conn, "south")
        other = accounts.ensure_user(conn, south, "owner@south.example", Role.ADMIN)
        accounts.set_password(conn, other.id, PASSWORD)
    assert page_sign_in(client, other.email) == 303
    theirs = run_sent(ctx, upload_list(client, "archive", "Email\r\nzed@x.example\r\n"), sent)
    client.cookies.clear()
    assert page_sign_in(client, owner.email) == 303
    csrf = csrf_of(client.get("/lists").text)
    assert client.get(f"/jobs/{theirs}").status_code == 404
    assert client.post(f"/lists/{theirs}/commit", data={"csrf": csrf}).status_code == 404
    assert sent == [theirs]


def test_archive_unarchive_and_merge_lists_say_their_own_words(
    client: TestClient, ctx: Context, owner: User, people: dict[str, int], sent: list[str]
) -> None:
    with ctx.engine.begin() as conn:
        records.set_archived(conn, [people["Cleo"]], True)
    assert page_sign_in(client, owner.email) == 303
    listing = f"Customer Record ID\r\n{people['Ann']}\r\n{people['Cleo']}\r\n999999\r\n"
    dry = run_sent(ctx, upload_list(client, "archive", listing), sent)
    page = client.get(f"/jobs/{dry}").text
    assert "Would archive 1 customer, 1 already archived, 1 not found." in text_of(page)
    assert f"{people['Ann']} Ann Quist" in text_of(page)
    real = run_sent(
        ctx, client.post(f"/lists/{dry}/commit", data={"csrf": csrf_of(page)},
                         follow_redirects=False), sent,
    )  # fmt: skip
    # A commit changes only what its dry run showed as a change.
    assert "1 customer archived, 2 not among the dry run's changes." in text_of(
        client.get(f"/jobs/{real}").text
    )
    assert stored(ctx, owner, people["Ann"])["archived"] is True

    back = run_sent(ctx, upload_list(client, "unarchive", listing), sent)
    assert "Would un-archive 2 customers, 1 not found." in text_of(client.get(f"/jobs/{back}").text)

    pairs = f"Primary ID,Secondary ID\r\n{people['Ann']},{people['Bob']}\r\n"
    merge = run_sent(ctx, upload_list(client, "merge", pairs), sent)
    page = client.get(f"/jobs/{merge}").text
    words = text_of(page)
    assert "Would merge 1 duplicate." in words
    assert f"Ann Quist (ID {people['Ann']}) Bob Quist (ID {people['Bob']})" in words
    merged = run_sent(
        ctx, client.post(f"/lists/{merge}/commit", data={"csrf": csrf_of(page)},
                         follow_redirects=False), sent,
    )  # fmt: skip
    assert "1 duplicate merged." in text_of(client.get(f"/jobs/{merged}").text)
    assert stored(ctx, owner, people["Bob"])["merged_into_id"] == people["Ann"]


def test_the_jobs_list_and_a_privacy_exports_page_say_what_each_job_was_about(
    client: TestClient, ctx: Context, owner: User, people: dict[str, int], sent: list[str]
) -> None:
    ann = people["Ann"]
    with ctx.engine.begin() as conn:
        for amount in ("10.00", "12.50", "3.00"):
            records.add_sale(conn, owner.store_id, ann, Decimal(amount), datetime.now(UTC))
    assert page_sign_in(client, owner.email) == 303
    run_sent(
        ctx, upload_list(client, "delete", "Email\r\ncleo@x.example\r\n\r\nx@x.example\r\n"), sent
    )
    page = client.get(f"/customers/{ann}").text
    started = client.post(
        f"/customers/{ann}/privacy-export", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    export = str(started.headers["location"]).rsplit("/", 1)[-1]
    run_privacy_export(ctx, export)
    assert get_job(ctx, owner, export).status is JobStatus.READY
    shown = text_of(client.get(f"/jobs/{export}").text)
    assert f"Privacy export of customer {ann}: 1 customer, 3 sales" in shown
    assert "Customers written" not in shown
    listed = text_of(client.get("/jobs").text)
    assert f"Privacy export customer {ann}" in listed
    assert "Delete list (dry run) list.csv · 3 rows" in listed


@pytest.mark.parametrize(
    ("content", "links"),
    [
        ("Customer Record ID\r\n1\r\n2\r\n", ("/lists/delete", "/lists/archive")),
        ("Email,Remove?\r\nann@x.example,yes\r\n", ("/lists/delete", "/lists/unarchive")),
        ("Primary ID,Secondary ID,Email\r\n1,2,a@x.example\r\n", ("/lists/merge",)),
    ],
)
def test_a_list_uploaded_as_an_import_is_pointed_to_its_list_page(
    client: TestClient, owner: User, content: str, links: tuple[str, ...]
) -> None:
    assert page_sign_in(client, owner.email) == 303
    uploaded = client.post(
        "/imports/new",
        data={"csrf": csrf_of(client.get("/imports/new").text)},
        files={"file": ("remove.csv", content.encode(), "text/csv")},
    )
    assert uploaded.status_code == 200
    assert 'id="list-hint"' in uploaded.text
    for link in links:
        assert f'href="{link}"' in uploaded.text


def test_a_merge_list_uploaded_as_an_import_is_pointed_to_the_lists(
    client: TestClient, owner: User
) -> None:
    assert page_sign_in(client, owner.email) == 303
    uploaded = client.post(
        "/imports/new",
        data={"csrf": csrf_of(client.get("/imports/new").text)},
        files={"file": ("pairs.csv", b"Primary ID,Secondary ID\r\n1,2\r\n", "text/csv")},
    )
    assert uploaded.status_code == 422  # no column an import can write
    assert 'id="list-hint"' in uploaded.text
    assert 'href="/lists"' in uploaded.text


def test_an_import_with_details_to_write_gets_no_list_hint(client: TestClient, owner: User) -> None:
    assert page_sign_in(client, owner.email) == 303
    uploaded = client.post(
        "/imports/new",
        data={"csrf": csrf_of(client.get("/imports/new").text)},
        files={"file": ("shop.csv", b"Email,First Name\r\nann@x.example,Ann\r\n", "text/csv")},
    )
    assert uploaded.status_code == 200
    assert "list-hint" not in uploaded.text


def test_a_list_uploaded_while_the_queue_is_down_shows_its_job_failed_with_the_reason(
    client: TestClient, ctx: Context, owner: User, people: dict[str, int], queue: Queue
) -> None:
    assert page_sign_in(client, owner.email) == 303
    queue.down = True
    answer = upload_list(client, "archive", "Email\r\nann@x.example\r\n")
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert page.status_code == 200
    assert 'data-status="FAILED"' in page.text
    assert "could not be reached" in page.text
    assert stored(ctx, owner, people["Ann"])["archived"] is False
