"""customer lifecycle: merged customers, customer events, per-user permissions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", Id, nullable=True))
        batch_op.create_foreign_key(
            "fk_customers_merged_into_id_customers", "customers", ["merged_into_id"], ["id"]
        )
    op.create_table(
        "customer_events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("user_id", Id, nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_customer_events_customer_id_customers"
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name="fk_customer_events_store_id_stores"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_customer_events_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_customer_events"),
    )
    op.create_index("ix_customer_events_customer_id", "customer_events", ["customer_id"])
    op.create_table(
        "user_permissions",
        sa.Column("user_id", Id, nullable=False),
        sa.Column("permission", sa.String(length=40), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_permissions_user_id_users"
        ),
        sa.PrimaryKeyConstraint("user_id", "permission", name="pk_user_permissions"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("user_permissions")
    op.drop_index("ix_customer_events_customer_id", table_name="customer_events")
    op.drop_table("customer_events")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint("fk_customers_merged_into_id_customers", type_="foreignkey")
        batch_op.drop_column("merged_into_id")
