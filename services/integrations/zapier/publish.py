"""Publishing a Zapier event: one outbox row per active subscription, in the caller's work."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import ZapierDelivery, ZapierSample, ZapierSubscription, new_id, utcnow
from shared.models.zapier import ZAPIER_EVENTS
from shared.redaction import redact_json

# A string longer than this in an item is cut: an item is a summary (a backup's error, a
# ticket's subject), and the body must fit its TEXT column with room to spare.
MAX_TEXT = 2000


def publish(session: Session, event: str, item: Mapping[str, Any]) -> None:
    """Add (not commit) `event` with `item` for every active subscription of it, and keep it
    as a recent sample; it is sent when the caller commits and a delivery run comes.

    The item is redacted like every audit record (a secret pasted into an error message is
    masked) and encoded once: that exact text is what is signed and sent on every attempt."""
    if event not in ZAPIER_EVENTS:
        raise ValueError(f"no Zapier event called {event!r}")
    event_id, now = new_id(), utcnow()
    envelope = {
        "id": event_id,
        "event": event,
        "occurred_at": now.isoformat().replace("+00:00", "Z"),
        "data": _bounded(redact_json(dict(item))),
    }
    body = json.dumps(envelope, default=str, separators=(",", ":"), ensure_ascii=True)
    session.add(ZapierSample(id=event_id, event=event, body=body, created_at=now))
    for subscription_id in session.scalars(_active_subscriptions(event)):
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


def _bounded(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, dict):
        return {str(key)[:100]: _bounded(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_bounded(inner) for inner in value[:100]]
    return value
