"""Verification windows: an insight not verified or re-evidenced within its category's window
is flagged stale (never hidden)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from services.insights.knowledge.events import record_event
from services.insights.knowledge.facts import InsightFacts
from shared.models import EnvironmentalInsight, InsightEvent

WINDOW_DAYS = {
    "command_constraints": 180,
    "service_configuration": 90,
    "version_limitations": 90,
    "custom_installations": 180,
    "network_constraints": 30,
    "permissions": 60,
    "security": 30,
    "other": 90,
}
VERIFICATION_WINDOWS = {category: timedelta(days=days) for category, days in WINDOW_DAYS.items()}


# The API only takes instants before 2200, but rows written before it did may hold year 9999:
# their window end saturates here instead of overflowing on every read of the insight.
_LAST_INSTANT = datetime.max.replace(tzinfo=UTC)


def _window_end(checked: datetime, category: str) -> datetime:
    window = VERIFICATION_WINDOWS[category]
    return checked + window if checked <= _LAST_INSTANT - window else _LAST_INSTANT


def stale_after(checked: datetime, category: str, now: datetime) -> bool:
    """Past the category's window, counted from when the insight was last checked."""
    return now >= _window_end(checked, category)


def stale_since(insight: InsightFacts) -> datetime:
    """When the insight becomes (or became) stale."""
    return _window_end(insight.last_checked_at, insight.insight_category)


def is_stale(insight: InsightFacts, now: datetime) -> bool:
    """Past its category's verification window."""
    return stale_after(insight.last_checked_at, insight.insight_category, now)


def stale_filter(now: datetime) -> Any:
    """SQL: past its category's window, the same rule as stale_after (last_checked_at in SQL)."""
    return or_(
        *(
            and_(
                EnvironmentalInsight.insight_category == category,
                EnvironmentalInsight.last_checked_at <= now - window,
            )
            for category, window in VERIFICATION_WINDOWS.items()
        )
    )


def mark_stale_insights(*, session: Session, now: datetime) -> list[str]:
    """Record one marked_stale event per insight that went stale since it was last checked."""
    marked_since_checked = exists().where(
        InsightEvent.insight_id == EnvironmentalInsight.id,
        InsightEvent.event_type == "marked_stale",
        InsightEvent.created_at >= EnvironmentalInsight.last_checked_at,
    )
    query = select(EnvironmentalInsight).where(
        EnvironmentalInsight.status == "active",
        EnvironmentalInsight.valid_to.is_(None),
        stale_filter(now),
        ~marked_since_checked,  # one query, not one look-up per stale insight
    )
    marked = []
    for insight in session.scalars(query):
        record_event(
            session,
            insight,
            "marked_stale",
            actor="staleness-sweep",
            reason=f"not verified for {WINDOW_DAYS[insight.insight_category]} days "
            f"({insight.insight_category})",
            after={"stale_since": stale_since(insight)},
        )
        marked.append(insight.id)
    session.commit()
    return marked
