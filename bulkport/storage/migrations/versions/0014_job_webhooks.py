"""job notifications by webhook

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 15:20:00

A store's signing secret and default address, and one delivery row per notified job.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "store_webhooks",
        sa.Column("store_id", ID, sa.ForeignKey("stores.id"), primary_key=True),
        sa.Column("secret", sa.String(100)),
        sa.Column("default_url", sa.String(2000)),
        sa.Column("rotated_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id"), primary_key=True),
        sa.Column("store_id", ID, sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.String(300)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_webhook_deliveries_store_id", "webhook_deliveries", ["store_id"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_webhook_deliveries_store_id", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("store_webhooks")
