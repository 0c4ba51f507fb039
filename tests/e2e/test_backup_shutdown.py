"""SIGTERM to a real gunicorn backups service mid-job: the row ends failed within the grace period,
and its failure notice, kept while integrations is down, is delivered once it is up."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select

from shared.models import BackupLog
from tests.deploy.processes import RunningService, start, wait_for_status
from tests.e2e.stack import REPO, gunicorn_command
from tests.mariadb import MariaDBServer, free_port
from tests.polling import eventually

GRACE_SECONDS = 8


@pytest.fixture(scope="module")
def slow_source(mariadb_server: MariaDBServer) -> str:
    """~120 MB of SQL: at gzip level 9 the dump runs for many seconds."""
    name = mariadb_server.create_database("bk_sigterm")
    with mariadb_server.connect(name) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE filler (id INT PRIMARY KEY, a CHAR(100), b VARCHAR(400))")
        cur.execute(
            "INSERT INTO filler SELECT seq, MD5(seq), REPEAT(SHA1(seq), 10) FROM seq_1_to_300000"
        )
    return name


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        url,
        data=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        assert answer.status == 202
        result: dict[str, Any] = json.load(answer)
        return result


def _row(engine: Engine, backup_id: str) -> BackupLog:
    with engine.connect() as conn:
        row = conn.execute(select(BackupLog).where(BackupLog.id == backup_id)).first()
    assert row is not None
    return row  # type: ignore[return-value]


def _start_backups(
    database_url: str, source_url: str, token: str, peer: str, workdir: Path
) -> RunningService:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": database_url,
        "BACKUP_SOURCE_URL": source_url,
        "BACKUP_FOLDER": str(workdir / "backups"),
        "BACKUP_GZIP_LEVEL": "9",
        "BACKUP_HEARTBEAT_SECONDS": "1",
        "BACKUP_NOTICE_RETRY_SECONDS": "0.5",
        "HTTP_CONNECT_TIMEOUT": "1",
        "INTEGRATIONS_URL": peer,
        "SERVICE_TOKEN": token,
        "GUNICORN_WORKERS": "1",
        "GUNICORN_GRACEFUL_TIMEOUT": str(GRACE_SECONDS),
        "PORT": str(free_port()),
        "SERVICE_NAME": "backups",
        "LOG_LEVEL": "INFO",
    }
    service = start(gunicorn_command("backups"), env, cwd=REPO, log_path=workdir / "backups.log")
    wait_for_status(service, "/readyz")
    return service


@pytest.mark.parametrize("phases", [("dumping",), ("restore-verifying", "restoring")])
def test_sigterm_mid_job_fails_the_backup_within_the_grace_period_and_leaves_nothing(
    phases: tuple[str, ...],
    database_url: str,
    mariadb_server: MariaDBServer,
    slow_source: str,
    engine: Engine,
    httpserver: HTTPServer,
    token_factory: Callable[..., str],
    tmp_path: Path,
) -> None:
    httpserver.expect_request("/v1/integration-events", method="POST").respond_with_json(
        {"id": "evt-1"}, status=201
    )
    # Integrations is down while the service stops: nothing listens on its port.
    service = _start_backups(
        database_url,
        mariadb_server.url(slow_source),
        token_factory("integrations:write"),
        f"http://127.0.0.1:{free_port()}",
        tmp_path,
    )
    try:
        headers = {"Authorization": f"Bearer {token_factory('backups:run')}"}
        backup_id = _post(
            f"{service.base_url}/v1/backups", {"compression": "gzip", "verify": "restore"}, headers
        )["id"]

        def in_phase() -> bool | None:
            row = _row(engine, backup_id)
            return (row.phase in phases and (row.bytes_processed or 0) > 0) or None

        eventually(in_phase, within=60, every=0.05)
        sent = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        service.process.wait(timeout=GRACE_SECONDS + 5)
        assert time.monotonic() - sent <= GRACE_SECONDS + 1, service.log()
    finally:
        if service.process.poll() is None:
            service.process.kill()
    row = _row(engine, backup_id)
    assert row.status == "failed", service.log()
    assert row.error_message == "interrupted by shutdown"
    assert list((tmp_path / "backups").iterdir()) == []  # no artifact, no .partial file
    with mariadb_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE 'bkverify\\_%'")
        prefix = "bkverify_" + backup_id.replace("-", "")[:12]
        assert [name for (name,) in cur.fetchall() if name.startswith(prefix)] == []
    assert (row.notice_status, row.notice_attempts) == ("pending", 1), service.log()
    assert [r for r, _ in httpserver.log if backup_id in r.headers["Idempotency-Key"]] == []

    # Integrations is up again: the next run-due (of a new process) delivers the notice, once.
    again = _start_backups(
        database_url,
        mariadb_server.url(slow_source),
        token_factory("integrations:write"),
        httpserver.url_for("").rstrip("/"),
        tmp_path,
    )
    try:
        time.sleep(0.6)  # past the first retry delay
        for _ in range(2):
            _post(f"{again.base_url}/v1/schedules/run-due?limit=1", {}, headers)
    finally:
        again.stop()
    events = [req.get_json() for req, _ in httpserver.log if req.path == "/v1/integration-events"]
    # Only this backup's: a run-due also delivers what other backups' outages left pending.
    events = [event for event in events if event["external_id"] == backup_id]
    assert len(events) == 1
    assert events[0]["request_data"]["error"] == "interrupted by shutdown"
    assert _row(engine, backup_id).notice_status == "delivered"
