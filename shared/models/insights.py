"""Tables of the insights service: inventory, work log, failures, insights and their history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import ColumnElement, func

from shared.models.base import Base, TimestampMixin, enum_check, greatest, utcnow, uuid_pk
from shared.redaction import REDACTION_VERSION

ASSET_TYPES = (
    "physical_server",
    "virtual_machine",
    "workstation",
    "network_device",
    "firewall",
    "nas",
    "cloud_service",
    "other",
)
HOST_STATUSES = ("active", "migrating", "decommissioned")
SESSION_STATUSES = ("in_progress", "completed", "blocked", "pending")
WORK_CATEGORIES = (
    "infrastructure",
    "troubleshooting",
    "configuration",
    "development",
    "maintenance",
    "security",
    "documentation",
)
WORK_STATUSES = ("completed", "in_progress", "blocked", "pending", "deferred")
PRIORITIES = ("critical", "high", "medium", "low")
TAG_CATEGORIES = ("technology", "client", "infrastructure", "problem_type", "action", "service")
PATTERN_TYPES = (
    "command_compatibility",
    "version_mismatch",
    "permission_denied",
    "service_unavailable",
    "configuration_error",
    "environmental_limitation",
    "other",
)
SEVERITIES = ("blocking", "major", "minor", "info")
INSIGHT_CATEGORIES = (
    "command_constraints",
    "service_configuration",
    "version_limitations",
    "custom_installations",
    "network_constraints",
    "permissions",
    "security",
    "other",
)
CONFIDENCE_LEVELS = ("confirmed", "likely", "suspected")
INSIGHT_STATUSES = ("active", "resolved", "merged", "superseded")
EXAMPLE_KINDS = ("do", "dont")
# Examples one insight keeps (a briefing shows a few): the API refuses more, a merge stops there.
MAX_EXAMPLES = 20
INSIGHT_EVENT_TYPES = (
    "created",
    "edited",
    "promoted",
    "confirmed",
    "contradicted",
    "superseded",
    "resolved",
    "merged",
    "marked_stale",
    "regressed",
    "example_added",
)
CHECK_VERDICTS = ("block", "warn", "ok")
CHECK_OUTCOMES = ("unknown", "succeeded", "failed")


def _fk(target: str, ondelete: str) -> ForeignKey:
    return ForeignKey(target, ondelete=ondelete)


class Client(TimestampMixin, Base):
    """A customer of the MSP."""

    __tablename__ = "clients"

    id: Mapped[str] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    client_type: Mapped[str | None] = mapped_column(String(50))
    primary_contact: Mapped[str | None]
    notes: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)

    hosts: Mapped[list[Infrastructure]] = relationship(
        back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )


infrastructure_tags = Table(
    "infrastructure_tags",
    Base.metadata,
    Column(
        "infrastructure_id",
        CHAR(36),
        _fk("infrastructure.id", "CASCADE"),
        primary_key=True,
    ),
    Column("tag_id", CHAR(36), _fk("tags.id", "CASCADE"), primary_key=True),
)

work_item_tags = Table(
    "work_item_tags",
    Base.metadata,
    Column("work_item_id", CHAR(36), _fk("work_items.id", "CASCADE"), primary_key=True),
    Column("tag_id", CHAR(36), _fk("tags.id", "CASCADE"), primary_key=True),
)


class Infrastructure(TimestampMixin, Base):
    """A host or device of a client: what an assistant is about to touch."""

    __tablename__ = "infrastructure"
    __table_args__ = (
        UniqueConstraint("client_id", "hostname"),
        CheckConstraint(enum_check("asset_type", ASSET_TYPES), name="asset_type"),
        CheckConstraint(enum_check("status", HOST_STATUSES), name="status"),
    )

    id: Mapped[str] = uuid_pk()
    client_id: Mapped[str] = mapped_column(CHAR(36), _fk("clients.id", "CASCADE"))
    hostname: Mapped[str] = mapped_column(String(255))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    asset_type: Mapped[str] = mapped_column(String(30), default="other")
    os: Mapped[str | None] = mapped_column(String(100))
    os_version: Mapped[str | None] = mapped_column(String(100))
    role_description: Mapped[str | None]
    parent_host_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("infrastructure.id", "SET NULL"), index=True
    )
    shell_type: Mapped[str | None] = mapped_column(String(50))
    powershell_version: Mapped[str | None] = mapped_column(String(20))
    package_manager: Mapped[str | None] = mapped_column(String(50))
    has_gui: Mapped[bool] = mapped_column(default=True)
    limitations: Mapped[list[str] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="active")

    client: Mapped[Client] = relationship(back_populates="hosts")
    tags: Mapped[list[Tag]] = relationship(secondary=infrastructure_tags, passive_deletes=True)


class WorkSession(TimestampMixin, Base):
    """A technician's (or an assistant's) working session."""

    __tablename__ = "sessions"
    __table_args__ = (CheckConstraint(enum_check("status", SESSION_STATUSES), name="status"),)

    id: Mapped[str] = uuid_pk()
    client_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("clients.id", "SET NULL"), index=True
    )
    title: Mapped[str]
    technician: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ended_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="in_progress")
    summary: Mapped[str | None] = mapped_column(Text)
    is_billable: Mapped[bool] = mapped_column(default=False)
    billable_minutes: Mapped[int | None]

    work_items: Mapped[list[WorkItem]] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True
    )


class WorkItem(TimestampMixin, Base):
    """One piece of work done in a session."""

    __tablename__ = "work_items"
    __table_args__ = (
        CheckConstraint(enum_check("category", WORK_CATEGORIES), name="category"),
        CheckConstraint(enum_check("status", WORK_STATUSES), name="status"),
        CheckConstraint(enum_check("priority", PRIORITIES), name="priority"),
    )

    id: Mapped[str] = uuid_pk()
    session_id: Mapped[str] = mapped_column(CHAR(36), _fk("sessions.id", "CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(30))
    title: Mapped[str]
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    priority: Mapped[str] = mapped_column(String(20), default="medium")
    affected_systems: Mapped[list[str] | None] = mapped_column(JSON)
    estimated_minutes: Mapped[int | None]
    actual_minutes: Mapped[int | None]
    completed_at: Mapped[datetime | None]

    session: Mapped[WorkSession] = relationship(back_populates="work_items")
    tags: Mapped[list[Tag]] = relationship(secondary=work_item_tags, passive_deletes=True)


class Tag(Base):
    """A label for work items and hosts."""

    __tablename__ = "tags"
    __table_args__ = (CheckConstraint(enum_check("category", TAG_CATEGORIES), name="category"),)

    id: Mapped[str] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100), unique=True)
    category: Mapped[str] = mapped_column(String(30))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FailurePattern(TimestampMixin, Base):
    """One distinct failure signature, grouping every occurrence that shares it."""

    __tablename__ = "failure_patterns"
    __table_args__ = (
        CheckConstraint(enum_check("pattern_type", PATTERN_TYPES), name="pattern_type"),
        CheckConstraint(enum_check("severity", SEVERITIES), name="severity"),
        Index(None, "client_id", "command_key"),
    )

    id: Mapped[str] = uuid_pk()
    client_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("clients.id", "SET NULL"), index=True
    )
    infrastructure_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("infrastructure.id", "SET NULL"), index=True
    )
    pattern_type: Mapped[str] = mapped_column(String(40), default="other")
    fingerprint: Mapped[str] = mapped_column(CHAR(64), unique=True)
    fingerprint_version: Mapped[int] = mapped_column(default=1)
    # The normalised command (executable + subcommands + flag names): what `check` matches on.
    command_key: Mapped[str] = mapped_column(String(500), default="")
    error_signature: Mapped[str | None] = mapped_column(String(255))
    # Windows reports exit codes as unsigned 32-bit (0xFFFFFFFF), winget as negative ones.
    exit_code: Mapped[int | None] = mapped_column(BigInteger)
    host_count: Mapped[int] = mapped_column(default=0)
    session_count: Mapped[int] = mapped_column(default=0)
    sample_command: Mapped[str] = mapped_column(Text)
    sample_error: Mapped[str | None] = mapped_column(Text)
    # The redaction rules (shared/redaction.py) the sample command and error went through.
    redaction_version: Mapped[int] = mapped_column(default=REDACTION_VERSION, server_default="1")
    root_cause: Mapped[str | None] = mapped_column(Text)
    recommended_solution: Mapped[str | None] = mapped_column(Text)
    occurrence_count: Mapped[int] = mapped_column(default=0)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    severity: Mapped[str] = mapped_column(String(20), default="major")
    is_active: Mapped[bool] = mapped_column(default=True)


class FailureOccurrence(Base):
    """Every observed failure, raw (after redaction)."""

    __tablename__ = "failure_occurrences"
    __table_args__ = (Index(None, "failure_pattern_id", "infrastructure_id"),)

    id: Mapped[str] = uuid_pk()
    failure_pattern_id: Mapped[str] = mapped_column(
        CHAR(36), _fk("failure_patterns.id", "CASCADE"), index=True
    )
    session_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("sessions.id", "SET NULL"), index=True
    )
    infrastructure_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("infrastructure.id", "SET NULL"), index=True
    )
    command: Mapped[str] = mapped_column(Text)
    error_output: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(BigInteger)
    observed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The pattern already had an insight that had been shown or checked: a lesson not taken.
    is_repeat: Mapped[bool] = mapped_column(default=False)
    # The redaction rules its command and error output went through: rows of older rules
    # can be found and redacted again.
    redaction_version: Mapped[int] = mapped_column(default=REDACTION_VERSION, server_default="1")


class EnvironmentalInsight(TimestampMixin, Base):
    """Something learned about a client's environment, with its evidence and lifecycle."""

    __tablename__ = "environmental_insights"
    __table_args__ = (
        CheckConstraint(enum_check("insight_category", INSIGHT_CATEGORIES), name="category"),
        CheckConstraint(enum_check("confidence_level", CONFIDENCE_LEVELS), name="confidence"),
        CheckConstraint(enum_check("status", INSIGHT_STATUSES), name="status"),
        CheckConstraint("priority BETWEEN 1 AND 10", name="priority_range"),
        Index(None, "client_id"),
        Index(None, "infrastructure_id"),
        Index(None, "insight_category"),
        Index(None, "client_id", "command_key"),
        Index(None, "client_id", "infrastructure_id"),
        Index(None, "content_hash"),
    )

    id: Mapped[str] = uuid_pk()
    client_id: Mapped[str | None] = mapped_column(CHAR(36), _fk("clients.id", "CASCADE"))
    infrastructure_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("infrastructure.id", "CASCADE")
    )
    insight_category: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    # No selector is SQL NULL (none_as_null): a JSON 'null' cost a decode per briefed row.
    host_selector: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    confidence_level: Mapped[str] = mapped_column(String(20), default="suspected")
    priority: Mapped[int] = mapped_column(default=5)
    status: Mapped[str] = mapped_column(String(20), default="active")
    merged_into_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("environmental_insights.id", "SET NULL")
    )
    source_pattern_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("failure_patterns.id", "SET NULL"), index=True
    )
    verification_count: Mapped[int] = mapped_column(default=0)
    last_verified_at: Mapped[datetime | None]
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_to: Mapped[datetime | None]
    superseded_by_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("environmental_insights.id", "SET NULL")
    )
    # Exact-duplicate key: scope + category + normalised title/description.
    content_hash: Mapped[str | None] = mapped_column(CHAR(64))
    # A command shape this insight constrains (from its pattern or its "dont" example).
    command_key: Mapped[str | None] = mapped_column(String(500))
    support_count: Mapped[int] = mapped_column(default=0)
    counter_count: Mapped[int] = mapped_column(default=0)
    last_evidence_at: Mapped[datetime | None]
    surfaced_count: Mapped[int] = mapped_column(default=0)
    last_surfaced_at: Mapped[datetime | None]

    examples: Mapped[list[EnvironmentalExample]] = relationship(
        back_populates="insight", cascade="all, delete-orphan", passive_deletes=True
    )

    @hybrid_property
    def last_checked_at(self) -> datetime:
        """The newest of: verified, fresh evidence, or the start of its validity."""
        latest = self.valid_from
        for moment in (self.last_verified_at, self.last_evidence_at):
            if moment is not None and moment > latest:
                latest = moment
        return latest

    @last_checked_at.inplace.expression
    @classmethod
    def _last_checked_at_in_sql(cls) -> ColumnElement[datetime]:
        # One column instead of three for readers that rank many insights.
        return greatest(
            cls.valid_from,
            func.coalesce(cls.last_verified_at, cls.valid_from),
            func.coalesce(cls.last_evidence_at, cls.valid_from),
        )


class EnvironmentalExample(Base):
    """A concrete do / don't command for an insight."""

    __tablename__ = "environmental_examples"
    __table_args__ = (CheckConstraint(enum_check("kind", EXAMPLE_KINDS), name="kind"),)

    id: Mapped[str] = uuid_pk()
    insight_id: Mapped[str] = mapped_column(
        CHAR(36), _fk("environmental_insights.id", "CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    command: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str | None] = mapped_column(Text)
    # The redaction rules its command went through.
    redaction_version: Mapped[int] = mapped_column(default=REDACTION_VERSION, server_default="1")
    shell: Mapped[str | None] = mapped_column(String(50))
    infrastructure_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("infrastructure.id", "SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    insight: Mapped[EnvironmentalInsight] = relationship(back_populates="examples")


class InsightEvent(Base):
    """One change in an insight's history: who, what, why, and the evidence behind it."""

    __tablename__ = "insight_events"
    __table_args__ = (
        CheckConstraint(enum_check("event_type", INSIGHT_EVENT_TYPES), name="event_type"),
    )

    id: Mapped[str] = uuid_pk()
    insight_id: Mapped[str] = mapped_column(
        CHAR(36), _fk("environmental_insights.id", "CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    failure_occurrence_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("failure_occurrences.id", "SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CommandCheck(Base):
    """One pre-command check and, once reported, what the command then did."""

    __tablename__ = "command_checks"
    __table_args__ = (
        CheckConstraint(enum_check("verdict", CHECK_VERDICTS), name="verdict"),
        CheckConstraint(enum_check("outcome", CHECK_OUTCOMES), name="outcome"),
    )

    id: Mapped[str] = uuid_pk()
    client_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("clients.id", "CASCADE"), index=True
    )
    infrastructure_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("infrastructure.id", "CASCADE"), index=True
    )
    command: Mapped[str] = mapped_column(Text)
    command_key: Mapped[str | None] = mapped_column(String(500))
    verdict: Mapped[str] = mapped_column(String(10))
    # The redaction rules its command went through.
    redaction_version: Mapped[int] = mapped_column(default=REDACTION_VERSION, server_default="1")
    matched_pattern_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("failure_patterns.id", "SET NULL")
    )
    matched_insight_id: Mapped[str | None] = mapped_column(
        CHAR(36), _fk("environmental_insights.id", "SET NULL")
    )
    outcome: Mapped[str] = mapped_column(String(10), default="unknown")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome_at: Mapped[datetime | None]


class LearningMetric(TimestampMixin, Base):
    """A daily roll-up of what the system learned, per client (NULL = all clients)."""

    __tablename__ = "learning_metrics"
    __table_args__ = (UniqueConstraint("metric_date", "client_id"),)

    id: Mapped[str] = uuid_pk()
    metric_date: Mapped[date]
    client_id: Mapped[str | None] = mapped_column(CHAR(36), _fk("clients.id", "CASCADE"))
    failures_observed: Mapped[int] = mapped_column(default=0)
    patterns_new: Mapped[int] = mapped_column(default=0)
    insights_created: Mapped[int] = mapped_column(default=0)
    insights_confirmed: Mapped[int] = mapped_column(default=0)
    briefings_served: Mapped[int] = mapped_column(default=0)
    repeat_failures: Mapped[int] = mapped_column(default=0)
    checks_served: Mapped[int] = mapped_column(default=0)
    checks_flagged: Mapped[int] = mapped_column(default=0)
    checks_wrong: Mapped[int] = mapped_column(default=0)
    failures_prevented: Mapped[int] = mapped_column(default=0)
