"""insights: Idempotency-Key on creating endpoints.

Placeholder that keeps the revision chain linear while this revision is being written."""

from __future__ import annotations

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
