"""Prometheus metrics of backups: runs, durations, sizes, verification, and the newest success."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.backups.database_names import DatabaseNameRefused, check_database_name
from services.backups.schedules.cron import interval
from shared.models import BackupLog, BackupSchedule
from shared.models.backups import BACKUP_TYPES

# Every label value comes from a closed list: a backup type outside BACKUP_TYPES, or a database
# name that is not a plain MariaDB name (a SQLite file path, anything option-shaped), is "other".
OTHER = "other"
RESULTS = ("succeeded", "failed")
VERIFICATION_RESULTS = ("passed", "failed", "skipped")

RUNS = Counter("backup_runs_total", "Backup jobs finished, by result", ["schedule", "result"])
DURATION = Histogram(
    "backup_duration_seconds",
    "Whole backup job time (dump, upload, verification)",
    ["schedule"],
    buckets=(1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 43200),
)
SIZE = Histogram(
    "backup_bytes",
    "Stored (compressed) size of each successful backup",
    ["schedule"],
    buckets=tuple(float(1 << shift) for shift in range(20, 42, 2)),  # 1 MiB .. 1 TiB
)
VERIFICATIONS = Counter(
    "backup_verification_total", "Backup verifications, by result", ["schedule", "result"]
)
RUNNING = Gauge(
    "backup_running",
    "Backup jobs running now, summed over live workers",
    ["schedule"],
    multiprocess_mode="livesum",
)


def schedule_label(backup_type: object) -> str:
    """The backup type when it is one of BACKUP_TYPES, else "other"."""
    return backup_type if isinstance(backup_type, str) and backup_type in BACKUP_TYPES else OTHER


def database_label(name: object) -> str:
    """A plain MariaDB database name as it is, anything else "other"."""
    try:
        return check_database_name(name)
    except DatabaseNameRefused:
        return OTHER


P = ParamSpec("P")
R = TypeVar("R")


def counted_as_running(job: Callable[P, R]) -> Callable[P, R]:
    """Count a backup job as running for its whole time, and time it (by its plan's type)."""

    @wraps(job)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        label = schedule_label(getattr(kwargs.get("plan"), "backup_type", None))
        started = time.perf_counter()
        RUNNING.labels(label).inc()
        try:
            return job(*args, **kwargs)
        finally:
            RUNNING.labels(label).dec()
            DURATION.labels(label).observe(time.perf_counter() - started)

    return run


def record_success(plan: Any, stored_bytes: int, verified: bool) -> None:
    """A backup recorded as succeeded: its size, and its verification (skipped when none)."""
    label = schedule_label(plan.backup_type)
    RUNS.labels(label, "succeeded").inc()
    SIZE.labels(label).observe(stored_bytes)
    VERIFICATIONS.labels(label, "passed" if verified else "skipped").inc()


def record_failure(plan: Any, dumped: bool) -> None:
    """A backup recorded as failed; one that had a dump failed at or after its verification."""
    label = schedule_label(plan.backup_type)
    RUNS.labels(label, "failed").inc()
    if dumped:
        VERIFICATIONS.labels(label, "failed").inc()


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
    latest = _newest_verified_success(session)
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


def _newest_verified_success(session: Session) -> dict[str, float]:
    query = (
        select(BackupLog.schedule_id, func.max(BackupLog.backup_started_at))
        .where(
            BackupLog.status == "succeeded",
            BackupLog.verification_status == "passed",
            BackupLog.schedule_id.is_not(None),
        )
        .group_by(BackupLog.schedule_id)
    )
    return {sid: _seconds(when) for sid, when in session.execute(query).all() if sid is not None}


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
