"""The Alembic migrations build exactly the schema the code's tables describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.schema import CreateTable

from bulkport.storage.db import make_engine
from bulkport.storage.tables import metadata


def test_migrated_schema_matches_the_tables_in_code(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_every_migration_goes_down_and_up_again(database_url: str) -> None:
    from alembic import command

    from bulkport.storage.db import alembic_config, migrate

    command.downgrade(alembic_config(database_url), "base")
    migrate(database_url)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert differences == []


def test_customers_pages_keep_room_for_updates_on_postgresql(postgres_url: str) -> None:
    from bulkport.storage.tables import CUSTOMERS_FILLFACTOR, customers

    engine = make_engine(postgres_url)
    with engine.connect() as conn:
        options = conn.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE relname = 'customers'"
        ).scalar_one()
        created = str(CreateTable(customers).compile(dialect=conn.dialect))
    engine.dispose()
    assert options == [f"fillfactor={CUSTOMERS_FILLFACTOR}"]
    assert f"fillfactor = {CUSTOMERS_FILLFACTOR}" in created  # the tables in code say the same
