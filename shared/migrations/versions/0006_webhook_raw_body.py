"""tickets: webhook_deliveries.raw_body as MEDIUMTEXT on MariaDB (TEXT stops at 64 KiB).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _is_mariadb() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    if _is_mariadb():  # SQLite's TEXT has no 64 KiB limit
        op.alter_column(
            "webhook_deliveries",
            "raw_body",
            existing_type=sa.Text(),
            type_=mysql.MEDIUMTEXT(),
            existing_nullable=True,
        )


def downgrade() -> None:
    if _is_mariadb():
        op.alter_column(
            "webhook_deliveries",
            "raw_body",
            existing_type=mysql.MEDIUMTEXT(),
            type_=sa.Text(),
            existing_nullable=True,
        )
