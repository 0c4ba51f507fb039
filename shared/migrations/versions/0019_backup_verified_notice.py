"""backups: a backup verified by its job is a notice too (backup_verified, issue #16).

Integrations publishes the Zapier event backup_verified from the backups service's integration
events, but the backups service only ever sent failures and warnings. A verified backup now
stages a backup_verified notice in its final transaction, through the same outbox: this widens
the outbox's kind check. Downgrading deletes the verified notices (their events are either
delivered or not worth sending to a version that has no such notice).

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ck_backup_notices_kind"
_BEFORE = "kind IN ('backup_failed', 'backup_warning')"
_AFTER = "kind IN ('backup_failed', 'backup_warning', 'backup_verified')"


def _kind_check(rule: str) -> None:
    with op.batch_alter_table("backup_notices") as batch:
        batch.drop_constraint(op.f(_NAME), type_="check")
        batch.create_check_constraint(op.f(_NAME), rule)


def upgrade() -> None:
    _kind_check(_AFTER)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM backup_notices WHERE kind = 'backup_verified'"))
    _kind_check(_BEFORE)
