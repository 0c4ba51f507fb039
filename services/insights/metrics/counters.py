"""Live counters that cannot be recomputed from raw rows (briefings served)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.insights.knowledge.facts import InsightFacts
from shared.models import EnvironmentalInsight, LearningMetric
from shared.models.base import utcnow

SURFACE_WINDOW = timedelta(minutes=10)


def _briefing_upsert(dialect: str) -> Any:
    # The model's defaults fill the id, timestamps and the other counters of a new row.
    values = {
        "metric_date": bindparam("day"),
        "client_id": bindparam("client_id"),
        "briefings_served": 1,
    }
    bump = {"briefings_served": LearningMetric.briefings_served + 1, "updated_at": bindparam("now")}
    if dialect == "mysql":
        return mysql_insert(LearningMetric).values(values).on_duplicate_key_update(bump)
    return (
        sqlite_insert(LearningMetric)
        .values(values)
        .on_conflict_do_update(index_elements=["metric_date", "client_id"], set_=bump)
    )


# Built once: every briefing runs this, and rebuilding the statement cost more than running it.
_BRIEFING_UPSERTS = {dialect: _briefing_upsert(dialect) for dialect in ("mysql", "sqlite")}


def count_briefing(session: Session, client_id: str, day: date) -> None:
    """briefings_served += 1 on the client's row of the day, in one upsert statement."""
    statement = _BRIEFING_UPSERTS[session.get_bind().dialect.name]
    session.connection().execute(statement, {"day": day, "client_id": client_id, "now": utcnow()})


def mark_surfaced(session: Session, insights: Sequence[InsightFacts]) -> None:
    """These insights were shown: a later repeat of their failure is a lesson not taken.

    Counted at most once per SURFACE_WINDOW per insight: a hot insight shown by every
    briefing must not turn each read into a write on the same row.
    """
    cutoff = utcnow() - SURFACE_WINDOW
    insight_ids = sorted(
        i.id for i in insights if i.last_surfaced_at is None or i.last_surfaced_at < cutoff
    )
    if insight_ids:
        session.connection().execute(_SURFACED, {"ids": insight_ids, "now": utcnow()})


# Built once, run as a plain statement: no ORM object of these insights is loaded on the
# paths that call it, so there is nothing in the session to synchronise.
_SURFACED = (
    update(EnvironmentalInsight)
    .where(EnvironmentalInsight.id.in_(bindparam("ids", expanding=True)))
    .values(
        surfaced_count=EnvironmentalInsight.surfaced_count + 1, last_surfaced_at=bindparam("now")
    )
)
