"""column rules in saved mappings

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 11:50:00

A saved mapping may say, per field, what an update does with a stored value (overwrite,
fill_empty, keep); a mapping without rules overwrites, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("saved_mappings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rules", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("saved_mappings", schema=None) as batch_op:
        batch_op.drop_column("rules")
