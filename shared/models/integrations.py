"""Tables of the integrations service: the credential vault, its audit chain, and the call log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, TimestampMixin, enum_check, utcnow, uuid_pk

INTEGRATION_TYPES = ("syncro", "autotask", "connectwise", "msp_backups", "zapier", "other")
CREDENTIAL_TYPES = ("oauth", "api_key", "basic_auth")
TEST_STATUSES = ("success", "failed", "never")
DIRECTIONS = ("inbound", "outbound")
INTEGRATION_ACTIONS = ("created", "updated", "linked", "attached", "fetched", "deleted", "tested")
AUDIT_CHAINS = 16
ACCESS_ACTIONS = (
    "created",
    "updated",
    "revealed",
    "used",
    "tested",
    "rotated",
    "rewrapped",
    "deleted",
)
# What became of the request: refusals (scope, a disabled credential, an older secret put back)
# are 'denied' or 'failed' rows with a reason, so every decision leaves a trace.
ACCESS_OUTCOMES = ("success", "failed", "denied", "invalid_grant")


class IntegrationCredential(TimestampMixin, Base):
    """The secrets for one outside system, each field sealed with AES-256-GCM."""

    __tablename__ = "integration_credentials"
    __table_args__ = (
        CheckConstraint(enum_check("integration_type", INTEGRATION_TYPES), name="integration_type"),
        CheckConstraint(enum_check("credential_type", CREDENTIAL_TYPES), name="credential_type"),
        CheckConstraint(enum_check("last_test_status", TEST_STATUSES), name="last_test_status"),
        Index(None, "kek_id"),
    )

    id: Mapped[str] = uuid_pk()
    integration_name: Mapped[str] = mapped_column(String(100), unique=True)
    integration_type: Mapped[str] = mapped_column(String(20))
    credential_type: Mapped[str] = mapped_column(String(20))
    api_url: Mapped[str | None] = mapped_column(String(500))
    # OAuth token endpoint used by the refresh broker (oauth credentials only).
    token_url: Mapped[str | None] = mapped_column(String(500))
    client_id: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(255))
    client_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    access_token_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    refresh_token_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    api_key_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    password_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    token_expires_at: Mapped[datetime | None]
    scopes: Mapped[list[str] | None] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(default=True)
    last_tested_at: Mapped[datetime | None]
    last_test_status: Mapped[str] = mapped_column(String(10), default="never")
    last_test_error: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    kek_id: Mapped[str] = mapped_column(String(100))
    wrapped_data_key: Mapped[bytes] = mapped_column(LargeBinary)


class CredentialAccessLog(Base):
    """Append-only, hash-chained audit of every read and change of a credential."""

    __tablename__ = "credential_access_log"
    __table_args__ = (
        CheckConstraint(enum_check("action", ACCESS_ACTIONS), name="action"),
        CheckConstraint(enum_check("outcome", ACCESS_OUTCOMES), name="outcome"),
        Index(None, "credential_id", "created_at"),
        # The reveal reads MAX(credential_version) of its credential through this index.
        Index(None, "credential_id", "credential_version"),
        Index(None, "created_at"),
        UniqueConstraint("chain", "seq"),
    )

    id: Mapped[str] = uuid_pk()
    # The log is AUDIT_CHAINS parallel hash chains (a credential always lands in the same one),
    # so concurrent reveals of different credentials do not queue on one tip lock.
    chain: Mapped[int] = mapped_column(SmallInteger)
    # Position in its chain; assigned under that chain's tip row lock, never reused.
    seq: Mapped[int] = mapped_column(BigInteger)
    credential_id: Mapped[str] = mapped_column(CHAR(36))
    credential_version: Mapped[int]
    action: Mapped[str] = mapped_column(String(20))
    fields: Mapped[list[str] | None] = mapped_column(JSON)
    actor_token_id: Mapped[str | None] = mapped_column(CHAR(36))
    on_behalf_of: Mapped[str | None] = mapped_column(String(255))
    purpose: Mapped[str | None] = mapped_column(String(500))
    request_id: Mapped[str | None] = mapped_column(String(100))
    source_ip: Mapped[str | None] = mapped_column(String(45))
    outcome: Mapped[str] = mapped_column(String(20))
    # Why a request was refused or failed (None for a success); hashed when present.
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(CHAR(64))
    row_hash: Mapped[str] = mapped_column(CHAR(64), unique=True)


class CredentialAuditHead(Base):
    """The tip of one access-log chain (id = chain number); locking it orders appends."""

    __tablename__ = "credential_audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(CHAR(64))
    # HMAC of (id, seq, last_hash) under the audit key: a head set back with SQL does not
    # verify. None only at position 0 (the migration cannot compute it, it has no key).
    mac: Mapped[str | None] = mapped_column(CHAR(64))


class ExternalIntegration(Base):
    """The audit trail of one interaction with an outside system, secrets redacted."""

    __tablename__ = "external_integrations"
    __table_args__ = (
        CheckConstraint(enum_check("integration_type", INTEGRATION_TYPES), name="integration_type"),
        CheckConstraint(enum_check("direction", DIRECTIONS), name="direction"),
        CheckConstraint(enum_check("action", INTEGRATION_ACTIONS), name="action"),
        Index(None, "session_id"),
        Index(None, "integration_type"),
        Index(None, "external_id"),
        Index(None, "created_at"),
        UniqueConstraint("idempotency_owner", "idempotency_key"),
    )

    id: Mapped[str] = uuid_pk()
    session_id: Mapped[str | None] = mapped_column(
        CHAR(36), ForeignKey("sessions.id", ondelete="SET NULL")
    )
    work_item_id: Mapped[str | None] = mapped_column(
        CHAR(36), ForeignKey("work_items.id", ondelete="SET NULL")
    )
    integration_type: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(255))
    external_url: Mapped[str | None] = mapped_column(String(1000))
    http_status: Mapped[int | None]
    request_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    response_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    duration_ms: Mapped[int | None]
    # A key belongs to the token that sent it: the same Idempotency-Key from two tokens is two
    # keys (unique together with idempotency_owner; '' for the service's own rows).
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    idempotency_owner: Mapped[str] = mapped_column(String(36), default="", server_default="")
    # SHA-256 of the redacted request, so a reused Idempotency-Key with another body is a 409.
    request_fingerprint: Mapped[str | None] = mapped_column(CHAR(64))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PsaRateWindow(Base):
    """Calls made to one vendor within one scope in one short bucket of time, shared by every
    worker and replica on the database (the client-side budgets of adapters/throttle.py).

    window_start -1 is the budget's lock row: taking it orders the check-and-count of every
    process, so two of them cannot both take the last call of a window.
    """

    __tablename__ = "psa_rate_windows"

    integration_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Whose budget: 'deployment' for Syncro, which counts per source address.
    scope: Mapped[str] = mapped_column(String(255), primary_key=True)
    # The bucket's start in milliseconds since the epoch (-1: the lock row).
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
