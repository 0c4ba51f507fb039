"""Backup metrics: the newest verified success read from backup_log at scrape time, closed labels."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from uuid import uuid4

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from sqlalchemy import delete
from sqlalchemy.orm import Session

from services.backups import telemetry
from shared.models import BackupLog, BackupSchedule
from shared.models.backups import BACKUP_TYPES
from tests.hostile import HOSTILE_STRINGS
from tests.integration.backups.backup_fixtures import take_backup


def _sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in an exposition, None when it is absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.startswith(name + "{") and _sorted_labels(series) == wanted:
            return float(value)
    return None


def _sorted_labels(series: str) -> str:
    inside = series[series.index("{") + 1 : -1]
    return ",".join(sorted(re.findall(r'\w+="[^"]*"', inside)))


@pytest.fixture
def committed(engine: object) -> Iterator[Session]:
    """A session whose rows are committed (the scrape reads on its own connection), then removed."""
    with Session(engine) as session:  # type: ignore[call-overload]
        yield session
        session.rollback()
        session.execute(delete(BackupLog).where(BackupLog.database_name.like("metricsdb%")))
        session.execute(
            delete(BackupSchedule).where(BackupSchedule.database_name.like("metricsdb%"))
        )
        session.commit()


def _schedule(session: Session, database: str, created: datetime, **values: object) -> str:
    schedule = BackupSchedule(
        name=f"metrics-{uuid4()}",
        cron_expression="0 3 * * *",
        database_name=database,
        created_at=created,
        **values,
    )
    session.add(schedule)
    session.commit()
    return schedule.id


def _log(
    session: Session, schedule_id: str, database: str, started: datetime, **values: str
) -> None:
    session.add(
        BackupLog(
            schedule_id=schedule_id,
            backup_type="daily",
            database_name=database,
            backup_started_at=started,
            **{"status": "succeeded", "verification_status": "passed", **values},
        )
    )
    session.commit()


def test_scrape_reads_the_newest_verified_success_of_each_schedule_from_the_database(
    app: Flask, committed: Session
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    database = f"metricsdb{uuid4().hex[:8]}"
    schedule_id = _schedule(committed, database, now - timedelta(days=10), backup_type="daily")
    _log(committed, schedule_id, database, now - timedelta(hours=30))
    _log(committed, schedule_id, database, now - timedelta(hours=5), verification_status="failed")
    _log(committed, schedule_id, database, now - timedelta(hours=2), status="failed")

    text = app.test_client().get("/metrics").get_data(as_text=True)

    labels = {"database": database, "schedule": "daily"}
    newest = (now - timedelta(hours=30)).timestamp()
    assert _sample(text, "backup_last_success_timestamp_seconds", **labels) == newest
    assert _sample(text, "backup_schedule_interval_seconds", **labels) == 86400
    created = (now - timedelta(days=10)).timestamp()
    assert _sample(text, "backup_schedule_created_timestamp_seconds", **labels) == created
    assert "metrics_database_read_ok 1.0" in text


def test_a_schedule_never_verified_has_an_interval_but_no_success(
    app: Flask, committed: Session
) -> None:
    database = f"metricsdb{uuid4().hex[:8]}"
    schedule_id = _schedule(
        committed, database, datetime(2026, 1, 1, tzinfo=UTC), backup_type="weekly"
    )
    _log(
        committed,
        schedule_id,
        database,
        datetime(2026, 1, 2, tzinfo=UTC),
        verification_status="failed",
    )

    text = app.test_client().get("/metrics").get_data(as_text=True)

    labels = {"database": database, "schedule": "weekly"}
    assert _sample(text, "backup_last_success_timestamp_seconds", **labels) is None
    assert _sample(text, "backup_schedule_interval_seconds", **labels) == 86400


CLOSED = {
    "schedule": set(BACKUP_TYPES) | {"other"},
    "result": {"succeeded", "failed", "passed", "skipped"},
}


@settings(max_examples=60, deadline=None)
@given(
    backup_type=st.one_of(
        st.sampled_from(HOSTILE_STRINGS), st.text(), st.sampled_from(BACKUP_TYPES)
    ),
    stored=st.integers(min_value=0, max_value=2**63),
    verified=st.booleans(),
)
def test_hostile_plans_leave_every_backup_label_in_its_closed_list(
    backup_type: str, stored: int, verified: bool
) -> None:
    plan = SimpleNamespace(backup_type=backup_type)
    telemetry.record_success(plan, stored, verified=verified)
    telemetry.record_failure(plan, dumped=verified)
    telemetry.counted_as_running(lambda *, plan: None)(plan=plan)

    for family in REGISTRY.collect():
        if not family.name.startswith("backup_"):
            continue
        for sample in family.samples:
            for name, value in sample.labels.items():
                if name in CLOSED:
                    assert value in CLOSED[name], (family.name, name, value[:40])


@given(name=st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text()))
def test_a_database_label_is_a_plain_database_name_or_other(name: str) -> None:
    label = telemetry.database_label(name)
    assert label == "other" or re.fullmatch(r"[A-Za-z0-9_$][A-Za-z0-9_$-]{0,63}", label)


def _counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_real_backup_is_counted_with_its_verification_size_and_time(
    make_backup_app: Callable[..., Flask], source_db: str, auth: Callable[..., dict[str, str]]
) -> None:
    client = make_backup_app(source_db).test_client()
    runs = _counted("backup_runs_total", schedule="manual", result="succeeded")
    passed = _counted("backup_verification_total", schedule="manual", result="passed")
    sized = _counted("backup_bytes_count", schedule="manual")
    timed = _counted("backup_duration_seconds_count", schedule="manual")

    done = take_backup(client, auth, verify="checksum")

    assert done["status"] == "succeeded", done
    assert _counted("backup_runs_total", schedule="manual", result="succeeded") == runs + 1
    assert _counted("backup_verification_total", schedule="manual", result="passed") == passed + 1
    assert _counted("backup_bytes_count", schedule="manual") == sized + 1
    assert _counted("backup_duration_seconds_count", schedule="manual") == timed + 1
    assert _counted("backup_running", schedule="manual") == 0
