"""Confidence from evidence: suspected -> likely -> confirmed on independent support, back on
counter-evidence. Every transition is an event with its reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from services.insights.knowledge.events import record_event
from shared.models import EnvironmentalInsight

LEVELS = ("suspected", "likely", "confirmed")
LIKELY_AT = 2  # independent supports (distinct hosts or sessions) to become likely
CONFIRMED_AT = 4  # ... and confirmed without a human


def beta_score(insight: EnvironmentalInsight) -> float:
    """Mean of Beta(1 + support, 1 + counter): how much the evidence backs the insight."""
    return (1 + insight.support_count) / (2 + insight.support_count + insight.counter_count)


def add_support(
    session: Session,
    insight: EnvironmentalInsight,
    *,
    actor: str,
    reason: str,
    at: datetime,
    occurrence_id: str | None = None,
) -> str | None:
    """One more independent piece of evidence; returns the new level if it moved."""
    insight.support_count += 1
    insight.last_evidence_at = max(filter(None, [insight.last_evidence_at, at]))
    target = level_for(insight)
    if LEVELS.index(target) <= LEVELS.index(insight.confidence_level):
        return None
    return _move(session, insight, target, actor=actor, reason=reason, occurrence_id=occurrence_id)


def add_counter_evidence(
    session: Session,
    insight: EnvironmentalInsight,
    *,
    actor: str,
    reason: str,
    occurrence_id: str | None = None,
) -> str:
    """Counter-evidence (the command later succeeded there): one level down, never deleted."""
    insight.counter_count += 1
    index = LEVELS.index(insight.confidence_level)
    target = LEVELS[max(0, index - 1)]
    before = {
        "confidence_level": insight.confidence_level,
        "counter_count": insight.counter_count - 1,
    }
    insight.confidence_level = target
    record_event(
        session,
        insight,
        "contradicted",
        actor=actor,
        reason=reason,
        before=before,
        after={"confidence_level": target, "counter_count": insight.counter_count},
        occurrence_id=occurrence_id,
    )
    return target


def confirm(
    session: Session, insight: EnvironmentalInsight, *, actor: str, reason: str | None, at: datetime
) -> None:
    """Explicit confirmation by a person: confirmed at once, verified now."""
    before = {
        "confidence_level": insight.confidence_level,
        "verification_count": insight.verification_count,
    }
    insight.verification_count += 1
    insight.support_count += 1
    insight.last_verified_at = at
    insight.last_evidence_at = at
    insight.confidence_level = "confirmed"
    record_event(
        session,
        insight,
        "confirmed",
        actor=actor,
        reason=reason,
        before=before,
        after={"confidence_level": "confirmed", "verification_count": insight.verification_count},
    )


def level_for(insight: EnvironmentalInsight) -> str:
    """The level the insight's net independent support earns."""
    net = insight.support_count - insight.counter_count
    if net >= CONFIRMED_AT:
        return "confirmed"
    return "likely" if net >= LIKELY_AT else "suspected"


def _move(
    session: Session,
    insight: EnvironmentalInsight,
    target: str,
    *,
    actor: str,
    reason: str,
    occurrence_id: str | None,
) -> str:
    before = {"confidence_level": insight.confidence_level}
    insight.confidence_level = target
    # Reaching "confirmed" by evidence counts as a confirmation in the metrics.
    event_type = "confirmed" if target == "confirmed" else "promoted"
    record_event(
        session,
        insight,
        event_type,
        actor=actor,
        reason=reason,
        before=before,
        after={"confidence_level": target, "support_count": insight.support_count},
        occurrence_id=occurrence_id,
    )
    return target
