"""backups: notice outbox.

Placeholder that keeps the revision chain linear while this revision is being written."""

from __future__ import annotations

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
