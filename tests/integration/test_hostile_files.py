"""Hostile and broken files uploaded over HTTP: each ends FAILED (or as row errors) with plain
words, within seconds, and the next job runs. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from support import Queue

from bulkport.app import create_app
from bulkport.config import Settings
from bulkport.schemas.accounts import Role
from bulkport.storage import accounts
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.imports import run_import


def xlsx_with(sheet_xml: bytes) -> bytes:
    """A minimal workbook whose one sheet is ``sheet_xml``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.worksheet+xml"/></Types>',
        )
        book.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        book.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>",
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>',
        )
        book.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return out.getvalue()


SHEET = (
    b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    b'2006/main">{dimension}<sheetData>'
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c></row>'
    b'<row r="2"><c r="A2" t="inlineStr"><is><t>{value}</t></is></c></row>'
    b"</sheetData></worksheet>"
)
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;'
    b'&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><worksheet xmlns="http://schemas.openxmlformats.'
    b'org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
    b"&lol2;</t></is></c></row></sheetData></worksheet>"
)

CASES: list[tuple[str, Callable[[], bytes], str]] = [
    ("empty", lambda: b"", "empty"),
    ("header only", lambda: b"First Name,Email\r\n", "no customers below it"),
    ("binary garbage", lambda: bytes(range(256)) * 64, "not a text spreadsheet"),
    ("pdf renamed csv", lambda: b"%PDF-1.4\n" + b"\x00" * 100, "PDF"),
    ("nul bytes", lambda: b"First Name,Email\r\nA\x00n,a@x.com\r\n", "not a text spreadsheet"),
    ("20 MB cell", lambda: b"First Name,Notes\r\nAnn," + b"x" * 20_000_000 + b"\r\n", "characters"),
    ("20,000 columns", lambda: ",".join(f"c{i}" for i in range(20_000)).encode(), "columns"),
    ("old xls", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, ".xls"),
    ("not a workbook zip", lambda: zip_of({"word/document.xml": b"<w/>"}), "Excel"),
    ("entity expansion", lambda: xlsx_with(LAUGHS), "entity"),
    ("too many rows", lambda: b"Email\r\n" + b"a@x.com\r\n" * 60, "more than 50 rows"),
    ("unterminated quote", lambda: b'Email,Notes\r\na@x.com,"open\r\n' + b"x" * 40_000,
     "characters"),
]  # fmt: skip


def zip_of(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def client(settings: Settings, queue: Queue) -> Iterator[TestClient]:
    limited = settings.model_copy(update={"max_rows": 50})
    with TestClient(create_app(limited, enqueue=queue)) as test_client:
        yield test_client


@pytest.fixture
def auth(ctx: Context, admin: User) -> dict[str, str]:
    with ctx.engine.begin() as conn:
        user = accounts.ensure_user(conn, admin.store_id, "clerk@north.example", Role.STAFF)
        return {"Authorization": f"Bearer {accounts.issue_token(conn, user.id)}"}


@pytest.mark.parametrize(("name", "make", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_file_fails_plainly_within_seconds_and_the_next_job_runs(
    client: TestClient,
    auth: dict[str, str],
    settings: Settings,
    name: str,
    make: Callable[[], bytes],
    words: str,
) -> None:
    answer = client.post("/api/v1/imports", headers=auth, files={"file": ("f.csv", make())})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    ctx = Context.from_settings(settings.model_copy(update={"max_rows": 50}))
    started = time.monotonic()
    run_import(ctx, job_id)
    assert time.monotonic() - started < 20
    job = client.get(f"/api/v1/jobs/{job_id}", headers=auth).json()
    assert job["status"] == "FAILED", job
    assert words in job["error"], job["error"]
    assert "Traceback" not in job["error"] and "Error" not in job["error"]

    fine = client.post(
        "/api/v1/imports", headers=auth, files={"file": ("ok.csv", b"Email\r\nok@x.com\r\n")}
    ).json()
    run_import(ctx, fine["id"])
    ctx.close()
    assert client.get(f"/api/v1/jobs/{fine['id']}", headers=auth).json()["status"] == "READY"


def test_an_inflated_sheet_dimension_costs_nothing(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    sheet = SHEET.replace(b"{dimension}", b'<dimension ref="A1:XFD1048576"/>').replace(
        b"{value}", b"ann@example.com"
    )
    answer = client.post(
        "/api/v1/imports", headers=auth, files={"file": ("big.xlsx", xlsx_with(sheet))}
    )
    ctx = Context.from_settings(settings)
    started = time.monotonic()
    run_import(ctx, answer.json()["id"])
    ctx.close()
    assert time.monotonic() - started < 10
    job = client.get(f"/api/v1/jobs/{answer.json()['id']}", headers=auth).json()
    assert (job["status"], job["counts"]["created"]) == ("READY", 1)


def test_bytes_that_break_the_declared_encoding_fail_at_their_row(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    content = "Email,Name\r\na@x.com,Ann\r\nb@x.com,Ren\u00e9\r\n".encode("cp1252")
    answer = client.post(
        "/api/v1/imports", headers=auth, files={"file": ("f.csv", content)},
        data={"encoding": "utf-8"},
    )  # fmt: skip
    ctx = Context.from_settings(settings)
    run_import(ctx, answer.json()["id"])
    ctx.close()
    job = client.get(f"/api/v1/jobs/{answer.json()['id']}", headers=auth).json()
    assert job["status"] == "FAILED"
    assert job["error"].startswith("Row 3 is not readable as UTF-8 text")


def test_a_job_past_its_time_limit_ends_failed_with_its_rows_counted(
    client: TestClient, auth: dict[str, str], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bulkport.tasks import pipeline

    class OutOfTime(Exception):
        """Stands for Celery's SoftTimeLimitExceeded."""

    real_write = pipeline._write_batch

    def slow(*args: object, **kwargs: object) -> int:
        if args[2] == 50:  # the time limit strikes during the second batch
            raise OutOfTime
        return real_write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_write_batch", slow)
    rows = b"Email\r\n" + b"".join(b"t%d@x.com\r\n" % i for i in range(120))
    answer = client.post("/api/v1/imports", headers=auth, files={"file": ("f.csv", rows)})
    ctx = Context.from_settings(settings, time_limit_errors=(OutOfTime,))
    run_import(ctx, answer.json()["id"])
    ctx.close()
    job = client.get(f"/api/v1/jobs/{answer.json()['id']}", headers=auth).json()
    assert job["status"] == "FAILED"
    assert "time limit" in job["error"]
    assert (job["counts"]["processed"], job["counts"]["unprocessed"]) == (50, 70)
