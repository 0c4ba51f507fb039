"""Publishing a Zapier event: one outbox row per active subscription, in the caller's work."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import (
    ExternalIntegration,
    TicketLink,
    ZapierDelivery,
    ZapierSample,
    ZapierSubscription,
    new_id,
    utcnow,
)
from shared.models.zapier import ZAPIER_EVENTS
from shared.redaction import redact_json

# The backups service's notices (integration events of msp_backups) that are Zapier events.
BACKUP_NOTICES = ("backup_failed", "backup_verified")
# The TEXT columns hold 65,535 bytes: a body over this keeps the item's top-level scalars only.
MAX_BODY = 60_000
# A string longer than this in an item is cut: an item is a summary (a backup's error, a
# ticket's subject), and the body must fit its TEXT column with room to spare.
MAX_TEXT = 2000


def publish(
    session: Session, event: str, item: Mapping[str, Any], *, event_id: str | None = None
) -> None:
    """Add (not commit) `event` with `item` for every active subscription of it, and keep it
    as a recent sample; it is sent when the caller commits and a delivery run comes.

    The item is redacted like every audit record (a secret pasted into an error message is
    masked) and encoded once: that exact text is what is signed and sent on every attempt.
    `event_id` (default: a new one) is the item's `id`, for a caller that derives it."""
    if event not in ZAPIER_EVENTS:
        raise ValueError(f"no Zapier event called {event!r}")
    event_id, now = event_id or new_id(), utcnow()
    envelope = {
        "id": event_id,
        "event": event,
        "occurred_at": now.isoformat().replace("+00:00", "Z"),
        "data": _bounded(redact_json(dict(item))),
    }
    body = _encoded(envelope)
    if len(body) > MAX_BODY:  # only the item's top-level scalars, so the row always fits
        data = {key: _cut(value) for key, value in envelope["data"].items() if _scalar(value)}
        body = _encoded({**envelope, "data": {**data, "truncated": True}})
    session.add(ZapierSample(id=event_id, event=event, body=body, created_at=now))
    # No autoflush: the caller's rows are flushed by its own commit, where it expects a
    # duplicate (an idempotent replay, a second link) to be refused, not inside this query.
    with session.no_autoflush:
        subscription_ids = list(session.scalars(_active_subscriptions(event)))
    for subscription_id in subscription_ids:
        session.add(
            ZapierDelivery(
                subscription_id=subscription_id,
                event_id=event_id,
                event=event,
                body=body,
                next_attempt_at=now,
                created_at=now,
            )
        )


def _active_subscriptions(event: str) -> Any:
    return select(ZapierSubscription.id).where(
        ZapierSubscription.event == event, ZapierSubscription.is_active.is_(True)
    )


def _encoded(envelope: Mapping[str, Any]) -> str:
    return json.dumps(envelope, default=str, separators=(",", ":"), ensure_ascii=True)


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list | tuple)


def _cut(value: Any) -> Any:
    return value[:200] if isinstance(value, str) else value


def _bounded(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, dict):
        return {str(key)[:100]: _bounded(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_bounded(inner) for inner in value[:100]]
    return value


def publish_backup_notice(session: Session, row: ExternalIntegration) -> None:
    """Publish a backups notice (an integration event the backups service posted) when it is
    one of BACKUP_NOTICES; any other event is left alone. `row` is already redacted."""
    request = row.request_data or {}
    event = request.get("event")
    if row.integration_type != "msp_backups" or event not in BACKUP_NOTICES:
        return
    item = {
        "backup_id": row.external_id,
        "database": request.get("database"),
        "backup_type": request.get("backup_type"),
        "storage": request.get("storage"),
        "error": request.get("error") or None,
        "recorded_at": row.created_at or utcnow(),
    }
    publish(session, str(event), item)


def publish_ticket_link(session: Session, link: TicketLink) -> None:
    """Publish ticket_linked for a new link of a work session to a PSA ticket."""
    link.id = link.id or new_id()  # the row is not flushed yet: its id is made here
    item = {
        "link_id": link.id,
        "session_id": link.session_id,
        "client_id": link.client_id,
        "integration_type": link.integration_type,
        "ticket_id": link.ticket_id,
        "ticket_number": link.ticket_number,
        "ticket_subject": link.ticket_subject,
        "ticket_status": link.ticket_status,
        "ticket_url": link.ticket_url,
        "link_type": link.link_type,
        "linked_at": link.linked_at,
    }
    publish(session, "ticket_linked", item)
