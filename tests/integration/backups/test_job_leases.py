"""Backup jobs hold a lease: a live job is never declared abandoned, a dead one always is."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, make_url, update

from services.backups.catalog.services import create_backup
from services.backups.jobs.final_status import Written, write_final
from services.backups.jobs.shutdown import stop_backup_jobs
from shared.db import make_engine, make_session_factory
from shared.models import BackupLog
from tests.integration.backups.backup_fixtures import (
    AppFactory,
    posted,
    run_due,
    wait_for_backup,
)
from tests.integration.backups.outage_proxy import outage_proxy
from tests.mariadb import MariaDBServer, free_port
from tests.polling import eventually

Auth = Callable[..., dict[str, str]]


def _row(app: Any, backup_id: str) -> BackupLog:
    with app.extensions["session_factory"]() as session:
        row = session.get(BackupLog, backup_id)
        assert row is not None
        return row


def _age_row(app: Any, backup_id: str, **values: Any) -> None:
    with app.extensions["session_factory"].begin() as session:
        session.execute(update(BackupLog).where(BackupLog.id == backup_id).values(**values))


def _start(app: Any, auth: Auth, **body: Any) -> str:
    answer = app.test_client().post("/v1/backups", json=body, headers=auth("backups:run"))
    assert answer.status_code == 202, answer.get_json()
    return str(answer.get_json()["id"])


def _wait_phase(app: Any, backup_id: str, phase: str) -> None:
    eventually(lambda: _row(app, backup_id).phase == phase or None, within=30)


def test_a_backup_stalled_behind_a_table_lock_keeps_heartbeating_and_is_not_abandoned(
    make_backup_app: AppFactory, source_db: str, mariadb_server: MariaDBServer, auth: Auth
) -> None:
    app = make_backup_app(source_db, BACKUP_HEARTBEAT_SECONDS="1")
    locker = mariadb_server.connect(source_db)
    with locker.cursor() as cur:
        cur.execute("LOCK TABLES clients WRITE")  # the pre-dump CHECKSUM TABLE waits on it
    try:
        backup_id = _start(app, auth, verify="restore")
        _wait_phase(app, backup_id, "checking")
        time.sleep(4.5)  # past a lease of 3 s: only heartbeats keep it
        # As if the pre-dump step had blocked for 11 minutes: no progress write in that time.
        _age_row(app, backup_id, progress_updated_at=datetime.now(UTC) - timedelta(minutes=11))
        assert backup_id not in run_due(app.test_client(), auth)["abandoned"]
        assert _row(app, backup_id).status == "in_progress"
    finally:
        with locker.cursor() as cur:
            cur.execute("UNLOCK TABLES")
        locker.close()
    final = wait_for_backup(app.test_client(), backup_id, auth("backups:read"))
    assert final["status"] == "succeeded", final["error_message"]
    assert final["verification_status"] == "passed"


def test_a_backup_whose_heartbeats_stop_is_failed_by_run_due_with_what_it_left(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    integrations: HTTPServer,
    tmp_path: Path,
    auth: Auth,
) -> None:
    app = make_backup_app(source_db, BACKUP_HEARTBEAT_SECONDS="0.3")
    runtime = app.extensions["backups_runtime"]
    # A job whose process died: its row was written, its lease was never renewed.
    with app.extensions["session_factory"]() as session:
        _, plan = create_backup(session=session, runtime=runtime, data={})
    hex_id = plan.backup_id.replace("-", "")
    scratch = f"bkverify_{hex_id[:12]}_0a0b0c"
    with mariadb_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{scratch}`")
    folder = tmp_path / "backups"
    folder.mkdir(exist_ok=True)
    partial = folder / f".{source_db}-manual-20261204T000000Z-{hex_id[:8]}.sql.zst.1a2b3c4d.partial"
    partial.write_bytes(b"half a dump")
    time.sleep(1.2)  # three missed heartbeats
    abandoned = run_due(app.test_client(), auth)["abandoned"]
    assert plan.backup_id in abandoned
    failed = _row(app, plan.backup_id)
    assert failed.status == "failed"
    assert "lease expired" in (failed.error_message or "")
    with mariadb_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE %s", (scratch,))
        assert cur.fetchall() == ()
    assert not partial.exists()
    notices = posted(integrations, "/v1/integration-events")
    assert [n["external_id"] for n in notices].count(plan.backup_id) == 1
    assert plan.backup_id not in run_due(app.test_client(), auth)["abandoned"]  # failed once


def test_a_job_whose_lease_was_taken_over_cannot_flip_to_succeeded(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    tmp_path: Path,
    auth: Auth,
) -> None:
    # Heartbeats far apart: the lease is made to lapse by hand, as a long pause would.
    app = make_backup_app(source_db, BACKUP_HEARTBEAT_SECONDS="60")
    locker = mariadb_server.connect(source_db)
    with locker.cursor() as cur:
        cur.execute("LOCK TABLES clients WRITE")
    try:
        backup_id = _start(app, auth, verify="restore")
        _wait_phase(app, backup_id, "checking")
        _age_row(app, backup_id, lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        assert backup_id in run_due(app.test_client(), auth)["abandoned"]
    finally:
        with locker.cursor() as cur:
            cur.execute("UNLOCK TABLES")
        locker.close()

    def job_ended() -> bool | None:
        return not app.extensions["backups_runtime"].leases.held() or None

    eventually(job_ended, within=120)
    final = _row(app, backup_id)
    assert final.status == "failed"
    assert "lease expired" in (final.error_message or "")
    assert final.verification_status != "passed"
    assert list((tmp_path / "backups").iterdir()) == []  # its artifact went with it


def test_a_final_status_the_database_never_takes_is_retried_then_logged_with_the_backup_id(
    make_backup_app: AppFactory, source_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_backup_app(source_db)
    runtime = app.extensions["backups_runtime"]
    with app.extensions["session_factory"]() as session:
        _, plan = create_backup(session=session, runtime=runtime, data={})
    # The same runtime, its database gone: nothing listens on this port.
    dead = create_engine(f"mysql+pymysql://root@127.0.0.1:{free_port()}/gone")
    runtime.session_factory = make_session_factory(dead)
    started = time.monotonic()
    written = write_final(runtime, plan, {"status": "failed"}, within=2.0)
    assert written is Written.UNREACHABLE
    assert 1.0 <= time.monotonic() - started < 10
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    errors = [line["message"] for line in lines if line["level"] == "ERROR"]
    assert any(plan.backup_id in message for message in errors), lines


def test_a_stopped_job_kills_its_dump_and_fails_as_interrupted_by_shutdown(
    make_backup_app: AppFactory,
    big_source_db: str,
    integrations: HTTPServer,
    tmp_path: Path,
    auth: Auth,
) -> None:
    app = make_backup_app(big_source_db, BACKUP_HEARTBEAT_SECONDS="0.5")
    runtime = app.extensions["backups_runtime"]
    # Progress every 50 ms, not every second: on a loaded machine the first one-second report
    # could come when the dump was nearly done, and the stop then met a finished job.
    runtime.progress_interval = 0.05
    backup_id = _start(app, auth, compression="gzip", verify="checksum")
    eventually(lambda: (_row(app, backup_id).bytes_processed or 0) > 0 or None, within=60)
    began = time.monotonic()
    stop_backup_jobs(runtime, 6.0)
    assert time.monotonic() - began < 6.0
    final = _row(app, backup_id)
    assert final.status == "failed"
    assert final.error_message == "interrupted by shutdown"
    assert list((tmp_path / "backups").iterdir()) == []
    assert [n["external_id"] for n in posted(integrations, "/v1/integration-events")].count(
        backup_id
    ) == 1


def test_a_stop_interrupts_a_pre_dump_query_blocked_by_a_table_lock(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    integrations: HTTPServer,
    auth: Auth,
) -> None:
    app = make_backup_app(source_db, BACKUP_HEARTBEAT_SECONDS="0.5")
    runtime = app.extensions["backups_runtime"]
    locker = mariadb_server.connect(source_db)
    with locker.cursor() as cur:
        cur.execute("LOCK TABLES clients WRITE")
    try:
        backup_id = _start(app, auth, verify="restore")
        _wait_phase(app, backup_id, "checking")
        time.sleep(0.5)  # inside CHECKSUM TABLE, waiting for the lock
        began = time.monotonic()
        stop_backup_jobs(runtime, 6.0)
        # The job ended itself (its query was killed), not failed on its behalf at the end.
        assert time.monotonic() - began < 4.0
        assert runtime.leases.held() == {}
    finally:
        with locker.cursor() as cur:
            cur.execute("UNLOCK TABLES")
        locker.close()
    final = _row(app, backup_id)
    assert (final.status, final.error_message) == ("failed", "interrupted by shutdown")
    assert [n["external_id"] for n in posted(integrations, "/v1/integration-events")].count(
        backup_id
    ) == 1


def test_a_queued_backup_waiting_for_a_worker_keeps_its_lease(
    make_backup_app: AppFactory, source_db: str, auth: Auth
) -> None:
    app = make_backup_app(source_db, BACKUP_HEARTBEAT_SECONDS="1")
    gate = threading.Event()
    app.extensions["backups_executor"] = ThreadPoolExecutor(max_workers=1)
    app.extensions["backups_executor"].submit(gate.wait)  # the only worker is busy
    try:
        backup_id = _start(app, auth)
        time.sleep(4.5)  # past a lease of 3 s: only heartbeats keep it
        assert _row(app, backup_id).phase == "queued"
        assert backup_id not in run_due(app.test_client(), auth)["abandoned"]
    finally:
        gate.set()
    final = wait_for_backup(app.test_client(), backup_id, auth("backups:read"))
    assert final["status"] == "succeeded", final["error_message"]


def test_a_failure_written_while_the_database_is_down_lands_once_it_is_back(
    make_backup_app: AppFactory, source_db: str, mariadb_server: MariaDBServer, database_url: str
) -> None:
    app = make_backup_app(source_db)
    runtime = app.extensions["backups_runtime"]
    with app.extensions["session_factory"]() as session:
        _, plan = create_backup(session=session, runtime=runtime, data={})
    database = make_url(database_url)
    with outage_proxy(mariadb_server.host, mariadb_server.port) as proxy:
        through_proxy = database.set(host="127.0.0.1", port=proxy.port)
        runtime.session_factory = make_session_factory(make_engine(through_proxy))
        proxy.down.set()
        values = {"status": "failed", "phase": "failed", "error_message": "dump failed"}
        result: list[Written] = []
        writer = threading.Thread(
            target=lambda: result.append(write_final(runtime, plan, values, within=30))
        )
        writer.start()
        time.sleep(2.0)  # a few refused attempts
        assert _row(app, plan.backup_id).status == "in_progress"
        proxy.down.clear()
        writer.join(timeout=30)
    assert result == [Written.WRITTEN]
    row = _row(app, plan.backup_id)
    assert (row.status, row.error_message) == ("failed", "dump failed")


def test_a_dead_jobs_row_stops_blocking_new_backups_once_its_lease_lapses(
    make_backup_app: AppFactory, source_db: str, auth: Auth
) -> None:
    app = make_backup_app(source_db, BACKUP_HEARTBEAT_SECONDS="0.3")
    runtime = app.extensions["backups_runtime"]
    with app.extensions["session_factory"]() as session:
        _, dead = create_backup(session=session, runtime=runtime, data={})
    client = app.test_client()
    assert client.post("/v1/backups", json={}, headers=auth("backups:run")).status_code == 409
    time.sleep(1.2)  # its process died: three heartbeats missed
    backup_id = _start(app, auth)
    final = wait_for_backup(client, backup_id, auth("backups:read"))
    assert final["status"] == "succeeded", final["error_message"]
    assert dead.backup_id in run_due(app.test_client(), auth)["abandoned"]
