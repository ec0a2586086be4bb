"""The back-office pages through FastAPI's test client, on both databases: signing in and out,
CSRF refusals, the limit on failed sign-ins, store scoping and revoked sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pytest
import redis
from argon2 import PasswordHasher
from click.testing import CliRunner
from fastapi.testclient import TestClient
from support import (
    PASSWORD,
    Queue,
    csrf_of,
    get_job,
    local_files,
    page_sign_in,
    stage_import,
)

from bulkport import cli
from bulkport.app import create_app
from bulkport.cli import users as user_commands
from bulkport.config import Settings
from bulkport.schemas.accounts import Permission, Role
from bulkport.schemas.jobs import JobKind, JobStatus
from bulkport.storage import accounts, job_rows, sessions
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.imports import run_import
from bulkport.web import auth


@pytest.fixture(autouse=True)
def fresh_sign_in_counts(redis_url: str) -> None:
    """Failed sign-ins are counted per minute in Redis; each test starts from none."""
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("bulkport:sign-in-*"):
        client.delete(key)
    client.close()


def test_signing_in_opens_the_jobs_page_with_no_store_caching(
    client: TestClient, staff: User
) -> None:
    assert client.get("/jobs", follow_redirects=False).headers["location"] == "/sign-in"
    assert page_sign_in(client, staff.email) == 303
    cookie = client.cookies.get(auth.SESSION_COOKIE)
    assert cookie
    page = client.get("/jobs")
    assert page.status_code == 200
    assert "north" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "Audit" not in page.text  # staff see no admin links


def test_the_session_cookie_is_http_only_and_same_site(client: TestClient, staff: User) -> None:
    token = csrf_of(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={"email": staff.email, "password": PASSWORD, "csrf": token},
        follow_redirects=False,
    )
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "samesite=lax" in set_cookie


def test_a_wrong_password_is_refused_in_plain_words(client: TestClient, staff: User) -> None:
    assert page_sign_in(client, staff.email, "not the password") == 401
    assert client.get("/jobs", follow_redirects=False).status_code == 303


def test_over_https_the_cookies_are_host_prefixed_secure_and_only_those_are_read(
    settings: Settings, staff: User
) -> None:
    public = settings.model_copy(update={"public_url": "https://bulkport.example"})
    with TestClient(create_app(public, enqueue=Queue()), base_url="https://testserver") as client:
        assert page_sign_in(client, staff.email) == 303
        cookies = {c.name: c for c in client.cookies.jar}
        assert set(cookies) == {"__Host-bulkport_session"}, cookies
        session = cookies["__Host-bulkport_session"]
        assert session.secure and session.path == "/" and not session.domain_specified
        assert client.get("/jobs", follow_redirects=False).status_code == 200
        # The same value under the plain name, as a page on plain http could set it: ignored.
        planted = str(session.value)
        client.cookies.clear()
        client.cookies.set(auth.SESSION_COOKIE, planted)
        assert client.get("/jobs", follow_redirects=False).headers["location"] == "/sign-in"


def test_over_plain_http_the_cookies_keep_their_plain_names(
    client: TestClient, staff: User
) -> None:
    assert page_sign_in(client, staff.email) == 303
    assert {c.name for c in client.cookies.jar} == {auth.SESSION_COOKIE}
    assert not any(c.secure for c in client.cookies.jar)


def test_forms_without_their_csrf_token_are_refused(
    client: TestClient, staff: User, sent: list[str]
) -> None:
    page = client.get("/sign-in")
    refused = client.post("/sign-in", data={"email": staff.email, "password": PASSWORD})
    assert refused.status_code == 403
    assert page_sign_in(client, staff.email) == 303
    for path in ("/exports/new", "/sign-out"):
        response = client.post(path, data={"csrf": "forged"}, follow_redirects=False)
        assert response.status_code == 403, path
        assert "out of date" in response.text
    assert sent == []
    assert page.status_code == 200
    export_page = client.get("/exports/new").text
    started = client.post(
        "/exports/new", data={"csrf": csrf_of(export_page), "format": "csv"},
        follow_redirects=False,
    )  # fmt: skip
    assert started.status_code == 303
    assert len(sent) == 1


def multipart(*parts: tuple[str, str | None, bytes]) -> tuple[bytes, str]:
    """A form body with its parts (name, file name, content) in this order, and its type."""
    boundary = "form-boundary-7d3f"
    body = b""
    for name, filename, content in parts:
        named = f'; filename="{filename}"' if filename else ""
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{named}\r\n\r\n'.encode()
        )
        body += content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_an_upload_without_a_valid_token_first_stores_no_file_and_counts_nothing(
    settings: Settings, ctx: Context, staff: User, redis_url: str
) -> None:
    limited = settings.model_copy(update={"uploads_per_minute": 5})
    counter = f"bulkport:uploads:{staff.id}"
    redis.Redis.from_url(redis_url).delete(counter)
    rows = b"First Name,Email\r\nAnn,ann@example.com\r\n"
    with TestClient(create_app(limited, enqueue=Queue())) as client:
        assert page_sign_in(client, staff.email) == 303
        token = csrf_of(client.get("/imports/new").text).encode()
        refused = [
            multipart(("csrf", None, b"forged"), ("file", "a.csv", rows)),
            multipart(("file", "a.csv", rows)),
            multipart(("file", "a.csv", rows), ("csrf", None, token)),  # the token too late
        ]
        for body, kind in refused:
            response = client.post("/imports/new", content=body, headers={"content-type": kind})
            assert response.status_code == 403, response.text
            assert "out of date" in response.text
        previews = local_files(ctx).root / "previews"
        assert not previews.exists() or not any(p.is_file() for p in previews.rglob("*"))
        assert redis.Redis.from_url(redis_url).get(counter) is None
        body, kind = multipart(("csrf", None, token), ("file", "a.csv", rows))
        taken = client.post(
            "/imports/new", content=body, headers={"content-type": kind}, follow_redirects=False
        )
        assert taken.status_code == 303, taken.text
        assert redis.Redis.from_url(redis_url).get(counter) == b"1"
        assert [p.name for p in previews.rglob("*") if p.is_file()] == ["upload", "staged.json"]


def test_failed_sign_ins_are_limited_per_email(client: TestClient, staff: User) -> None:
    limit = 5
    for _ in range(limit):
        assert page_sign_in(client, staff.email, "wrong") == 401
    assert page_sign_in(client, staff.email, "wrong") == 429
    # Even the right password waits until the minute is over.
    assert page_sign_in(client, staff.email) == 429


def test_the_sign_in_limits_429_says_when_to_retry_in_retry_after(
    client: TestClient, staff: User
) -> None:
    for _ in range(5):
        assert page_sign_in(client, staff.email, "wrong") == 401
    token = csrf_of(client.get("/sign-in").text)
    refused = client.post(
        "/sign-in", data={"email": staff.email, "password": PASSWORD, "csrf": token}
    )
    assert refused.status_code == 429
    seconds = int(refused.headers["retry-after"])
    assert 1 <= seconds <= 60
    assert f"Wait {seconds} seconds" in refused.text


class CountingHasher(PasswordHasher):
    """The service's hasher, counting the verifications a sign-in makes."""

    def __init__(self) -> None:
        super().__init__()
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified += 1
        return super().verify(hash, password)


def test_a_sign_in_verifies_as_many_hashes_for_any_email_known_or_not(
    ctx: Context, staff: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", counting)
    with ctx.engine.begin() as conn:
        south = accounts.ensure_store(conn, "south")
        twice = accounts.ensure_user(conn, south, staff.email, Role.STAFF)
        accounts.set_password(conn, twice.id, "south's own password")
        accounts.ensure_user(conn, south, "no-password@south.example", Role.STAFF)
    tries = [
        ("nobody@north.example", PASSWORD, None),
        ("staff\x00@north.example", PASSWORD, None),  # no email has one; never a query
        ("no-password@south.example", "no such user", None),
        (staff.email, "wrong password", None),
        (staff.email, PASSWORD, staff.id),
        (staff.email, "south's own password", twice.id),
    ]
    for email, password, expected in tries:
        counting.verified = 0
        with ctx.engine.connect() as conn:
            found = accounts.user_for_password(conn, email, password)
        assert (found.id if found else None) == expected, email
        assert counting.verified == accounts.MAX_STORES_PER_EMAIL, (email, password)


def test_an_email_has_users_in_at_most_two_stores(
    ctx: Context, settings: Settings, staff: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(user_commands, "get_settings", lambda: settings)
    for store in ("south", "east"):
        result = CliRunner().invoke(
            cli.main, ["users", "create", "--store", store, "--email", staff.email]
        )
        if store == "south":
            assert result.exit_code == 0, result.output
    assert result.exit_code == 2
    assert "already has users in 2 stores" in result.output
    with ctx.engine.connect() as conn:
        assert len(accounts.users_by_email(conn, staff.email)) == 2


@pytest.mark.parametrize("email", ["staff\x00@north.example", "\u202estaff@north.example"])
def test_a_sign_in_with_a_control_character_in_the_email_is_a_plain_failure(
    client: TestClient, staff: User, email: str
) -> None:
    assert page_sign_in(client, email) == 401


def test_failed_sign_ins_are_limited_per_client_address(client: TestClient, staff: User) -> None:
    for n in range(5):
        assert page_sign_in(client, f"nobody{n}@north.example", "wrong") == 401
    assert page_sign_in(client, staff.email) == 429


def test_another_stores_job_answers_404(client: TestClient, ctx: Context, staff: User) -> None:
    with ctx.engine.begin() as conn:
        south = accounts.ensure_store(conn, "south")
        other = accounts.ensure_user(conn, south, "owner@south.example", Role.ADMIN)
    theirs = stage_import(ctx, other, "First Name,Email\r\nAnn,ann@example.com\r\n")
    ours = stage_import(ctx, staff, "First Name,Email\r\nBob,bob@example.com\r\n")
    assert page_sign_in(client, staff.email) == 303
    assert client.get(f"/jobs/{ours}").status_code == 200
    for path in (f"/jobs/{theirs}", f"/jobs/{theirs}/progress", f"/jobs/{theirs}/download"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404, path
    listed = client.get("/jobs").text
    assert ours in listed
    assert theirs not in listed


def test_a_job_started_from_the_command_line_says_so_on_the_jobs_pages(
    client: TestClient, ctx: Context, staff: User
) -> None:
    with ctx.engine.begin() as conn:
        cli_job = job_rows.create_job(conn, store_id=staff.store_id, kind=JobKind.EXPORT,
                                      options={"format": "csv"}, created_by=None)  # fmt: skip
    mine = stage_import(ctx, staff, "First Name\r\nAnn\r\n")
    assert page_sign_in(client, staff.email) == 303
    listed = client.get("/jobs").text
    rows = {job_id: listed.split(f"/jobs/{job_id}", 1)[1].split("</tr>", 1)[0]
            for job_id in (cli_job, mine)}  # fmt: skip
    assert "the command line" in rows[cli_job] and staff.email not in rows[cli_job]
    assert staff.email in rows[mine] and "the command line" not in rows[mine]
    assert "by the command line." in client.get(f"/jobs/{cli_job}").text


def test_a_signed_in_user_carries_the_permissions_granted_to_them(
    ctx: Context, staff: User
) -> None:
    with ctx.engine.begin() as conn:
        accounts.set_permission(conn, staff.id, Permission.CUSTOMERS_DELETE, granted=True)
        token = sessions.start(conn, staff.id, timedelta(hours=1))
    with ctx.engine.connect() as conn:
        found = sessions.find(conn, token)
    assert found is not None and found.user.can(Permission.CUSTOMERS_DELETE)


def test_revoking_a_users_sessions_signs_them_out(
    client: TestClient, ctx: Context, staff: User
) -> None:
    assert page_sign_in(client, staff.email) == 303
    assert client.get("/jobs").status_code == 200
    with ctx.engine.begin() as conn:
        assert accounts.end_sessions(conn, staff.id) == 1
    response = client.get("/jobs", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"


def test_a_disabled_user_is_signed_out_and_cannot_sign_in_again(
    client: TestClient, ctx: Context, settings: Settings, staff: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    assert page_sign_in(client, staff.email) == 303
    monkeypatch.setattr(user_commands, "get_settings", lambda: settings)
    result = CliRunner().invoke(cli.main, ["users", "disable", staff.email, "--store", "north"])
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended" in result.output
    assert client.get("/jobs", follow_redirects=False).headers["location"] == "/sign-in"
    assert page_sign_in(client, staff.email) != 303


def test_signing_out_ends_the_session_for_good(client: TestClient, staff: User) -> None:
    assert page_sign_in(client, staff.email) == 303
    cookie = client.cookies.get(auth.SESSION_COOKIE)
    token = csrf_of(client.get("/jobs").text)
    assert client.post("/sign-out", data={"csrf": token}, follow_redirects=False).status_code == 303
    client.cookies.set(auth.SESSION_COOKIE, str(cookie))
    assert client.get("/jobs", follow_redirects=False).status_code == 303


def test_set_password_prompts_twice_and_ends_the_users_sessions(
    ctx: Context, settings: Settings, staff: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(user_commands, "get_settings", lambda: settings)
    with ctx.engine.begin() as conn:
        sessions.start(conn, staff.id, timedelta(hours=1))
    result = CliRunner().invoke(
        cli.main,
        ["users", "set-password", staff.email, "--store", "north"],
        input="another good password\nanother good password\n",
    )
    assert result.exit_code == 0, result.output
    assert "1 signed-in session(s) ended" in result.output
    with ctx.engine.connect() as conn:
        assert accounts.user_for_password(conn, staff.email, "another good password")
        assert accounts.user_for_password(conn, staff.email, PASSWORD) is None


def test_creating_an_existing_user_with_a_password_signs_them_out_and_says_so(
    client: TestClient, ctx: Context, settings: Settings, staff: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    assert page_sign_in(client, staff.email) == 303
    with ctx.engine.begin() as conn:
        sessions.start(conn, staff.id, timedelta(hours=1))  # a second browser
    monkeypatch.setattr(user_commands, "get_settings", lambda: settings)
    result = CliRunner().invoke(
        cli.main,
        ["users", "create", "--store", "north", "--email", staff.email,
         "--password", "another good password"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"Password set for {staff.email}; 2 signed-in session(s) ended." in result.output
    assert client.get("/jobs", follow_redirects=False).headers["location"] == "/sign-in"
    assert page_sign_in(client, staff.email, "another good password") == 303


def test_any_new_password_ends_every_session_of_that_user_alone(
    ctx: Context, admin: User, staff: User
) -> None:
    with ctx.engine.begin() as conn:
        mine = sessions.start(conn, staff.id, timedelta(hours=1))
        theirs = sessions.start(conn, admin.id, timedelta(hours=1))
        assert accounts.set_password(conn, staff.id, "a brand new password") == 1
    with ctx.engine.connect() as conn:
        assert sessions.find(conn, mine) is None
        assert sessions.find(conn, theirs) is not None


def test_a_dry_run_is_committed_and_a_queued_job_cancelled_from_the_job_page(
    client: TestClient, ctx: Context, staff: User, sent: list[str]
) -> None:
    dry = stage_import(ctx, staff, "First Name,Email\r\nAnn,ann@example.com\r\n", dry_run=True)
    run_import(ctx, dry)
    assert page_sign_in(client, staff.email) == 303
    page = client.get(f"/jobs/{dry}").text
    assert "Import it for real" in page
    committed = client.post(
        f"/jobs/{dry}/commit", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    assert committed.status_code == 303
    real = committed.headers["location"].rsplit("/", 1)[-1]
    assert sent == [real]
    assert get_job(ctx, staff, real).status is JobStatus.QUEUED

    page = client.get(f"/jobs/{real}").text
    assert 'hx-trigger="every 1s"' in page
    cancelled = client.post(
        f"/jobs/{real}/cancel", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    assert cancelled.status_code == 303
    assert get_job(ctx, staff, real).status is JobStatus.CANCELLED
    assert 'hx-trigger="every 1s"' not in client.get(f"/jobs/{real}/progress").text


def test_the_mapping_screen_starts_the_import_with_the_changed_mapping(
    client: TestClient, ctx: Context, staff: User, sent: list[str]
) -> None:
    assert page_sign_in(client, staff.email) == 303
    csrf = csrf_of(client.get("/imports/new").text)
    content = b"Naam,Mail,Kleur\r\nAnn,ann@example.com,red\r\n"
    uploaded = client.post(
        "/imports/new",
        data={"csrf": csrf, "mode": "create"},
        files={"file": ("shop.csv", content, "text/csv")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    screen = client.get(uploaded.headers["location"])
    assert screen.status_code == 200
    assert "Kleur" in screen.text
    form = {"csrf": csrf, "action": "start"}
    form |= {"header-0": "Naam", "field-0": "last_name", "header-1": "Mail", "field-1": "email"}
    form |= {"header-2": "Kleur", "field-2": ""}
    started = client.post(uploaded.headers["location"], data=form, follow_redirects=False)
    assert started.status_code == 303
    job_id = started.headers["location"].rsplit("/", 1)[-1]
    assert sent == [job_id]
    job = get_job(ctx, staff, job_id)
    assert job.options["mode"] == "create"
    assert job.options["mapping"] == {"Naam": "last_name", "Mail": "email", "Kleur": ""}
    assert client.get(uploaded.headers["location"]).status_code == 404  # the upload moved on


def test_an_upload_with_a_forged_token_is_refused_and_not_kept(
    client: TestClient, ctx: Context, staff: User
) -> None:
    assert page_sign_in(client, staff.email) == 303
    response = client.post(
        "/imports/new",
        data={"csrf": "forged"},
        files={"file": ("shop.csv", b"Email\r\na@example.com\r\n", "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code == 403
    previews = local_files(ctx).root / "previews"
    assert not previews.exists() or not any(previews.iterdir())


def test_the_live_part_shows_a_running_jobs_progress_and_keeps_polling(
    client: TestClient, ctx: Context, staff: User
) -> None:
    job_id = stage_import(ctx, staff, "First Name,Email\r\nAnn,ann@example.com\r\n")
    with ctx.engine.begin() as conn:
        claimed = job_rows.claim(conn, job_id, 60)
        assert isinstance(claimed, job_rows.Claimed)
        job_rows.record_plan(
            conn, job_id, claimed.token, total=4, mapping={}, ignored_columns=[], source={}
        )
    assert page_sign_in(client, staff.email) == 303
    live = client.get(f"/jobs/{job_id}/progress")
    assert live.status_code == 200
    assert live.headers["cache-control"] == "no-store"
    assert 'data-status="PROCESSING"' in live.text
    assert "badge-processing" in live.text
    assert "0 of 4 rows" in live.text
    assert 'hx-trigger="every 1s"' in live.text
    assert "<html" not in live.text  # a fragment, not a whole page


def test_a_file_that_is_no_spreadsheet_is_refused_in_plain_words_on_the_upload_page(
    client: TestClient, staff: User
) -> None:
    assert page_sign_in(client, staff.email) == 303
    csrf = csrf_of(client.get("/imports/new").text)
    uploaded = client.post(
        "/imports/new",
        data={"csrf": csrf},
        files={"file": ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(200), "text/csv")},
    )
    assert uploaded.status_code == 422
    assert "photo.csv" in uploaded.text
    assert 'role="alert"' in uploaded.text
    assert "Traceback" not in uploaded.text


def test_an_import_is_retried_from_its_job_page_and_the_pages_link_both_ways(
    client: TestClient, ctx: Context, staff: User, sent: list[str]
) -> None:
    first = stage_import(ctx, staff, "Email,First Name\r\nann@example.com,Ann\r\nbea@x.org,B\r\n")
    run_import(ctx, first)
    taken = stage_import(ctx, staff, "Customer Record ID,Email\r\n1,bea@x.org\r\n")
    run_import(ctx, taken)
    assert page_sign_in(client, staff.email) == 303
    assert "Retry the rows not imported" not in client.get(f"/jobs/{first}").text
    page = client.get(f"/jobs/{taken}").text
    assert "Retry the rows not imported" in page
    retried = client.post(
        f"/jobs/{taken}/retry", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    assert retried.status_code == 303
    retry = retried.headers["location"].rsplit("/", 1)[-1]
    assert sent[-1] == retry
    assert get_job(ctx, staff, retry).options["only_rows"] == "2"
    page = client.get(f"/jobs/{taken}").text
    assert f'Rows retried by job <a href="/jobs/{retry}">' in page
    assert "Retry the rows not imported" not in page
    assert f'of job <a href="/jobs/{taken}">' in client.get(f"/jobs/{retry}").text
    refused = client.post(f"/jobs/{first}/retry", data={"csrf": csrf_of(page)})
    assert refused.status_code == 409
    assert "Nothing to retry" in refused.text
