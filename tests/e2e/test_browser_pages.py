"""The back-office pages in a real browser: Debian's Chromium driven by Playwright, against the
API process and a worker process on SQLite and the real Redis.

Every page is checked with axe-core (no serious or critical violation) and photographed at
1280 and 375 pixels wide into ``tests/e2e/screenshots/``. A request to any host but the app, or
anything the content policy refuses (Chromium says so in the console), fails the test.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright
from support import wait_until_serving

from bulkport.cli.services import free_port

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).with_name("screenshots")
WIDTHS = (1280, 375)
EMAIL = "owner@corner.example"
PASSWORD = "correct horse battery"
ROWS = 1500
BAD_ROWS = (7, 19, 42)  # data rows whose email is not an address
_axe = Axe()


def customers_file() -> bytes:
    """A shop's own export: Dutch headers, a phone column named "Contact" that no alias knows,
    and three rows whose email is no address."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Voornaam", "Achternaam", "E-mail", "Contact"])
    for i in range(1, ROWS + 1):
        email = f"not-an-address-{i}" if i in BAD_ROWS else f"klant{i}@corner.example"
        writer.writerow([f"Klant{i}", "Jansen", email, f"+31 6 1234 {i:04d}"])
    return out.getvalue().encode()


@dataclass
class Stack:
    base: str
    home: Path
    env: dict[str, str]
    outside: list[str] = field(default_factory=list)


def _bulkport(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bulkport", *args],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`bulkport api` and `bulkport worker` on a SQLite file; an admin with a password."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    home = tmp_path_factory.mktemp("pages-home")
    env = {k: v for k, v in os.environ.items() if k not in ("BULKPORT_DATABASE_URL",)}
    env.update(BULKPORT_HOME=str(home), BULKPORT_BROKER_URL=redis_url, BULKPORT_BATCH_SIZE="100")
    subprocess.run(
        [sys.executable, "-m", "bulkport", "users", "create", "--store", "Corner Shop",
         "--email", EMAIL, "--role", "admin", "--password", PASSWORD],
        env=env, capture_output=True, check=True,
    )  # fmt: skip
    port = free_port()
    api = _bulkport("api", "--port", str(port), env=env, log=home / "api.log")
    worker = _bulkport("worker", "--concurrency", "1", env=env, log=home / "worker.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, api, home / "api.log")
        yield Stack(base, home, env)
    finally:
        for process in (api, worker):
            process.terminate()
        for process in (api, worker):
            process.wait(30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (Playwright's own browser download is not used)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    """The screenshots folder, emptied for this run."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    print(f"\nscreenshots: {SCREENSHOTS}")
    return SCREENSHOTS


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    """A fresh browser context whose requests may go to the app only."""
    context: BrowserContext = browser.new_context(
        viewport={"width": WIDTHS[0], "height": 900}, accept_downloads=True
    )
    app_host = urlsplit(stack.base).netloc

    def only_the_app(route: Route) -> None:
        if urlsplit(route.request.url).netloc == app_host:
            route.continue_()
        else:
            stack.outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_app)
    opened = context.new_page()
    refused: list[str] = []  # what the content policy blocked, as Chromium's console says
    opened.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield opened
    context.close()
    assert stack.outside == [], f"requests left the app: {stack.outside}"
    assert refused == [], f"the content policy refused: {refused}"


def check(page: Page, shots: Path, name: str) -> None:
    """No serious or critical accessibility violation; a screenshot at each width."""
    results = _axe.run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: {bad}"
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def sign_in(page: Page, stack: Stack, shots: Path | None = None, email: str = EMAIL) -> None:
    page.goto(f"{stack.base}/")
    expect(page).to_have_url(f"{stack.base}/sign-in")
    if shots is not None:
        check(page, shots, "sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{stack.base}/jobs")


def wait_ready_without_reload(page: Page) -> None:
    """The status turns READY through the polled fragment; the page is never reloaded."""
    page.evaluate("window.notReloaded = true")
    expect(page.locator("[data-status=READY]")).to_be_visible(timeout=60_000)
    assert page.evaluate("window.notReloaded === true")


def test_import_with_a_mapping_change_then_fix_the_report_and_export(  # noqa: PLR0915  one story, sign-in to export
    page: Page, stack: Stack, shots: Path, tmp_path: Path
) -> None:
    sign_in(page, stack, shots)
    check(page, shots, "jobs-empty")

    page.get_by_role("link", name="Imports").click()
    check(page, shots, "import-new")
    upload = tmp_path / "klanten.csv"
    upload.write_bytes(customers_file())
    page.get_by_label("Your file").set_input_files(upload)
    page.get_by_role("button", name="Upload and check the columns").click()

    # The mapping screen: guessed fields, the unknown column ignored, first rows' problems.
    expect(page.get_by_role("heading", name="Check the columns")).to_be_visible()
    expect(page.get_by_label("Field for column Voornaam")).to_have_value("first_name")
    contact = page.get_by_label("Field for column Contact")
    expect(contact).to_have_value("")
    expect(page.locator("table.preview")).to_contain_text("not-an-address-7")
    check(page, shots, "mapping")
    contact.select_option(label="Phone")
    page.get_by_label("Name to save this mapping under").fill("Corner export")
    page.get_by_label("Name to save this mapping under").press("Enter")  # saves, not starts
    expect(page.get_by_role("status")).to_contain_text("Saved this mapping")
    expect(page.get_by_label("Field for column Contact")).to_have_value("phone")
    page.get_by_role("button", name="Start the import").click()

    # The job page: live progress until READY, then the counts and the failed rows.
    expect(page.get_by_role("heading", name="Import: klanten.csv")).to_be_visible()
    expect(page.locator("#progress-bar, [data-status=READY]").first).to_be_visible()
    check(page, shots, "job-running")
    wait_ready_without_reload(page)
    expect(page.locator("[data-count=created]")).to_have_text(str(ROWS - len(BAD_ROWS)))
    expect(page.locator("[data-count=failed]")).to_have_text(str(len(BAD_ROWS)))
    first_error = page.locator("table.errors tbody tr").first
    expect(first_error).to_contain_text(str(BAD_ROWS[0] + 1))  # the header is row 1
    expect(first_error).to_contain_text("E-mail")
    expect(first_error).to_contain_text("not-an-address-7")
    check(page, shots, "job-ready")

    with page.expect_download() as got:
        page.get_by_role("button", name="Download the report").click()
    report = got.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(report)))
    assert rows[0][-2:] == ["Row", "Errors"]
    assert sorted(int(r[-2]) for r in rows[1:]) == [n + 1 for n in BAD_ROWS]

    # Fix the emails in the report and upload it again, with the saved mapping.
    for row in rows[1:]:
        row[2] = row[2].replace("not-an-address-", "fixed") + "@corner.example"
    fixed = tmp_path / "klanten-errors.csv"
    with fixed.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    page.get_by_role("button", name="Upload a fixed file").click()
    page.get_by_label("Your file").set_input_files(fixed)
    page.get_by_role("button", name="Upload and check the columns").click()
    page.get_by_label("Saved mapping").select_option("Corner export")
    page.get_by_role("button", name="Use it").click()
    expect(page.get_by_label("Field for column Contact")).to_have_value("phone")
    page.get_by_role("button", name="Start the import").click()
    wait_ready_without_reload(page)
    expect(page.locator("[data-count=created]")).to_have_text(str(len(BAD_ROWS)))
    expect(page.locator("[data-count=failed]")).to_have_text("0")

    page.get_by_role("link", name="Jobs").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    check(page, shots, "jobs")

    # An export of everyone, downloaded from its job page.
    page.get_by_role("link", name="Exports").click()
    check(page, shots, "export-new")
    page.get_by_label("File type").select_option("csv")
    page.get_by_role("button", name="Export").click()
    wait_ready_without_reload(page)
    check(page, shots, "export-ready")
    with page.expect_download() as got:
        page.get_by_role("button", name="Download", exact=True).click()
    exported = list(csv.reader(io.StringIO(got.value.path().read_text(encoding="utf-8-sig"))))
    assert len(exported) == ROWS + 1
    # The column mapped on the mapping screen arrived; a leading apostrophe keeps "+31…" text.
    phones = {row[exported[0].index("Phone")].lstrip("'") for row in exported[1:]}
    assert "+31 6 1234 0001" in phones, sorted(phones)[:3]

    page.get_by_role("link", name="Audit").click()
    expect(page.locator("tbody")).to_contain_text(f"{EMAIL} downloaded the job's file.")
    check(page, shots, "audit")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{stack.base}/sign-in")


def test_a_wrong_password_is_told_plainly_and_the_form_works_from_the_keyboard(
    page: Page, stack: Stack, shots: Path
) -> None:
    page.goto(f"{stack.base}/sign-in")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email")).to_be_focused()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    check(page, shots, "sign-in-failed")


def test_a_file_dropped_on_the_upload_box_is_chosen(page: Page, stack: Stack, shots: Path) -> None:
    sign_in(page, stack)
    missing = page.goto(f"{stack.base}/jobs/no-such-job")
    assert missing is not None and missing.status == 404
    expect(page.get_by_role("alert")).to_contain_text("No such job")
    check(page, shots, "not-found")
    page.goto(f"{stack.base}/imports/new")
    dropped = page.evaluate_handle(
        """() => {
            const data = new DataTransfer();
            data.items.add(new File(["First Name,Email\\r\\nAnn,ann@corner.example\\r\\n"],
                                    "dropped.csv", {type: "text/csv"}));
            return data;
        }"""
    )
    page.dispatch_event("[data-drop-zone]", "drop", {"dataTransfer": dropped})
    assert page.eval_on_selector("#file", "input => input.files[0].name") == "dropped.csv"
    page.get_by_role("button", name="Upload and check the columns").click()
    expect(page.get_by_label("Field for column First Name")).to_have_value("first_name")


# The customers of the customer pages' tests: (first name, last name, email, phone, city).
SHOP_CUSTOMERS = (
    ("Archie", "Stone", "archie@shop.example", "", ""),
    ("Mia", "Vos", "mia@shop.example", "", ""),
    ("Mia", "Vos", "mia.vos@work.example", "+31 20 555 0101", "Utrecht"),
    ("Eddie", "Brink", "eddie@shop.example", "", ""),
    ("Dora", "Hale", "dora@shop.example", "", ""),
    ("Pia", "Berg", "pia@shop.example", "", ""),
    ("Noor", "Dijk", "noor@shop.example", "", ""),
    ("Noor", "Dijk", "noor.dijk@work.example", "+31 30 555 0199", "Gouda"),
)
STAFF_EMAIL = "clerk@corner.example"


@pytest.fixture(scope="module")
def shop_customers(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The customers above, imported by the CLI; and a staff member who may not delete."""
    source = tmp_path_factory.mktemp("shop") / "shop.csv"
    with source.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["First Name", "Last Name", "Email", "Phone", "City"])
        writer.writerows(SHOP_CUSTOMERS)
    for args in (
        ["import", str(source), "--inline"],
        ["users", "create", "--store", "Corner Shop", "--email", STAFF_EMAIL, "--role", "staff",
         "--password", PASSWORD],
    ):  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "bulkport", *args], env=stack.env, capture_output=True
        )
        assert done.returncode == 0, done.stderr.decode()


def open_customer(page: Page, stack: Stack, email: str) -> None:
    """Find a customer by email in the list (archived ones too) and open their page."""
    page.goto(f"{stack.base}/customers")
    page.get_by_label("Search").fill(email)
    page.get_by_label("Show").select_option(label="All")
    page.get_by_role("button", name="Search").click()
    page.locator("table.customers tbody a").first.click()
    expect(page.get_by_role("heading", name="Details")).to_be_visible()


@pytest.mark.usefixtures("shop_customers")
def test_archive_a_customer_and_find_it_greyed_among_the_archived(
    page: Page, stack: Stack, shots: Path
) -> None:
    sign_in(page, stack)
    page.get_by_role("link", name="Customers").click()
    expect(page.locator("table.customers")).to_contain_text("archie@shop.example")
    check(page, shots, "customers")
    page.get_by_label("Search").fill("archie")
    page.get_by_label("Search").press("Enter")  # from the keyboard
    page.get_by_role("link", name="Archie Stone").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Archie Stone")).to_be_visible()
    check(page, shots, "customer")
    page.get_by_role("button", name="Archive", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Archived.")
    expect(page.get_by_role("button", name="Un-archive")).to_be_visible()

    page.get_by_role("link", name="All customers").click()
    expect(page.locator("table.customers")).not_to_contain_text("archie@shop.example")
    page.get_by_label("Show").select_option(label="Archived")
    page.get_by_role("button", name="Search").click()
    row = page.locator("table.customers tbody tr", has_text="archie@shop.example")
    expect(row).to_have_class("archived")
    expect(row).to_contain_text("Archived")
    grey = row.locator("td").first.evaluate("td => getComputedStyle(td).backgroundColor")
    assert grey == "rgb(241, 242, 244)", grey
    check(page, shots, "customers-archived")


@pytest.mark.usefixtures("shop_customers")
def test_find_a_customer_by_name_phone_or_email_as_staff_type_them(
    page: Page, stack: Stack
) -> None:
    sign_in(page, stack)
    page.goto(f"{stack.base}/customers")
    # Stored as +31 20 555 0101: the number as dialled at home finds it.
    for typed in ("Vos, Mia", "020 555 0101", "MIA.VOS@WORK.EXAMPLE"):
        page.get_by_label("Search").fill(typed)
        page.get_by_role("button", name="Search").click()
        expect(page.locator("table.customers")).to_contain_text("mia.vos@work.example")
    expect(page.locator("table.customers tbody tr")).to_have_count(1)
    page.get_by_label("Search").fill("Nobody Here")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No customer matches")).to_be_visible()
    expect(page.get_by_text("Show: All")).to_have_count(0)  # no archived customer matches


@pytest.mark.usefixtures("shop_customers")
def test_merge_two_customers_with_the_preview(page: Page, stack: Stack, shots: Path) -> None:
    sign_in(page, stack)
    open_customer(page, stack, "mia@shop.example")
    page.get_by_role("button", name="Merge a duplicate into this customer").click()
    check(page, shots, "merge-pick")
    page.get_by_label("Find the secondary customer").fill("mia.vos@work")
    page.get_by_label("Find the secondary customer").press("Enter")
    page.get_by_role("link", name="Preview merging Mia Vos").click()
    namesakes = re.compile(r"^Merge Mia Vos \(ID \d+\) into Mia Vos \(ID \d+\)$")
    expect(page.get_by_role("heading", name=namesakes)).to_be_visible()
    city = page.locator("tr[data-field=City]")
    expect(city).to_contain_text("Utrecht")
    expect(city).to_contain_text("taken from the secondary")
    expect(page.locator("tr[data-field=Email]")).to_contain_text("kept: the primary's value wins")
    check(page, shots, "merge-preview")
    assert_no_sideways_scroll(page, "table.merge-preview")
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Merged.")
    expect(page.get_by_label("Email", exact=True)).to_have_value("mia@shop.example")
    expect(page.get_by_label("Phone", exact=True)).to_have_value("+31 20 555 0101")
    expect(page.get_by_label("City", exact=True)).to_have_value("Utrecht")
    check(page, shots, "customer-merged")


@pytest.mark.usefixtures("shop_customers")
def test_edit_a_customer_with_the_problem_told_beside_its_field(
    page: Page, stack: Stack, shots: Path
) -> None:
    sign_in(page, stack)
    open_customer(page, stack, "eddie@shop.example")
    page.get_by_label("Last Name").fill("Brinkman")
    page.get_by_label("Email", exact=True).fill("eddie at shop")
    page.get_by_role("button", name="Save changes").click()
    problem = page.locator("#p-email")
    expect(problem).to_contain_text("not a valid email address")
    expect(page.get_by_label("Email", exact=True)).to_have_attribute("aria-describedby", "p-email")
    expect(page.get_by_label("Last Name")).to_have_value("Brinkman")  # the typing is kept
    check(page, shots, "customer-edit-problem")
    page.get_by_label("Email", exact=True).fill("eddie@brinkman.example")
    page.get_by_label("Accepts Marketing Emails").select_option(label="Yes")
    page.get_by_label("Email", exact=True).press("Enter")  # from the keyboard
    expect(page.get_by_role("status")).to_contain_text("Saved the changes")
    expect(page.get_by_role("heading", name="Eddie Brinkman")).to_be_visible()
    expect(page.get_by_label("Email", exact=True)).to_have_value("eddie@brinkman.example")
    expect(page.get_by_label("Accepts Marketing Emails")).to_have_value("yes")


def assert_no_sideways_scroll(page: Page, table: str) -> None:
    """At the narrow width neither the page nor the table's box scrolls sideways."""
    page.set_viewport_size({"width": WIDTHS[1], "height": 900})
    try:
        widths = page.evaluate(
            """(table) => {
                const found = document.querySelector(table);
                const box = found.closest('.scroll') || found;
                return [document.documentElement.scrollWidth, window.innerWidth,
                        box.scrollWidth, box.clientWidth];
            }""",
            table,
        )
    finally:
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    page_width, window_width, box_width, box_client = widths
    assert page_width <= window_width, f"the page scrolls sideways: {widths}"
    assert box_width <= box_client, f"the table scrolls sideways: {widths}"


def api_token(stack: Stack) -> str:
    """A new API token of the admin, as `bulkport users create` prints it."""
    made = subprocess.run(
        [sys.executable, "-m", "bulkport", "users", "create", "--store", "Corner Shop",
         "--email", EMAIL, "--role", "admin"],
        env=stack.env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return made.stdout.strip().splitlines()[-1]


@pytest.mark.usefixtures("shop_customers")
def test_add_a_customer_by_hand_with_the_date_in_the_stores_format(
    page: Page, stack: Stack, shots: Path
) -> None:
    sign_in(page, stack)
    page.get_by_role("link", name="Customers").click()
    page.get_by_role("button", name="New customer").click()
    expect(page.get_by_role("heading", name="New customer")).to_be_visible()
    born = page.get_by_label("Date of Birth")
    expect(born).to_have_attribute("placeholder", "DD-MM-YYYY")
    expect(born).to_have_attribute("type", "text")
    check(page, shots, "customer-new")
    page.get_by_label("First Name").fill("Fenna")
    page.get_by_label("Last Name").fill("Bakker")
    page.get_by_label("Email", exact=True).fill("fenna.bakker@studio.example")
    born.fill("30-02-1988")
    page.get_by_role("button", name="Add the customer").click()
    expect(page.get_by_role("alert")).to_contain_text("Some fields need a change")
    expect(page.locator("#p-date_of_birth")).to_contain_text("write it as DD-MM-YYYY")
    expect(page.get_by_label("First Name")).to_have_value("Fenna")  # the typing is kept
    check(page, shots, "customer-new-problem")
    page.get_by_label("Date of Birth").fill("29-02-1988")
    page.get_by_label("Date of Birth").press("Enter")  # from the keyboard
    expect(page.get_by_role("status")).to_contain_text("Added the customer.")
    expect(page.get_by_role("heading", name="Fenna Bakker")).to_be_visible()
    expect(page.get_by_label("Date of Birth")).to_have_value("29-02-1988")
    record_id = re.search(r"/customers/(\d+)", page.url)
    assert record_id is not None
    page.get_by_role("link", name="All customers").click()
    row = page.locator("table.customers tbody tr", has_text="fenna.bakker@studio.example")
    expect(row.locator("td[data-label=ID]")).to_have_text(record_id.group(1))


@pytest.mark.usefixtures("shop_customers")
def test_the_customer_page_lists_their_sales(page: Page, stack: Stack, shots: Path) -> None:
    sign_in(page, stack)
    open_customer(page, stack, "pia@shop.example")
    customer_id = int(page.url.rsplit("/", 1)[-1])
    headers = {"Authorization": f"Bearer {api_token(stack)}"}
    for amount, sold_at in (("19.95", "2026-03-04T10:00:00Z"), ("5.05", "2026-03-05T11:30:00Z")):
        sold = page.request.post(
            f"{stack.base}/api/v1/sales", headers=headers,
            data={"customer_id": customer_id, "amount": amount, "sold_at": sold_at},
        )  # fmt: skip
        assert sold.status == 201, sold.text()
    page.reload()
    expect(page.get_by_role("heading", name="Sales")).to_be_visible()
    expect(page.locator("main")).to_contain_text("2 sales, 25.00 in all")
    rows = page.locator("table.sales tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("05-03-2026 11:30")  # newest first, day first
    expect(rows.first).to_contain_text("5.05")
    page.locator("#sales-heading").scroll_into_view_if_needed()
    check(page, shots, "customer-sales")
    assert_no_sideways_scroll(page, "table.sales")


@pytest.mark.usefixtures("shop_customers")
def test_an_admin_grants_and_revokes_a_permission_on_the_users_page(
    page: Page, stack: Stack, shots: Path
) -> None:
    sign_in(page, stack)
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    check(page, shots, "users")
    assert_no_sideways_scroll(page, "table.permissions")
    clerk = page.locator("section.user", has_text=STAFF_EMAIL)
    deletion = clerk.locator("tr[data-permission='customers:delete']")
    expect(deletion).to_contain_text("No")
    deletion.get_by_role("button", name="Grant").click()
    expect(page.get_by_role("status")).to_contain_text(f"{STAFF_EMAIL} may now delete customers.")
    expect(deletion).to_contain_text("Yes (granted)")
    deletion.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("may no longer delete customers.")
    expect(deletion).to_contain_text("No")
    mine = page.locator("section.user", has_text=EMAIL).locator("tr[data-permission='jobs:admin']")
    mine.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("alert")).to_contain_text("is the store's last admin")
    expect(mine).to_contain_text("Yes")
    check(page, shots, "users-last-admin")
    page.get_by_role("link", name="Audit").click()
    expect(page.locator("tbody")).to_contain_text(
        f"{EMAIL} granted customers:delete to {STAFF_EMAIL}."
    )


@pytest.mark.usefixtures("shop_customers")
def test_a_staff_user_cannot_delete(page: Page, stack: Stack, shots: Path) -> None:
    sign_in(page, stack, email=STAFF_EMAIL)
    open_customer(page, stack, "pia@shop.example")
    expect(page.get_by_role("heading", name="Pia Berg")).to_be_visible()
    expect(page.get_by_role("button", name="Delete this customer")).to_have_count(0)
    check(page, shots, "customer-staff")
    csrf = page.locator("input[name=csrf]").first.input_value()
    forged = page.request.post(
        page.url + "/delete", form={"csrf": csrf, "confirm": "yes"}, max_redirects=0
    )
    assert forged.status == 403
    assert "does not allow deleting customers" in forged.text()
    page.reload()
    expect(page.get_by_role("heading", name="Pia Berg")).to_be_visible()


@pytest.mark.usefixtures("shop_customers")
def test_an_admin_deletes_with_the_checkbox(page: Page, stack: Stack, shots: Path) -> None:
    sign_in(page, stack)
    open_customer(page, stack, "dora@shop.example")
    expect(page.locator("#delete-warning")).to_contain_text("cannot be undone")
    check(page, shots, "customer-delete")
    # The browser holds the button until the box is ticked; without that hold, the server refuses.
    page.get_by_label("I have read and understood the warning").evaluate(
        "box => box.removeAttribute('required')"
    )
    page.get_by_role("button", name="Delete this customer").click()
    expect(page.get_by_role("alert")).to_contain_text("Tick the box to confirm")
    expect(page.get_by_role("heading", name="Dora Hale")).to_be_visible()
    check(page, shots, "customer-delete-refused")
    page.get_by_label("I have read and understood the warning").check()
    page.get_by_role("button", name="Delete this customer").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted.")
    expect(page.get_by_role("heading", name="Deleted customer")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("dora@shop.example")
    check(page, shots, "customer-deleted")


def merge_duplicate(page: Page, stack: Stack, primary: str, duplicate: str, name: str) -> None:
    """Merge the customer found by ``duplicate`` into the one of email ``primary``."""
    open_customer(page, stack, primary)
    page.get_by_role("button", name="Merge a duplicate into this customer").click()
    search = page.get_by_label("Find the secondary customer")
    search.fill(duplicate)
    search.press("Enter")
    page.get_by_role("link", name=f"Preview merging {name}").click()
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Merged.")


@pytest.mark.usefixtures("shop_customers")
def test_deleting_a_merged_duplicate_names_the_customer_still_holding_the_person(
    page: Page, stack: Stack, shots: Path
) -> None:
    sign_in(page, stack)
    merge_duplicate(page, stack, "noor@shop.example", "noor.dijk@work", "Noor Dijk")
    open_customer(page, stack, "noor.dijk@work.example")
    notice = page.locator("#held-by")
    expect(notice).to_contain_text("merged into Noor Dijk (Customer Record ID")
    expect(notice).to_contain_text("Deleting this record does not delete that customer")
    check(page, shots, "customer-delete-merged")
    page.get_by_label("I have read and understood the warning").check()
    page.get_by_role("button", name="Delete this customer").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted.")
    expect(notice).to_contain_text("who still holds the details the merge copied from it (")
    expect(notice).to_contain_text("Phone")
    check(page, shots, "customer-deleted-merged")
    notice.get_by_role("link", name="Delete Noor Dijk").click()
    expect(page.get_by_role("heading", name="Noor Dijk")).to_be_visible()
    expect(page.get_by_label("Phone", exact=True)).to_have_value("+31 30 555 0199")
    expect(page.get_by_role("button", name="Delete this customer")).to_be_visible()


@pytest.mark.usefixtures("shop_customers")
def test_a_privacy_export_is_started_from_the_customer_and_downloaded_from_its_job(
    page: Page, stack: Stack, shots: Path
) -> None:
    sign_in(page, stack)
    open_customer(page, stack, "eddie")
    page.get_by_role("button", name="Privacy export").click()
    expect(page.get_by_role("heading", name="Privacy export")).to_be_visible()
    wait_ready_without_reload(page)
    check(page, shots, "privacy-export-ready")
    with page.expect_download() as got:
        page.get_by_role("button", name="Download", exact=True).click()
    assert got.value.suggested_filename.endswith(".zip")


@pytest.mark.usefixtures("shop_customers")
def test_a_customer_searched_for_on_the_pages_and_the_api_then_deleted_is_in_no_log(
    page: Page, stack: Stack
) -> None:
    email = "pia@shop.example"
    made = subprocess.run(
        [sys.executable, "-m", "bulkport", "users", "create", "--store", "Corner Shop",
         "--email", "api@corner.example", "--role", "admin"],
        env=stack.env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    token = made.stdout.strip().splitlines()[-1]
    found = page.request.get(
        f"{stack.base}/api/v1/customers",
        params={"search": email},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert [c["email"] for c in found.json()["customers"]] == [email]
    sign_in(page, stack)
    open_customer(page, stack, "archie@shop.example")
    page.get_by_role("button", name="Merge a duplicate into this customer").click()
    page.get_by_label("Find the secondary customer").fill(email)
    page.get_by_label("Find the secondary customer").press("Enter")
    expect(page.get_by_role("link", name="Preview merging Pia Berg")).to_be_visible()
    open_customer(page, stack, email)
    page.get_by_label("I have read and understood the warning").check()
    page.get_by_role("button", name="Delete this customer").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted.")
    logs = {path: path.read_bytes() for path in stack.home.rglob("*.log") if path.is_file()}
    api_log = logs[stack.home / "api.log"].decode()
    assert "/customers?… HTTP/1.1" in api_log and "/api/v1/customers?… HTTP/1.1" in api_log
    assert "/merge?… HTTP/1.1" in api_log
    for path, content in logs.items():
        for trace in (email, "pia%40shop.example", "pia@shop", "Pia+Berg"):
            assert trace.encode() not in content, (path, trace)
