"""What an unsigned delivery may cost: a capped body, a per-address rate, a bounded stay on file."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from shared.errors import ServiceUnavailable
from shared.models import WebhookDelivery, utcnow
from shared.models.tickets import WEBHOOK_SOURCES
from shared.redaction import redact_text

WINDOW = timedelta(minutes=1)
# A delivery stored but never checked (its process died first) is closed after this long; the
# vendor got no answer, so it sends the delivery again.
ABANDONED_AFTER = timedelta(minutes=5)
PRUNE_BATCH = 500
NEVER_VERIFIED = (
    "never verified: the receiving process stopped before checking it "
    "(the vendor got no answer and retries)"
)


class TooManyUnsigned(ServiceUnavailable):
    """One address sent a vendor's URL more unsigned deliveries than the limit allows."""

    status, slug, title = 429, "too-many-requests", "Too many unsigned deliveries"


@dataclass(frozen=True)
class UnsignedLimits:
    """The WEBHOOK_UNSIGNED_PER_MINUTE, WEBHOOK_REJECTED_* settings of the running app."""

    per_minute: int = 30
    body_bytes: int = 4096
    retention: timedelta = timedelta(hours=72)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> UnsignedLimits:
        return cls(
            int(config.get("WEBHOOK_UNSIGNED_PER_MINUTE") or 30),
            int(config.get("WEBHOOK_REJECTED_BODY_BYTES") or 4096),
            timedelta(hours=int(config.get("WEBHOOK_REJECTED_RETENTION_HOURS") or 72)),
        )


def refuse_flood(
    *, session: Session, source: str, source_ip: str | None, limits: UnsignedLimits
) -> None:
    """429 before anything is written once this address's unsigned deliveries fill the window.

    Counted in the database, so the limit holds across workers and replicas; only deliveries
    that failed their check count, so a vendor that signs is never slowed by a forger."""
    recent = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.integration_type == source,
            _same_address(source_ip),
            WebhookDelivery.received_at >= utcnow() - WINDOW,
            WebhookDelivery.signature_valid.is_(False),
        )
        .limit(limits.per_minute)
        .subquery()
    )
    if (session.scalar(select(func.count()).select_from(recent)) or 0) >= limits.per_minute:
        raise TooManyUnsigned(
            f"more than {limits.per_minute} unsigned {source} deliveries a minute from this "
            "address; later ones are refused unread",
            retry_after=int(WINDOW.total_seconds()),
        )


def _same_address(source_ip: str | None) -> Any:
    if source_ip is None:
        return WebhookDelivery.source_ip.is_(None)
    return WebhookDelivery.source_ip == source_ip


@dataclass(frozen=True)
class KeptBody:
    """What is stored of a body not (yet) known to be signed: a redacted prefix, hash, length."""

    text: str
    sha256: str
    length: int


def kept_body(raw: bytes, limits: UnsignedLimits) -> KeptBody:
    """The first `body_bytes` of the body (cut on a character), secrets masked."""
    prefix = raw[: limits.body_bytes].decode("utf-8", errors="ignore")
    return KeptBody(redact_text(prefix), hashlib.sha256(raw).hexdigest(), len(raw))


def close_abandoned(*, session: Session, now: datetime | None = None) -> int:
    """Close deliveries left unverified by a process that died mid-check (terminal: rejected)."""
    now = now or utcnow()
    total = 0
    for source in WEBHOOK_SOURCES:
        result = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.integration_type == source,
                WebhookDelivery.delivery_id.startswith("pending:"),
                WebhookDelivery.received_at < now - ABANDONED_AFTER,
            )
            .values(
                delivery_id=func.concat("rejected:", WebhookDelivery.id),
                error=NEVER_VERIFIED,
                processed_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        total += result.rowcount or 0  # type: ignore[attr-defined]
    session.commit()
    return total


def prune_rejected(
    *, session: Session, limits: UnsignedLimits, source: str | None = None, batches: int = 0
) -> int:
    """Delete rejected deliveries older than the retention (one source or all), in batches that
    each commit; `batches` > 0 stops after that many (the cheap prune after a rejection)."""
    cutoff, total, done = utcnow() - limits.retention, 0, 0
    for kind in [source] if source else list(WEBHOOK_SOURCES):
        while not batches or done < batches:
            ids = _expired_rejected(session, kind, cutoff)
            if not ids:
                break
            session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
            session.commit()
            total, done = total + len(ids), done + 1
    return total


def _expired_rejected(session: Session, source: str, cutoff: datetime) -> list[str]:
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.integration_type == source,
                WebhookDelivery.delivery_id.startswith("rejected:"),
                WebhookDelivery.received_at < cutoff,
            )
            .limit(PRUNE_BATCH)
        )
    )
