"""Property: any customers, written by bulkport's own CSV and XLSX writers, import back exactly."""

from __future__ import annotations

import io
import secrets
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import import_now, stored_customers

from bulkport.schemas.accounts import Role
from bulkport.schemas.jobs import JobStatus
from bulkport.spreadsheets.exportfiles import CsvExportWriter, XlsxExportWriter
from bulkport.storage import accounts
from bulkport.tasks.context import Context

KEYS = ["email", "first_name", "last_name", "phone", "notes", "date_of_birth", "tax_exempt",
        "sales_tax_number", "invoice_city"]  # fmt: skip
# Text as people type it, with what spreadsheets and CSV find hard: formula starts,
# apostrophes, quotes, delimiters, line breaks, accents.
TEXT = (
    st.text(
        alphabet=st.characters(
            codec="utf-8",
            categories=["L", "N", "P", "S", "Zs"],
            exclude_characters="\x85\u2028\u2029",
        )
        | st.sampled_from(["'", "=", "+", "-", "@", '"', ",", ";", "\n"]),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


@st.composite
def customer(draw: st.DrawFn) -> dict[str, Any]:
    exempt = draw(st.booleans())
    return {
        "email": f"{secrets.token_hex(6)}@example.com",
        "first_name": draw(TEXT),
        "last_name": draw(st.none() | TEXT),
        "phone": draw(st.none() | st.from_regex(r"\+?[0-9][0-9 ]{3,14}[0-9]", fullmatch=True)),
        "notes": draw(st.none() | TEXT),
        "date_of_birth": draw(st.none() | st.dates(date(1901, 1, 1), date(2020, 12, 31))),
        "tax_exempt": exempt,
        "sales_tax_number": draw(TEXT) if exempt else None,
        "invoice_city": draw(st.none() | TEXT),
    }


def file_of(rows: list[dict[str, Any]], fmt: str) -> bytes:
    out = io.BytesIO()
    writer = XlsxExportWriter(out, KEYS) if fmt == "xlsx" else CsvExportWriter(out, KEYS)
    writer.write_rows([[row[key] for key in KEYS] for row in rows])
    writer.close()
    return out.getvalue()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(customer(), min_size=1, max_size=12), fmt=st.sampled_from(["csv", "xlsx"]))
def test_customers_written_by_bulkport_import_back_exactly(
    ctx: Context, rows: list[dict[str, Any]], fmt: str
) -> None:
    with ctx.engine.begin() as conn:
        name = f"s-{secrets.token_hex(4)}"
        store = accounts.ensure_store(conn, name)
        user = accounts.ensure_user(conn, store, f"p@{name}.example", Role.ADMIN)
    job = import_now(ctx, user, file_of(rows, fmt), filename=f"customers.{fmt}")
    assert job.status is JobStatus.READY, job.error
    assert job.counts.failed == 0, job
    stored = {row["email"]: row for row in stored_customers(ctx, user)}
    for row in rows:
        assert {key: stored[row["email"]][key] for key in KEYS} == row
