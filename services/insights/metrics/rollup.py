"""Daily roll-up of what the system learned, per client and for all clients (client_id NULL)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Exists, and_, case, func, or_, select
from sqlalchemy.orm import Session

from shared.models import (
    CommandCheck,
    EnvironmentalInsight,
    FailureOccurrence,
    FailurePattern,
    InsightEvent,
    LearningMetric,
)

RECOMPUTED = (
    "failures_observed",
    "patterns_new",
    "insights_created",
    "insights_confirmed",
    "repeat_failures",
    "checks_served",
    "checks_flagged",
    "checks_wrong",
    "failures_prevented",
)
Counts = dict[str | None, dict[str, int]]


def rollup_day(*, session: Session, day: date) -> list[LearningMetric]:
    """Recompute the day's rows from raw data (idempotent); briefings_served is kept."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    end = start + timedelta(days=1)
    counts: Counts = defaultdict(lambda: dict.fromkeys(RECOMPUTED, 0))
    for collect in (_failures, _patterns, _events, _checks):
        for client_id, values in collect(session, start, end):
            counts[client_id].update({k: int(v or 0) for k, v in values.items()})
    rows = [
        _upsert(session, day, client_id, values)
        for client_id, values in counts.items()
        if client_id is not None
    ]
    # Global insights belong to no client: they count only in the all-clients row.
    rows.append(_all_clients(session, day, counts.get(None, {})))
    session.commit()
    return rows


def _failures(session: Session, start: datetime, end: datetime) -> list[tuple[Any, dict[str, Any]]]:
    query = (
        select(
            FailurePattern.client_id,
            func.count(),
            func.sum(case((FailureOccurrence.is_repeat.is_(True), 1), else_=0)),
        )
        .join(FailurePattern, FailurePattern.id == FailureOccurrence.failure_pattern_id)
        .where(FailureOccurrence.observed_at >= start, FailureOccurrence.observed_at < end)
        .group_by(FailurePattern.client_id)
    )
    return [
        (c, {"failures_observed": n, "repeat_failures": r}) for c, n, r in session.execute(query)
    ]


def _patterns(session: Session, start: datetime, end: datetime) -> list[tuple[Any, dict[str, Any]]]:
    query = (
        select(FailurePattern.client_id, func.count())
        .where(FailurePattern.first_seen_at >= start, FailurePattern.first_seen_at < end)
        .group_by(FailurePattern.client_id)
    )
    return [(c, {"patterns_new": n}) for c, n in session.execute(query)]


def _events(session: Session, start: datetime, end: datetime) -> list[tuple[Any, dict[str, Any]]]:
    kind = InsightEvent.event_type
    query = (
        select(
            EnvironmentalInsight.client_id,
            func.sum(case((kind == "created", 1), else_=0)),
            func.sum(case((kind == "confirmed", 1), else_=0)),
        )
        .join(EnvironmentalInsight, EnvironmentalInsight.id == InsightEvent.insight_id)
        .where(
            InsightEvent.created_at >= start,
            InsightEvent.created_at < end,
            kind.in_(["created", "confirmed"]),
        )
        .group_by(EnvironmentalInsight.client_id)
    )
    return [
        (c, {"insights_created": n, "insights_confirmed": k}) for c, n, k in session.execute(query)
    ]


def _checks(session: Session, start: datetime, end: datetime) -> list[tuple[Any, dict[str, Any]]]:
    flagged = CommandCheck.verdict != "ok"
    prevented = and_(
        flagged,
        CommandCheck.outcome != "failed",
        CommandCheck.outcome != "succeeded",
        ~_failed_after(),
    )
    query = (
        select(
            CommandCheck.client_id,
            func.count(),
            func.sum(case((flagged, 1), else_=0)),
            func.sum(case((and_(flagged, CommandCheck.outcome == "succeeded"), 1), else_=0)),
            func.sum(case((prevented, 1), else_=0)),
        )
        .where(CommandCheck.created_at >= start, CommandCheck.created_at < end)
        .group_by(CommandCheck.client_id)
    )
    return [
        (c, {"checks_served": n, "checks_flagged": f, "checks_wrong": w, "failures_prevented": p})
        for c, n, f, w, p in session.execute(query)
    ]


def _failed_after() -> Exists:
    """The command a check was about failed on its host after it: the check's own pattern, or
    a pattern of its command shape in its client, recurred there.

    Correlated with the counted check explicitly: left to auto-correlation, the inner pattern
    lookup read every check's command key, so one check's failure counted against them all.
    """
    pattern = FailurePattern.id == FailureOccurrence.failure_pattern_id
    same_command = or_(
        FailureOccurrence.failure_pattern_id == CommandCheck.matched_pattern_id,
        and_(
            FailurePattern.client_id == CommandCheck.client_id,
            FailurePattern.command_key == CommandCheck.command_key,
        ),
    )
    return (
        select(FailureOccurrence.id)
        .join(FailurePattern, pattern)
        .where(
            FailureOccurrence.infrastructure_id == CommandCheck.infrastructure_id,
            FailureOccurrence.observed_at >= CommandCheck.created_at,
            same_command,
        )
        .correlate(CommandCheck)
        .exists()
    )


def _row(session: Session, day: date, client_id: str | None) -> LearningMetric:
    found = session.scalar(
        select(LearningMetric).where(
            LearningMetric.metric_date == day,
            LearningMetric.client_id == client_id
            if client_id
            else LearningMetric.client_id.is_(None),
        )
    )
    if found is None:
        found = LearningMetric(
            metric_date=day, client_id=client_id, briefings_served=0, **dict.fromkeys(RECOMPUTED, 0)
        )
        session.add(found)
    return found


def _upsert(session: Session, day: date, client_id: str, values: dict[str, int]) -> LearningMetric:
    row = _row(session, day, client_id)
    for name, value in values.items():
        setattr(row, name, value)
    return row


def _all_clients(session: Session, day: date, global_only: dict[str, int]) -> LearningMetric:
    """The NULL-client row: every client's row of the day summed (briefings included), plus
    what happened to global insights, which have no client row."""
    session.flush()
    every = list(
        session.scalars(
            select(LearningMetric).where(
                LearningMetric.metric_date == day, LearningMetric.client_id.is_not(None)
            )
        )
    )
    total = _row(session, day, None)
    for name in (*RECOMPUTED, "briefings_served"):
        setattr(total, name, sum(getattr(r, name) for r in every) + global_only.get(name, 0))
    return total
