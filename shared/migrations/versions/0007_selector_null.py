"""insights: an insight without a host selector stores SQL NULL, not the JSON text 'null'.

The model now says none_as_null: a briefing reads a hundred candidates per request, and each
JSON 'null' was decoded just to become None. Rows written before keep decoding to None; this
turns them into NULL too, so the two kinds of "no selector" are one.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.text("UPDATE environmental_insights SET host_selector = NULL WHERE host_selector = 'null'")
    )


def downgrade() -> None:
    pass  # NULL reads back as None under either setting: nothing to undo
