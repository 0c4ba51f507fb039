"""Tables of the integrations service for Zapier REST Hooks: subscriptions, outbox, samples."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CHAR,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, TimestampMixin, enum_check, utcnow, uuid_pk

# The events a Zap can start on; each is published by the module that knows it happened.
ZAPIER_EVENTS = (
    "backup_failed",
    "backup_verified",
    "client_backup_problem",
    "ticket_linked",
    "insight_confirmed",
    "check_blocked",
)
# pending: waiting for its next attempt; delivered: Zapier answered 2xx; gone: Zapier answered
# 410 (the subscription was deactivated with it); failed: out of attempts or refused by the
# outbound rules; cancelled: its subscription was removed before it went out.
DELIVERY_STATUSES = ("pending", "delivered", "gone", "failed", "cancelled")


class ZapierSubscription(TimestampMixin, Base):
    """One REST hook: Zapier asked to be told of `event` at `target_url` (MSP-wide, no client).

    The signing secret is sealed by the vault's envelope (a data key of its own, bound to the
    row, its version and its target URL): a URL changed behind the service no longer opens it."""

    __tablename__ = "zapier_subscriptions"
    __table_args__ = (
        CheckConstraint(enum_check("event", ZAPIER_EVENTS), name="event"),
        Index(None, "event", "is_active"),
    )

    id: Mapped[str] = uuid_pk()
    event: Mapped[str] = mapped_column(String(40))
    target_url: Mapped[str] = mapped_column(String(1000))
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_data_key: Mapped[bytes] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(default=1)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str | None] = mapped_column(String(100))
    deactivated_at: Mapped[datetime | None]
    # Why it stopped: "unsubscribed" (DELETE) or "gone" (Zapier answered 410).
    deactivated_reason: Mapped[str | None] = mapped_column(String(200))


class ZapierDelivery(Base):
    """One event to one subscription: the outbox row a delivery run claims, sends and retries.

    `body` is the exact JSON text that is signed and sent on every attempt (never re-encoded)."""

    __tablename__ = "zapier_deliveries"
    __table_args__ = (
        CheckConstraint(enum_check("status", DELIVERY_STATUSES), name="status"),
        CheckConstraint(enum_check("event", ZAPIER_EVENTS), name="event"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "subscription_id", "status"),
        Index(None, "created_at"),  # pruning finished rows by age
    )

    id: Mapped[str] = uuid_pk()
    subscription_id: Mapped[str] = mapped_column(
        CHAR(36), ForeignKey("zapier_subscriptions.id", ondelete="CASCADE")
    )
    # The published event's id: the same in every subscription's row and in the body, so a
    # receiver can drop a retried delivery it already took.
    event_id: Mapped[str] = mapped_column(CHAR(36))
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who holds the row while it is being sent: a run claims it by setting this with a
    # compare-and-set, so two runs never send the same row.
    claim: Mapped[str | None] = mapped_column(CHAR(36))
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class ZapierSample(Base):
    """A recent published item of an event: what `GET /v1/zapier/events/{event}` lists for
    Zapier's trigger setup and polling fallback (pruned to the newest few per event)."""

    __tablename__ = "zapier_samples"
    __table_args__ = (
        CheckConstraint(enum_check("event", ZAPIER_EVENTS), name="event"),
        Index(None, "event", "created_at"),
    )

    id: Mapped[str] = uuid_pk()  # the event id, as in the delivered body
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ZapierCursor(Base):
    """How far a poll of another service has read (for example insights' confirmations)."""

    __tablename__ = "zapier_cursors"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    position: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
