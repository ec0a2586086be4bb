"""The Alembic migrations build exactly the schema the code's tables describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bulkport.storage.db import make_engine
from bulkport.storage.tables import metadata


def test_migrated_schema_matches_the_tables_in_code(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []
