"""Backup -> restore into a new database -> identical data, checked with the mariadb client."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer

from tests.integration.backups.backup_fixtures import (
    AppFactory,
    posted,
    run_sql,
    take_backup,
    wait_for_backup,
    wait_for_restore,
)
from tests.mariadb import MariaDBServer
from tests.polling import eventually
from tests.unit.backups.s3_server import S3Endpoint

INDEPENDENT_CHECKS = (
    "SELECT * FROM clients ORDER BY id;",
    "SELECT * FROM work_items ORDER BY id;",
    "SELECT * FROM open_items ORDER BY id;",
    "SELECT double_it(21);",
    "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES "
    "WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY 2;",
    "SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS "
    "WHERE TRIGGER_SCHEMA = DATABASE();",
    "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE();",
    "CHECKSUM TABLE clients, work_items;",
)


def _snapshot(server: MariaDBServer, database: str) -> list[str]:
    out = []
    for sql in INDEPENDENT_CHECKS:
        # CHECKSUM TABLE prints the schema name; compare only the values.
        out.append(run_sql(server, database, sql).replace(database, "<db>"))
    return out


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
def test_a_restore_verified_backup_restores_into_a_new_database_with_identical_data(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
    compression: str,
) -> None:
    client = make_backup_app(source_db).test_client()
    answer = client.post(
        "/v1/backups",
        json={"verify": "restore", "compression": compression},
        headers=auth("backups:run"),
    )
    assert answer.status_code == 202
    backup = wait_for_backup(client, answer.get_json()["id"], auth("backups:read"))
    assert backup["status"] == "succeeded", backup["error_message"]
    assert backup["verification_status"] == "passed"
    assert backup["restore_seconds"] is not None
    assert backup["verification_details"]["problems"] == []
    assert backup["bytes_processed"] == backup["raw_size_bytes"]
    assert backup["phase"] == "done"
    assert backup["database_name"] == source_db
    assert backup["server_version"].startswith("10.")

    target = f"bk_restored_{backup['id'][:8]}"
    mariadb_server.created.append(target)  # dropped with the run's other databases
    started = client.post(
        f"/v1/backups/{backup['id']}/restore",
        json={"target_database": target},
        headers=auth("admin"),
    )
    assert started.status_code == 202
    restore = wait_for_restore(
        client, f"/v1/backups/{backup['id']}/restores/{started.get_json()['id']}", auth("admin")
    )
    assert restore["status"] == "succeeded", restore["error_message"]
    assert _snapshot(mariadb_server, target) == _snapshot(mariadb_server, source_db)


def test_the_recorded_checksum_and_size_match_the_file_on_disk(
    make_backup_app: AppFactory,
    source_db: str,
    auth: Callable[..., dict[str, str]],
) -> None:
    client = make_backup_app(source_db).test_client()
    backup = take_backup(client, auth)
    assert backup["status"] == "succeeded", backup["error_message"]
    data = Path(backup["file_path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == backup["checksum_sha256"]
    assert len(data) == backup["file_size_bytes"] == backup["bytes_stored"]
    assert backup["raw_size_bytes"] > backup["file_size_bytes"]
    assert backup["bytes_processed"] == backup["raw_size_bytes"]
    assert backup["verification_status"] == "passed"
    assert backup["phase"] == "done"
    assert backup["backup_method"] == "mysqldump"
    assert backup["duration_seconds"] >= 0


def test_restore_refuses_an_existing_database_unless_told_to_replace_it(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    client = make_backup_app(source_db).test_client()
    backup = take_backup(client, auth)
    existing = mariadb_server.create_database("bk_existing")
    run_sql(mariadb_server, existing, "CREATE TABLE keep_me (id INT);")
    refused = client.post(
        f"/v1/backups/{backup['id']}/restore",
        json={"target_database": existing},
        headers=auth("admin"),
    )
    assert refused.status_code == 409
    assert run_sql(mariadb_server, existing, "SHOW TABLES;").strip() == "keep_me"
    replaced = client.post(
        f"/v1/backups/{backup['id']}/restore",
        json={"target_database": existing, "replace": True},
        headers=auth("admin"),
    )
    assert replaced.status_code == 202
    done = wait_for_restore(
        client, f"/v1/backups/{backup['id']}/restores/{replaced.get_json()['id']}", auth("admin")
    )
    assert done["status"] == "succeeded", done["error_message"]
    assert "keep_me" not in run_sql(mariadb_server, existing, "SHOW TABLES;")


@pytest.mark.parametrize(
    ("scopes", "status"), [(("backups:run",), 403), (("backups:read",), 403), ((), 401)]
)
def test_restore_needs_the_admin_scope(
    make_backup_app: AppFactory,
    source_db: str,
    auth: Callable[..., dict[str, str]],
    scopes: tuple[str, ...],
    status: int,
) -> None:
    client = make_backup_app(source_db).test_client()
    headers = auth(*scopes) if scopes else {}
    answer = client.post("/v1/backups/nope/restore", json={"target_database": "x"}, headers=headers)
    assert answer.status_code == status


@pytest.mark.parametrize("name", ["bad name", "a;DROP", "x" * 65, ""])
def test_restore_refuses_a_malformed_target_name(
    make_backup_app: AppFactory, source_db: str, auth: Callable[..., dict[str, str]], name: str
) -> None:
    client = make_backup_app(source_db).test_client()
    backup = take_backup(client, auth)
    answer = client.post(
        f"/v1/backups/{backup['id']}/restore", json={"target_database": name}, headers=auth("admin")
    )
    assert answer.status_code == 422


def test_a_backup_to_s3_streams_through_multipart_and_restore_verifies(
    make_backup_app: AppFactory,
    source_db: str,
    s3: S3Endpoint,
    auth: Callable[..., dict[str, str]],
) -> None:
    bucket = s3.new_bucket()
    app = make_backup_app(source_db, BACKUP_S3_BUCKET=bucket, BACKUP_S3_ENDPOINT_URL=s3.url)
    client = app.test_client()
    answer = client.post(
        "/v1/backups", json={"storage": "s3", "verify": "restore"}, headers=auth("backups:run")
    )
    backup = wait_for_backup(client, answer.get_json()["id"], auth("backups:read"))
    assert backup["status"] == "succeeded", backup["error_message"]
    assert backup["verification_status"] == "passed"
    body = s3.client.get_object(Bucket=bucket, Key=backup["file_path"])["Body"].read()
    assert hashlib.sha256(body).hexdigest() == backup["checksum_sha256"]
    assert s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_pre_migration_backup_is_restore_verified_and_pinned_until_released(
    make_backup_app: AppFactory,
    source_db: str,
    auth: Callable[..., dict[str, str]],
) -> None:
    client = make_backup_app(source_db).test_client()
    answer = client.post(
        "/v1/backups", json={"backup_type": "pre-migration"}, headers=auth("backups:run")
    )
    backup = wait_for_backup(client, answer.get_json()["id"], auth("backups:read"))
    assert backup["status"] == "succeeded", backup["error_message"]
    assert backup["verification_status"] == "passed"
    assert backup["restore_seconds"] is not None
    assert backup["pinned"] is True
    released = client.delete(f"/v1/backups/{backup['id']}/pin", headers=auth("backups:run"))
    assert released.get_json()["pinned"] is False


def test_a_pre_migration_backup_cannot_skip_restore_verification(
    make_backup_app: AppFactory,
    source_db: str,
    auth: Callable[..., dict[str, str]],
) -> None:
    client = make_backup_app(source_db).test_client()
    listed_before = client.get("/v1/backups?limit=200", headers=auth("backups:read")).json
    answer = client.post(
        "/v1/backups",
        json={"backup_type": "pre-migration", "verify": "none"},
        headers=auth("backups:run"),
    )
    assert answer.status_code == 422
    listed_after = client.get("/v1/backups?limit=200", headers=auth("backups:read")).json
    assert listed_after["items"] == listed_before["items"]  # nothing half written


def test_progress_is_written_to_the_row_while_the_dump_runs(
    make_backup_app: AppFactory,
    big_source_db: str,
    auth: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.backups.jobs import runner as jobs
    from shared.models import BackupLog

    app = make_backup_app(big_source_db)
    app.extensions["backups_runtime"].progress_interval = 0.05
    seen: list[dict[str, object]] = []
    original = jobs.write_progress

    def write_and_read_back(runtime, plan, progress) -> None:  # type: ignore[no-untyped-def]
        original(runtime, plan, progress)
        with runtime.session_factory() as session:
            row = session.get(BackupLog, plan.backup_id)
            seen.append(
                {
                    "phase": row.phase,
                    "bytes": row.bytes_processed,
                    "table": row.current_table,
                    "rate": row.rate_bytes_per_s,
                    "eta": row.eta_seconds,
                    "at": row.progress_updated_at,
                }
            )

    monkeypatch.setattr(jobs, "write_progress", write_and_read_back)
    client = app.test_client()
    backup = take_backup(client, auth)
    assert backup["status"] == "succeeded", backup["error_message"]
    dumping = [s for s in seen if s["phase"] == "dumping" and s["bytes"]]
    assert dumping, seen
    assert any(s["table"] == "filler" for s in dumping)
    assert all(s["rate"] and s["rate"] > 0 for s in dumping)
    assert [s["bytes"] for s in dumping] == sorted(s["bytes"] for s in dumping)
    assert all(s["at"] is not None for s in dumping)


def test_a_dump_far_smaller_than_the_last_good_one_is_flagged_and_reported(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    integrations: HTTPServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    client = make_backup_app(source_db).test_client()
    first = take_backup(client, auth)
    assert first["status"] == "succeeded"
    run_sql(mariadb_server, source_db, "DELETE FROM work_items; DELETE FROM clients WHERE id > 10;")
    second = take_backup(client, auth)
    assert second["status"] == "succeeded"
    warnings = second["verification_details"]["warnings"]
    assert "of the previous good backup" in warnings[0]
    # The notice follows the succeeded row from the worker.
    eventually(
        lambda: any(
            e["request_data"]["event"] == "backup_warning" and e["external_id"] == second["id"]
            for e in posted(integrations, "/v1/integration-events")
        ),
        within=30,
    )


def test_the_service_backs_up_its_own_database_while_writing_its_progress_into_it(
    client: FlaskClient, auth: Callable[..., dict[str, str]], app: Flask, tmp_path: Path
) -> None:
    app.extensions["backups_runtime"].progress_interval = 0.05
    app.extensions["backups_runtime"].folder = tmp_path / "own-backups"
    backup = take_backup(client, auth, verify="restore")
    assert backup["status"] == "succeeded", backup["error_message"]
    details = backup["verification_details"]
    assert details["problems"] == []
    assert details["tables"] > 10
    # Its own row changed between dump start and end: compared by presence, not by checksum.
    assert "backup_log" in details["changed_during_dump"]
    Path(backup["file_path"]).unlink()


def test_a_table_single_transaction_cannot_protect_is_named_in_the_warnings(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    run_sql(mariadb_server, source_db, "CREATE TABLE legacy (id INT) ENGINE=MyISAM;")
    client = make_backup_app(source_db).test_client()
    backup = take_backup(client, auth)
    assert backup["status"] == "succeeded", backup["error_message"]
    assert any("legacy (MyISAM)" in w for w in backup["verification_details"]["warnings"])


def test_with_binary_logging_on_the_binlog_position_and_gtid_are_recorded(
    make_backup_app: AppFactory,
    binlog_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    name = binlog_server.create_database("bk_binlog")
    run_sql(binlog_server, name, "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1);")
    app = make_backup_app(name, BACKUP_SOURCE_URL=binlog_server.url(name))
    client = app.test_client()
    backup = take_backup(client, auth, verify="restore")
    assert backup["status"] == "succeeded", backup["error_message"]
    assert backup["binlog_position"].startswith("mariadb-bin.")
    assert "gtid=0-7-" in backup["binlog_position"]


def test_a_second_backup_of_a_database_while_one_runs_is_refused(
    make_backup_app: AppFactory,
    source_db: str,
    auth: Callable[..., dict[str, str]],
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    app = make_backup_app(source_db)
    # A paused executor: the first backup stays in_progress while the second is asked for.
    app.extensions["backups_executor"] = ThreadPoolExecutor(max_workers=1)
    gate = threading.Event()
    app.extensions["backups_executor"].submit(gate.wait)
    client = app.test_client()
    first = client.post("/v1/backups", json={}, headers=auth("backups:run"))
    second = client.post("/v1/backups", json={}, headers=auth("backups:run"))
    assert second.status_code == 409
    assert second.get_json()["backup_id"] == first.get_json()["id"]
    gate.set()
    done = wait_for_backup(client, first.get_json()["id"], auth("backups:read"))
    assert done["status"] == "succeeded"


@pytest.mark.parametrize("name", ["mysql", "information_schema", "performance_schema", "SYS"])
def test_system_schemas_are_never_restore_targets(
    make_backup_app: AppFactory, source_db: str, auth: Callable[..., dict[str, str]], name: str
) -> None:
    client = make_backup_app(source_db).test_client()
    backup = take_backup(client, auth)
    answer = client.post(
        f"/v1/backups/{backup['id']}/restore",
        json={"target_database": name, "replace": True},
        headers=auth("admin"),
    )
    assert answer.status_code == 422


def test_the_services_own_database_is_not_replaced_by_a_restore(
    make_backup_app: AppFactory,
    source_db: str,
    database_url: str,
    auth: Callable[..., dict[str, str]],
) -> None:
    from sqlalchemy.engine import make_url

    client = make_backup_app(source_db).test_client()
    backup = take_backup(client, auth)
    own = make_url(database_url).database
    answer = client.post(
        f"/v1/backups/{backup['id']}/restore",
        json={"target_database": own, "replace": True},
        headers=auth("admin"),
    )
    assert answer.status_code == 409


def test_backups_of_one_database_started_at_the_same_moment_never_overlap(
    make_backup_app: AppFactory,
    source_db: str,
    auth: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    app = make_backup_app(source_db)
    headers = auth("backups:run", "backups:read")
    # The accepted backup may not end before every answer is in: a tiny dump takes under a
    # second, and a start that a loaded machine delays past its end is rightly accepted (no
    # overlap, yet a second 202). Its row stays live meanwhile: the lease is held from the start.
    answered = threading.Event()
    executor = app.extensions["backups_executor"]
    submit = executor.submit

    def submit_after_the_answers(job: Callable[..., None], /, **kwargs: object) -> object:
        def after_the_answers() -> None:
            answered.wait(60)
            job(**kwargs)

        return submit(after_the_answers)

    monkeypatch.setattr(executor, "submit", submit_after_the_answers)
    together = threading.Barrier(4)

    def start(_: int) -> tuple[int, str | None]:
        together.wait(30)
        answer = app.test_client().post(
            "/v1/backups", json={"backup_type": "manual", "verify": "none"}, headers=headers
        )
        return answer.status_code, (answer.json or {}).get("id")

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(start, range(4)))
    answered.set()
    started = [backup_id for status, backup_id in answers if status == 202]
    assert len(started) == 1
    assert sorted(status for status, _ in answers) == [202, 409, 409, 409]
    wait_for_backup(app.test_client(), started[0], headers)
