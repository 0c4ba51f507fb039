"""integrations: chain heads carry a MAC, refusals carry a reason, outcomes are a closed set.

- credential_audit_head.mac: HMAC of (chain, seq, last_hash) under the audit key, so a head
  set back with SQL no longer passes. The migration cannot compute it (it does not hold the
  key): heads still at position 0 need none, any other head is sealed once by
  `python -m services.integrations.cli seal-audit-heads` after the upgrade (it verifies the
  chain first); until then appends to that chain fail closed.
- credential_access_log.reason: why a reveal, token request or change was refused or failed.
- outcome is checked against the values the service writes.
- (credential_id, credential_version): the reveal reads the newest version the log recorded
  for its credential in the query that loads the credential, through this index.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = "'success', 'failed', 'denied', 'invalid_grant'"


def upgrade() -> None:
    op.add_column("credential_audit_head", sa.Column("mac", sa.CHAR(length=64), nullable=True))
    op.add_column(
        "credential_access_log", sa.Column("reason", sa.String(length=200), nullable=True)
    )
    # Batch mode: SQLite (the embedded default) cannot add a constraint to a table in place.
    with op.batch_alter_table("credential_access_log") as batch:
        batch.create_check_constraint(
            op.f("ck_credential_access_log_outcome"), f"outcome IN ({OUTCOMES})"
        )
    op.create_index(
        op.f("ix_credential_access_log_credential_id_credential_version"),
        "credential_access_log",
        ["credential_id", "credential_version"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_credential_access_log_credential_id_credential_version"),
        table_name="credential_access_log",
    )
    with op.batch_alter_table("credential_access_log") as batch:
        batch.drop_constraint(op.f("ck_credential_access_log_outcome"), type_="check")
    op.drop_column("credential_access_log", "reason")
    op.drop_column("credential_audit_head", "mac")
