"""insights: the tables the insights domain owns.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "clients",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("client_type", sa.String(length=50), nullable=True),
        sa.Column("primary_contact", sa.String(length=255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("name", name=op.f("uq_clients_name")),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "category IN ('technology', 'client', 'infrastructure', 'problem_type', 'action', 'service')",
            name=op.f("ck_tags_category"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
    )
    op.create_table(
        "infrastructure",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("client_id", sa.CHAR(length=36), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("asset_type", sa.String(length=30), nullable=False),
        sa.Column("os", sa.String(length=100), nullable=True),
        sa.Column("os_version", sa.String(length=100), nullable=True),
        sa.Column("role_description", sa.String(length=255), nullable=True),
        sa.Column("parent_host_id", sa.CHAR(length=36), nullable=True),
        sa.Column("shell_type", sa.String(length=50), nullable=True),
        sa.Column("powershell_version", sa.String(length=20), nullable=True),
        sa.Column("package_manager", sa.String(length=50), nullable=True),
        sa.Column("has_gui", sa.Boolean(), nullable=False),
        sa.Column("limitations", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "asset_type IN ('physical_server', 'virtual_machine', 'workstation', 'network_device', 'firewall', 'nas', 'cloud_service', 'other')",
            name=op.f("ck_infrastructure_asset_type"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'migrating', 'decommissioned')",
            name=op.f("ck_infrastructure_status"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_infrastructure_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_host_id"],
            ["infrastructure.id"],
            name=op.f("fk_infrastructure_parent_host_id_infrastructure"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_infrastructure")),
        sa.UniqueConstraint(
            "client_id", "hostname", name=op.f("uq_infrastructure_client_id_hostname")
        ),
    )
    op.create_index(
        op.f("ix_infrastructure_parent_host_id"), "infrastructure", ["parent_host_id"], unique=False
    )
    op.create_table(
        "learning_metrics",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("metric_date", sa.Date(), nullable=False),
        sa.Column("client_id", sa.CHAR(length=36), nullable=True),
        sa.Column("failures_observed", sa.Integer(), nullable=False),
        sa.Column("patterns_new", sa.Integer(), nullable=False),
        sa.Column("insights_created", sa.Integer(), nullable=False),
        sa.Column("insights_confirmed", sa.Integer(), nullable=False),
        sa.Column("briefings_served", sa.Integer(), nullable=False),
        sa.Column("repeat_failures", sa.Integer(), nullable=False),
        sa.Column("checks_served", sa.Integer(), nullable=False),
        sa.Column("checks_flagged", sa.Integer(), nullable=False),
        sa.Column("checks_wrong", sa.Integer(), nullable=False),
        sa.Column("failures_prevented", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_learning_metrics_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_metrics")),
        sa.UniqueConstraint(
            "metric_date", "client_id", name=op.f("uq_learning_metrics_metric_date_client_id")
        ),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("client_id", sa.CHAR(length=36), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("technician", sa.String(length=100), nullable=True),
        sa.Column("started_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("ended_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("is_billable", sa.Boolean(), nullable=False),
        sa.Column("billable_minutes", sa.Integer(), nullable=True),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('in_progress', 'completed', 'blocked', 'pending')",
            name=op.f("ck_sessions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_sessions_client_id_clients"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_client_id"), "sessions", ["client_id"], unique=False)
    op.create_index(op.f("ix_sessions_started_at"), "sessions", ["started_at"], unique=False)
    op.create_table(
        "failure_patterns",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("client_id", sa.CHAR(length=36), nullable=True),
        sa.Column("infrastructure_id", sa.CHAR(length=36), nullable=True),
        sa.Column("pattern_type", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.CHAR(length=64), nullable=False),
        sa.Column("fingerprint_version", sa.Integer(), nullable=False),
        sa.Column("command_key", sa.String(length=500), nullable=False),
        sa.Column("error_signature", sa.String(length=255), nullable=True),
        sa.Column("exit_code", sa.BigInteger(), nullable=True),
        sa.Column("host_count", sa.Integer(), nullable=False),
        sa.Column("session_count", sa.Integer(), nullable=False),
        sa.Column("sample_command", sa.Text(), nullable=False),
        sa.Column("sample_error", sa.Text(), nullable=True),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("recommended_solution", sa.Text(), nullable=True),
        sa.Column("occurrence_count", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "pattern_type IN ('command_compatibility', 'version_mismatch', 'permission_denied', 'service_unavailable', 'configuration_error', 'environmental_limitation', 'other')",
            name=op.f("ck_failure_patterns_pattern_type"),
        ),
        sa.CheckConstraint(
            "severity IN ('blocking', 'major', 'minor', 'info')",
            name=op.f("ck_failure_patterns_severity"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_failure_patterns_client_id_clients"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["infrastructure_id"],
            ["infrastructure.id"],
            name=op.f("fk_failure_patterns_infrastructure_id_infrastructure"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failure_patterns")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_failure_patterns_fingerprint")),
    )
    op.create_index(
        op.f("ix_failure_patterns_client_id"), "failure_patterns", ["client_id"], unique=False
    )
    op.create_index(
        op.f("ix_failure_patterns_client_id_command_key"),
        "failure_patterns",
        ["client_id", "command_key"],
        unique=False,
    )
    op.create_index(
        op.f("ix_failure_patterns_infrastructure_id"),
        "failure_patterns",
        ["infrastructure_id"],
        unique=False,
    )
    op.create_table(
        "infrastructure_tags",
        sa.Column("infrastructure_id", sa.CHAR(length=36), nullable=False),
        sa.Column("tag_id", sa.CHAR(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["infrastructure_id"],
            ["infrastructure.id"],
            name=op.f("fk_infrastructure_tags_infrastructure_id_infrastructure"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["tags.id"],
            name=op.f("fk_infrastructure_tags_tag_id_tags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("infrastructure_id", "tag_id", name=op.f("pk_infrastructure_tags")),
    )
    op.create_table(
        "work_items",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("session_id", sa.CHAR(length=36), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("affected_systems", sa.JSON(), nullable=True),
        sa.Column("estimated_minutes", sa.Integer(), nullable=True),
        sa.Column("actual_minutes", sa.Integer(), nullable=True),
        sa.Column("completed_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "category IN ('infrastructure', 'troubleshooting', 'configuration', 'development', 'maintenance', 'security', 'documentation')",
            name=op.f("ck_work_items_category"),
        ),
        sa.CheckConstraint(
            "priority IN ('critical', 'high', 'medium', 'low')", name=op.f("ck_work_items_priority")
        ),
        sa.CheckConstraint(
            "status IN ('completed', 'in_progress', 'blocked', 'pending', 'deferred')",
            name=op.f("ck_work_items_status"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_work_items_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_items")),
    )
    op.create_index(op.f("ix_work_items_session_id"), "work_items", ["session_id"], unique=False)
    op.create_table(
        "environmental_insights",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("client_id", sa.CHAR(length=36), nullable=True),
        sa.Column("infrastructure_id", sa.CHAR(length=36), nullable=True),
        sa.Column("insight_category", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("host_selector", sa.JSON(), nullable=True),
        sa.Column("confidence_level", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("merged_into_id", sa.CHAR(length=36), nullable=True),
        sa.Column("source_pattern_id", sa.CHAR(length=36), nullable=True),
        sa.Column("verification_count", sa.Integer(), nullable=False),
        sa.Column("last_verified_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("valid_from", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("valid_to", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("superseded_by_id", sa.CHAR(length=36), nullable=True),
        sa.Column("content_hash", sa.CHAR(length=64), nullable=True),
        sa.Column("command_key", sa.String(length=500), nullable=True),
        sa.Column("support_count", sa.Integer(), nullable=False),
        sa.Column("counter_count", sa.Integer(), nullable=False),
        sa.Column("last_evidence_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("surfaced_count", sa.Integer(), nullable=False),
        sa.Column("last_surfaced_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "confidence_level IN ('confirmed', 'likely', 'suspected')",
            name=op.f("ck_environmental_insights_confidence"),
        ),
        sa.CheckConstraint(
            "insight_category IN ('command_constraints', 'service_configuration', 'version_limitations', 'custom_installations', 'network_constraints', 'permissions', 'security', 'other')",
            name=op.f("ck_environmental_insights_category"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'resolved', 'merged')",
            name=op.f("ck_environmental_insights_status"),
        ),
        sa.CheckConstraint(
            "priority BETWEEN 1 AND 10", name=op.f("ck_environmental_insights_priority_range")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_environmental_insights_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["infrastructure_id"],
            ["infrastructure.id"],
            name=op.f("fk_environmental_insights_infrastructure_id_infrastructure"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["environmental_insights.id"],
            name=op.f("fk_environmental_insights_merged_into_id_environmental_insights"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_pattern_id"],
            ["failure_patterns.id"],
            name=op.f("fk_environmental_insights_source_pattern_id_failure_patterns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"],
            ["environmental_insights.id"],
            name=op.f("fk_environmental_insights_superseded_by_id_environmental_insights"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environmental_insights")),
    )
    op.create_index(
        op.f("ix_environmental_insights_client_id"),
        "environmental_insights",
        ["client_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_environmental_insights_infrastructure_id"),
        "environmental_insights",
        ["infrastructure_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_environmental_insights_insight_category"),
        "environmental_insights",
        ["insight_category"],
        unique=False,
    )
    op.create_index(
        op.f("ix_environmental_insights_source_pattern_id"),
        "environmental_insights",
        ["source_pattern_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_environmental_insights_client_id_command_key"),
        "environmental_insights",
        ["client_id", "command_key"],
        unique=False,
    )
    op.create_index(
        op.f("ix_environmental_insights_client_id_infrastructure_id"),
        "environmental_insights",
        ["client_id", "infrastructure_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_environmental_insights_content_hash"),
        "environmental_insights",
        ["content_hash"],
        unique=False,
    )
    op.create_table(
        "failure_occurrences",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("failure_pattern_id", sa.CHAR(length=36), nullable=False),
        sa.Column("session_id", sa.CHAR(length=36), nullable=True),
        sa.Column("infrastructure_id", sa.CHAR(length=36), nullable=True),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("error_output", sa.Text(), nullable=True),
        sa.Column("exit_code", sa.BigInteger(), nullable=True),
        sa.Column("observed_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("is_repeat", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["failure_pattern_id"],
            ["failure_patterns.id"],
            name=op.f("fk_failure_occurrences_failure_pattern_id_failure_patterns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["infrastructure_id"],
            ["infrastructure.id"],
            name=op.f("fk_failure_occurrences_infrastructure_id_infrastructure"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_failure_occurrences_session_id_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failure_occurrences")),
    )
    op.create_index(
        op.f("ix_failure_occurrences_failure_pattern_id"),
        "failure_occurrences",
        ["failure_pattern_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_failure_occurrences_infrastructure_id"),
        "failure_occurrences",
        ["infrastructure_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_failure_occurrences_failure_pattern_id_infrastructure_id"),
        "failure_occurrences",
        ["failure_pattern_id", "infrastructure_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_failure_occurrences_observed_at"),
        "failure_occurrences",
        ["observed_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_failure_occurrences_session_id"),
        "failure_occurrences",
        ["session_id"],
        unique=False,
    )
    op.create_table(
        "work_item_tags",
        sa.Column("work_item_id", sa.CHAR(length=36), nullable=False),
        sa.Column("tag_id", sa.CHAR(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_work_item_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["work_item_id"],
            ["work_items.id"],
            name=op.f("fk_work_item_tags_work_item_id_work_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("work_item_id", "tag_id", name=op.f("pk_work_item_tags")),
    )
    op.create_table(
        "command_checks",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("client_id", sa.CHAR(length=36), nullable=True),
        sa.Column("infrastructure_id", sa.CHAR(length=36), nullable=True),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("command_key", sa.String(length=500), nullable=True),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("matched_pattern_id", sa.CHAR(length=36), nullable=True),
        sa.Column("matched_insight_id", sa.CHAR(length=36), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("outcome_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('unknown', 'succeeded', 'failed')", name=op.f("ck_command_checks_outcome")
        ),
        sa.CheckConstraint(
            "verdict IN ('block', 'warn', 'ok')", name=op.f("ck_command_checks_verdict")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_command_checks_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["infrastructure_id"],
            ["infrastructure.id"],
            name=op.f("fk_command_checks_infrastructure_id_infrastructure"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["matched_insight_id"],
            ["environmental_insights.id"],
            name=op.f("fk_command_checks_matched_insight_id_environmental_insights"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["matched_pattern_id"],
            ["failure_patterns.id"],
            name=op.f("fk_command_checks_matched_pattern_id_failure_patterns"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_command_checks")),
    )
    op.create_index(
        op.f("ix_command_checks_client_id"), "command_checks", ["client_id"], unique=False
    )
    op.create_index(
        op.f("ix_command_checks_infrastructure_id"),
        "command_checks",
        ["infrastructure_id"],
        unique=False,
    )
    op.create_table(
        "environmental_examples",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("insight_id", sa.CHAR(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("shell", sa.String(length=50), nullable=True),
        sa.Column("infrastructure_id", sa.CHAR(length=36), nullable=True),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('do', 'dont')", name=op.f("ck_environmental_examples_kind")),
        sa.ForeignKeyConstraint(
            ["infrastructure_id"],
            ["infrastructure.id"],
            name=op.f("fk_environmental_examples_infrastructure_id_infrastructure"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["insight_id"],
            ["environmental_insights.id"],
            name=op.f("fk_environmental_examples_insight_id_environmental_insights"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environmental_examples")),
    )
    op.create_index(
        op.f("ix_environmental_examples_insight_id"),
        "environmental_examples",
        ["insight_id"],
        unique=False,
    )
    op.create_table(
        "insight_events",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("insight_id", sa.CHAR(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("failure_occurrence_id", sa.CHAR(length=36), nullable=True),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "event_type IN ('created', 'edited', 'promoted', 'confirmed', 'contradicted', 'superseded', 'resolved', 'merged', 'marked_stale', 'regressed', 'example_added')",
            name=op.f("ck_insight_events_event_type"),
        ),
        sa.ForeignKeyConstraint(
            ["failure_occurrence_id"],
            ["failure_occurrences.id"],
            name=op.f("fk_insight_events_failure_occurrence_id_failure_occurrences"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["insight_id"],
            ["environmental_insights.id"],
            name=op.f("fk_insight_events_insight_id_environmental_insights"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_events")),
    )
    op.create_index(
        op.f("ix_insight_events_insight_id"), "insight_events", ["insight_id"], unique=False
    )


def downgrade() -> None:

    op.drop_table("insight_events")
    op.drop_table("environmental_examples")
    op.drop_table("command_checks")
    op.drop_table("work_item_tags")
    op.drop_table("failure_occurrences")
    op.drop_table("environmental_insights")
    op.drop_table("work_items")
    op.drop_table("infrastructure_tags")
    op.drop_table("failure_patterns")
    op.drop_table("sessions")
    op.drop_table("learning_metrics")
    op.drop_table("infrastructure")
    op.drop_table("tags")
    op.drop_table("clients")
