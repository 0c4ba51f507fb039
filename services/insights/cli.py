"""Command line of the insights service: metric roll-up, staleness sweep, cross-client report,
expired Idempotency-Keys.

Run as `python -m services.insights.cli rollup-metrics --day 2026-11-24` (cron or a K8s CronJob).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import click
from sqlalchemy.orm import Session

from services.insights import config
from services.insights.knowledge.staleness import mark_stale_insights
from services.insights.metrics.rollup import rollup_day
from services.insights.tenancy_audit import cross_client_references
from shared.db import make_engine, make_session_factory
from shared.models.base import EARLIEST, LATEST
from shared.web.idempotency import purge_expired_keys


def _session() -> Session:
    settings = config.load()
    return make_session_factory(make_engine(settings["DATABASE_URL"]))()


@click.group()
def cli() -> None:
    """Insights maintenance commands."""


def _in_window(day: datetime | None) -> datetime | None:
    # The API's window: the day after 9999-12-31 does not exist, and rolling it up crashed.
    if day is not None and not EARLIEST.date() <= day.date() < LATEST.date():
        raise click.BadParameter(f"must be from {EARLIEST.date()} to before {LATEST.date()}")
    return day


@cli.command("rollup-metrics")
@click.option(
    "--day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    callback=lambda _ctx, _param, day: _in_window(day),
    help="UTC day to recompute (default: yesterday and today)",
)
def rollup_metrics(day: datetime | None) -> None:
    """Recompute learning_metrics rows from the raw rows (idempotent)."""
    today = datetime.now(UTC).date()
    days: list[date] = [day.date()] if day else [today - timedelta(days=1), today]
    with _session() as session:
        for one in days:
            rows = rollup_day(session=session, day=one)
            click.echo(f"{one}: {len(rows)} rows")


@cli.command("mark-stale")
def mark_stale() -> None:
    """Record a marked_stale event for every insight past its verification window."""
    with _session() as session:
        marked = mark_stale_insights(session=session, now=datetime.now(UTC))
    click.echo(f"{len(marked)} insights marked stale")


@cli.command("cross-client-report")
def cross_client_report() -> None:
    """List stored references across clients (made before the tenant rule); exit 1 if any."""
    with _session() as session:
        found = [str(crossing) for crossing in cross_client_references(session)]
    for line in found:
        click.echo(line)
    click.echo(f"{len(found)} cross-client references")
    if found:
        raise SystemExit(1)


@cli.command("purge-idempotency-keys")
def purge_idempotency_keys() -> None:
    """Delete Idempotency-Keys past their 24 hours (their requests may then run again)."""
    with _session() as session:
        purged = purge_expired_keys(session)
    click.echo(f"{purged} expired Idempotency-Keys deleted")


if __name__ == "__main__":
    cli()
