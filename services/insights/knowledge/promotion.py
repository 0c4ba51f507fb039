"""Promotion rules: a failure pattern seen repeatedly becomes an insight, and more evidence
strengthens it. Rules, not an LLM: zero tokens, one transaction."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.insights.failures.promotion_hook import Evidence, PromotionOutcome
from services.insights.knowledge.dedup import content_hash
from services.insights.knowledge.events import SYSTEM_ACTOR, record_event
from services.insights.knowledge.evidence import add_support, level_for
from services.insights.knowledge.failure_category import category_of_failure
from shared.models import EnvironmentalExample, EnvironmentalInsight

HOST_REPEATS = 2  # occurrences on one host -> host-level suspected insight
CLIENT_HOSTS = 3  # distinct hosts of a client -> client-level insight
PRIORITY_OF = {"blocking": 8, "major": 6, "minor": 4, "info": 2}


def apply_promotion_rules(session: Session, evidence: Evidence) -> PromotionOutcome | None:
    """Create, strengthen or reopen the insights that stand for this (known) pattern."""
    linked = _linked_insights(session, evidence)
    client_level = next((i for i in linked if i.infrastructure_id is None), None)
    host_level = next((i for i in linked if i.infrastructure_id == evidence.host.id), None)
    if client_level is None and evidence.pattern.host_count >= CLIENT_HOSTS:
        return _created(_create_from_pattern(session, evidence, client_level=True))
    if client_level is None and host_level is None and evidence.repeats_on_host >= HOST_REPEATS:
        return _created(_create_from_pattern(session, evidence, client_level=False))
    target = client_level or host_level
    return _strengthen(session, target, evidence) if target else None


def _created(insight: EnvironmentalInsight) -> PromotionOutcome:
    return PromotionOutcome(insight.id, "created", insight.confidence_level)


def _linked_insights(session: Session, evidence: Evidence) -> list[EnvironmentalInsight]:
    query = select(EnvironmentalInsight).where(
        EnvironmentalInsight.source_pattern_id == evidence.pattern.id,
        or_(
            EnvironmentalInsight.infrastructure_id == evidence.host.id,
            EnvironmentalInsight.infrastructure_id.is_(None),
        ),
        EnvironmentalInsight.status != "merged",
        EnvironmentalInsight.valid_to.is_(None),
    )
    return list(session.scalars(query.order_by(EnvironmentalInsight.created_at)))


def _strengthen(
    session: Session, insight: EnvironmentalInsight, evidence: Evidence
) -> PromotionOutcome:
    """More evidence for an existing insight; a resolved one that recurs is reopened."""
    action = "unchanged"
    if insight.status == "resolved":
        record_event(
            session,
            insight,
            "regressed",
            actor=SYSTEM_ACTOR,
            reason="the failure recurred after the insight was resolved",
            before={"status": "resolved"},
            after={"status": "active"},
            occurrence_id=evidence.occurrence.id,
        )
        insight.status = "active"
        action = "regressed"
    if evidence.independent:
        moved = add_support(
            session,
            insight,
            actor=SYSTEM_ACTOR,
            at=evidence.at,
            occurrence_id=evidence.occurrence.id,
            reason=_support_reason(evidence),
        )
        if moved:
            action = "confirmed" if moved == "confirmed" else "promoted"
        elif action == "unchanged":
            action = "strengthened"
    else:
        insight.last_evidence_at = max(filter(None, [insight.last_evidence_at, evidence.at]))
    return PromotionOutcome(insight.id, action, insight.confidence_level)


def _support_reason(evidence: Evidence) -> str:
    pattern = evidence.pattern
    return (
        f"pattern {pattern.id} seen again on {evidence.host.hostname}: "
        f"{pattern.occurrence_count} occurrences on {pattern.host_count} hosts in "
        f"{pattern.session_count} sessions"
    )


def _create_from_pattern(
    session: Session, evidence: Evidence, *, client_level: bool
) -> EnvironmentalInsight:
    pattern, host = evidence.pattern, evidence.host
    where = f"{pattern.host_count} hosts of this client" if client_level else host.hostname
    title = f"`{_short(pattern.sample_command, 200)}` fails on {where}"[:500]
    description = (
        f"Failed {pattern.occurrence_count} times (exit code {pattern.exit_code}): "
        f"{pattern.error_signature or 'no error text'}. "
        f"Last error: {_short(pattern.sample_error or '', 400)}"
    )
    insight = EnvironmentalInsight(
        client_id=host.client_id,
        infrastructure_id=None if client_level else host.id,
        insight_category=category_of_failure(pattern.error_signature, pattern.sample_error),
        title=title,
        description=description,
        priority=PRIORITY_OF[pattern.severity],
        source_pattern_id=pattern.id,
        command_key=pattern.command_key,
        # Each host the pattern failed on is independent evidence, as it would be for an
        # insight that already existed: a client-level insight starts with all of them.
        support_count=pattern.host_count if client_level else 1,
        counter_count=0,
        last_evidence_at=evidence.at,
        valid_from=pattern.first_seen_at,
    )
    insight.content_hash = content_hash(
        client_id=insight.client_id,
        infrastructure_id=insight.infrastructure_id,
        host_selector=None,
        category=insight.insight_category,
        title=title,
        description=description,
    )
    insight.examples.append(
        EnvironmentalExample(
            kind="dont",
            command=pattern.sample_command,
            infrastructure_id=host.id,
            explanation=f"failed with exit code {pattern.exit_code}",
            shell=host.shell_type,
        )
    )
    insight.confidence_level = level_for(insight)
    session.add(insight)
    session.flush()
    _record_creation(session, insight, evidence, client_level)
    return insight


def _record_creation(
    session: Session, insight: EnvironmentalInsight, evidence: Evidence, client_level: bool
) -> None:
    """The created event; one born confirmed by its evidence also counts as a confirmation."""
    after = {
        "confidence_level": insight.confidence_level,
        "support_count": insight.support_count,
        "insight_category": insight.insight_category,
        "scope": "client" if client_level else "host",
    }
    reason = _creation_reason(evidence, client_level)
    occurrence_id = evidence.occurrence.id
    record_event(
        session,
        insight,
        "created",
        actor=SYSTEM_ACTOR,
        reason=reason,
        after=after,
        occurrence_id=occurrence_id,
    )
    if insight.confidence_level == "confirmed":
        record_event(
            session,
            insight,
            "confirmed",
            actor=SYSTEM_ACTOR,
            reason=reason,
            after=after,
            occurrence_id=occurrence_id,
        )


def _creation_reason(evidence: Evidence, client_level: bool) -> str:
    pattern = evidence.pattern
    if client_level:
        return f"pattern {pattern.id} seen on {pattern.host_count} hosts of the client"
    return f"pattern {pattern.id} seen {evidence.repeats_on_host} times on {evidence.host.hostname}"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
