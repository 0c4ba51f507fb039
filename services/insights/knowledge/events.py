"""The history of an insight: one InsightEvent per change, with actor, reason and evidence."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.models import EnvironmentalInsight, InsightEvent

SYSTEM_ACTOR = "promotion-rules"


def record_event(
    session: Session,
    insight: EnvironmentalInsight,
    event_type: str,
    *,
    actor: str,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    occurrence_id: str | None = None,
) -> InsightEvent:
    """Append one event to the insight's history (flushed with the caller's commit)."""
    event = InsightEvent(
        insight_id=insight.id,
        event_type=event_type,
        actor=actor,
        reason=reason,
        before=_jsonable(before),
        after=_jsonable(after),
        failure_occurrence_id=occurrence_id,
    )
    session.add(event)
    return event


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}
