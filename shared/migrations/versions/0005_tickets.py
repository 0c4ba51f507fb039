"""tickets: the tables the tickets domain owns.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("integration_type", sa.String(length=20), nullable=False),
        sa.Column("delivery_id", sa.String(length=255), nullable=False),
        sa.Column("signature_valid", sa.Boolean(), nullable=False),
        sa.Column("received_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("raw_body", sa.Text(), nullable=True),
        sa.Column("processed_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "integration_type IN ('syncro', 'autotask', 'connectwise', 'zapier')",
            name=op.f("ck_webhook_deliveries_integration_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "integration_type",
            "delivery_id",
            name=op.f("uq_webhook_deliveries_integration_type_delivery_id"),
        ),
    )
    op.create_table(
        "ticket_links",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("session_id", sa.CHAR(length=36), nullable=True),
        sa.Column("client_id", sa.CHAR(length=36), nullable=True),
        sa.Column("integration_type", sa.String(length=20), nullable=False),
        sa.Column("ticket_id", sa.String(length=100), nullable=False),
        sa.Column("ticket_number", sa.String(length=100), nullable=True),
        sa.Column("ticket_subject", sa.String(length=500), nullable=True),
        sa.Column("ticket_url", sa.String(length=1000), nullable=True),
        sa.Column("ticket_status", sa.String(length=100), nullable=True),
        sa.Column("link_type", sa.String(length=20), nullable=False),
        sa.Column("linked_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("last_synced_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "integration_type IN ('syncro', 'autotask', 'connectwise')",
            name=op.f("ck_ticket_links_integration_type"),
        ),
        sa.CheckConstraint(
            "link_type IN ('related', 'resolves', 'documents')",
            name=op.f("ck_ticket_links_link_type"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_ticket_links_client_id_clients"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_ticket_links_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_links")),
        sa.UniqueConstraint(
            "session_id",
            "integration_type",
            "ticket_id",
            name=op.f("uq_ticket_links_session_id_integration_type_ticket_id"),
        ),
    )
    op.create_index(op.f("ix_ticket_links_client_id"), "ticket_links", ["client_id"], unique=False)
    op.create_index(
        op.f("ix_ticket_links_integration_type_ticket_id"),
        "ticket_links",
        ["integration_type", "ticket_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_ticket_links_session_id"), "ticket_links", ["session_id"], unique=False
    )


def downgrade() -> None:

    op.drop_table("ticket_links")
    op.drop_table("webhook_deliveries")
