"""pending purges: deleted people's traces kept until the row purge consumes them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "pending_purges",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("traces", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name="fk_pending_purges_store_id_stores"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_pending_purges"),
    )
    op.create_index("ix_pending_purges_store_id", "pending_purges", ["store_id"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_pending_purges_store_id", table_name="pending_purges")
    op.drop_table("pending_purges")
