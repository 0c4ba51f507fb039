"""Verification windows: an insight not verified or re-evidenced within its category's window
is flagged stale (never hidden)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
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


def last_checked(insight: InsightFacts) -> datetime:
    """The newest of: verified, fresh evidence, or the start of its validity."""
    return insight.last_checked_at


def stale_after(checked: datetime, category: str, now: datetime) -> bool:
    """Past the category's window, counted from when the insight was last checked."""
    return now >= checked + VERIFICATION_WINDOWS[category]


def stale_since(insight: InsightFacts) -> datetime:
    """When the insight becomes (or became) stale."""
    return last_checked(insight) + VERIFICATION_WINDOWS[insight.insight_category]


def is_stale(insight: InsightFacts, now: datetime) -> bool:
    """Past its category's verification window."""
    return stale_after(last_checked(insight), insight.insight_category, now)


def stale_filter(now: datetime) -> Any:
    """SQL: past its category's window (the newest of verified/evidence/valid_from is older)."""
    clauses = []
    for category, days in WINDOW_DAYS.items():
        cutoff = now - timedelta(days=days)
        clauses.append(
            and_(
                EnvironmentalInsight.insight_category == category,
                EnvironmentalInsight.valid_from < cutoff,
                or_(
                    EnvironmentalInsight.last_verified_at.is_(None),
                    EnvironmentalInsight.last_verified_at < cutoff,
                ),
                or_(
                    EnvironmentalInsight.last_evidence_at.is_(None),
                    EnvironmentalInsight.last_evidence_at < cutoff,
                ),
            )
        )
    return or_(*clauses)


def mark_stale_insights(*, session: Session, now: datetime) -> list[str]:
    """Record one marked_stale event per insight that went stale since it was last checked."""
    query = select(EnvironmentalInsight).where(
        EnvironmentalInsight.status == "active",
        EnvironmentalInsight.valid_to.is_(None),
        stale_filter(now),
    )
    marked = []
    for insight in session.scalars(query):
        already = session.scalar(
            select(InsightEvent.id)
            .where(
                InsightEvent.insight_id == insight.id,
                InsightEvent.event_type == "marked_stale",
                InsightEvent.created_at >= last_checked(insight),
            )
            .limit(1)
        )
        if already is None:
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
