"""Idempotency-Key on creating endpoints: request_idempotency holds each key and its answer.

A caller (an API token) may send `Idempotency-Key` with a creating POST; the key is claimed in
the request's own transaction, so it commits with the write, and the first answer is kept so a
retry gets it back instead of a second write. Keys expire (expires_at) after a documented time.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import shared.models.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_idempotency",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("owner", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("request_sha256", sa.CHAR(length=64), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("location", sa.String(length=1000), nullable=True),
        sa.Column(
            "response_body",
            sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_idempotency")),
        sa.UniqueConstraint(
            "owner", "idempotency_key", name=op.f("uq_request_idempotency_owner_idempotency_key")
        ),
    )
    op.create_index(
        op.f("ix_request_idempotency_expires_at"), "request_idempotency", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_request_idempotency_expires_at"), table_name="request_idempotency")
    op.drop_table("request_idempotency")
