"""Job notifications: a real worker POSTs a signed job to a real HTTP receiver, retries it,
and refuses private addresses unless allowed; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from httpx import Response
from standardwebhooks.webhooks import Webhook
from support import (
    PASSWORD,
    csv_text,
    import_now,
    page_sign_in,
    stage_import,
    start_worker,
    wait_finished,
    worker_env,
)

from bulkport.cli import main
from bulkport.config import Settings, get_settings
from bulkport.schemas.jobs import JobStatus
from bulkport.storage import accounts
from bulkport.storage import webhooks as rows
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.notifications import announce, deliver, job_body
from bulkport.usecases.webhooks import rotate_secret
from bulkport.worker.app import import_customers

CSV = csv_text([["First Name", "Email"], ["Ann", "ann@example.com"], ["Bo", "bo@example.com"]])


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps each POST and answers the statuses it is given
    in turn (200 once they run out)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/bulkport"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} POSTs, wanted {count}"
            time.sleep(0.05)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[[list[int]], Receiver]]:
    made: list[Receiver] = []

    def make(statuses: list[int]) -> Receiver:
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for one in made:
        one.close()


@pytest.fixture(scope="module")
def shared_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file store for the tests and the worker processes of this module."""
    return tmp_path_factory.mktemp("files")


@pytest.fixture
def settings(database_url: str, tmp_path: Path, shared_files: Path) -> Settings:
    """The test settings with the file store the worker also uses."""
    return Settings(home=tmp_path / "home", database_url=database_url, files_dir=shared_files)


@pytest.fixture(scope="module")
def worker_queue(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[Context], str]]:
    """A worker process per database, on its own queue, allowed to reach 127.0.0.1."""
    started: dict[str, tuple[object, str]] = {}
    processes = []

    def queue_for(ctx: Context) -> str:
        if ctx.settings.database not in started:
            queue = f"bulkport-webhooks-{len(started)}-{os.getpid()}"
            log = tmp_path_factory.mktemp("worker") / "worker.log"
            env = worker_env(ctx, redis_url, BULKPORT_WEBHOOKS_ALLOW_PRIVATE="true")
            argv = [
                sys.executable, "-m", "celery", "-A", "bulkport.worker.app", "worker",
                "--pool=solo", "-Q", queue, "--without-mingle", "--without-gossip",
                "--loglevel=INFO",
            ]  # fmt: skip
            process = start_worker(argv, env, log)
            processes.append(process)
            started[ctx.settings.database] = (process, queue)
        return started[ctx.settings.database][1]

    yield queue_for
    for process in processes:
        process.terminate()
        process.wait(30)


def delivery(ctx: Context, user: User, job_id: str, seconds: float = 30) -> rows.Delivery:
    """The job's delivery once it has ended."""
    deadline = time.monotonic() + seconds
    while True:
        with ctx.engine.connect() as conn:
            found = rows.delivery_of(conn, user.store_id, job_id)
        if found is not None and found.state != rows.PENDING:
            return found
        assert time.monotonic() < deadline, f"delivery still {found}"
        time.sleep(0.1)


def test_a_receiver_gets_one_signed_post_of_the_ended_job_from_the_worker(
    ctx: Context,
    admin: User,
    worker_queue: Callable[[Context], str],
    receiver: Callable[[list[int]], Receiver],
) -> None:
    hook = receiver([])
    secret = rotate_secret(ctx, admin)
    job_id = stage_import(ctx, admin, CSV, notify_url=hook.url)
    import_customers.apply_async(args=(job_id,), queue=worker_queue(ctx))
    assert wait_finished(ctx, admin, job_id).status is JobStatus.READY
    hook.wait_for(1)
    headers, body = hook.received[0]
    payload = Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
    assert payload["id"] == job_id
    assert payload["status"] == "READY"
    assert payload["counts"]["created"] == 2
    assert b"ann@example.com" not in body
    ended = delivery(ctx, admin, job_id)
    assert (ended.state, ended.attempts) == (rows.DELIVERED, 1)
    time.sleep(1)
    assert len(hook.received) == 1


def test_a_receiver_answering_500_gets_the_same_message_again(
    ctx: Context,
    admin: User,
    worker_queue: Callable[[Context], str],
    receiver: Callable[[list[int]], Receiver],
) -> None:
    hook = receiver([500])
    secret = rotate_secret(ctx, admin)
    job_id = stage_import(ctx, admin, CSV, notify_url=hook.url)
    import_customers.apply_async(args=(job_id,), queue=worker_queue(ctx))
    hook.wait_for(2)
    ended = delivery(ctx, admin, job_id)
    assert (ended.state, ended.attempts) == (rows.DELIVERED, 2)
    (first, _), (second, body) = hook.received
    assert first["webhook-id"] == second["webhook-id"] == f"job_{job_id}"
    Webhook(secret).verify(body, {k.lower(): v for k, v in second.items()})


def post_import(client: TestClient, auth: dict[str, str], notify_url: str) -> Response:
    """Upload the test file through the API, naming ``notify_url``."""
    files = {"file": ("a.csv", CSV.encode())}
    data = {"notify_url": notify_url}
    response: Response = client.post("/api/v1/imports", headers=auth, files=files, data=data)
    return response


def test_a_private_address_is_refused_with_a_reason_and_the_upload_dropped(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User
) -> None:
    rotate_secret(ctx, admin)
    before = set(ctx.settings.files_root.glob("jobs/*"))
    response = post_import(client, auth, "http://10.1.2.3/hook")
    assert response.status_code == 403
    assert "private" in response.json()["detail"]
    assert set(ctx.settings.files_root.glob("jobs/*")) == before


def test_a_job_whose_address_turned_private_records_its_notification_failed(
    ctx: Context, admin: User
) -> None:
    rotate_secret(ctx, admin)
    job = import_now(ctx, admin, CSV, notify_url="http://127.0.0.1:9/hook")
    assert announce(ctx, job.id)
    assert not announce(ctx, job.id)  # one delivery per job
    assert deliver(ctx, job.id, 0) is None
    ended = delivery(ctx, admin, job.id)
    assert ended.state == rows.FAILED
    assert ended.last_error and "private" in ended.last_error


def test_a_job_names_an_address_only_once_its_store_can_sign(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = post_import(client, auth, "https://93.184.215.14/hook")
    assert response.status_code == 409
    assert "secret" in response.json()["detail"]


def test_the_secret_is_shown_once_and_the_job_shows_its_notification(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User
) -> None:
    made = client.post("/api/v1/webhooks/secret", headers=auth)
    assert made.status_code == 200
    assert made.json()["secret"].startswith("whsec_")
    shown = client.get("/api/v1/webhooks", headers=auth).json()
    assert shown == {"has_secret": True, "default_url": None}
    job = import_now(ctx, admin, CSV, notify_url="http://127.0.0.1:9/hook")
    announce(ctx, job.id)
    view = client.get(f"/api/v1/jobs/{job.id}", headers=auth).json()
    assert view["notification"]["state"] == rows.PENDING
    assert view["notification"]["url"] == "http://127.0.0.1:9/hook"
    assert json.dumps(view).count(made.json()["secret"]) == 0


def test_an_export_naming_a_private_address_is_refused(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/exports", headers=auth, json={"notify_url": "http://192.168.0.7/hook"}
    )
    assert response.status_code == 403
    assert "private" in response.json()["detail"]


def test_a_job_naming_no_address_notifies_the_stores_default(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User
) -> None:
    private = client.put("/api/v1/webhooks/default", headers=auth, json={"url": "http://[::1]/"})
    assert private.status_code == 403
    assert "private" in private.json()["detail"]
    malformed = client.put("/api/v1/webhooks/default", headers=auth, json={"url": "ftp://a/"})
    assert malformed.status_code == 422
    public = "https://93.184.215.14/hooks"
    saved = client.put("/api/v1/webhooks/default", headers=auth, json={"url": public})
    assert saved.json() == {"has_secret": False, "default_url": public}
    job = import_now(ctx, admin, CSV)
    assert announce(ctx, job.id)
    with ctx.engine.connect() as conn:
        found = rows.delivery_of(conn, admin.store_id, job.id)
    assert found is not None and found.url == public


def test_the_import_command_refuses_a_private_notify_url_in_one_line(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BULKPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("BULKPORT_HOME", str(tmp_path / "cli-home"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        cli = CliRunner()
        made = ["users", "create", "--store", "north", "--email", "a@north.example"]
        assert cli.invoke(main, [*made, "--role", "admin"]).exit_code == 0
        Path("c.csv").write_text(CSV)
        refused = cli.invoke(main, ["import", "c.csv", "--notify-url", "http://127.0.0.1/h"])
    finally:
        get_settings.cache_clear()
    assert refused.exit_code == 1
    assert refused.output.count("\n") == 1 and "private" in refused.output


def test_the_job_page_shows_how_its_notification_stands(
    client: TestClient, ctx: Context, admin: User, staff: User
) -> None:
    rotate_secret(ctx, admin)
    job = import_now(ctx, staff, CSV, notify_url="http://127.0.0.1:9/hook")
    assert page_sign_in(client, staff.email) == 303
    assert "Notifies http://127.0.0.1:9/hook when it ends." in client.get(f"/jobs/{job.id}").text
    announce(ctx, job.id)
    deliver(ctx, job.id, 0)
    shown = client.get(f"/jobs/{job.id}").text
    assert "Notification to http://127.0.0.1:9/hook: failed after 1 attempt(s)." in shown


def test_an_archive_list_naming_a_private_address_is_refused_and_not_kept(
    client: TestClient, auth: dict[str, str], ctx: Context
) -> None:
    before = set(ctx.settings.files_root.glob("jobs/*"))
    files = {"file": ("l.csv", b"Email\r\nann@example.com\r\n")}
    data = {"notify_url": "http://169.254.169.254/latest"}
    response = client.post("/api/v1/archives", headers=auth, files=files, data=data)
    assert response.status_code == 403
    assert "private" in response.json()["detail"]
    assert set(ctx.settings.files_root.glob("jobs/*")) == before


def test_notify_email_is_checked_kept_with_the_job_and_never_sent_to_the_receiver(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User
) -> None:
    files = {"file": ("a.csv", CSV.encode())}
    bad = {"notify_email": "not an address"}
    assert client.post("/api/v1/imports", headers=auth, files=files, data=bad).status_code == 422
    job = import_now(ctx, admin, CSV, notify_email="owner@north.example")
    assert job.options["notify_email"] == "owner@north.example"
    body = job_body(job, ctx.settings)
    assert "owner@north.example" not in json.dumps(body)


def test_an_admin_makes_a_secret_on_the_page_and_sees_it_only_then(
    client: TestClient, ctx: Context, admin: User
) -> None:
    with ctx.engine.begin() as conn:
        accounts.set_password(conn, admin.id, PASSWORD)
    assert page_sign_in(client, admin.email) == 303
    page = client.get("/webhooks").text
    assert "Signing secret: none yet." in page
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    made = client.post("/webhooks/secret", data={"csrf": csrf}).text
    secret = made.split("shown this once: <code>", 1)[1].split("</code>", 1)[0]
    assert secret.startswith("whsec_")
    again = client.get("/webhooks").text
    assert "Signing secret: set." in again and secret not in again
    assert client.post("/webhooks/secret", data={"csrf": "wrong"}).status_code == 403
