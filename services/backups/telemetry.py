"""Prometheus metrics of backup jobs: runs, duration, size, verification, running; closed labels."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from itertools import product
from typing import Any, ParamSpec, TypeVar

from prometheus_client import Counter, Gauge, Histogram

from services.backups.database_names import DatabaseNameRefused, check_database_name
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

# Each known label set exists at 0 from the process's start (preloaded, in the master's file of
# PROMETHEUS_MULTIPROC_DIR that every scrape sums): a counter's first increment is then a change
# increase() sees, where a series born at 1 would look unchanged to the alerts.
for _counter, _results in ((RUNS, RESULTS), (VERIFICATIONS, VERIFICATION_RESULTS)):
    for _labels in product(BACKUP_TYPES, _results):
        _counter.labels(*_labels)


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
