"""customer search words and their index; a store's country

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bulkport.rules.search_words import SEARCHED_KEYS, customer_words

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_words", sa.Text(), nullable=True))
    _fill_search_words()
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_customers_search_words ON customers "
            "USING gin (array_to_tsvector(string_to_array(search_words, ' ')))"
        )


def _fill_search_words() -> None:
    """Every customer's words, from the values already stored (deleted ones have none)."""
    conn = op.get_bind()
    customers = sa.table(
        "customers",
        sa.column("id"),
        sa.column("deleted_at"),
        sa.column("search_words"),
        *(sa.column(key) for key in SEARCHED_KEYS),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(customers)
            .where(customers.c.id > last, customers.c.deleted_at.is_(None))
            .order_by(customers.c.id)
            .limit(_BATCH)
        ).fetchall()
        if not rows:
            return
        conn.execute(
            customers.update()
            .where(customers.c.id == sa.bindparam("row_id"))
            .values(search_words=sa.bindparam("words")),
            [{"row_id": r.id, "words": customer_words(r._mapping)} for r in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_context().dialect.name == "postgresql":
        op.drop_index("ix_customers_search_words", table_name="customers")
    # In place (SQLite 3.35 and later too): a batch copy of the table would have to drop the
    # old one, which the foreign keys of stored rows refuse.
    op.execute("ALTER TABLE customers DROP COLUMN search_words")
    op.execute("ALTER TABLE stores DROP COLUMN country")
