"""insights: a superseded insight's status says so ('superseded'), not 'active'.

Superseding used to set only valid_to and superseded_by_id, so a reader of `status` (a list
filtered on it, a report, an operator's query) took the retired insight for a current one.
This widens the status check and marks the insights superseded before it.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ck_environmental_insights_status"
_BEFORE = "status IN ('active', 'resolved', 'merged')"
_AFTER = "status IN ('active', 'resolved', 'merged', 'superseded')"


def _status_check(rule: str) -> None:
    with op.batch_alter_table("environmental_insights") as batch:
        batch.drop_constraint(op.f(_NAME), type_="check")
        batch.create_check_constraint(op.f(_NAME), rule)


def upgrade() -> None:
    _status_check(_AFTER)
    op.execute(
        sa.text(
            "UPDATE environmental_insights SET status = 'superseded' "
            "WHERE superseded_by_id IS NOT NULL AND status = 'active'"
        )
    )


def downgrade() -> None:
    op.execute(
        sa.text("UPDATE environmental_insights SET status = 'active' WHERE status = 'superseded'")
    )
    _status_check(_BEFORE)
