"""replace=true: the artifact is checked first, loaded aside, and swapped in only when complete."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from shared.models import BackupLog
from tests.integration.backups.backup_fixtures import (
    SAMPLE_SCHEMA,
    AppFactory,
    run_sql,
    take_backup,
    wait_for_restore,
)
from tests.mariadb import MariaDBServer

# What a DBA would compare, read with the mariadb client: every object and every table's data.
STATE_QUERIES = (
    "SHOW FULL TABLES;",
    "SELECT ROUTINE_TYPE, ROUTINE_NAME, ROUTINE_DEFINITION FROM information_schema.ROUTINES "
    "WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY 2;",
    "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_STATEMENT FROM information_schema.TRIGGERS "
    "WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY 1;",
    "SELECT EVENT_NAME, EVENT_DEFINITION FROM information_schema.EVENTS "
    "WHERE EVENT_SCHEMA = DATABASE() ORDER BY 1;",
    "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS "
    "WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1;",
)


def _state(server: MariaDBServer, database: str) -> list[str]:
    """Objects, definitions and CHECKSUM TABLE of every base table (schema name masked)."""
    tables = run_sql(
        server,
        database,
        "SELECT TABLE_NAME FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1;",
    ).split()
    out = [run_sql(server, database, sql) for sql in STATE_QUERIES]
    checksums = ", ".join(f"`{t}`" for t in tables)
    out.append(run_sql(server, database, f"CHECKSUM TABLE {checksums};") if tables else "")
    return [text.replace(database, "<db>") for text in out]


def _scratch_left(server: MariaDBServer, restore_id: str) -> list[str]:
    prefix = "bkverify_" + restore_id.replace("-", "")[:12]
    listed = run_sql(server, "information_schema", "SELECT SCHEMA_NAME FROM SCHEMATA;")
    return [name for name in listed.split() if name.startswith(prefix)]


@pytest.fixture
def target_db(mariadb_server: MariaDBServer) -> str:
    """An existing database with the sample's objects, different data and one table of its own."""
    name = mariadb_server.create_database("bk_target")
    run_sql(mariadb_server, name, SAMPLE_SCHEMA)
    run_sql(
        mariadb_server,
        name,
        "UPDATE clients SET name = 'only in the target' WHERE id = 1;"
        "DELETE FROM work_items WHERE id > 11000;"
        "CREATE TABLE keep_me (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO keep_me VALUES (7);"
        "CREATE PROCEDURE target_only() SELECT 1;",
    )
    return name


def _restore(client: Any, auth: Callable[..., dict[str, str]], backup_id: str, target: str) -> Any:
    started = client.post(
        f"/v1/backups/{backup_id}/restore",
        json={"target_database": target, "replace": True},
        headers=auth("admin"),
    )
    assert started.status_code == 202, started.get_json()
    restore_id = started.get_json()["id"]
    done = wait_for_restore(client, f"/v1/backups/{backup_id}/restores/{restore_id}", auth("admin"))
    return restore_id, done


def _rewrite_artifact(app: Flask, backup: dict[str, Any], new_bytes: bytes) -> None:
    """Replace the stored file and record its checksum and size, as if the dump had made it."""
    Path(backup["file_path"]).write_bytes(new_bytes)
    with app.extensions["session_factory"].begin() as session:
        session.execute(
            update(BackupLog)
            .where(BackupLog.id == backup["id"])
            .values(
                checksum_sha256=hashlib.sha256(new_bytes).hexdigest(),
                file_size_bytes=len(new_bytes),
            )
        )


def test_a_corrupt_artifact_leaves_the_target_exactly_as_it_was(
    make_backup_app: AppFactory,
    source_db: str,
    target_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    client = make_backup_app(source_db).test_client()
    backup = take_backup(client, auth)
    data = bytearray(Path(backup["file_path"]).read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, as a bad disk or a bad copy leaves it
    Path(backup["file_path"]).write_bytes(bytes(data))
    before = _state(mariadb_server, target_db)
    restore_id, done = _restore(client, auth, backup["id"], target_db)
    assert _state(mariadb_server, target_db) == before
    assert done["status"] == "failed"
    assert "SHA-256" in done["error_message"]
    assert _scratch_left(mariadb_server, restore_id) == []


def test_a_load_that_fails_midway_leaves_the_target_exactly_as_it_was_and_no_scratch(
    make_backup_app: AppFactory,
    source_db: str,
    target_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    app = make_backup_app(source_db)
    client = app.test_client()
    backup = take_backup(client, auth)
    sql = subprocess.run(
        ["zstd", "-dc", backup["file_path"]], capture_output=True, check=True
    ).stdout
    # A statement the server refuses after the first table is loaded, before the second.
    cut = sql.index(b"-- Table structure for table `work_items`")
    broken = sql[:cut] + b"INSERT INTO no_such_table VALUES (1);\n" + sql[cut:]
    recompressed = subprocess.run(
        ["zstd", "-c", "-q"], input=broken, capture_output=True, check=True
    ).stdout
    _rewrite_artifact(app, backup, recompressed)
    before = _state(mariadb_server, target_db)
    restore_id, done = _restore(client, auth, backup["id"], target_db)
    assert _state(mariadb_server, target_db) == before
    assert done["status"] == "failed"
    assert "no_such_table" in done["error_message"]
    assert _scratch_left(mariadb_server, restore_id) == []


def test_replace_swaps_in_the_backup_with_its_views_routines_triggers_and_events(
    make_backup_app: AppFactory,
    source_db: str,
    target_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    client = make_backup_app(source_db).test_client()
    backup = take_backup(client, auth)
    restore_id, done = _restore(client, auth, backup["id"], target_db)
    assert done["status"] == "succeeded", done["error_message"]
    assert _state(mariadb_server, target_db) == _state(mariadb_server, source_db)
    assert "keep_me" not in run_sql(mariadb_server, target_db, "SHOW TABLES;")
    assert _scratch_left(mariadb_server, restore_id) == []
    # The swapped-in trigger fires on the swapped-in table.
    run_sql(mariadb_server, target_db, "INSERT INTO work_items (client_id) VALUES (1);")
    titles = run_sql(mariadb_server, target_db, "SELECT title FROM work_items WHERE title IS NULL;")
    assert titles == ""


def test_a_restore_into_a_new_database_leaves_no_scratch_behind(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    client = make_backup_app(source_db).test_client()
    backup = take_backup(client, auth)
    target = f"bk_new_{backup['id'][:8]}"
    mariadb_server.created.append(target)
    restore_id, done = _restore(client, auth, backup["id"], target)
    assert done["status"] == "succeeded", done["error_message"]
    assert _state(mariadb_server, target) == _state(mariadb_server, source_db)
    assert _scratch_left(mariadb_server, restore_id) == []


def test_an_artifact_that_loads_fewer_tables_than_it_holds_is_not_swapped_in(
    make_backup_app: AppFactory,
    source_db: str,
    target_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    app = make_backup_app(source_db)
    client = app.test_client()
    backup = take_backup(client, auth)
    sql = subprocess.run(["zstd", "-dc", backup["file_path"]], capture_output=True, check=True)
    # A table section whose CREATE never ran (as a client that skipped a statement would do).
    ghost = b"\n--\n-- Table structure for table `ghost`\n--\n"
    broken = sql.stdout.replace(b"\n--\n-- Dumping routines", ghost + b"\n--\n-- Dumping routines")
    assert broken != sql.stdout
    compressed = subprocess.run(["zstd", "-c", "-q"], input=broken, capture_output=True, check=True)
    _rewrite_artifact(app, backup, compressed.stdout)
    before = _state(mariadb_server, target_db)
    restore_id, done = _restore(client, auth, backup["id"], target_db)
    assert _state(mariadb_server, target_db) == before
    assert done["status"] == "failed"
    assert "tables loaded, the artifact holds" in done["error_message"]
    assert _scratch_left(mariadb_server, restore_id) == []
