"""Option-shaped and system database names are refused at every endpoint; no database is harmed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from tests.integration.backups.backup_fixtures import (
    SAMPLE_SCHEMA,
    AppFactory,
    run_sql,
    take_backup,
    wait_for_restore,
)
from tests.mariadb import MariaDBServer
from tests.unit.backups.test_database_names import NOT_PLAIN, SYSTEM_SPELLINGS

PROBLEM = "application/problem+json"


def _victim(server: MariaDBServer) -> str:
    """A database holding a `clients` table (a name the backup also has) with one row."""
    victim = server.create_database("acc_victim")
    run_sql(
        server,
        victim,
        "CREATE TABLE clients (id INT PRIMARY KEY, name VARCHAR(100));"
        "INSERT INTO clients VALUES (1, 'the only client');",
    )
    return victim


def _fingerprint(server: MariaDBServer, database: str, table: str) -> tuple[str, str]:
    tables = run_sql(server, database, "SHOW TABLES;")
    checksum = run_sql(server, database, f"CHECKSUM TABLE `{table}`;").replace(database, "<db>")
    return tables, checksum


def _attempt_restore(
    client: FlaskClient, backup_id: str, headers: dict[str, str], target: str
) -> Any:
    answer = client.post(
        f"/v1/backups/{backup_id}/restore",
        json={"target_database": target, "replace": True},
        headers=headers,
    )
    if answer.status_code == 202:  # what the hole did: wait, so the damage is there to see
        wait_for_restore(
            client, f"/v1/backups/{backup_id}/restores/{answer.get_json()['id']}", headers
        )
    return answer


def test_a_restore_target_shaped_like_an_option_leaves_the_victim_database_intact(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    database_url: str,
    auth: Callable[..., dict[str, str]],
) -> None:
    client = make_backup_app(source_db).test_client()
    backup = take_backup(client, auth)
    victim = _victim(mariadb_server)
    live = make_url(database_url).database
    assert live
    before = _fingerprint(mariadb_server, victim, "clients")
    live_before = _fingerprint(mariadb_server, live, "alembic_version")
    for target in (f"-D{victim}", f"-D{live}", f"--database={victim}"):
        mariadb_server.created.append(target)  # dropped at the end should the hole reopen
        answer = _attempt_restore(client, backup["id"], auth("admin"), target)
        assert _fingerprint(mariadb_server, victim, "clients") == before
        assert _fingerprint(mariadb_server, live, "alembic_version") == live_before
        assert answer.status_code == 422, answer.get_json()
        assert answer.content_type == PROBLEM
        assert "target_database" in answer.get_json()["errors"]


@pytest.mark.parametrize(
    ("path", "field", "extra"),
    [
        ("/v1/backups", "database", {}),
        ("/v1/schedules", "database_name", {"name": "n", "cron_expression": "0 2 * * *"}),
    ],
)
@pytest.mark.parametrize("name", ["-Dacc_victim", "--help", "-e", "mysql", "INFORMATION_SCHEMA"])
def test_a_source_name_shaped_like_an_option_or_a_system_schema_is_422(
    make_backup_app: AppFactory,
    source_db: str,
    auth: Callable[..., dict[str, str]],
    path: str,
    field: str,
    extra: dict[str, Any],
    name: str,
) -> None:
    client = make_backup_app(source_db).test_client()
    answer = client.post(path, json={**extra, field: name}, headers=auth("backups:run"))
    assert answer.status_code == 422, answer.get_json()
    assert answer.content_type == PROBLEM
    assert field in answer.get_json()["errors"]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.one_of(NOT_PLAIN, SYSTEM_SPELLINGS))
def test_no_endpoint_accepts_a_name_that_is_not_plain(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
    name: str,
) -> None:
    client = _shared_client(make_backup_app, source_db)
    backup_id = _shared_backup(client, auth)
    attempts = [
        client.post("/v1/backups", json={"database": name}, headers=auth("backups:run")),
        client.post(
            "/v1/schedules",
            json={"name": "n", "cron_expression": "0 2 * * *", "database_name": name},
            headers=auth("backups:run"),
        ),
        _attempt_restore(client, backup_id, auth("admin"), name),
    ]
    for answer in attempts:
        # 400 is the request guard's answer to text no database stores (a NUL, say).
        assert answer.status_code in (400, 422), (name, answer.get_json())
        assert answer.content_type == PROBLEM


_SHARED: dict[str, Any] = {}


def _shared_client(make_backup_app: AppFactory, source_db: str) -> FlaskClient:
    """One app for every example of the hypothesis test (an app per example is seconds each)."""
    if _SHARED.get("source") != source_db:
        _SHARED.clear()
        _SHARED["source"] = source_db
        _SHARED["client"] = make_backup_app(source_db).test_client()
    client: FlaskClient = _SHARED["client"]
    return client


def _shared_backup(client: FlaskClient, auth: Callable[..., dict[str, str]]) -> str:
    if "backup" not in _SHARED:
        _SHARED["backup"] = take_backup(client, auth)["id"]
    backup_id: str = _SHARED["backup"]
    return backup_id


def test_names_with_an_inner_dash_and_a_dollar_back_up_and_restore_with_the_real_binaries(
    make_backup_app: AppFactory,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    source = mariadb_server.create_database("bk-dash$src")
    run_sql(mariadb_server, source, SAMPLE_SCHEMA)
    client = make_backup_app(source).test_client()
    backup = take_backup(client, auth, verify="restore")
    assert backup["status"] == "succeeded", backup["error_message"]
    target = f"bk-dash$dst-{backup['id'][:8]}"
    mariadb_server.created.append(target)
    answer = _attempt_restore(client, backup["id"], auth("admin"), target)
    assert answer.status_code == 202, answer.get_json()
    assert _fingerprint(mariadb_server, target, "clients") == _fingerprint(
        mariadb_server, source, "clients"
    )


def test_a_source_url_naming_a_system_schema_is_refused_before_any_dump(
    make_backup_app: AppFactory,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    client = make_backup_app("mysql").test_client()
    answer = client.post("/v1/backups", json={}, headers=auth("backups:run"))
    assert answer.status_code == 422, answer.get_json()
    assert answer.content_type == PROBLEM
    assert "system schema" in str(answer.get_json()["errors"]["database"])
