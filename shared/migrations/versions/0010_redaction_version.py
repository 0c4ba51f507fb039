"""insights: every row holding a redacted command records the redaction rules it went through.

Redaction is versioned like the fingerprint (shared/redaction.py REDACTION_VERSION): version 2
also reads positional and inline secrets by each tool's syntax (`net use ... pw`, `mysql -ppw`,
`curl -u u:pw`). Rows written before this migration went through version 1, so they can be
found and redacted again by whoever improves the rules.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("failure_patterns", "failure_occurrences", "environmental_examples", "command_checks")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(
            table, sa.Column("redaction_version", sa.Integer(), nullable=False, server_default="1")
        )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_column(table, "redaction_version")
