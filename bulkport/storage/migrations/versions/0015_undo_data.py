"""undo data of imports

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 15:10:00

An import marks the customers it creates (``customers.created_by_job``) and keeps, per
customer it updates, each changed field's stored and imported value (``import_changes``), so
that the import can be undone; a partial index on merged_into_id keeps deleting customers
from checking every row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_job", sa.String(32), nullable=True))
    op.create_table(
        "import_changes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("store_id", Id, sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("customer_id", Id, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_import_changes_job_id", "import_changes", ["job_id", "id"])
    op.create_index("ix_import_changes_customer_id", "import_changes", ["customer_id"])
    where = sa.text("merged_into_id IS NOT NULL")
    op.create_index(
        "ix_customers_merged_into_id", "customers", ["merged_into_id"],
        sqlite_where=where, postgresql_where=where,
    )  # fmt: skip


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_customers_merged_into_id", table_name="customers")
    op.drop_index("ix_import_changes_customer_id", table_name="import_changes")
    op.drop_index("ix_import_changes_job_id", table_name="import_changes")
    op.drop_table("import_changes")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("created_by_job")
