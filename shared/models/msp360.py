"""Tables of the integrations service for MSP360 (MSP Backups) client backup monitoring."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CHAR,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, TimestampMixin, enum_check, uuid_pk

# MSP360's monitoring `Status` codes, in code order (Success = 0 ... UnexpectedlyClosed = 6).
PLAN_STATUSES = (
    "Success",
    "Overdue",
    "Error",
    "Running",
    "Unknown",
    "Interrupted",
    "UnexpectedlyClosed",
)
# The states that open (or add a note to) a ticket; Success closes them.
PROBLEM_STATUSES = ("Error", "Overdue", "Interrupted", "UnexpectedlyClosed")
MAPPING_KINDS = ("company", "computer")
MAPPING_SOURCES = ("auto", "operator")
TICKET_STATES = ("pending", "open", "uncertain", "none", "failed")
PROBLEM_STATES = ("open", "closed")


class Msp360Mapping(TimestampMixin, Base):
    """An MSP360 company (-> client, and the PSA company its tickets go to) or computer
    (-> infrastructure row), matched by name or set by the operator."""

    __tablename__ = "msp360_mappings"
    __table_args__ = (
        CheckConstraint(enum_check("kind", MAPPING_KINDS), name="kind"),
        CheckConstraint(enum_check("source", MAPPING_SOURCES), name="source"),
        Index(None, "client_id"),
        Index(None, "kind", "company_name"),
    )

    id: Mapped[str] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(10))
    # SHA-256 of (kind, company, computer) folded to lower case: one row per name, whatever
    # the names' length (a unique key on two 255-character columns is too wide to be useful).
    name_key: Mapped[str] = mapped_column(CHAR(64), unique=True)
    company_name: Mapped[str] = mapped_column(String(255))
    computer_name: Mapped[str] = mapped_column(String(255), default="")
    client_id: Mapped[str | None] = mapped_column(
        CHAR(36), ForeignKey("clients.id", ondelete="SET NULL")
    )
    infrastructure_id: Mapped[str | None] = mapped_column(
        CHAR(36), ForeignKey("infrastructure.id", ondelete="SET NULL")
    )
    psa_type: Mapped[str | None] = mapped_column(String(20))
    psa_company_id: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(10), default="auto")
    last_seen_at: Mapped[datetime | None]


class Msp360Plan(TimestampMixin, Base):
    """The newest state of one backup plan on one computer, as the last sync saw it."""

    __tablename__ = "msp360_plans"
    __table_args__ = (
        CheckConstraint(enum_check("status", PLAN_STATUSES), name="status"),
        Index(None, "client_id", "status"),
        Index(None, "status"),
    )

    id: Mapped[str] = uuid_pk()
    # SHA-256 of (user id, computer, plan name): the identity of a plan across syncs.
    plan_key: Mapped[str] = mapped_column(CHAR(64), unique=True)
    msp360_user_id: Mapped[str] = mapped_column(String(100))
    user_name: Mapped[str | None] = mapped_column(String(255))
    company_name: Mapped[str] = mapped_column(String(255))
    computer_name: Mapped[str] = mapped_column(String(255))
    plan_name: Mapped[str] = mapped_column(String(255))
    plan_id: Mapped[str | None] = mapped_column(String(100))
    storage_type: Mapped[str | None] = mapped_column(String(100))
    build_version: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    error_message: Mapped[str | None] = mapped_column(Text)
    # MSP360 gives these without an offset; they are stored as given, read as UTC.
    last_start: Mapped[datetime | None]
    next_start: Mapped[datetime | None]
    files_copied: Mapped[int | None] = mapped_column(BigInteger)
    files_failed: Mapped[int | None] = mapped_column(BigInteger)
    data_copied_bytes: Mapped[int | None] = mapped_column(BigInteger)
    total_data_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration: Mapped[str | None] = mapped_column(String(100))
    client_id: Mapped[str | None] = mapped_column(
        CHAR(36), ForeignKey("clients.id", ondelete="SET NULL")
    )
    infrastructure_id: Mapped[str | None] = mapped_column(
        CHAR(36), ForeignKey("infrastructure.id", ondelete="SET NULL")
    )
    status_changed_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class Msp360Problem(TimestampMixin, Base):
    """One problem (Error, Overdue, ...) of one plan and the PSA ticket that tracks it.

    `open_key` is set only while the problem is open and is unique: two syncs that see the
    same failure at once cannot both open a ticket for it."""

    __tablename__ = "msp360_problems"
    __table_args__ = (
        CheckConstraint(enum_check("problem", PROBLEM_STATUSES), name="problem"),
        CheckConstraint(enum_check("state", PROBLEM_STATES), name="state"),
        CheckConstraint(enum_check("ticket_state", TICKET_STATES), name="ticket_state"),
        Index(None, "plan_id", "state"),
    )

    id: Mapped[str] = uuid_pk()
    plan_id: Mapped[str] = mapped_column(
        CHAR(36), ForeignKey("msp360_plans.id", ondelete="CASCADE")
    )
    problem: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), default="open")
    open_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    occurrences: Mapped[int] = mapped_column(default=1)
    psa_type: Mapped[str | None] = mapped_column(String(20))
    ticket_state: Mapped[str] = mapped_column(String(10), default="pending")
    ticket_id: Mapped[str | None] = mapped_column(String(100))
    ticket_number: Mapped[str | None] = mapped_column(String(100))
    ticket_url: Mapped[str | None] = mapped_column(String(1000))
    ticket_error: Mapped[str | None] = mapped_column(String(500))
    # The plan succeeded again but the ticket is not closed yet (the next sync retries).
    close_pending: Mapped[bool] = mapped_column(default=False)
    insight_id: Mapped[str | None] = mapped_column(CHAR(36))
    reported_occurrences: Mapped[int] = mapped_column(default=0)
    report_error: Mapped[str | None] = mapped_column(String(500))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
