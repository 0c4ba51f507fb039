"""An insight's history: every event, the insights merged into it, and the occurrences behind it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.insights.knowledge.services import get_insight
from shared.models import EnvironmentalInsight, FailureOccurrence, InsightEvent

MAX_OCCURRENCES = 200


@dataclass(frozen=True)
class InsightHistory:
    """The answer to "who changed this, why, and what evidence is it based on?"."""

    insight: EnvironmentalInsight
    events: list[InsightEvent]
    merged_from: list[str]
    supersedes: list[str]
    occurrences: list[FailureOccurrence]


def insight_history(*, session: Session, insight_id: str) -> InsightHistory:
    """Events (oldest first), provenance links and the newest occurrences behind the insight."""
    insight = get_insight(session=session, insight_id=insight_id)
    merged = list(
        session.scalars(
            select(EnvironmentalInsight).where(EnvironmentalInsight.merged_into_id == insight.id)
        )
    )
    supersedes = list(
        session.scalars(
            select(EnvironmentalInsight.id).where(
                EnvironmentalInsight.superseded_by_id == insight.id
            )
        )
    )
    events = list(
        session.scalars(
            select(InsightEvent)
            .where(InsightEvent.insight_id.in_([insight.id, *(m.id for m in merged)]))
            .order_by(InsightEvent.created_at, InsightEvent.id)
        )
    )
    patterns = {i.source_pattern_id for i in [insight, *merged] if i.source_pattern_id}
    occurrences = (
        list(
            session.scalars(
                select(FailureOccurrence)
                .where(FailureOccurrence.failure_pattern_id.in_(patterns))
                .order_by(FailureOccurrence.observed_at.desc())
                .limit(MAX_OCCURRENCES)
            )
        )
        if patterns
        else []
    )
    return InsightHistory(insight, events, [m.id for m in merged], supersedes, occurrences)
