"""Backup figures read from the database at each scrape: newest verified success per schedule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.backups.schedules.cron import interval
from services.backups.schedules.services import last_verified_success
from services.backups.telemetry import database_label, schedule_label
from shared.models import BackupSchedule


@dataclass
class _Group:
    interval_seconds: float
    created: float
    last_success: float | None


def schedule_figures(session: Session, *, default_database: str) -> Iterable[Metric]:
    """Per database and backup type of the enabled schedules: the newest verified success,
    the schedule interval and when the schedule was made, read from backup_log now.

    Read at scrape time, not counted per process: the history is the same for every worker
    and replica, and survives their restarts. Two schedules of one database and type are one
    series: the newest success of either, the longer interval, the earlier creation.
    """
    now = datetime.now(UTC)
    latest = {sid: _seconds(when) for sid, when in last_verified_success(session).items()}
    groups: dict[tuple[str, str], _Group] = {}
    for schedule in session.scalars(select(BackupSchedule).where(BackupSchedule.is_enabled)):
        key = (
            database_label(schedule.database_name or default_database),
            schedule_label(schedule.backup_type),
        )
        every = interval(schedule.cron_expression, schedule.timezone, now).total_seconds()
        created = _seconds(schedule.created_at)
        success = latest.get(schedule.id)
        group = groups.setdefault(key, _Group(every, created, success))
        group.interval_seconds = max(group.interval_seconds, every)
        group.created = min(group.created, created)
        if success is not None and (group.last_success or 0) < success:
            group.last_success = success
    return _families(groups)


def _seconds(moment: datetime) -> float:
    # Stored naive in UTC (MariaDB DATETIME); a SQLite row may come back aware.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.timestamp()


def _families(groups: dict[tuple[str, str], _Group]) -> list[Metric]:
    labels = ["database", "schedule"]
    success = GaugeMetricFamily(
        "backup_last_success_timestamp_seconds",
        "Start of the newest succeeded and verified backup of the schedules",
        labels=labels,
    )
    every = GaugeMetricFamily(
        "backup_schedule_interval_seconds", "Time between two runs of the schedule", labels=labels
    )
    created = GaugeMetricFamily(
        "backup_schedule_created_timestamp_seconds", "When the schedule was made", labels=labels
    )
    for key, group in sorted(groups.items()):
        every.add_metric(list(key), group.interval_seconds)
        created.add_metric(list(key), group.created)
        if group.last_success is not None:
            success.add_metric(list(key), group.last_success)
    return [success, every, created]
