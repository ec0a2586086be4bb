"""Writing customers in bulk, on SQLite and PostgreSQL: what is written is what was given."""

from __future__ import annotations

from datetime import date
from typing import Any

from support import stored_customers

from bulkport.storage import customer_writes
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context


def test_records_holding_different_fields_are_each_written_whole(ctx: Context, admin: User) -> None:
    records: list[dict[str, Any]] = [
        {"email": "a@example.com", "first_name": "Ann"},
        {"email": "b@example.com", "notes": "only notes", "date_of_birth": date(1990, 1, 2)},
        {"last_name": "NoEmail", "accepts_marketing": True},
    ]
    with ctx.engine.begin() as conn:
        customer_writes.insert_many(conn, admin.store_id, records)
    stored = {
        (r["email"], r["first_name"], r["last_name"], r["notes"], r["date_of_birth"])
        for r in stored_customers(ctx, admin)
    }
    assert stored == {
        ("a@example.com", "Ann", None, None, None),
        ("b@example.com", None, None, "only notes", date(1990, 1, 2)),
        (None, None, "NoEmail", None, None),
    }
    keys = {r["email_key"] for r in stored_customers(ctx, admin)}
    assert keys == {"a@example.com", "b@example.com", None}


def test_look_ups_find_exactly_the_customers_named_whatever_the_keys_hold(
    ctx: Context, admin: User
) -> None:
    # Keys travel to PostgreSQL joined by line breaks; a key that itself holds one (no
    # import's email can, but a caller's key could) must not be split into two keys.
    records: list[dict[str, Any]] = [
        {"email": "a@example.com", "first_name": "Ann"},
        {"email": "b@example.com", "first_name": "Bob"},
    ]
    with ctx.engine.begin() as conn:
        customer_writes.insert_many(conn, admin.store_id, records)
        conn.exec_driver_sql(
            "UPDATE customers SET email_key = 'odd\nkey' WHERE email = 'b@example.com'"
        )
        found = customer_writes.by_email_keys(conn, admin.store_id, ["a@example.com", "odd"])
        assert set(found) == {"a@example.com"}
        found = customer_writes.by_email_keys(conn, admin.store_id, ["odd\nkey", "key", "nobody"])
        assert {row["first_name"] for row in found.values()} == {"Bob"}
        ids = [
            row["id"]
            for row in customer_writes.by_email_keys(
                conn, admin.store_id, ["a@example.com", "odd\nkey"]
            ).values()
        ]
        by_id = customer_writes.by_ids(conn, admin.store_id, [*ids, 999_999], ["first_name"])
        assert sorted(row["first_name"] for row in by_id.values()) == ["Ann", "Bob"]
        assert customer_writes.by_email_keys(conn, admin.store_id, []) == {}


def test_text_that_looks_like_copy_syntax_is_stored_as_written(ctx: Context, admin: User) -> None:
    # PostgreSQL takes new customers through COPY's text format, built by bulkport itself:
    # backslashes, tabs, line ends and a literal \N must arrive as the file had them.
    tricky = [
        "back\\slash",
        "\\N",
        "tab\there",
        "line\nbreak",
        "carriage\rreturn",
        "windows\r\nline",
        "\\t not a tab",
        "ünïcödé 😀",
        "",
    ]
    records: list[dict[str, Any]] = [
        {
            "email": f"c{i}@example.com",
            "notes": text,
            "first_name": text or None,
            "date_of_birth": date(1990, 1, 1 + i),
            "accepts_marketing": i % 2 == 0,
            "tax_exempt": None,
        }
        for i, text in enumerate(tricky)
    ]
    with ctx.engine.begin() as conn:
        customer_writes.insert_many(conn, admin.store_id, records)
    _assert_stored_as_given(ctx, admin, records, "email")


def test_updates_store_every_kind_of_value_exactly(ctx: Context, admin: User) -> None:
    # On PostgreSQL a batch's updates travel as one JSON document: quotes, backslashes,
    # line ends, accents, dates, booleans and cleared fields must all arrive as given.
    with ctx.engine.begin() as conn:
        customer_writes.insert_many(
            conn,
            admin.store_id,
            [{"email": f"u{i}@example.com", "first_name": "Old", "notes": "old"} for i in range(4)],
        )
        found = customer_writes.by_email_keys(
            conn, admin.store_id, [f"u{i}@example.com" for i in range(4)]
        )
        ids = {r["email"]: r["id"] for r in found.values()}
    odd = 'say "hi"\\now\n\tthen \u00e9\U0001f600'
    changes: list[dict[str, Any]] = [
        {"id": ids["u0@example.com"], "notes": odd, "first_name": None},
        {"id": ids["u1@example.com"], "notes": "", "first_name": "Ann"},
        {"id": ids["u2@example.com"], "date_of_birth": date(1990, 2, 3), "accepts_marketing": True},
        {"id": ids["u3@example.com"], "email": "New.Address@Example.com", "tax_exempt": False},
    ]  # fmt: skip
    with ctx.engine.begin() as conn:
        customer_writes.update_many(conn, admin.store_id, changes)
    stored = _assert_stored_as_given(ctx, admin, changes, "id")
    assert stored[ids["u3@example.com"]]["email_key"] == "new.address@example.com"
    assert stored[ids["u2@example.com"]]["notes"] == "old"  # fields not named stay


def _assert_stored_as_given(
    ctx: Context, admin: User, given: list[dict[str, Any]], key: str
) -> dict[object, dict[str, object]]:
    """Each given record's fields read back from the store as given; the stored rows by key."""
    stored = {r[key]: r for r in stored_customers(ctx, admin)}
    for record in given:
        row = stored[record[key]]
        assert {field: row[field] for field in record} == record
    return stored
