"""Customer rows an export reads: which customers match, streamed or written by the database,
formula-safe."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import TSQUERY

from bulkport.rules.apostrophes import FORMULA_STARTS, SHIELDED_STARTS
from bulkport.rules.fields import FIELDS_BY_KEY, FieldKind
from bulkport.rules.search_words import query_terms
from bulkport.schemas.exports import ArchivedFilter, ExportFilters
from bulkport.storage.db import reading
from bulkport.storage.tables import SEARCH_VECTOR, customers, stores


def _searched(conn: Connection, store_id: int, text: str, indexed: bool) -> ColumnElement[bool]:
    """Customers whose words begin with each word searched for (``search_words``): through
    the words' GIN index on PostgreSQL when ``indexed``, else by comparing the same words as
    text (SQLite; a few customers on PostgreSQL, where that test is the cheaper)."""
    country = conn.execute(select(stores.c.country).where(stores.c.id == store_id)).scalar()
    groups = query_terms(text, country)
    if not groups:
        return false()
    if indexed and conn.dialect.name == "postgresql":
        # Terms are letters and digits only: nothing in them is tsquery syntax.
        query = " & ".join(
            "(" + " | ".join(f"'{term}':*" for term in sorted(group)) + ")" for group in groups
        )
        return SEARCH_VECTOR.op("@@")(cast(literal(query), TSQUERY))
    spaced = literal(" ") + customers.c.search_words
    return and_(*(or_(*(spaced.like(f"% {term}%") for term in sorted(g))) for g in groups))


def matching(
    conn: Connection, store_id: int, filters: ExportFilters, *, indexed: bool = True
) -> list[ColumnElement[bool]]:
    """The conditions that pick a store's customers for an export (deleted ones never);
    ``indexed``: the search through the words' index, where there is one."""
    c = customers.c
    where: list[ColumnElement[bool]] = [c.store_id == store_id, c.deleted_at.is_(None)]
    if filters.archived is ArchivedFilter.EXCLUDE:
        where.append(c.archived.is_(False))
    elif filters.archived is ArchivedFilter.ONLY:
        where.append(c.archived.is_(True))
    if filters.search and filters.search.strip():
        where.append(_searched(conn, store_id, filters.search, indexed))
    if filters.customer_type:
        where.append(c.customer_type == filters.customer_type)
    if filters.ids is not None:
        where.append(c.id.in_(filters.ids))
    return [*where, *_flags(filters), *_ranges(filters)]


def _flags(filters: ExportFilters) -> Iterator[ColumnElement[bool]]:
    """Tax exempt and marketing: TRUE, or FALSE (which includes never answered)."""
    for name in ("tax_exempt", "accepts_marketing"):
        wanted, column = getattr(filters, name), customers.c[name]
        if wanted is True:
            yield column.is_(True)
        elif wanted is False:
            yield or_(column.is_(False), column.is_(None))


def _ranges(filters: ExportFilters) -> Iterator[ColumnElement[bool]]:
    """Created and updated between the moments given."""
    c = customers.c
    for column, low, high in (
        (c.created_at, filters.created_from, filters.created_to),
        (c.updated_at, filters.updated_from, filters.updated_to),
    ):
        if low is not None:
            yield column >= low
        if high is not None:
            yield column <= high


# How many of the newest customers a search looks through one by one before it asks the
# words' index for the rest.
RECENT = 5000


def newest_matching(
    conn: Connection, store_id: int, filters: ExportFilters, before_id: int | None, limit: int
) -> list[Row[Any]]:
    """A page of the matching customers, newest first, below ``before_id``.

    PostgreSQL's statistics cannot tell the beginning of a rare word from that of a common
    one, so left to itself it may walk every customer newest first, testing each, for a
    search that finds one. Testing only the newest ``RECENT`` answers a common word's page at
    once; the words' index finds the rest of a rarer word's among the older ones.
    """
    c = customers.c
    scoped = [c.store_id == store_id, *([c.id < before_id] if before_id is not None else [])]
    if conn.dialect.name != "postgresql" or not filters.search:
        where = [*matching(conn, store_id, filters), *scoped[1:]]
        return list(
            conn.execute(select(customers).where(*where).order_by(c.id.desc()).limit(limit))
        )
    recent = select(c.id).where(*scoped).order_by(c.id.desc()).limit(RECENT).subquery()
    oldest = conn.execute(select(func.min(recent.c.id))).scalar()
    if oldest is None:
        return []
    tested = [*matching(conn, store_id, filters, indexed=False), *scoped[1:], c.id >= oldest]
    found = list(conn.execute(select(customers).where(*tested).order_by(c.id.desc()).limit(limit)))
    if len(found) == limit:
        return found
    # Ordered by an expression, so that the planner finds them through the words' index.
    indexed = [*matching(conn, store_id, filters), c.id < oldest]
    older = select(customers).where(*indexed).order_by((c.id + 0).desc())
    return found + list(conn.execute(older.limit(limit - len(found))))


def count_matching(conn: Connection, store_id: int, filters: ExportFilters) -> int:
    """How many customers an export will write."""
    query = select(func.count()).select_from(customers).where(*matching(conn, store_id, filters))
    return int(conn.execute(query).scalar_one())


def stream_matching(
    conn: Connection, store_id: int, filters: ExportFilters, keys: list[str], batch: int
) -> Iterator[Sequence[Row[Any]]]:
    """The chosen columns of the matching customers, in id order, a batch at a time, from a
    server-side cursor: memory does not grow with the number of customers."""
    query = (
        select(*(customers.c[key] for key in keys))
        .where(*matching(conn, store_id, filters))
        .order_by(customers.c.id)
    )
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    yield from result.partitions(batch)


def _bracket(chars: Iterable[str]) -> str:
    """A regular expression's bracket matching any of ``chars``, in PostgreSQL's syntax."""
    # Control characters as their escapes (\\t); a hyphen last, where it means itself.
    written = [
        c.encode("unicode_escape").decode() if not c.isprintable() else c
        for c in sorted(set(chars) - {"-"})
    ]
    assert not {"\\", "]", "^"} & set(written), "no character the bracket would read as syntax"
    return "[" + "".join(written) + ("-" if "-" in chars else "") + "]"


# What spreadsheets would run, or what the importer would take for their escaping: the rule
# of bulkport.spreadsheets.cells.safe_cell, for PostgreSQL to apply while it writes.
_NEEDS_APOSTROPHE = f"^({_bracket(FORMULA_STARTS)}|'({_bracket(SHIELDED_STARTS)}|$))"
# Text the importer would take for shielded by a spreadsheet gets a second apostrophe: the
# rule of bulkport.spreadsheets.cells.keep_apostrophe, for PostgreSQL to apply.
_OWN_APOSTROPHE = f"^'({_bracket(SHIELDED_STARTS)}|$)"
# The characters either rule can start with (their code points).
_RULE_STARTS = tuple(sorted(ord(c) for c in {*FORMULA_STARTS, "'"}))


def _starts_like(column: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
    """``column ~ pattern``, with the regular expression run only for text that starts with
    one of the characters the rules look at: a code-point test is far cheaper than a match,
    and almost every value fails it."""
    return func.ascii(column).in_(_RULE_STARTS) & column.op("~")(pattern)


def _as_export_text(key: str) -> ColumnElement[Any] | None:
    """Record ids and booleans: the same text in every export format."""
    column = customers.c[key]
    if key == "id":
        return cast(column, Text)
    if FIELDS_BY_KEY[key].kind is FieldKind.BOOL or key == "archived":
        return case((column.is_(True), "TRUE"), (column.is_(False), "FALSE"))
    return None


def _csv_expression(key: str) -> ColumnElement[Any]:
    column = customers.c[key]
    kind = FIELDS_BY_KEY[key].kind
    if (fixed := _as_export_text(key)) is not None:
        return fixed
    if kind is FieldKind.DATE:
        return func.to_char(column, "YYYY-MM-DD")
    if key in ("created_at", "updated_at"):
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI:SS")
    return case((_starts_like(column, _NEEDS_APOSTROPHE), literal("'") + column), else_=column)


def _xlsx_expression(key: str) -> ColumnElement[Any]:
    column = customers.c[key]
    kind = FIELDS_BY_KEY[key].kind
    if (fixed := _as_export_text(key)) is not None:
        return fixed
    if kind is FieldKind.DATE:
        return column
    if key in ("created_at", "updated_at"):
        return func.timezone("UTC", column)
    kept = case((_starts_like(column, _OWN_APOSTROPHE), literal("'") + column), else_=column)
    return func.nullif(kept, "")


def stream_xlsx_values(
    conn: Connection, store_id: int, filters: ExportFilters, keys: list[str], batch: int
) -> Iterator[list[tuple[Any, ...]]]:
    """The XLSX export's cells on PostgreSQL, ready to write: text (escaped as the importer
    expects), dates, UTC moments or None; from a server-side cursor, a batch at a time.

    The database does the per-value work, so Python only hands each cell to the writer.
    """
    where = matching(conn, store_id, filters)
    query = select(*(_xlsx_expression(key) for key in keys)).where(*where).order_by(customers.c.id)
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    raw = conn.connection.dbapi_connection
    with raw.cursor(name="bulkport_xlsx_export") as cursor:  # type: ignore[union-attr]
        cursor.itersize = batch
        cursor.execute(str(compiled), compiled.params)
        while rows := cursor.fetchmany(batch):
            yield rows


def copy_csv_matching(
    conn: Connection, store_id: int, filters: ExportFilters, keys: list[str], chunk: int
) -> Iterator[tuple[int, Iterator[bytes]]]:
    """PostgreSQL writes the export's CSV rows itself (COPY TO), formula-safe, in id ranges of
    ``chunk`` customers: yields each range's row count and its CSV data.

    Python never touches a value, so the export runs at close to COPY's own speed; the ranges
    let the job's progress move while it runs. Call inside one REPEATABLE READ transaction.
    """
    where = matching(conn, store_id, filters)
    numbered = (
        select(customers.c.id, func.row_number().over(order_by=customers.c.id).label("n"))
        .where(*where)
        .subquery()
    )
    bounds = list(
        conn.execute(
            select(numbered.c.id).where(numbered.c.n % chunk == 0).order_by(numbered.c.id)
        ).scalars()
    )
    total = count_matching(conn, store_id, filters)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    low: int | None = None
    for high in [*bounds, None]:
        ranged = list(where)
        if low is not None:
            ranged.append(customers.c.id > low)
        if high is not None:
            ranged.append(customers.c.id <= high)
        query = (
            select(*(_csv_expression(key) for key in keys)).where(*ranged).order_by(customers.c.id)
        )
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        rows = chunk if high is not None else total - chunk * len(bounds)
        statement = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv)"

        def blocks(statement: str = statement, params: Any = compiled.params) -> Iterator[bytes]:
            with cursor.copy(statement, params) as copy:
                for block in copy:
                    yield bytes(block)

        yield rows, blocks()
        low = high


@contextmanager
def export_snapshot(engine: Engine) -> Iterator[Connection]:
    """A read connection whose export sees one snapshot for its count and its rows, so that a
    READY export has ``processed == total`` (SQLite's read transaction is one already)."""
    with reading(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        yield conn


def database_writes_cells(conn: Connection) -> bool:
    """Whether the database prepares the export's cells itself (PostgreSQL): the CSV through
    ``copy_csv_matching``, the XLSX values through ``stream_xlsx_values``."""
    return conn.dialect.name == "postgresql"
