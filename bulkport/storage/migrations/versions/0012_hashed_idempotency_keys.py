"""idempotency keys kept as their SHA-256 only

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 06:30:00

A client may build an idempotency key from what it sends (an email), and a deletion's purge
reads no key: keys stored as given are replaced by the hash that new jobs keep, so a retry
with the same key still finds its job.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bulkport.storage.job_rows import kept_key

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_jobs = sa.table("jobs", sa.column("id", sa.String), sa.column("idempotency_key", sa.String))
_HASHED = "sha256:%"


def upgrade() -> None:
    """Upgrade schema."""
    conn = op.get_bind()
    plain = conn.execute(
        sa.select(_jobs.c.id, _jobs.c.idempotency_key).where(
            _jobs.c.idempotency_key.is_not(None), _jobs.c.idempotency_key.not_like(_HASHED)
        )
    ).all()
    for job_id, key in plain:
        conn.execute(
            sa.update(_jobs).where(_jobs.c.id == job_id).values(idempotency_key=kept_key(key))
        )


def downgrade() -> None:
    """Downgrade schema: a hash cannot be turned back into its key; the keys stay hashed."""
