"""Prometheus metrics of insights: failures, patterns, checks, briefings, insights by confidence.

(Not services/insights/metrics/: that package is the learning-metrics resource of the API.)
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.models import EnvironmentalInsight
from shared.models.insights import CHECK_VERDICTS, CONFIDENCE_LEVELS, INSIGHT_STATUSES

OTHER = "other"

FAILURES_INGESTED = Counter(
    "insights_failures_ingested_total",
    "Failed commands ingested, by whether one repeated",
    ["repeat"],
)
PATTERNS_CREATED = Counter(
    "insights_patterns_created_total", "Failure patterns seen the first time"
)
CHECKS = Counter("insights_checks_total", "Command checks answered, by verdict", ["verdict"])
BRIEFINGS = Counter("insights_briefings_served_total", "Briefings served to an assistant")

# Each known label set exists at 0 from the start, so that increase() sees a counter's first
# increment (see services/backups/telemetry.py).
for _repeat in ("true", "false"):
    FAILURES_INGESTED.labels(_repeat)
for _verdict in CHECK_VERDICTS:
    CHECKS.labels(_verdict)


def _closed(value: object, allowed: tuple[str, ...]) -> str:
    return value if isinstance(value, str) and value in allowed else OTHER


def count_failure(*, new_pattern: bool, repeat: bool) -> None:
    """One failure stored; a repeat is a lesson not taken, a new pattern a first sighting."""
    FAILURES_INGESTED.labels("true" if repeat is True else "false").inc()
    if new_pattern is True:
        PATTERNS_CREATED.inc()


def count_check(verdict: str) -> None:
    """One command check answered, by its verdict (block, warn, ok)."""
    CHECKS.labels(_closed(verdict, CHECK_VERDICTS)).inc()


def count_briefing() -> None:
    """One briefing served (a look into the past with as_of is not one)."""
    BRIEFINGS.inc()


def insight_figures(session: Session) -> Iterable[Metric]:
    """Environmental insights by confidence and status, counted in the database at scrape time."""
    family = GaugeMetricFamily(
        "insights_environmental",
        "Environmental insights, by confidence and status",
        labels=["confidence", "status"],
    )
    counts = {(c, s): 0 for c in CONFIDENCE_LEVELS for s in INSIGHT_STATUSES}
    query = select(
        EnvironmentalInsight.confidence_level, EnvironmentalInsight.status, func.count()
    ).group_by(EnvironmentalInsight.confidence_level, EnvironmentalInsight.status)
    for confidence, status, count in session.execute(query).all():
        key = (_closed(confidence, CONFIDENCE_LEVELS), _closed(status, INSIGHT_STATUSES))
        counts[key] = counts.get(key, 0) + count
    for (confidence, status), count in sorted(counts.items()):
        family.add_metric([confidence, status], count)
    return [family]
