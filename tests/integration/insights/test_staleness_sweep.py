"""The staleness sweep records one marked_stale event per insight that went stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.insights.cli import cli
from services.insights.knowledge.staleness import mark_stale_insights
from shared.models import Client, EnvironmentalInsight, InsightEvent
from tests.integration.insights.factories import unique


def _insight(session: Session, category: str, age_days: int) -> EnvironmentalInsight:
    client = Client(name=unique("sweep"))
    session.add(client)
    session.flush()
    insight = EnvironmentalInsight(
        client_id=client.id,
        insight_category=category,
        title=unique("t"),
        description="d",
        valid_from=datetime.now(UTC) - timedelta(days=age_days),
    )
    session.add(insight)
    session.flush()
    return insight


def test_the_sweep_marks_only_insights_past_their_window_and_only_once(db_session: Session) -> None:
    old_network = _insight(db_session, "network_constraints", 45)
    fresh_network = _insight(db_session, "network_constraints", 5)
    old_command = _insight(db_session, "command_constraints", 45)
    now = datetime.now(UTC)
    first = mark_stale_insights(session=db_session, now=now)
    assert old_network.id in first
    assert fresh_network.id not in first and old_command.id not in first
    assert old_network.id not in mark_stale_insights(session=db_session, now=now)
    events = db_session.scalars(
        select(InsightEvent).where(InsightEvent.insight_id == old_network.id)
    ).all()
    assert [(e.event_type, e.actor) for e in events] == [("marked_stale", "staleness-sweep")]


def test_the_cli_rolls_up_a_given_day(database_url: str) -> None:
    result = CliRunner().invoke(
        cli, ["rollup-metrics", "--day", "2026-01-15"], env={"DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output
    assert "2026-01-15" in result.output


def test_the_database_and_python_agree_on_when_an_insight_was_last_checked(
    db_session: Session,
) -> None:
    """Briefings read last_checked_at computed by MariaDB (GREATEST); everything else
    computes it in Python. Both must pick the newest of validity, verification, evidence."""
    now = datetime.now(UTC).replace(microsecond=0)
    moments = [
        (None, None),
        (now - timedelta(days=3), None),
        (None, now - timedelta(days=2)),
        (now - timedelta(days=1), now - timedelta(days=5)),
        (now - timedelta(days=40), now - timedelta(days=50)),  # both older than valid_from
    ]
    ids = []
    for verified, evidence in moments:
        insight = _insight(db_session, "other", age_days=30)
        insight.last_verified_at, insight.last_evidence_at = verified, evidence
        ids.append(insight.id)
    db_session.flush()
    computed = dict(
        db_session.execute(
            select(EnvironmentalInsight.id, EnvironmentalInsight.last_checked_at).where(
                EnvironmentalInsight.id.in_(ids)
            )
        ).all()
    )
    for insight in db_session.scalars(
        select(EnvironmentalInsight).where(EnvironmentalInsight.id.in_(ids))
    ):
        assert computed[insight.id] == insight.last_checked_at
    assert computed[ids[1]] == now - timedelta(days=3)
    assert computed[ids[2]] == now - timedelta(days=2)
    assert computed[ids[3]] == now - timedelta(days=1)
    assert computed[ids[4]] < now - timedelta(days=29)  # both older: valid_from stands
