"""Fixtures for the backups integration tests: source databases, apps, a fake integrations peer."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer

from services.backups.app import create_app
from tests.mariadb import MariaDBServer, ThrowawayMariaDB
from tests.polling import eventually
from tests.unit.backups.s3_server import S3Endpoint, moto_s3

SAMPLE_SCHEMA = """
CREATE TABLE clients (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, logo BLOB,
                      balance DECIMAL(12,2), note TEXT) ENGINE=InnoDB;
INSERT INTO clients SELECT seq, CONCAT('Client ', seq, ' Ünïcødé ✓'), UNHEX(MD5(seq)),
                           seq * 1.25, IF(seq % 7 = 0, NULL, REPEAT('x', seq % 50))
  FROM seq_1_to_3000;
CREATE TABLE work_items (id INT AUTO_INCREMENT PRIMARY KEY, client_id INT NOT NULL,
                         title VARCHAR(200), done TINYINT(1) DEFAULT 0,
                         KEY (client_id)) ENGINE=InnoDB;
INSERT INTO work_items (client_id, title, done)
  SELECT 1 + seq % 3000, CONCAT('item ', seq, ' it''s "quoted"'), seq % 2 FROM seq_1_to_12000;
CREATE VIEW open_items AS SELECT id, client_id, title FROM work_items WHERE done = 0;
CREATE FUNCTION double_it(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
CREATE PROCEDURE count_clients() SELECT COUNT(*) FROM clients;
CREATE TRIGGER work_items_title BEFORE INSERT ON work_items FOR EACH ROW
  SET NEW.title = COALESCE(NEW.title, 'untitled');
CREATE EVENT nightly_noop ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM work_items WHERE id < 0;
"""


def run_sql(server: MariaDBServer, database: str, sql: str) -> str:
    """Run SQL with the `mariadb` client (independent of the service's own code)."""
    done = subprocess.run(
        ["mariadb", *server.client_args(), "--batch", "--skip-column-names", database],
        input=sql,
        capture_output=True,
        encoding="utf-8",
        errors="backslashreplace",
        env=server.client_env(),
        check=True,
    )
    return done.stdout


@pytest.fixture
def source_db(mariadb_server: MariaDBServer) -> str:
    """A fresh database with tables, a view, routines, a trigger and an event."""
    name = mariadb_server.create_database("bk_source")
    run_sql(mariadb_server, name, SAMPLE_SCHEMA)
    return name


@pytest.fixture(scope="session")
def big_source_db(mariadb_server: MariaDBServer) -> str:
    """~60 MB of SQL: long enough to kill the dump while it runs."""
    name = mariadb_server.create_database("bk_big")
    run_sql(
        mariadb_server,
        name,
        """
        CREATE TABLE filler (id INT PRIMARY KEY, a CHAR(100), b VARCHAR(200)) ENGINE=InnoDB;
        INSERT INTO filler SELECT seq, MD5(seq), REPEAT(SHA1(seq), 5) FROM seq_1_to_200000;
    """,
    )
    return name


@pytest.fixture
def integrations(httpserver: HTTPServer) -> HTTPServer:
    """A stand-in integrations service that accepts events and tickets."""
    httpserver.expect_request("/v1/integration-events", method="POST").respond_with_json(
        {"id": "evt-1"}, status=201
    )
    httpserver.expect_request("/v1/tickets", method="POST").respond_with_json(
        {"external_id": "T-1"}, status=201
    )
    return httpserver


def posted(server: HTTPServer, path: str) -> list[dict[str, Any]]:
    """JSON bodies the fake peer received on `path`."""
    return [req.get_json() for req, _ in server.log if req.path == path]


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Endpoint]:
    """moto in server mode, for the whole session."""
    with moto_s3() as endpoint:
        yield endpoint


AppFactory = Callable[..., Flask]


@pytest.fixture
def make_backup_app(
    database_url: str, mariadb_server: MariaDBServer, tmp_path: Path, integrations: HTTPServer
) -> AppFactory:
    """make_backup_app(source_db=..., **settings) -> an app backing up that database."""

    def make(source_db: str, **settings: str) -> Flask:
        overrides = {
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            "BACKUP_SOURCE_URL": mariadb_server.url(source_db),
            "BACKUP_FOLDER": str(tmp_path / "backups"),
            "INTEGRATIONS_URL": integrations.url_for("").rstrip("/"),
            "SERVICE_TOKEN": "service-token-for-tests",
            "BACKUP_TICKET_INTEGRATION": "syncro",
            **settings,
        }
        return create_app(overrides)

    return make


def take_backup(
    client: FlaskClient, auth: Callable[..., dict[str, str]], **body: Any
) -> dict[str, Any]:
    """POST /v1/backups (202) and wait for the backup to end; its final JSON."""
    answer = client.post("/v1/backups", json=body, headers=auth("backups:run"))
    assert answer.status_code == 202, answer.get_json()
    return wait_for_backup(client, answer.get_json()["id"], auth("backups:read"))


def wait_for_backup(
    client: FlaskClient, backup_id: str, headers: dict[str, str], timeout: float = 240
) -> dict[str, Any]:
    """Poll GET /v1/backups/{id} until the backup leaves in_progress (fail if it never does)."""
    return _poll_until_not(client, f"/v1/backups/{backup_id}", headers, "in_progress", timeout)


def show_backup(
    client: FlaskClient, auth: Callable[..., dict[str, str]], backup_id: str
) -> dict[str, Any]:
    """GET /v1/backups/{id}: the backup as a caller sees it now."""
    body: dict[str, Any] = client.get(
        f"/v1/backups/{backup_id}", headers=auth("backups:read")
    ).get_json()
    return body


def first_notice_attempt(
    client: FlaskClient, auth: Callable[..., dict[str, str]], backup_id: str
) -> dict[str, Any]:
    """The backup once its notice's first attempt is recorded (it follows the committed row)."""
    return eventually(
        lambda: (
            ((shown := show_backup(client, auth, backup_id))["notice_attempts"] >= 1 and shown)
            or None
        ),
        within=30,
    )


def run_due(client: FlaskClient, auth: Callable[..., dict[str, str]]) -> dict[str, Any]:
    """POST /v1/schedules/run-due (202); what it started, left waiting and found abandoned."""
    answer = client.post("/v1/schedules/run-due", headers=auth("backups:run"))
    assert answer.status_code == 202, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def wait_for_restore(
    client: FlaskClient, path: str, headers: dict[str, str], timeout: float = 240
) -> dict[str, Any]:
    """Poll a restore's status URL until it ends (fail if it never does)."""
    return _poll_until_not(client, path, headers, "running", timeout)


def _poll_until_not(
    client: FlaskClient, path: str, headers: dict[str, str], running: str, timeout: float
) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(path, headers=headers).get_json()
        return body if body["status"] != running else None

    return eventually(ended, within=timeout)


class _BinlogMariaDB(ThrowawayMariaDB):
    """A throwaway mariadbd with binary logging on (the flag is added after initialisation)."""

    binlog = False

    def _user_flag(self) -> list[str]:
        extra = ["--log-bin=mariadb-bin", "--server-id=7"] if self.binlog else []
        return [*super()._user_flag(), *extra]


@pytest.fixture(scope="session")
def binlog_server() -> Iterator[MariaDBServer]:
    """A private MariaDB with log_bin=ON, to prove binlog coordinates are recorded."""
    server = _BinlogMariaDB()
    server.binlog = True
    server.start()
    try:
        yield server.server()
    finally:
        server.remove()
