"""Fixing failed rows on the job page in Debian's Chromium: two cells edited in the grid from
the keyboard, each row checked again as it changes, the fixed rows imported as a fix job with
the original file's row numbers; at phone width only the grid's own box scrolls sideways."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from test_browser_pages import (
    SCREENSHOTS,
    Stack,
    api_token,
    browser,
    check,
    page,
    sign_in,
    stack,
)

__all__ = ("browser", "page", "stack")  # fixtures shared with the other page tests
HEADER = ["First Name", "Last Name", "Email", "Phone"]
BAD = {4: "anna@", 9: "bram at example"}  # row number in the file (the header is row 1) → email


@pytest.fixture(scope="module")
def shots() -> Path:
    """The screenshots folder the other page tests fill (left as it is)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def shop_file() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in range(2, 31):
        email = BAD.get(row, f"fixer{row}@corner.example")
        writer.writerow([f"Fixer{row}", "De Vries", email, f"+31 6 5555 {row:04d}"])
    return out.getvalue().encode()


def test_two_failed_rows_are_fixed_on_the_job_page_and_imported(
    page: Page, stack: Stack, shots: Path
) -> None:
    sign_in(page, stack)
    headers = {"Authorization": f"Bearer {api_token(stack)}"}
    started = page.request.post(
        f"{stack.base}/api/v1/imports", headers=headers,
        multipart={"file": {"name": "fixers.csv", "mimeType": "text/csv", "buffer": shop_file()}},
    )  # fmt: skip
    assert started.status == 202, started.text()
    job_id = started.json()["id"]
    page.goto(f"{stack.base}/jobs/{job_id}")
    expect(page.locator("[data-status=READY]")).to_be_visible(timeout=60_000)
    grid = page.locator("table.fix-grid")
    expect(grid.locator("tbody tr")).to_have_count(2)
    first = page.get_by_label("Row 4, Email")
    expect(first).to_have_value("anna@")
    expect(first).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#problems-4")).to_contain_text("Email")
    check(page, shots, "fixes-grid")

    first.fill("anna@corner.example")
    first.press("Tab")  # leaving the cell checks the row; the next cell takes the keys
    expect(page.locator("#problems-4")).to_contain_text("Good now")
    expect(first).not_to_have_attribute("aria-invalid", "true")  # the mark goes with the problem
    expect(page.get_by_label("Row 4, Phone")).to_be_focused()
    second = page.get_by_label("Row 9, Email")
    second.fill("still wrong")
    second.press("Tab")
    expect(page.locator("#problems-9 li")).to_contain_text("Email")
    expect(second).to_have_attribute("aria-invalid", "true")
    second.fill("bram@corner.example")
    second.press("Tab")
    expect(page.locator("#problems-9")).to_contain_text("Good now")
    check(page, shots, "fixes-checked")
    assert_only_the_grid_scrolls(page)

    page.get_by_role("button", name="Import the fixed rows").click()
    expect(page.locator("[data-fix-of]")).to_contain_text(f"rows 4,9 of job {job_id}")
    expect(page.locator("[data-status=READY]")).to_be_visible(timeout=60_000)
    expect(page.locator("[data-count=created]")).to_have_text("2")
    expect(page.locator("[data-count=failed]")).to_have_text("0")
    for email in ("anna@corner.example", "bram@corner.example"):
        found = page.request.get(
            f"{stack.base}/api/v1/customers", headers=headers, params={"search": email}
        )
        assert [c["email"] for c in found.json()["customers"]] == [email], found.text()

    page.goto(f"{stack.base}/jobs/{job_id}")
    expect(page.locator("[data-fix-job]")).to_contain_text("Rows 4,9 were fixed later")
    expect(page.locator("#problems-4")).to_contain_text("Fixed by job")


def assert_only_the_grid_scrolls(page: Page) -> None:
    """At 375 pixels the page does not scroll sideways; the grid may, inside its box."""
    page.set_viewport_size({"width": 375, "height": 900})
    try:
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
