"""Exports on SQLite and PostgreSQL: filters, columns, formula safety, round trips, streaming."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import update
from support import csv_text, import_now, local_files, stored_customers

from bulkport.schemas.exports import ExportFilters, ExportRequest
from bulkport.schemas.jobs import JobStatus
from bulkport.spreadsheets.cells import keep_apostrophe, safe_cell
from bulkport.storage import customer_writes, job_rows
from bulkport.storage.accounts import User
from bulkport.storage.db import now
from bulkport.storage.tables import customers as customers_table
from bulkport.tasks import exports
from bulkport.tasks.context import Context
from bulkport.tasks.exports import run_export, submit_export

HOSTILE = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tTabbed",
    "=cmd|' /C calc'!A0",
]


def seed(ctx: Context, admin: User) -> None:
    rows = [
        ["First Name", "Last Name", "Email", "Phone", "Customer Type", "Company", "Tax Exempt",
         "Sales Tax Number", "Accepts Marketing Emails", "Date of Birth", "Postal Code", "Notes"],
        ["Ann", "Archer", "ann@example.com", "+31 6 1234 5678", "private", "", "FALSE", "",
         "TRUE", "1980-02-03", "0123", "two\nlines"],
        ["Bob", "Baker", "bob@example.com", "0612345678", "business", "Bakery Ltd", "TRUE",
         "TX-1", "FALSE", "", "", "says \"hi\", then; leaves"],
        ["Cy", "Cooper", "cy@example.com", "", "private", "", "", "", "", "", "", ""],
    ]  # fmt: skip
    for i, evil in enumerate(HOSTILE):
        rows.append([evil, "Hostile", f"h{i}@example.com", "", "", "", "", "", "", "", "", evil])
    job = import_now(ctx, admin, csv_text(rows))
    assert job.status is JobStatus.READY and job.counts.failed == 0, job


def export(ctx: Context, admin: User, **request: Any) -> tuple[job_rows.Job, bytes]:
    job_id = submit_export(
        ctx, store_id=admin.store_id, user_id=admin.id,
        request=ExportRequest.model_validate(request),
    )  # fmt: skip
    run_export(ctx, job_id)
    with ctx.engine.connect() as conn:
        job = job_rows.get_job(conn, admin.store_id, job_id)
    assert job is not None and job.status is JobStatus.READY, job
    assert job.output_file is not None
    return job, local_files(ctx).path(job.output_file).read_bytes()


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_a_csv_export_has_every_column_with_the_record_id_first(ctx: Context, admin: User) -> None:
    seed(ctx, admin)
    job, data = export(ctx, admin)
    rows = csv_rows(data)
    assert rows[0][:3] == ["Customer Record ID", "First Name", "Initials"]
    assert rows[0][-3:] == ["Archived", "Created At", "Updated At"]
    assert len(rows) == 1 + 3 + len(HOSTILE)
    assert (job.counts.total, job.counts.succeeded, job.counts.processed) == (9, 9, 9)
    ann = dict(zip(rows[0], rows[1], strict=True))
    assert ann["Phone"] == "'+31 6 1234 5678"  # would be a formula; the import drops the '
    assert (ann["Notes"], ann["Postal Code"], ann["Date of Birth"]) == (
        "two\nlines",
        "0123",
        "1980-02-03",
    )
    assert (ann["Accepts Marketing Emails"], ann["Archived"]) == ("TRUE", "FALSE")


def test_no_exported_cell_can_run_as_a_formula(ctx: Context, admin: User) -> None:
    seed(ctx, admin)
    _, data = export(ctx, admin)
    for row in csv_rows(data)[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    _, book = export(ctx, admin, format="xlsx")
    sheet = load_workbook(io.BytesIO(book)).worksheets[0]
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    notes = [row[0].value for row in sheet.iter_rows(min_row=5, min_col=2, max_col=2)]
    assert notes == [h.strip() for h in HOSTILE]  # as stored (imports trim), inert text


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_unmodified_export_imports_back_unchanged(ctx: Context, admin: User, fmt: str) -> None:
    seed(ctx, admin)
    before = stored_customers(ctx, admin)
    _, data = export(ctx, admin, format=fmt)
    job = import_now(ctx, admin, data, filename=f"export.{fmt}")
    assert job.status is JobStatus.READY, job.error
    assert (job.counts.unchanged, job.counts.failed, job.counts.updated) == (9, 0, 0)
    assert stored_customers(ctx, admin) == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_editing_a_few_cells_of_an_export_updates_exactly_those_customers(
    ctx: Context, admin: User, fmt: str
) -> None:
    seed(ctx, admin)
    _, data = export(ctx, admin, format=fmt, columns=["Customer Record ID", "Email", "Notes"])
    if fmt == "csv":
        rows = csv_rows(data)
        rows[2][2] = "now a VIP"
        edited = csv_text(rows).encode("utf-8-sig")
    else:
        book = load_workbook(io.BytesIO(data))
        book.worksheets[0]["C3"] = "now a VIP"
        out = io.BytesIO()
        book.save(out)
        edited = out.getvalue()
    job = import_now(ctx, admin, edited, filename=f"edited.{fmt}")
    assert (job.counts.updated, job.counts.unchanged) == (1, 8)
    bob = next(r for r in stored_customers(ctx, admin) if r["email"] == "bob@example.com")
    assert bob["notes"] == "now a VIP"


def test_xlsx_export_writes_dates_as_dates_and_numbers_as_text(ctx: Context, admin: User) -> None:
    seed(ctx, admin)
    _, data = export(
        ctx, admin, format="xlsx",
        columns=["Customer Record ID", "Phone", "Postal Code", "Date of Birth"],
    )  # fmt: skip
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header == ["Customer Record ID", "Phone", "Postal Code", "Date of Birth"]
    assert sheet["A2"].data_type == "s" and sheet["A2"].value.isdigit()
    assert (sheet["B3"].value, sheet["C2"].value) == ("0612345678", "0123")
    assert sheet["D2"].is_date and sheet["D2"].value.date() == date(1980, 2, 3)
    assert sheet.column_dimensions["B"].width >= 10
    assert sheet.freeze_panes == "A2"


@pytest.mark.parametrize(
    ("filters", "emails"),
    [
        ({"search": "BAKER"}, ["bob@example.com"]),
        ({"search": "bakery"}, ["bob@example.com"]),
        # Bob's 0612345678 and Ann's +31 6 1234 5678: the beginning of either number.
        ({"search": "0612345"}, ["ann@example.com", "bob@example.com"]),
        ({"search": "100%"}, []),  # % is a character to find, not a wildcard
        ({"customer_type": "private"}, ["ann@example.com"]),  # Cy is archived
        (
            {"customer_type": "private", "archived": "include"},
            ["ann@example.com", "cy@example.com"],
        ),
        ({"tax_exempt": True}, ["bob@example.com"]),
        ({"accepts_marketing": True}, ["ann@example.com"]),
        ({"archived": "only"}, ["cy@example.com"]),
        ({"archived": "include", "search": "coop"}, ["cy@example.com"]),
        ({"search": "coop"}, []),
    ],
)
def test_filters_pick_the_customers_staff_asked_for(
    ctx: Context, admin: User, filters: dict[str, Any], emails: list[str]
) -> None:
    seed(ctx, admin)
    archive(ctx, "cy@example.com")
    _, data = export(ctx, admin, filters=filters, columns=["Email"])
    found = [row[0] for row in csv_rows(data)[1:] if not row[0].startswith("h")]
    assert found == emails


def test_id_and_date_range_filters(ctx: Context, admin: User) -> None:
    seed(ctx, admin)
    rows = {r["email"]: r for r in stored_customers(ctx, admin)}
    ids = [rows["ann@example.com"]["id"], rows["cy@example.com"]["id"]]
    _, data = export(ctx, admin, filters={"ids": ids}, columns=["Email"])
    assert [r[0] for r in csv_rows(data)[1:]] == ["ann@example.com", "cy@example.com"]
    moment = now()
    with ctx.engine.begin() as conn:
        conn.execute(
            update(customers_table)
            .where(customers_table.c.email == "bob@example.com")
            .values(created_at=moment - timedelta(days=30))
        )
    old = {"created_to": (moment - timedelta(days=1)).isoformat()}
    _, data = export(ctx, admin, filters=old, columns=["Email"])
    assert [r[0] for r in csv_rows(data)[1:]] == ["bob@example.com"]


def test_columns_come_in_the_order_asked_and_unknown_ones_are_refused(
    ctx: Context, admin: User
) -> None:
    seed(ctx, admin)
    _, data = export(ctx, admin, columns=["email", "First Name", "Customer Record ID"])
    assert csv_rows(data)[0] == ["Email", "First Name", "Customer Record ID"]
    with pytest.raises(ValueError, match="Shoe Size"):
        ExportRequest.model_validate({"columns": ["Email", "Shoe Size"]})


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_rows_are_written_and_counted_a_batch_at_a_time_rather_than_after_a_full_load(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    seed(ctx, admin)
    steps: list[tuple[int, int]] = []  # (processed as the job shows it, rows just written)
    real_add = exports._Progress.add

    def watched(self: Any, rows: int) -> None:
        with ctx.engine.connect() as conn:  # progress is visible while it runs
            job = job_rows.list_jobs(conn, admin.store_id, limit=1)[0]
        steps.append((job.counts.processed, rows))
        real_add(self, rows)

    monkeypatch.setattr(exports._Progress, "add", watched)
    monkeypatch.setattr(exports, "COPY_CHUNK", 2)  # PostgreSQL's CSV comes in COPY ranges
    small = ctx.settings.model_copy(update={"batch_size": 2})
    _, data = export(Context(small, ctx.engine, ctx.files), admin, format=fmt)
    assert steps == [(0, 2), (2, 2), (4, 2), (6, 2), (8, 1)]
    if fmt == "csv":
        assert len(csv_rows(data)) == 10  # the header and every customer, in ranges or not


def test_a_killed_export_never_leaves_a_file_to_download(
    ctx: Context, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(ctx, admin)

    class Killed(BaseException):
        pass

    def dies(self: Any, rows: int) -> None:
        raise Killed

    monkeypatch.setattr(exports._Progress, "add", dies)
    job_id = submit_export(ctx, store_id=admin.store_id, user_id=admin.id, request=ExportRequest())
    with pytest.raises(Killed):
        run_export(ctx, job_id)
    folder = local_files(ctx).root / "jobs" / job_id
    assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))
    with ctx.engine.connect() as conn:
        job = job_rows.get_job(conn, admin.store_id, job_id)
    assert job is not None and job.output_file is None


def test_deleted_customers_are_never_exported(ctx: Context, admin: User) -> None:
    seed(ctx, admin)
    with ctx.engine.begin() as conn:
        conn.execute(
            update(customers_table)
            .where(customers_table.c.email == "ann@example.com")
            .values(deleted_at=now())
        )
    _, data = export(ctx, admin, columns=["Email"], filters=ExportFilters().model_dump())
    assert "ann@example.com" not in data.decode("utf-8-sig")


def archive(ctx: Context, email: str) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(
            update(customers_table).where(customers_table.c.email == email).values(archived=True)
        )


def test_the_xlsx_export_job_writes_the_cells_the_generic_writer_would(
    ctx: Context, admin: User
) -> None:
    # On PostgreSQL the job has the database prepare each cell; it must match, cell for cell,
    # what the writer makes of the stored values itself (the path SQLite takes).
    from bulkport.schemas.exports import DEFAULT_COLUMNS
    from bulkport.spreadsheets.exportfiles import XlsxExportWriter
    from bulkport.storage import customer_reads
    from bulkport.storage.db import reading

    awkward = ["'", "''", "'0612", "'=1", "'t Hart", "=1+1", "-5", "", " spaced ", "x\ny", "é"]
    records = [
        {
            "email": f"a{i}@example.com",
            "first_name": text,
            "notes": text,
            "accepts_marketing": (True, False, None)[i % 3],
            "date_of_birth": date(1980, 1, i + 1) if i % 2 else None,
        }
        for i, text in enumerate(awkward)
    ]
    with ctx.engine.begin() as conn:
        customer_writes.insert_many(conn, admin.store_id, records)
    _, data = export(ctx, admin, format="xlsx")
    keys = list(DEFAULT_COLUMNS)
    generic = io.BytesIO()
    writer = XlsxExportWriter(generic, keys)
    with reading(ctx.engine) as conn:
        for rows in customer_reads.stream_matching(conn, admin.store_id, ExportFilters(), keys, 5):
            writer.write_rows(rows)
    writer.close()

    def cells(content: bytes) -> list[list[tuple[Any, str, str]]]:
        sheet = load_workbook(io.BytesIO(content)).worksheets[0]
        return [[(c.value, c.data_type, c.number_format) for c in row] for row in sheet.iter_rows()]

    assert len(cells(data)) == len(awkward) + 1
    assert cells(data) == cells(generic.getvalue())


# Every character the escaping rules look at, at the start, alone and before what could follow.
_STARTS = ["=", "+", "-", "@", "\t", "\r", "'", "''", "'0", "'=", "'x", "'-", "'@", "'\t", "x", "0"]


def test_exports_escape_each_note_exactly_as_the_python_rules_do(ctx: Context, admin: User) -> None:
    # On PostgreSQL the database applies the rules (a code-point test, then the regular
    # expression); its cells must be the ones the Python rules give, value for value.
    notes = sorted({f"{start}{tail}" for start in _STARTS for tail in ("", "1", "a b", "'")})
    records = [{"email": f"n{i}@example.com", "notes": n} for i, n in enumerate(notes)]
    with ctx.engine.begin() as conn:
        customer_writes.insert_many(conn, admin.store_id, records)
    _, data = export(ctx, admin, columns=["Email", "Notes"])
    got = {email: note for email, note in csv_rows(data)[1:]}
    assert got == {r["email"]: safe_cell(r["notes"]) for r in records}
    _, book = export(ctx, admin, format="xlsx", columns=["Email", "Notes"])
    sheet = load_workbook(io.BytesIO(book)).worksheets[0]
    cells = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    # A carriage return is written as the escape _x000D_, which openpyxl leaves as it is.
    cells = {email: (cell or "").replace("_x000D_", "\r") or None for email, cell in cells.items()}
    assert cells == {r["email"]: keep_apostrophe(r["notes"]) or None for r in records}
