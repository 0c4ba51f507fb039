"""Use cases of backup schedules: CRUD, run what is due exactly once, and find stale ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.backups.catalog.services import (
    create_backup,
    database_start_locks,
    refuse_overlap,
)
from services.backups.database_names import DatabaseNameRefused, check_database_name
from services.backups.jobs.runner import BackupPlan
from services.backups.runtime import BackupRuntime
from services.backups.schedules.cron import check_cron, check_timezone, interval, next_run
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.models import BackupLog, BackupSchedule, utcnow
from shared.pagination import Page, keyset_page

STALE_FACTOR = 1.5


def _check(data: dict[str, Any], schedule: BackupSchedule | None = None) -> None:
    errors: dict[str, list[str]] = {}
    for field, check in (("cron_expression", check_cron), ("timezone", check_timezone)):
        if field in data:
            try:
                check(data[field])
            except ValueError as exc:
                errors[field] = [str(exc)]
    if errors:
        raise ValidationFailed(errors)


def create_schedule(*, session: Session, data: dict[str, Any]) -> BackupSchedule:
    """A new schedule; its first run is the next cron time from now."""
    _check(data)
    schedule = BackupSchedule(**data)
    schedule.timezone = schedule.timezone or "UTC"
    schedule.next_run_at = next_run(schedule.cron_expression, schedule.timezone, utcnow())
    return _save(session, schedule)


def _save(session: Session, schedule: BackupSchedule) -> BackupSchedule:
    session.add(schedule)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"a schedule named {schedule.name!r} already exists") from None
    return schedule


def get_schedule(*, session: Session, schedule_id: str) -> BackupSchedule:
    """One schedule, or NotFound."""
    schedule = session.get(BackupSchedule, schedule_id)
    if schedule is None:
        raise NotFound("schedule", schedule_id)
    return schedule


def update_schedule(*, session: Session, schedule_id: str, data: dict[str, Any]) -> BackupSchedule:
    """Change fields; a new cron or time zone moves next_run_at."""
    schedule = get_schedule(session=session, schedule_id=schedule_id)
    _check(data)
    for key, value in data.items():
        setattr(schedule, key, value)
    if {"cron_expression", "timezone"} & data.keys():
        schedule.next_run_at = next_run(schedule.cron_expression, schedule.timezone, utcnow())
    return _save(session, schedule)


def delete_schedule(*, session: Session, schedule_id: str) -> None:
    """Remove the schedule; its backups stay (schedule_id becomes NULL)."""
    session.delete(get_schedule(session=session, schedule_id=schedule_id))
    session.commit()


def list_schedules(*, session: Session, cursor: str | None = None, limit: int = 50) -> Page[Any]:
    """Schedules by name."""
    return keyset_page(
        session=session,
        query=select(BackupSchedule),
        sort=BackupSchedule.name,
        tiebreak=BackupSchedule.id,
        cursor=cursor,
        limit=limit,
    )


@dataclass
class DueRuns:
    """What one run-due call did: the runs it started and the schedules left waiting."""

    plans: list[BackupPlan] = dataclass_field(default_factory=list)
    waiting: list[str] = dataclass_field(default_factory=list)


def claim_due(
    *, session: Session, runtime: BackupRuntime, now: datetime | None = None, limit: int = 10
) -> DueRuns:
    """Claim every due schedule once: rows locked FOR UPDATE SKIP LOCKED, next_run_at moved on.

    Several replicas may call at the same moment: a row another caller holds is skipped, and
    after its commit next_run_at is in the future, so each due run starts exactly once.
    Backups of one database never overlap: a schedule whose database already has a run in
    progress (or starting in this call or another caller's) stays due and waits.
    """
    now = now or utcnow()
    query = (
        select(BackupSchedule)
        .where(BackupSchedule.is_enabled.is_(True), BackupSchedule.next_run_at <= now)
        .order_by(BackupSchedule.next_run_at)
        .with_for_update(skip_locked=True)
    )
    due = DueRuns()
    starting: set[str] = set()
    with database_start_locks(session) as take_lock:
        for schedule in session.scalars(query).all():
            if len(due.plans) >= limit:
                break  # the rest stay due for the next call; waiting ones did not count
            database = schedule.database_name or runtime.default_database()
            if not _runnable(runtime, schedule, now):
                continue
            if not _may_start(session, runtime, database, starting, take_lock):
                due.waiting.append(schedule.id)
                continue
            due.plans.append(_start(session, runtime, schedule, now))
            starting.add(database)
        # Claims and their backup rows commit together, once: if anything fails midway,
        # every claim rolls back and the next caller takes them again, so no run is lost.
        session.commit()
    return due


def _runnable(runtime: BackupRuntime, schedule: BackupSchedule, now: datetime) -> bool:
    """False (and the schedule marked and moved on) when its settings cannot run here."""
    try:
        runtime.storage(schedule.storage or runtime.default_storage)
        if schedule.database_name is not None:  # a row stored before names were checked
            check_database_name(schedule.database_name)
    except (ValidationFailed, DatabaseNameRefused):
        # One misconfigured schedule (say s3 with no bucket) must not block the others.
        _move_on(schedule, now, "misconfigured")
        return False
    return True


def _may_start(
    session: Session,
    runtime: BackupRuntime,
    database: str,
    starting: set[str],
    take_lock: Callable[[str, float], bool],
) -> bool:
    if database in starting or not take_lock(database, 0):
        return False
    try:
        refuse_overlap(session=session, runtime=runtime, database=database)
    except Conflict:
        return False
    return True


def _move_on(schedule: BackupSchedule, now: datetime, status: str) -> None:
    schedule.last_run_at = now
    schedule.last_status = status
    schedule.next_run_at = next_run(schedule.cron_expression, schedule.timezone, now)


def _start(
    session: Session, runtime: BackupRuntime, schedule: BackupSchedule, now: datetime
) -> BackupPlan:
    _move_on(schedule, now, "started")
    data = {
        "backup_type": schedule.backup_type,
        "database": schedule.database_name,
        "storage": schedule.storage,
        "compression": schedule.compression,
        "verify": None if schedule.backup_type == "pre-migration" else schedule.verify_mode,
    }
    return create_backup(
        session=session, runtime=runtime, data=data, schedule_id=schedule.id, commit=False
    )[1]


def last_verified_success(session: Session) -> dict[str, datetime]:
    """schedule id -> start of its newest succeeded, verified backup."""
    query = (
        select(BackupLog.schedule_id, func.max(BackupLog.backup_started_at))
        .where(
            BackupLog.status == "succeeded",
            BackupLog.verification_status == "passed",
            BackupLog.schedule_id.is_not(None),
        )
        .group_by(BackupLog.schedule_id)
    )
    return {sid: when for sid, when in session.execute(query).all() if sid is not None}


def stale_schedules(*, session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    """Enabled schedules whose last verified success is older than 1.5 x their interval."""
    now = now or utcnow()
    latest = last_verified_success(session)
    found = []
    for schedule in session.scalars(select(BackupSchedule).where(BackupSchedule.is_enabled)):
        every = interval(schedule.cron_expression, schedule.timezone, now)
        last = latest.get(schedule.id)
        since = last or schedule.created_at
        if now - since > every * STALE_FACTOR:
            found.append(
                {
                    "schedule": schedule,
                    "last_verified_success_at": last,
                    "interval_seconds": every.total_seconds(),
                    "overdue_seconds": (now - since - every * STALE_FACTOR).total_seconds(),
                }
            )
    return found
