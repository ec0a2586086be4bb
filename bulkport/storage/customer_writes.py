"""Customer rows an import writes: looking up a batch's keys and writing a batch in few
statements."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from bulkport.rules.fields import FIELDS_BY_KEY, WRITABLE_KEYS, FieldKind
from bulkport.rules.search_words import SEARCHED_KEYS, customer_words
from bulkport.storage.db import now
from bulkport.storage.tables import customers

# SQLite allows 32,766 bound parameters per statement; stay well below for IN lists.
_CHUNK = 5000


def email_key(email: str | None) -> str | None:
    """The form emails are compared in: case-insensitive."""
    return email.lower() if email else None


def _chunks(values: Collection[Any]) -> Iterable[list[Any]]:
    items = list(values)
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


_KEY_COLUMNS = ("id", "email_key")


def _lookup(
    conn: Connection,
    store_id: int,
    column: str,
    keys: Collection[Any],
    fields: Sequence[str] = WRITABLE_KEYS,
) -> list[dict[str, Any]]:
    """The store's customers (not deleted) whose ``column`` is one of ``keys``: their id,
    email key and ``fields``.

    A batch's hot query: sent through the driver as one statement, only the columns the import
    needs, the rows turned into dicts without SQLAlchemy's per-row processing.
    """
    if not keys:
        return []
    names = (*_KEY_COLUMNS, *(f for f in fields if f not in _KEY_COLUMNS))
    # Column names come from the field catalogue, never from a file.
    select_sql = f"SELECT {', '.join(names)} FROM customers"  # noqa: S608
    condition = f"store_id = {{mark}} AND deleted_at IS NULL AND {column}"
    if conn.dialect.name == "postgresql":
        # A thousand keys out of millions: one index probe each. Left to itself the planner
        # may scan the table or a bitmap and test every row against the whole key list.
        # SET LOCAL lasts until the batch's transaction ends.
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
        keys_sql, keys_param = _key_list(column, keys)
        sql = f"{select_sql} WHERE {condition.format(mark='%s')} = ANY({keys_sql})"
        # Past SQLAlchemy's result rows: psycopg builds the tuples in C, once per batch.
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, (store_id, keys_param))
            return [dict(zip(names, row)) for row in cursor.fetchall()]  # noqa: B905  same length: names are the SELECT list
        finally:
            cursor.close()
    # SQLite hands dates back as text and booleans as 0/1: turn them into Python values.
    kinds = [FIELDS_BY_KEY[n].kind if n in FIELDS_BY_KEY else None for n in names]
    dates = [i for i, kind in enumerate(kinds) if kind is FieldKind.DATE]
    flags = [i for i, kind in enumerate(kinds) if kind is FieldKind.BOOL]
    found = []
    for part in _chunks(keys):
        marks = ", ".join("?" * len(part))
        sql = f"{select_sql} WHERE {condition.format(mark='?')} IN ({marks})"
        for raw in conn.exec_driver_sql(sql, (store_id, *part)):
            values = list(raw)
            for i in dates:
                if values[i] is not None:
                    values[i] = date.fromisoformat(values[i])
            for i in flags:
                if values[i] is not None:
                    values[i] = bool(values[i])
            found.append(dict(zip(names, values, strict=True)))
    return found


def _key_list(column: str, keys: Collection[Any]) -> tuple[str, object]:
    """How a batch's keys go to PostgreSQL: one text parameter split by the server.

    psycopg turns a list parameter into an array in Python, a key at a time; joining the
    keys is one C call. Emails cannot hold a line break (their check refuses it), but a key
    that does, from any caller, sends the keys as an array instead.
    """
    if column == "id":
        return "string_to_array(%s, ',')::bigint[]", ",".join(map(str, keys))
    joined = "\n".join(keys)
    if len(keys) == joined.count("\n") + 1:
        return "string_to_array(%s, E'\\n')", joined
    return "%s", list(keys)


def by_ids(
    conn: Connection,
    store_id: int,
    ids: Collection[int],
    fields: Sequence[str] = WRITABLE_KEYS,
) -> dict[int, dict[str, Any]]:
    """The store's customers (not deleted) with these record ids."""
    return {row["id"]: row for row in _lookup(conn, store_id, "id", ids, fields)}


def deleted_among(conn: Connection, store_id: int, ids: Collection[int]) -> set[int]:
    """Which of these record ids are the store's customers deleted for privacy: a file that
    names one must not bring the person back."""
    found: set[int] = set()
    for part in _chunks(ids):
        query = select(customers.c.id).where(
            customers.c.store_id == store_id,
            customers.c.id.in_(part),
            customers.c.deleted_at.is_not(None),
        )
        found.update(int(i) for i in conn.execute(query).scalars())
    return found


def by_email_keys(
    conn: Connection,
    store_id: int,
    keys: Collection[str],
    fields: Sequence[str] = WRITABLE_KEYS,
) -> dict[str, dict[str, Any]]:
    """The store's customers (not deleted) whose email matches, case-insensitively."""
    return {row["email_key"]: row for row in _lookup(conn, store_id, "email_key", keys, fields)}


_INSERT_COLUMNS = (
    *WRITABLE_KEYS,
    "store_id",
    "email_key",
    "search_words",
    "archived",
    "created_at",
    "updated_at",
)


def _moment_for(conn: Connection, moment: datetime) -> object:
    # The raw driver gets what SQLAlchemy would send: SQLite stores naive UTC text.
    if conn.dialect.name == "sqlite":
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return moment


def _placeholders(conn: Connection, count: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * count)


def insert_many(
    conn: Connection,
    store_id: int,
    records: list[dict[str, Any]],
    created_by_job: str | None = None,
) -> None:
    """Create customers; each record holds field values only (ids are assigned here).
    ``created_by_job``: the import that creates them, kept so that an undo finds them.

    The import's hot path: PostgreSQL takes the rows through COPY, SQLite through one
    driver-level executemany; both skip SQLAlchemy's per-row parameter processing.
    """
    if not records:
        return
    postgres = conn.dialect.name == "postgresql"
    # COPY reads text: psycopg would format the moment again for every row (isoformat costs
    # a microsecond or two); formatted once, it goes as the same text.
    moment = now()
    stamp = moment.isoformat() if postgres else _moment_for(conn, moment)
    # Only the fields the records hold (an import's records all hold its file's fields): a
    # column left out is NULL anyway, and binding a NULL per row per column is not free.
    present = set().union(*records)
    keys = [key for key in WRITABLE_KEYS if key in present]
    rows = [
        [
            *[record.get(key) for key in keys],
            store_id,
            email_key(record.get("email")),
            customer_words(record),
            False,
            stamp,
            stamp,
            created_by_job,
        ]
        for record in records
    ]
    columns = ", ".join((*keys, *_INSERT_COLUMNS[len(WRITABLE_KEYS) :], "created_by_job"))
    if postgres:
        import psycopg

        _dates_as_text(rows, [i for i, key in enumerate(keys) if key in _DATE_KEYS])
        statement = f"COPY customers ({columns}) FROM STDIN"
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.IntegrityError as exc:
            # Past SQLAlchemy, so say it as SQLAlchemy would: callers handle one exception.
            raise IntegrityError(statement, None, exc) from exc
        return
    # Column names come from the field catalogue, never from a file: no injection here.
    values = _placeholders(conn, len(keys) + len(_INSERT_COLUMNS) - len(WRITABLE_KEYS) + 1)
    sql = f"INSERT INTO customers ({columns}) VALUES ({values})"  # noqa: S608
    conn.exec_driver_sql(sql, list(map(tuple, rows)))


_DATE_KEYS = frozenset(key for key in WRITABLE_KEYS if FIELDS_BY_KEY[key].kind is FieldKind.DATE)


def _dates_as_text(rows: list[list[Any]], columns: list[int]) -> None:
    """Dates in ``columns`` as ISO text, each distinct date formatted once (dates of birth
    repeat: a batch holds a few hundred distinct ones)."""
    for column in columns:
        texts: dict[date, str] = {}
        for row in rows:
            value = row[column]
            if value.__class__ is date:
                text = texts.get(value)
                if text is None:
                    text = texts[value] = value.isoformat()
                row[column] = text


def update_many(conn: Connection, store_id: int, changes: list[dict[str, Any]]) -> None:
    """Apply changes ``{"id": …, field: value, …}``; rows changing the same fields share one
    driver-level executemany (pipelined by psycopg on PostgreSQL)."""
    changes = with_search_words(conn, store_id, changes)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for change in changes:
        fields = tuple(sorted(key for key in change if key != "id"))
        groups[fields].append(change)
    stamp = _moment_for(conn, now())
    if conn.dialect.name == "postgresql":
        for fields, rows in groups.items():
            _update_from_json(conn, store_id, fields, rows, stamp)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    for fields, rows in groups.items():
        assignments = [f"{key} = {mark}" for key in fields]
        if "email" in fields:
            assignments.append(f"email_key = {mark}")
        assignments.append(f"updated_at = {mark}")
        # Column names come from the field catalogue, never from a file.
        setting = ", ".join(assignments)
        sql = f"UPDATE customers SET {setting} WHERE id = {mark} AND store_id = {mark}"  # noqa: S608
        params = []
        for row in rows:
            values = [row[key] for key in fields]
            if "email" in fields:
                values.append(email_key(row.get("email")))
            params.append((*values, stamp, row["id"], store_id))
        conn.exec_driver_sql(sql, params)


def with_search_words(
    conn: Connection, store_id: int, changes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``changes`` with the new search words of each that changes a searched field (read
    with the customer's other searched fields, in the same transaction)."""
    touching = [c for c in changes if not SEARCHED.isdisjoint(c)]
    if not touching:
        return changes
    current = by_ids(conn, store_id, [c["id"] for c in touching], SEARCHED_KEYS)
    return [
        {**c, "search_words": customer_words({**current.get(c["id"], {}), **c})}
        if not SEARCHED.isdisjoint(c)
        else c
        for c in changes
    ]


SEARCHED = frozenset(SEARCHED_KEYS)
_SQL_TYPES = {FieldKind.BOOL: "boolean", FieldKind.DATE: "date"}


def _json_value(value: object) -> str:
    """What ``json.dumps`` cannot write itself: dates (and moments), as ISO text."""
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no JSON for a {type(value).__name__}")


def _update_from_json(
    conn: Connection,
    store_id: int,
    fields: tuple[str, ...],
    rows: list[dict[str, Any]],
    stamp: object,
) -> None:
    """One UPDATE for rows changing the same fields: the rows go as one JSON document.

    PostgreSQL parses and plans it once per batch instead of once per row, faster than a
    pipelined executemany of one UPDATE per row or a COPY into a temporary table per batch.
    The rows travel as JSON (``json.dumps`` writes them in C) rather than as one array per
    field, which psycopg builds in Python, testing each text with a regular expression.
    """
    columns = [*fields, "email_key"] if "email" in fields else list(fields)
    if "email" in fields:
        rows = [{**row, "email_key": email_key(row["email"])} for row in rows]
    types = [
        _SQL_TYPES.get(FIELDS_BY_KEY[c].kind, "text") if c in FIELDS_BY_KEY else "text"
        for c in columns
    ]
    shape = ", ".join(["id bigint", *(f"{c} {t}" for c, t in zip(columns, types, strict=True))])
    setting = ", ".join([*(f"{c} = v.{c}" for c in columns), "updated_at = %s"])
    # Column names come from the field catalogue, never from a file.
    sql = (
        f"UPDATE customers AS c SET {setting} "  # noqa: S608
        f"FROM json_to_recordset(%s::json) AS v({shape}) "
        "WHERE c.id = v.id AND c.store_id = %s"
    )
    document = json.dumps(rows, default=_json_value, ensure_ascii=False, check_circular=False)
    # An index probe per id; never a scan of the whole table for a thousand rows.
    # One round trip for the three settings: a thread waits for each answer.
    conn.exec_driver_sql(
        "SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; "
        "SET LOCAL enable_mergejoin = off"
    )
    conn.exec_driver_sql(sql, (stamp, document, store_id))


class GrowthWatch:
    """Keeps PostgreSQL's statistics of the customers table up to date during a bulk import.

    A table that grows from a few rows to a million within one job still looks tiny to the
    planner until autovacuum gets round to it; the batch lookups then take a bitmap scan that
    re-checks every found row against the whole key list (a thousand comparisons a row).
    Analysing whenever the table has doubled keeps each lookup a plain index probe, at a cost
    logarithmic in the import's size.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.watching = engine.dialect.name == "postgresql"
        self.known = 0
        self.grown = 0

    def start(self) -> None:
        """Take the table's size as the planner knows it."""
        if self.watching:
            with self.engine.connect() as conn:
                found = conn.exec_driver_sql(
                    "SELECT reltuples FROM pg_class WHERE relname = 'customers'"
                ).scalar()
            self.known = max(0, int(found or 0))

    def created(self, rows: int) -> None:
        """Note new rows; analyse the table once it has grown enough to mislead the planner."""
        if not self.watching or not rows:
            return
        self.grown += rows
        if self.grown >= max(10_000, self.known):
            with self.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE customers")
            self.known += self.grown
            self.grown = 0
