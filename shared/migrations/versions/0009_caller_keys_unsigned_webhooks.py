"""integrations: Idempotency-Keys belong to their caller; unsigned webhooks keep little.

- external_integrations.idempotency_owner: the token id a key came with ('' for the service's
  own rows); the key is unique per owner, no longer across every caller. Keys stored before
  have no owner, so no token replays them: a retry spanning the upgrade is a new request.
- webhook_deliveries.body_sha256 / body_bytes: the whole body's hash and length, since a
  rejected delivery keeps only a prefix of its body; source_ip and an index on
  (integration_type, source_ip, received_at) for the per-source limit on unsigned deliveries.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("external_integrations") as batch:
        batch.add_column(
            sa.Column("idempotency_owner", sa.String(36), nullable=False, server_default="")
        )
        batch.drop_constraint("uq_external_integrations_idempotency_key", type_="unique")
        batch.create_unique_constraint(
            "uq_external_integrations_idempotency_owner_idempotency_key",
            ["idempotency_owner", "idempotency_key"],
        )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("body_sha256", sa.CHAR(64), nullable=True))
        batch.add_column(sa.Column("body_bytes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("source_ip", sa.String(45), nullable=True))
        batch.create_index(
            "ix_webhook_deliveries_integration_type_source_ip_received_at",
            ["integration_type", "source_ip", "received_at"],
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_index("ix_webhook_deliveries_integration_type_source_ip_received_at")
        batch.drop_column("source_ip")
        batch.drop_column("body_bytes")
        batch.drop_column("body_sha256")
    # Keys of different callers may collide once they are global again: one row keeps each.
    op.execute(
        sa.text(
            "UPDATE external_integrations SET idempotency_key = NULL "
            "WHERE idempotency_key IS NOT NULL AND id NOT IN (SELECT id FROM ("
            "SELECT MIN(id) AS id FROM external_integrations "
            "WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key) AS kept)"
        )
    )
    with op.batch_alter_table("external_integrations") as batch:
        batch.drop_constraint(
            "uq_external_integrations_idempotency_owner_idempotency_key", type_="unique"
        )
        batch.create_unique_constraint(
            "uq_external_integrations_idempotency_key", ["idempotency_key"]
        )
        batch.drop_column("idempotency_owner")
