"""integrations: PSA rate budgets are counted in the database (psa_rate_windows).

Syncro allows 180 calls a minute per source address; each worker kept its own count of 170,
so two workers (or two replicas behind one address) could send 340. The counts now live in
short buckets per vendor and scope, shared by every process on the database.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "psa_rate_windows",
        sa.Column("integration_type", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("window_start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "integration_type", "scope", "window_start", name=op.f("pk_psa_rate_windows")
        ),
    )


def downgrade() -> None:
    op.drop_table("psa_rate_windows")
