"""integrations: MSP360 (MSP Backups) monitoring: name mappings, plan states, problems.

A client's backup plan in MSP360 that fails or goes overdue should open one ticket, show in the
host's briefing and be remembered; this keeps the newest state of each plan, how MSP360 names
map to clients and hosts, and the problem (with its PSA ticket) each failure opened.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.models.base

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = shared.models.base.UTCDateTime


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UTC_DATETIME(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME(), nullable=False),
    ]


def upgrade() -> None:
    _create_mappings()
    _create_plans()
    _create_problems()


def _create_mappings() -> None:
    op.create_table(
        "msp360_mappings",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name_key", sa.CHAR(length=64), nullable=False),
        sa.Column("company_name", sa.String(length=255), nullable=False),
        sa.Column("computer_name", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.CHAR(length=36), nullable=True),
        sa.Column("infrastructure_id", sa.CHAR(length=36), nullable=True),
        sa.Column("psa_type", sa.String(length=20), nullable=True),
        sa.Column("psa_company_id", sa.String(length=100), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("last_seen_at", UTC_DATETIME(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            f"kind IN ({_quoted(('company', 'computer'))})", name=op.f("ck_msp360_mappings_kind")
        ),
        sa.CheckConstraint(
            f"source IN ({_quoted(('auto', 'operator'))})", name=op.f("ck_msp360_mappings_source")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_msp360_mappings_client_id_clients"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["infrastructure_id"],
            ["infrastructure.id"],
            name=op.f("fk_msp360_mappings_infrastructure_id_infrastructure"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_msp360_mappings")),
        sa.UniqueConstraint("name_key", name=op.f("uq_msp360_mappings_name_key")),
    )
    op.create_index(op.f("ix_msp360_mappings_client_id"), "msp360_mappings", ["client_id"])
    op.create_index(
        op.f("ix_msp360_mappings_kind_company_name"), "msp360_mappings", ["kind", "company_name"]
    )


PLAN_STATUSES = (
    "Success",
    "Overdue",
    "Error",
    "Running",
    "Unknown",
    "Interrupted",
    "UnexpectedlyClosed",
)


def _create_plans() -> None:
    op.create_table(
        "msp360_plans",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("plan_key", sa.CHAR(length=64), nullable=False),
        sa.Column("msp360_user_id", sa.String(length=100), nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=True),
        sa.Column("company_name", sa.String(length=255), nullable=False),
        sa.Column("computer_name", sa.String(length=255), nullable=False),
        sa.Column("plan_name", sa.String(length=255), nullable=False),
        sa.Column("plan_id", sa.String(length=100), nullable=True),
        sa.Column("storage_type", sa.String(length=100), nullable=True),
        sa.Column("build_version", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("last_start", UTC_DATETIME(), nullable=True),
        sa.Column("next_start", UTC_DATETIME(), nullable=True),
        sa.Column("files_copied", sa.BigInteger(), nullable=True),
        sa.Column("files_failed", sa.BigInteger(), nullable=True),
        sa.Column("data_copied_bytes", sa.BigInteger(), nullable=True),
        sa.Column("total_data_bytes", sa.BigInteger(), nullable=True),
        sa.Column("duration", sa.String(length=100), nullable=True),
        sa.Column("client_id", sa.CHAR(length=36), nullable=True),
        sa.Column("infrastructure_id", sa.CHAR(length=36), nullable=True),
        sa.Column("status_changed_at", UTC_DATETIME(), nullable=False),
        sa.Column("last_seen_at", UTC_DATETIME(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            f"status IN ({_quoted(PLAN_STATUSES)})", name=op.f("ck_msp360_plans_status")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_msp360_plans_client_id_clients"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["infrastructure_id"],
            ["infrastructure.id"],
            name=op.f("fk_msp360_plans_infrastructure_id_infrastructure"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_msp360_plans")),
        sa.UniqueConstraint("plan_key", name=op.f("uq_msp360_plans_plan_key")),
    )
    op.create_index(
        op.f("ix_msp360_plans_client_id_status"), "msp360_plans", ["client_id", "status"]
    )
    op.create_index(op.f("ix_msp360_plans_status"), "msp360_plans", ["status"])


def _create_problems() -> None:
    op.create_table(
        "msp360_problems",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("plan_id", sa.CHAR(length=36), nullable=False),
        sa.Column("problem", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("open_key", sa.String(length=80), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("psa_type", sa.String(length=20), nullable=True),
        sa.Column("ticket_state", sa.String(length=10), nullable=False),
        sa.Column("ticket_id", sa.String(length=100), nullable=True),
        sa.Column("ticket_number", sa.String(length=100), nullable=True),
        sa.Column("ticket_url", sa.String(length=1000), nullable=True),
        sa.Column("ticket_error", sa.String(length=500), nullable=True),
        sa.Column("close_pending", sa.Boolean(), nullable=False),
        sa.Column("insight_id", sa.CHAR(length=36), nullable=True),
        sa.Column("reported_occurrences", sa.Integer(), nullable=False),
        sa.Column("report_error", sa.String(length=500), nullable=True),
        sa.Column("opened_at", UTC_DATETIME(), nullable=False),
        sa.Column("closed_at", UTC_DATETIME(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            f"problem IN ({_quoted(('Error', 'Overdue', 'Interrupted', 'UnexpectedlyClosed'))})",
            name=op.f("ck_msp360_problems_problem"),
        ),
        sa.CheckConstraint(
            f"state IN ({_quoted(('open', 'closed'))})", name=op.f("ck_msp360_problems_state")
        ),
        sa.CheckConstraint(
            f"ticket_state IN ({_quoted(('pending', 'open', 'uncertain', 'none', 'failed'))})",
            name=op.f("ck_msp360_problems_ticket_state"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["msp360_plans.id"],
            name=op.f("fk_msp360_problems_plan_id_msp360_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_msp360_problems")),
        sa.UniqueConstraint("open_key", name=op.f("uq_msp360_problems_open_key")),
    )
    op.create_index(
        op.f("ix_msp360_problems_plan_id_state"), "msp360_problems", ["plan_id", "state"]
    )


def downgrade() -> None:
    # Each table's indexes go with it (MariaDB keeps an index a foreign key needs).
    op.drop_table("msp360_problems")
    op.drop_table("msp360_plans")
    op.drop_table("msp360_mappings")
