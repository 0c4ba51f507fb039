"""integrations: the tables the integrations domain owns.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "credential_access_log",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("chain", sa.SmallInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("credential_id", sa.CHAR(length=36), nullable=False),
        sa.Column("credential_version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column("actor_token_id", sa.CHAR(length=36), nullable=True),
        sa.Column("on_behalf_of", sa.String(length=255), nullable=True),
        sa.Column("purpose", sa.String(length=500), nullable=True),
        sa.Column("request_id", sa.String(length=100), nullable=True),
        sa.Column("source_ip", sa.String(length=45), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("prev_hash", sa.CHAR(length=64), nullable=False),
        sa.Column("row_hash", sa.CHAR(length=64), nullable=False),
        sa.CheckConstraint(
            "action IN ('created', 'updated', 'revealed', 'used', 'tested', 'rotated', 'rewrapped',"
            " 'deleted')",
            name=op.f("ck_credential_access_log_action"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_access_log")),
        sa.UniqueConstraint("row_hash", name=op.f("uq_credential_access_log_row_hash")),
        sa.UniqueConstraint("chain", "seq", name=op.f("uq_credential_access_log_chain_seq")),
    )
    head = op.create_table(
        "credential_audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.CHAR(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_audit_head")),
    )
    # Each of the 16 chains (AUDIT_CHAINS) starts from a known all-zero hash at position 0.
    op.bulk_insert(head, [{"id": n, "seq": 0, "last_hash": "0" * 64} for n in range(1, 17)])
    op.create_index(
        op.f("ix_credential_access_log_created_at"),
        "credential_access_log",
        ["created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_credential_access_log_credential_id_created_at"),
        "credential_access_log",
        ["credential_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "integration_credentials",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("integration_name", sa.String(length=100), nullable=False),
        sa.Column("integration_type", sa.String(length=20), nullable=False),
        sa.Column("credential_type", sa.String(length=20), nullable=False),
        sa.Column("api_url", sa.String(length=500), nullable=True),
        sa.Column("token_url", sa.String(length=500), nullable=True),
        sa.Column("client_id", sa.String(length=255), nullable=True),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("client_secret_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("access_token_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("refresh_token_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("api_key_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("password_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("token_expires_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_tested_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_test_status", sa.String(length=10), nullable=False),
        sa.Column("last_test_error", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kek_id", sa.String(length=100), nullable=False),
        sa.Column("wrapped_data_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "credential_type IN ('oauth', 'api_key', 'basic_auth')",
            name=op.f("ck_integration_credentials_credential_type"),
        ),
        sa.CheckConstraint(
            "integration_type IN ('syncro', 'autotask', 'connectwise', 'msp_backups', 'zapier', 'other')",
            name=op.f("ck_integration_credentials_integration_type"),
        ),
        sa.CheckConstraint(
            "last_test_status IN ('success', 'failed', 'never')",
            name=op.f("ck_integration_credentials_last_test_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_credentials")),
        sa.UniqueConstraint(
            "integration_name", name=op.f("uq_integration_credentials_integration_name")
        ),
    )
    op.create_index(
        op.f("ix_integration_credentials_kek_id"),
        "integration_credentials",
        ["kek_id"],
        unique=False,
    )
    op.create_table(
        "external_integrations",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("session_id", sa.CHAR(length=36), nullable=True),
        sa.Column("work_item_id", sa.CHAR(length=36), nullable=True),
        sa.Column("integration_type", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("external_url", sa.String(length=1000), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("request_data", sa.JSON(), nullable=True),
        sa.Column("response_data", sa.JSON(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_fingerprint", sa.CHAR(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "action IN ('created', 'updated', 'linked', 'attached', 'fetched', 'deleted', 'tested')",
            name=op.f("ck_external_integrations_action"),
        ),
        sa.CheckConstraint(
            "direction IN ('inbound', 'outbound')", name=op.f("ck_external_integrations_direction")
        ),
        sa.CheckConstraint(
            "integration_type IN ('syncro', 'autotask', 'connectwise', 'msp_backups', 'zapier', 'other')",
            name=op.f("ck_external_integrations_integration_type"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_external_integrations_session_id_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["work_item_id"],
            ["work_items.id"],
            name=op.f("fk_external_integrations_work_item_id_work_items"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_integrations")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_external_integrations_idempotency_key")
        ),
    )
    op.create_index(
        op.f("ix_external_integrations_created_at"),
        "external_integrations",
        ["created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_external_integrations_external_id"),
        "external_integrations",
        ["external_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_external_integrations_integration_type"),
        "external_integrations",
        ["integration_type"],
        unique=False,
    )
    op.create_index(
        op.f("ix_external_integrations_session_id"),
        "external_integrations",
        ["session_id"],
        unique=False,
    )


def downgrade() -> None:

    op.drop_table("external_integrations")
    op.drop_table("integration_credentials")
    op.drop_table("credential_access_log")
    op.drop_table("credential_audit_head")
