"""The list pages in a real browser (Debian's Chromium, Playwright) against the API and a worker
process: a store employee deletes, archives and merges customers from a spreadsheet through
the pages only, sees each dry run in words, runs it for real, and finds the customers changed.

Every page is checked with axe-core and photographed at 1280 and 375 pixels wide into
``tests/e2e/screenshots/`` (named ``lists-…``), as the other page tests do.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from test_browser_pages import (
    PASSWORD,
    SCREENSHOTS,
    Stack,
    browser,
    check,
    page,
    sign_in,
    stack,
    wait_ready_without_reload,
)

__all__ = ("browser", "page", "stack")  # fixtures shared with the other page tests

MANAGER = "manager@corner.example"  # staff, granted the deletion permission
CLERK = "till@corner.example"  # staff, without it
# (first name, last name, email) of the customers the lists change.
PEOPLE = (
    ("Gus", "Leaver", "gus@leave.example"),
    ("Hana", "Leaver", "hana@leave.example"),
    ("Ivo", "Stayer", "ivo@stay.example"),
    ("Jet", "Sleeper", "jet@sleep.example"),
    ("Kai", "Sleeper", "kai@sleep.example"),
    ("Lou", "Twin", "lou@twin.example"),
    ("Lou", "Twin", ""),
)


@pytest.fixture(scope="module")
def shots() -> Path:
    """The screenshots folder the other page tests fill (left as it is)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def bulkport(stack: Stack, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bulkport", *args], env=stack.env, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


@pytest.fixture(scope="module")
def people(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The customers above, imported by the CLI; a manager who may delete and a clerk who may
    not, both staff."""
    source = tmp_path_factory.mktemp("people") / "people.csv"
    with source.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["First Name", "Last Name", "Email", "City"])
        writer.writerows([(*p, "Gouda" if p[2] == "" else "") for p in PEOPLE])
    bulkport(stack, "import", str(source), "--inline")
    for email in (MANAGER, CLERK):
        bulkport(stack, "users", "create", "--store", "Corner Shop", "--email", email,
                 "--role", "staff", "--password", PASSWORD)  # fmt: skip
    bulkport(stack, "users", "grant", MANAGER, "customers:delete")


def write_list(folder: Path, name: str, rows: list[list[str]]) -> Path:
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    return path


def search(page: Page, stack: Stack, text: str, show: str = "All") -> None:
    page.goto(f"{stack.base}/customers")
    page.get_by_label("Search").fill(text)
    page.get_by_label("Show").select_option(label=show)
    page.get_by_role("button", name="Search").click()


def customer_id(page: Page, stack: Stack, text: str) -> str:
    """The Customer Record ID of the first customer a search finds, as its page shows it."""
    search(page, stack, text)
    page.locator("table.customers tbody a").first.click()
    expect(page.get_by_role("heading", name="Details")).to_be_visible()
    return page.url.rsplit("/", 1)[-1]


@pytest.mark.usefixtures("people")
def test_a_store_employee_deletes_customers_from_a_spreadsheet(
    page: Page, stack: Stack, shots: Path, tmp_path: Path
) -> None:
    listing = write_list(
        tmp_path, "remove.csv",
        [["Email"], ["gus@leave.example"], ["HANA@leave.example"], ["nobody@leave.example"]],
    )  # fmt: skip
    sign_in(page, stack, email=MANAGER)
    # Uploaded on New import, the list is recognised and pointed to its page.
    page.get_by_role("link", name="Imports").click()
    page.get_by_label("Your file").set_input_files(listing)
    page.get_by_role("button", name="Upload and check the columns").click()
    hint = page.locator("#list-hint")
    expect(hint).to_contain_text("only names customers")
    check(page, shots, "lists-import-hint")
    hint.get_by_role("link", name="Delete list").click()

    expect(page.get_by_role("heading", name="Delete customers from a list")).to_be_visible()
    expect(page.locator("#delete-warning")).to_contain_text("cannot be undone")
    check(page, shots, "lists-delete-new")
    page.get_by_label("Your list").set_input_files(listing)
    page.get_by_role("button", name="Upload and see the dry run").click()

    expect(page.get_by_role("heading", name="Delete list (dry run): remove.csv")).to_be_visible()
    wait_ready_without_reload(page)
    expect(page.locator("[data-summary]")).to_have_text("Would delete 2 customers, 1 not found.")
    named = page.locator("table.named tbody")
    expect(named).to_contain_text("Gus Leaver")
    expect(named).to_contain_text("Hana Leaver")
    expect(named).not_to_contain_text("Ivo")
    expect(page.locator("table.errors")).to_contain_text("No customer of this store has this email")
    expect(page.locator("main")).not_to_contain_text("Customers written")
    check(page, shots, "lists-delete-dry-run")

    # The browser holds the form until the box is ticked; sent anyway, the server refuses it.
    page.locator("form.run-list").evaluate("form => { form.noValidate = true; }")
    page.get_by_role("button", name="Delete 2 customers").click()
    expect(page.get_by_role("alert")).to_contain_text("Tick the box to confirm")
    check(page, shots, "lists-delete-refused")
    page.get_by_label("I have read and understood the warning").check()
    page.get_by_role("button", name="Delete 2 customers").click()

    expect(page.get_by_role("heading", name="Delete list: remove.csv")).to_be_visible()
    wait_ready_without_reload(page)
    expect(page.locator("[data-summary]")).to_have_text("2 customers deleted, 1 not found.")
    check(page, shots, "lists-delete-done")

    search(page, stack, "leave.example")
    expect(page.locator("main")).to_contain_text("No customer matches")
    page.get_by_role("link", name="Jobs").click()
    expect(page.locator("tbody tr").first).to_contain_text("Delete list")
    expect(page.locator("tbody tr").first).to_contain_text("remove.csv · 3 rows")
    check(page, shots, "lists-jobs")


@pytest.mark.usefixtures("people")
def test_a_store_employee_archives_customers_from_a_spreadsheet(
    page: Page, stack: Stack, shots: Path, tmp_path: Path
) -> None:
    listing = write_list(
        tmp_path, "sleepers.csv", [["Email"], ["jet@sleep.example"], ["kai@sleep.example"]]
    )
    sign_in(page, stack, email=MANAGER)
    page.get_by_role("link", name="Customers", exact=True).click()
    page.get_by_role("link", name="archive", exact=True).click()
    expect(page.get_by_role("heading", name="Archive customers from a list")).to_be_visible()
    check(page, shots, "lists-archive-new")
    page.get_by_label("Your list").set_input_files(listing)
    page.get_by_role("button", name="Upload and see the dry run").click()
    wait_ready_without_reload(page)
    expect(page.locator("[data-summary]")).to_have_text("Would archive 2 customers.")
    expect(page.locator("table.named tbody tr")).to_have_count(2)
    check(page, shots, "lists-archive-dry-run")
    page.get_by_role("button", name="Archive 2 customers").click()
    wait_ready_without_reload(page)
    expect(page.locator("[data-summary]")).to_have_text("2 customers archived.")
    check(page, shots, "lists-archive-done")

    search(page, stack, "sleep.example", show="Active")
    expect(page.locator("main")).to_contain_text("No customer matches")
    search(page, stack, "sleep.example", show="Archived")
    expect(page.locator("table.customers tbody tr.archived")).to_have_count(2)


@pytest.mark.usefixtures("people")
def test_a_store_employee_merges_duplicates_from_a_spreadsheet(
    page: Page, stack: Stack, shots: Path, tmp_path: Path
) -> None:
    sign_in(page, stack, email=MANAGER)
    keep = customer_id(page, stack, "lou@twin.example")
    search(page, stack, "Twin")
    links = page.locator("table.customers tbody a")
    expect(links).to_have_count(2)
    hrefs = [links.nth(n).get_attribute("href") or "" for n in range(2)]
    (duplicate,) = [h.rsplit("/", 1)[-1] for h in hrefs if not h.endswith(f"/{keep}")]
    pairs = write_list(tmp_path, "twins.csv", [["Primary ID", "Secondary ID"], [keep, duplicate]])
    page.get_by_role("link", name="Lists").click()
    check(page, shots, "lists")
    page.get_by_role("link", name="Merge duplicates from a list").click()
    check(page, shots, "lists-merge-new")
    page.get_by_label("Your list").set_input_files(pairs)
    page.get_by_role("button", name="Upload and see the dry run").click()
    wait_ready_without_reload(page)
    expect(page.locator("[data-summary]")).to_have_text("Would merge 1 duplicate.")
    row = page.locator("table.named tbody tr")
    expect(row).to_contain_text(f"(ID {keep})")
    expect(row).to_contain_text(f"(ID {duplicate})")
    check(page, shots, "lists-merge-dry-run")
    page.get_by_role("button", name="Merge 1 duplicate").click()
    wait_ready_without_reload(page)
    expect(page.locator("[data-summary]")).to_have_text("1 duplicate merged.")
    check(page, shots, "lists-merge-done")

    page.goto(f"{stack.base}/customers/{keep}")
    expect(page.get_by_label("City", exact=True)).to_have_value("Gouda")
    page.goto(f"{stack.base}/customers/{duplicate}")
    expect(page.locator("main")).to_contain_text("Merged into")


@pytest.mark.usefixtures("people")
def test_a_clerk_sees_no_delete_list_and_cannot_post_one(
    page: Page, stack: Stack, shots: Path, tmp_path: Path
) -> None:
    sign_in(page, stack, email=CLERK)
    page.get_by_role("link", name="Lists").click()
    expect(
        page.get_by_role("link", name="Archive customers from a list", exact=True)
    ).to_be_visible()
    expect(page.get_by_role("link", name="Delete customers from a list")).to_have_count(0)
    page.get_by_role("link", name="Customers", exact=True).click()
    expect(page.get_by_role("link", name="delete", exact=True)).to_have_count(0)
    check(page, shots, "lists-clerk-customers")
    csrf = page.locator("input[name=csrf]").first.input_value()
    listing = write_list(tmp_path, "ivo.csv", [["Email"], ["ivo@stay.example"]])
    forged = page.request.post(
        f"{stack.base}/lists/delete",
        multipart={
            "csrf": csrf,
            "file": {"name": "ivo.csv", "mimeType": "text/csv", "buffer": listing.read_bytes()},
        },
        max_redirects=0,
    )
    assert forged.status == 403
    assert "does not allow deleting customers" in forged.text()
    search(page, stack, "ivo@stay.example")
    expect(page.locator("table.customers")).to_contain_text("Ivo Stayer")
