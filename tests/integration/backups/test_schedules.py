"""Schedules: CRUD, run-due exactly once under concurrent callers, retention, staleness."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, update

from services.backups.adapters.storage import LocalStorage, StorageError
from services.backups.retention import prune as retention_job
from services.backups.schedules.services import claim_due
from shared.models import BackupLog, BackupSchedule
from tests.integration.backups.backup_fixtures import AppFactory, wait_for_backup


@pytest.fixture
def app(make_backup_app: AppFactory, source_db: str) -> Iterator[Flask]:
    app = make_backup_app(source_db)
    yield app
    with app.extensions["session_factory"]() as session:  # schedules are shared rows: clean up
        session.execute(delete(BackupSchedule).where(BackupSchedule.name.like("t-%")))
        session.commit()


def _schedule(client: Any, auth: Callable[..., dict[str, str]], **fields: Any) -> dict[str, Any]:
    body = {"name": f"t-{uuid.uuid4().hex[:8]}", "cron_expression": "0 3 * * *", **fields}
    answer = client.post("/v1/schedules", json=body, headers=auth("backups:run"))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _make_due(app: Flask, *schedule_ids: str, back: timedelta = timedelta(minutes=1)) -> None:
    with app.extensions["session_factory"]() as session:
        session.execute(
            update(BackupSchedule)
            .where(BackupSchedule.id.in_(schedule_ids))
            .values(next_run_at=datetime.now(UTC) - back)
        )
        session.commit()


def test_a_schedule_runs_next_at_its_cron_time_in_its_time_zone(
    app: Flask, auth: Callable[..., dict[str, str]]
) -> None:
    created = _schedule(
        app.test_client(), auth, cron_expression="30 2 * * *", timezone="Asia/Kolkata"
    )
    next_run = datetime.fromisoformat(created["next_run_at"])
    local = next_run.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Kolkata"))
    assert (local.hour, local.minute) == (2, 30)
    assert next_run > datetime.now(UTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cron_expression", "not cron"),
        ("cron_expression", "61 * * * *"),
        ("timezone", "Mars/Olympus"),
        ("keep_daily", -1),
        ("storage", "ftp"),
        ("verify_mode", "maybe"),
        ("backup_type", "hourly"),
    ],
)
def test_bad_schedule_fields_are_422(
    app: Flask, auth: Callable[..., dict[str, str]], field: str, value: Any
) -> None:
    body = {"name": "t-bad", "cron_expression": "0 3 * * *", field: value}
    answer = app.test_client().post("/v1/schedules", json=body, headers=auth("backups:run"))
    assert answer.status_code == 422
    assert field in answer.get_json()["errors"]


def test_schedule_names_are_unique(app: Flask, auth: Callable[..., dict[str, str]]) -> None:
    client = app.test_client()
    first = _schedule(client, auth)
    again = client.post(
        "/v1/schedules",
        json={"name": first["name"], "cron_expression": "0 1 * * *"},
        headers=auth("backups:run"),
    )
    assert again.status_code == 409


def test_a_schedule_can_be_read_changed_and_deleted(
    app: Flask, auth: Callable[..., dict[str, str]]
) -> None:
    client = app.test_client()
    created = _schedule(client, auth)
    changed = client.patch(
        f"/v1/schedules/{created['id']}",
        json={"cron_expression": "0 5 * * *", "keep_daily": 2},
        headers=auth("backups:run"),
    ).get_json()
    assert changed["keep_daily"] == 2
    assert changed["keep_weekly"] == created["keep_weekly"]
    assert changed["next_run_at"] != created["next_run_at"]
    assert (
        client.get(f"/v1/schedules/{created['id']}", headers=auth("backups:read")).status_code
        == 200
    )
    assert (
        client.delete(f"/v1/schedules/{created['id']}", headers=auth("backups:run")).status_code
        == 204
    )
    assert (
        client.get(f"/v1/schedules/{created['id']}", headers=auth("backups:read")).status_code
        == 404
    )


def _claim_concurrently(app: Flask, callers: int = 4) -> tuple[list[str], list[str]]:
    """claim_due from several threads at the same moment -> (schedule ids started, waiting)."""
    runtime = app.extensions["backups_runtime"]
    barrier = threading.Barrier(callers)
    started: list[str] = []
    waiting: list[str] = []
    lock = threading.Lock()

    def caller() -> None:
        with app.extensions["session_factory"]() as session:
            barrier.wait()
            due = claim_due(session=session, runtime=runtime)
        with lock:
            started.extend(str(plan.schedule_id) for plan in due.plans)
            waiting.extend(due.waiting)

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return started, waiting


def _forget_runs(app: Flask, ids: list[str]) -> None:
    with app.extensions["session_factory"]() as session:
        session.execute(delete(BackupLog).where(BackupLog.schedule_id.in_(ids)))
        session.commit()


def test_concurrent_run_due_callers_start_each_due_schedule_exactly_once(
    app: Flask, auth: Callable[..., dict[str, str]]
) -> None:
    client = app.test_client()
    # Three databases: runs of different databases may overlap, so all three start now.
    ids = [_schedule(client, auth, database_name=f"t_{uuid.uuid4().hex[:8]}")["id"] for _ in "abc"]
    _make_due(app, *ids)
    started, _ = _claim_concurrently(app)
    assert sorted(s for s in started if s in ids) == sorted(ids)
    with app.extensions["session_factory"]() as session:
        rows = session.query(BackupLog).filter(BackupLog.schedule_id.in_(ids)).all()
        assert sorted(r.schedule_id for r in rows) == sorted(ids)
        for schedule in session.query(BackupSchedule).filter(BackupSchedule.id.in_(ids)):
            assert schedule.next_run_at > datetime.now(UTC)
            assert schedule.last_status == "started"
    _forget_runs(app, ids)


def test_due_schedules_of_one_database_never_overlap_the_others_wait_their_turn(
    app: Flask, auth: Callable[..., dict[str, str]]
) -> None:
    client = app.test_client()
    database = f"t_{uuid.uuid4().hex[:8]}"
    ids = [_schedule(client, auth, database_name=database)["id"] for _ in "abc"]
    _make_due(app, *ids)
    started, waiting = _claim_concurrently(app)
    first = [s for s in started if s in ids]
    assert len(first) == 1, "two backups of one database started together"
    assert sorted(set(waiting) & set(ids)) == sorted(set(ids) - set(first))
    with app.extensions["session_factory"]() as session:
        left = session.query(BackupSchedule).filter(BackupSchedule.id.in_(ids)).all()
        assert {s.id for s in left if s.next_run_at <= datetime.now(UTC)} == set(ids) - set(first)
    # Called again while that backup still runs: nothing of this database starts.
    again = client.post("/v1/schedules/run-due", headers=auth("backups:run")).get_json()
    assert not set(again["started"]) and sorted(set(again["waiting"]) & set(ids)) == sorted(
        set(ids) - set(first)
    )
    with app.extensions["session_factory"]() as session:
        # The running backup ends; the next call starts one of those still waiting.
        session.execute(
            update(BackupLog).where(BackupLog.schedule_id.in_(first)).values(status="succeeded")
        )
        session.commit()
    second, _ = _claim_concurrently(app, callers=2)
    assert len([s for s in second if s in ids]) == 1
    assert not set(second) & set(first)
    _forget_runs(app, ids)


def test_run_due_takes_the_backup_and_retention_prunes_only_after_a_verified_success(
    app: Flask, auth: Callable[..., dict[str, str]]
) -> None:
    client = app.test_client()
    schedule = _schedule(client, auth, keep_daily=1, keep_weekly=0, keep_monthly=0)
    backups = []
    for _ in range(2):
        _make_due(app, schedule["id"])
        started = client.post("/v1/schedules/run-due", headers=auth("backups:run")).get_json()
        mine = [bid for bid in started["started"]]
        assert len(mine) == 1
        backups.append(wait_for_backup(client, mine[0], auth("backups:read")))
    first, second = (
        client.get(f"/v1/backups/{b['id']}", headers=auth("backups:read")).get_json()
        for b in backups
    )
    assert second["status"] == "succeeded" and second["verification_status"] == "passed"
    assert first["pruned_at"] is not None
    assert not Path(first["file_path"]).exists()
    assert Path(second["file_path"]).exists()
    refreshed = client.get(f"/v1/schedules/{schedule['id']}", headers=auth("backups:read"))
    assert refreshed.get_json()["last_status"] == "succeeded"


def test_a_retention_that_fails_after_a_verified_backup_keeps_that_backup(
    app: Flask, auth: Callable[..., dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    schedule = _schedule(client, auth, keep_daily=1, keep_weekly=0, keep_monthly=0)

    def broken_retention(**_: Any) -> list[BackupLog]:
        raise RuntimeError("retention broke")

    monkeypatch.setattr(retention_job, "preview_retention", broken_retention)
    _make_due(app, schedule["id"])
    started = client.post("/v1/schedules/run-due", headers=auth("backups:run")).get_json()
    done = wait_for_backup(client, started["started"][0], auth("backups:read"))
    assert (done["status"], done["verification_status"]) == ("succeeded", "passed")
    assert Path(done["file_path"]).exists()


def test_an_artifact_retention_cannot_delete_keeps_its_backup_unpruned(
    app: Flask, auth: Callable[..., dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    schedule = _schedule(client, auth, keep_daily=1, keep_weekly=0, keep_monthly=0)
    with app.extensions["session_factory"]() as session:
        rows = [_history_row(schedule["id"], d, file_path=f"/nowhere/{d}") for d in range(3)]
        session.add_all(rows)
        session.commit()
        stuck, gone = rows[1].id, rows[2].id

    def delete_some(_storage: LocalStorage, location: str) -> None:
        if location == "/nowhere/1":
            raise StorageError("the disk said no")

    monkeypatch.setattr(LocalStorage, "delete", delete_some)
    applied = client.post(f"/v1/schedules/{schedule['id']}/retention", headers=auth("backups:run"))
    assert applied.get_json()["deleted"] == [gone]
    with app.extensions["session_factory"]() as session:
        assert session.get(BackupLog, stuck).pruned_at is None
        assert session.get(BackupLog, gone).pruned_at is not None


def _history_row(schedule_id: str, days_ago: int, **fields: Any) -> BackupLog:
    values: dict[str, Any] = {
        "schedule_id": schedule_id,
        "backup_type": "daily",
        "status": "succeeded",
        "storage": "local",
        "verification_status": "passed",
        "backup_started_at": datetime.now(UTC) - timedelta(days=days_ago),
    }
    values.update(fields)
    return BackupLog(**values)


def test_the_retention_dry_run_lists_exactly_what_is_then_deleted(
    app: Flask, auth: Callable[..., dict[str, str]]
) -> None:
    client = app.test_client()
    schedule = _schedule(client, auth, keep_daily=2, keep_weekly=0, keep_monthly=0)
    with app.extensions["session_factory"]() as session:
        rows = [_history_row(schedule["id"], d) for d in range(6)]
        rows.append(_history_row(schedule["id"], 9, pinned=True))
        rows.append(
            _history_row(schedule["id"], 10, status="failed", verification_status="not_verified")
        )
        session.add_all(rows)
        session.commit()
        expected = sorted(r.id for r in rows[2:6])
    preview = client.get(f"/v1/schedules/{schedule['id']}/retention", headers=auth("backups:read"))
    assert sorted(b["id"] for b in preview.get_json()["would_delete"]) == expected
    applied = client.post(f"/v1/schedules/{schedule['id']}/retention", headers=auth("backups:run"))
    assert sorted(applied.get_json()["deleted"]) == expected
    again = client.get(f"/v1/schedules/{schedule['id']}/retention", headers=auth("backups:read"))
    assert again.get_json()["would_delete"] == []


def test_retention_deletes_nothing_after_a_failed_run(
    app: Flask, auth: Callable[..., dict[str, str]]
) -> None:
    client = app.test_client()
    schedule = _schedule(client, auth, keep_daily=1, keep_weekly=0, keep_monthly=0)
    with app.extensions["session_factory"]() as session:
        session.add_all([_history_row(schedule["id"], d) for d in range(1, 5)])
        session.add(
            _history_row(schedule["id"], 0, status="failed", verification_status="not_verified")
        )
        session.commit()
    preview = client.get(f"/v1/schedules/{schedule['id']}/retention", headers=auth("backups:read"))
    assert preview.get_json()["would_delete"] == []


def test_a_schedule_without_a_recent_verified_success_is_stale(
    app: Flask, auth: Callable[..., dict[str, str]]
) -> None:
    client = app.test_client()
    stale = _schedule(client, auth, cron_expression="0 * * * *")
    fresh = _schedule(client, auth, cron_expression="0 * * * *")
    with app.extensions["session_factory"]() as session:
        long_ago = datetime.now(UTC) - timedelta(hours=5)
        session.execute(
            update(BackupSchedule)
            .where(BackupSchedule.id.in_([stale["id"], fresh["id"]]))
            .values(created_at=long_ago)
        )
        session.add(_history_row(stale["id"], 0, backup_started_at=long_ago))
        session.add(_history_row(fresh["id"], 0, backup_started_at=datetime.now(UTC)))
        session.commit()
    listed = client.get("/v1/schedules/stale", headers=auth("backups:read")).get_json()["items"]
    names = {item["schedule"]["name"] for item in listed}
    assert stale["name"] in names
    assert fresh["name"] not in names
    mine = next(item for item in listed if item["schedule"]["name"] == stale["name"])
    assert mine["interval_seconds"] == 3600


def test_a_misconfigured_schedule_does_not_block_the_others(
    app: Flask, auth: Callable[..., dict[str, str]]
) -> None:
    client = app.test_client()
    broken = _schedule(client, auth, storage="s3")  # this app has no BACKUP_S3_BUCKET
    fine = _schedule(client, auth)
    _make_due(app, broken["id"], fine["id"])
    with app.extensions["session_factory"]() as session:
        plans = claim_due(session=session, runtime=app.extensions["backups_runtime"]).plans
    assert [p.schedule_id for p in plans if p.schedule_id in (broken["id"], fine["id"])] == [
        fine["id"]
    ]
    shown = client.get(f"/v1/schedules/{broken['id']}", headers=auth("backups:read")).get_json()
    assert shown["last_status"] == "misconfigured"
    with app.extensions["session_factory"]() as session:
        session.execute(delete(BackupLog).where(BackupLog.schedule_id == fine["id"]))
        session.commit()


def test_schedules_waiting_for_their_database_do_not_use_up_the_run_due_limit(
    app: Flask, auth: Callable[..., dict[str, str]]
) -> None:
    client = app.test_client()
    busy = f"t_{uuid.uuid4().hex[:8]}"
    running, waiting = (_schedule(client, auth, database_name=busy)["id"] for _ in "ab")
    other = _schedule(client, auth, database_name=f"t_{uuid.uuid4().hex[:8]}")["id"]
    _make_due(app, running, waiting, back=timedelta(hours=2))
    _make_due(app, other)  # due later than the waiting one, so it sorts after it
    runtime = app.extensions["backups_runtime"]
    with app.extensions["session_factory"]() as session:
        first = claim_due(session=session, runtime=runtime, limit=1)
    with app.extensions["session_factory"]() as session:
        second = claim_due(session=session, runtime=runtime, limit=1)
    ours = {running, waiting, other}
    started = [p.schedule_id for p in first.plans + second.plans if p.schedule_id in ours]
    assert len(started) == 2 and other in started
    assert set(second.waiting) & ours == {running, waiting} - set(started)
    _forget_runs(app, [running, waiting, other])
