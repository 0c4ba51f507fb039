"""integrations: Zapier REST Hooks (subscriptions, the delivery outbox, samples, poll cursors).

Zapier was only an inbound webhook source; a Zap could not start on something that happened
here. Subscriptions keep their signing secret sealed by the vault's envelope; deliveries go
through an outbox that a delivery run claims, signs, sends and retries.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.models.base

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS = (
    "event IN ('backup_failed', 'backup_verified', 'client_backup_problem', "
    "'ticket_linked', 'insight_confirmed', 'check_blocked')"
)
_UTC = shared.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "zapier_subscriptions",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("target_url", sa.String(length=1000), nullable=False),
        sa.Column("secret_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("wrapped_data_key", sa.LargeBinary(), nullable=False),
        sa.Column("kek_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("deactivated_at", _UTC(), nullable=True),
        sa.Column("deactivated_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("updated_at", _UTC(), nullable=False),
        sa.CheckConstraint(_EVENTS, name=op.f("ck_zapier_subscriptions_event")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zapier_subscriptions")),
    )
    op.create_index(
        op.f("ix_zapier_subscriptions_event_is_active"),
        "zapier_subscriptions",
        ["event", "is_active"],
    )
    op.create_table(
        "zapier_deliveries",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("subscription_id", sa.CHAR(length=36), nullable=False),
        sa.Column("event_id", sa.CHAR(length=36), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("next_attempt_at", _UTC(), nullable=False),
        sa.Column("claim", sa.CHAR(length=36), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("delivered_at", _UTC(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'gone', 'failed', 'cancelled')",
            name=op.f("ck_zapier_deliveries_status"),
        ),
        sa.CheckConstraint(_EVENTS, name=op.f("ck_zapier_deliveries_event")),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["zapier_subscriptions.id"],
            name=op.f("fk_zapier_deliveries_subscription_id_zapier_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zapier_deliveries")),
    )
    op.create_index(
        op.f("ix_zapier_deliveries_status_next_attempt_at"),
        "zapier_deliveries",
        ["status", "next_attempt_at"],
    )
    op.create_index(
        op.f("ix_zapier_deliveries_subscription_id_status"),
        "zapier_deliveries",
        ["subscription_id", "status"],
    )
    op.create_index(op.f("ix_zapier_deliveries_created_at"), "zapier_deliveries", ["created_at"])
    op.create_table(
        "zapier_samples",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.CheckConstraint(_EVENTS, name=op.f("ck_zapier_samples_event")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zapier_samples")),
    )
    op.create_index(
        op.f("ix_zapier_samples_event_created_at"), "zapier_samples", ["event", "created_at"]
    )
    op.create_table(
        "zapier_cursors",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("position", sa.String(length=255), nullable=False),
        sa.Column("updated_at", _UTC(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_zapier_cursors")),
    )


def downgrade() -> None:
    op.drop_table("zapier_cursors")
    op.drop_table("zapier_samples")
    op.drop_table("zapier_deliveries")
    op.drop_table("zapier_subscriptions")
