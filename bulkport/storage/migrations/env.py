"""Alembic environment: runs the migrations against the URL bulkport hands it."""

from __future__ import annotations

from alembic import context

from bulkport.storage.db import make_engine
from bulkport.storage.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
if url is None:
    raise RuntimeError("bulkport's migrations need sqlalchemy.url")

engine = make_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
