"""The README's grants, exactly: a login holding them dumps and restore-verifies a database with
views, routines, triggers and events; one privilege less is named by readiness and by the
failed backup (never "internal error")."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.engine import URL

from services.backups.adapters.grants import grant_statements
from tests.integration.backups.backup_fixtures import AppFactory, take_backup
from tests.mariadb import MariaDBServer

PASSWORD = "grants-test-pw"


class BackupLogin:
    """A uniquely named login on the test server, granted exactly grant_statements()."""

    def __init__(self, server: MariaDBServer, database: str) -> None:
        self.server, self.database = server, database
        self.user = f"bk_grants_{uuid.uuid4().hex[:8]}"
        self.account = f"'{self.user}'@'%'"
        with server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE USER {self.account} IDENTIFIED BY '{PASSWORD}'")
            for statement in grant_statements(self.account, database):
                cur.execute(statement)

    def revoke(self, privilege: str) -> None:
        with self.server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"REVOKE {privilege} FROM {self.account}")

    def url(self, password: str = PASSWORD) -> str:
        return URL.create(
            "mysql+pymysql",
            username=self.user,
            password=password,
            host=self.server.host,
            port=self.server.port,
            database=self.database,
        ).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS {self.account}")


@pytest.fixture
def login(mariadb_server: MariaDBServer, source_db: str) -> Iterator[BackupLogin]:
    made = BackupLogin(mariadb_server, source_db)
    try:
        yield made
    finally:
        made.drop()


def _readiness(app: Flask, auth: Callable[..., dict[str, str]]) -> dict[str, Any]:
    answer = app.test_client().get("/v1/backups/readiness", headers=auth("backups:read"))
    assert answer.status_code == 200, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def test_the_documented_grants_dump_and_restore_verify_everything(
    login: BackupLogin, make_backup_app: AppFactory, auth: Callable[..., dict[str, str]]
) -> None:
    app = make_backup_app(login.database, BACKUP_SOURCE_URL=login.url())
    ready = _readiness(app, auth)
    assert ready["ready"] is True, ready
    (source,) = ready["sources"]
    assert source["restore_verification_ready"] is True, source
    backup = take_backup(app.test_client(), auth, verify="restore")
    assert backup["status"] == "succeeded", backup["error_message"]
    assert backup["verification_status"] == "passed"
    details = backup["verification_details"]
    assert details["problems"] == [] and details["tables"] == 2


MISSING = [
    # (privilege revoked, what readiness and the failed backup name)
    ("EVENT ON `{db}`.*", "EVENT"),
    ("SHOW VIEW ON `{db}`.*", "SHOW VIEW"),
    ("TRIGGER ON `{db}`.*", "TRIGGER"),
    ("SELECT ON mysql.proc", "mysql.proc"),
]


@pytest.mark.parametrize(("privilege", "named"), MISSING)
def test_one_dump_privilege_less_is_not_ready_and_fails_the_backup_naming_it(
    login: BackupLogin,
    make_backup_app: AppFactory,
    auth: Callable[..., dict[str, str]],
    privilege: str,
    named: str,
) -> None:
    login.revoke(privilege.format(db=login.database))
    app = make_backup_app(login.database, BACKUP_SOURCE_URL=login.url())
    ready = _readiness(app, auth)
    (source,) = ready["sources"]
    assert ready["ready"] is False and source["ready"] is False
    assert any(named in reason for reason in source["reasons"]), source
    backup = take_backup(app.test_client(), auth)
    assert backup["status"] == "failed"
    assert named in backup["error_message"] and "internal error" not in backup["error_message"]


def test_without_set_user_the_dump_is_ready_but_restore_verification_is_not(
    login: BackupLogin, make_backup_app: AppFactory, auth: Callable[..., dict[str, str]]
) -> None:
    login.revoke("SET USER ON *.*")
    app = make_backup_app(login.database, BACKUP_SOURCE_URL=login.url())
    (source,) = _readiness(app, auth)["sources"]
    assert source["ready"] is True
    assert source["restore_verification_ready"] is False
    assert any("SET USER" in reason for reason in source["restore_verification_reasons"])
    backup = take_backup(app.test_client(), auth, verify="restore")
    assert backup["status"] == "failed"
    assert "SET USER" in backup["error_message"]


def test_without_scratch_privileges_restore_verification_is_not_ready_and_fails_clearly(
    login: BackupLogin, make_backup_app: AppFactory, auth: Callable[..., dict[str, str]]
) -> None:
    login.revoke("CREATE ON `bkverify\\_%`.*")
    app = make_backup_app(login.database, BACKUP_SOURCE_URL=login.url())
    (source,) = _readiness(app, auth)["sources"]
    assert source["ready"] is True
    assert any("CREATE" in r and "bkverify" in r for r in source["restore_verification_reasons"])
    backup = take_backup(app.test_client(), auth, verify="restore")
    assert backup["status"] == "failed"
    assert "bkverify" in backup["error_message"]
    assert "internal error" not in backup["error_message"]


def test_a_wrong_password_is_not_ready_with_a_reason_and_no_password(
    login: BackupLogin, make_backup_app: AppFactory, auth: Callable[..., dict[str, str]]
) -> None:
    wrong = "not-the-password-" + uuid.uuid4().hex
    app = make_backup_app(login.database, BACKUP_SOURCE_URL=login.url(wrong))
    answer = app.test_client().get("/v1/backups/readiness", headers=auth("backups:read"))
    assert wrong not in answer.get_data(as_text=True)
    (source,) = answer.get_json()["sources"]
    assert source["ready"] is False
    assert any("Access denied" in reason for reason in source["reasons"])
