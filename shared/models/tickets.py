"""Tables of the integrations service for PSA tickets: session links and inbound webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.mysql import MEDIUMTEXT
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, TimestampMixin, enum_check, utcnow, uuid_pk

TICKET_SYSTEMS = ("syncro", "autotask", "connectwise")
LINK_TYPES = ("related", "resolves", "documents")
WEBHOOK_SOURCES = ("syncro", "autotask", "connectwise", "zapier")


class TicketLink(TimestampMixin, Base):
    """A work session linked to a ticket in a PSA."""

    __tablename__ = "ticket_links"
    __table_args__ = (
        UniqueConstraint("session_id", "integration_type", "ticket_id"),
        CheckConstraint(enum_check("integration_type", TICKET_SYSTEMS), name="integration_type"),
        CheckConstraint(enum_check("link_type", LINK_TYPES), name="link_type"),
        Index(None, "session_id"),
        Index(None, "client_id"),
        Index(None, "integration_type", "ticket_id"),
    )

    id: Mapped[str] = uuid_pk()
    session_id: Mapped[str | None] = mapped_column(
        CHAR(36), ForeignKey("sessions.id", ondelete="CASCADE")
    )
    client_id: Mapped[str | None] = mapped_column(
        CHAR(36), ForeignKey("clients.id", ondelete="SET NULL")
    )
    integration_type: Mapped[str] = mapped_column(String(20))
    ticket_id: Mapped[str] = mapped_column(String(100))
    ticket_number: Mapped[str | None] = mapped_column(String(100))
    ticket_subject: Mapped[str | None] = mapped_column(String(500))
    ticket_url: Mapped[str | None] = mapped_column(String(1000))
    ticket_status: Mapped[str | None] = mapped_column(String(100))
    link_type: Mapped[str] = mapped_column(String(20), default="related")
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_synced_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One inbound webhook delivery, stored raw before parsing; makes webhooks idempotent."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("integration_type", "delivery_id"),
        CheckConstraint(enum_check("integration_type", WEBHOOK_SOURCES), name="integration_type"),
        # The per-source rate limit counts a sender's recent unsigned deliveries through this.
        Index(None, "integration_type", "source_ip", "received_at"),
    )

    id: Mapped[str] = uuid_pk()
    integration_type: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[str] = mapped_column(String(255))
    signature_valid: Mapped[bool]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # MEDIUMTEXT on MariaDB: TEXT stops at 64 KiB and a delivery may be as large as a request.
    raw_body: Mapped[str | None] = mapped_column(
        Text().with_variant(MEDIUMTEXT(), "mysql", "mariadb")
    )
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # The whole body's SHA-256 and length: raw_body of an unsigned delivery keeps a prefix only.
    body_sha256: Mapped[str | None] = mapped_column(CHAR(64))
    body_bytes: Mapped[int | None]
    source_ip: Mapped[str | None] = mapped_column(String(45))
