"""Reading learning metrics: daily rows, totals and the rates they imply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.insights.metrics.rollup import RECOMPUTED
from shared.models import Client, LearningMetric
from shared.records import get_or_404

COUNTERS = (*RECOMPUTED, "briefings_served")


@dataclass(frozen=True)
class MetricsReport:
    """Daily rows for a client (or all clients), their totals and derived rates."""

    client_id: str | None
    since: date | None
    until: date | None
    days: list[LearningMetric]
    totals: dict[str, int]
    rates: dict[str, float | None]


def metrics_report(
    *,
    session: Session,
    client_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> MetricsReport:
    """Rows between since and until (inclusive) for one client or all clients."""
    query = select(LearningMetric).order_by(LearningMetric.metric_date)
    if client_id:
        get_or_404(session, Client, client_id, "client")
        query = query.where(LearningMetric.client_id == client_id)
    else:
        query = query.where(LearningMetric.client_id.is_(None))
    if since:
        query = query.where(LearningMetric.metric_date >= since)
    if until:
        query = query.where(LearningMetric.metric_date <= until)
    days = list(session.scalars(query))
    totals = {name: sum(getattr(day, name) for day in days) for name in COUNTERS}
    return MetricsReport(client_id, since, until, days, totals, _rates(totals))


def _rates(totals: dict[str, Any]) -> dict[str, float | None]:
    def ratio(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    flagged = totals["checks_flagged"]
    return {
        "repeat_failure_rate": ratio(totals["repeat_failures"], totals["failures_observed"]),
        "check_precision": ratio(flagged - totals["checks_wrong"], flagged),
        "prevention_rate": ratio(totals["failures_prevented"], flagged),
    }
