"""Completeness, not exit codes: what the dump user cannot see fails the backup, by name.

Every case here made mariadb-dump exit 0 with an empty stderr and was reported succeeded before.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pymysql
import pytest
from pytest_httpserver import HTTPServer

from services.backups.dump import pipeline
from shared.models import BackupLog
from tests.integration.backups.backup_fixtures import (
    AppFactory,
    posted,
    run_sql,
    take_backup,
)
from tests.mariadb import MariaDBServer
from tests.polling import eventually

# What README lists for dumping, on the schema; mysql.proc makes every routine visible on 10.11.
DUMP_GRANTS = ("SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `{db}`.*",)
PROC_GRANT = "SELECT ON mysql.proc"
SCRATCH_GRANT = "ALL ON `bkverify\\_%%`.*"  # %% : the grant goes through a %s query


@contextlib.contextmanager
def dump_user(server: MariaDBServer, *grants: str, database: str) -> Iterator[str]:
    """A login holding exactly `grants`; yields its name (its password is `pw-<name>`)."""
    user = f"bk_{uuid.uuid4().hex[:10]}"
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, f"pw-{user}"))
        for grant in grants:
            cur.execute(f"GRANT {grant.format(db=database)} TO %s@'%%'", (user,))
    try:
        yield user
    finally:
        with server.connect() as conn, conn.cursor() as cur:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))


def _url(server: MariaDBServer, user: str, database: str) -> str:
    return f"mysql+pymysql://{user}:pw-{user}@{server.host}:{server.port}/{database}"


def _assert_failed_and_reported(
    backup: dict[str, object], integrations: HTTPServer, folder: Path
) -> None:
    assert backup["status"] == "failed"
    assert backup["file_path"] is None
    assert not folder.exists() or list(folder.iterdir()) == []
    eventually(lambda: posted(integrations, "/v1/integration-events"), within=30)
    events = posted(integrations, "/v1/integration-events")
    assert any(e["external_id"] == backup["id"] for e in events)


@pytest.mark.parametrize("process", [True, False], ids=["with PROCESS", "without PROCESS"])
def test_tables_the_dump_user_cannot_read_fail_the_backup(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    integrations: HTTPServer,
    tmp_path: Path,
    auth: Callable[..., dict[str, str]],
    process: bool,
) -> None:
    grants = [
        "SELECT, SHOW VIEW, TRIGGER ON `{db}`.`clients`",
        "EVENT ON `{db}`.*",  # with SHOW EVENTS allowed mariadb-dump finishes with exit 0
        PROC_GRANT,
        *(["PROCESS ON *.*"] if process else []),
    ]
    with dump_user(mariadb_server, *grants, database=source_db) as user:
        app = make_backup_app(source_db, BACKUP_SOURCE_URL=_url(mariadb_server, user, source_db))
        backup = take_backup(app.test_client(), auth, verify="restore")
    _assert_failed_and_reported(backup, integrations, tmp_path / "backups")
    message = str(backup["error_message"])
    assert "lacks SELECT on the whole database" in message
    if process:  # the InnoDB dictionary names the hidden table
        assert "cannot read: work_items" in message


def test_routines_the_dump_user_cannot_see_fail_the_backup(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    integrations: HTTPServer,
    tmp_path: Path,
    auth: Callable[..., dict[str, str]],
) -> None:
    with dump_user(mariadb_server, *DUMP_GRANTS, SCRATCH_GRANT, database=source_db) as user:
        app = make_backup_app(source_db, BACKUP_SOURCE_URL=_url(mariadb_server, user, source_db))
        backup = take_backup(app.test_client(), auth, verify="restore")
    _assert_failed_and_reported(backup, integrations, tmp_path / "backups")
    assert "cannot read mysql.proc" in str(backup["error_message"])


def test_routines_seen_without_their_bodies_are_named(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    integrations: HTTPServer,
    tmp_path: Path,
    auth: Callable[..., dict[str, str]],
) -> None:
    grants = (*DUMP_GRANTS, "EXECUTE ON `{db}`.*")
    with dump_user(mariadb_server, *grants, database=source_db) as user:
        app = make_backup_app(source_db, BACKUP_SOURCE_URL=_url(mariadb_server, user, source_db))
        backup = take_backup(app.test_client(), auth)
    _assert_failed_and_reported(backup, integrations, tmp_path / "backups")
    assert "cannot read: FUNCTION double_it, PROCEDURE count_clients" in str(
        backup["error_message"]
    )


def test_a_privilege_revoked_after_the_inventory_fails_the_backup_naming_the_table(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    integrations: HTTPServer,
    tmp_path: Path,
    auth: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = pipeline.dump_argv

    def revoke_then_dump(cnf: str, database: str, binlog: bool) -> list[str]:
        # Between the inventory and the dump: the login keeps only `clients`.
        with mariadb_server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"REVOKE ALL PRIVILEGES ON `{source_db}`.* FROM %s@'%%'", (user,))
            for grant in ("SELECT, SHOW VIEW, TRIGGER ON `{db}`.`clients`", "EVENT ON `{db}`.*"):
                cur.execute(f"GRANT {grant.format(db=source_db)} TO %s@'%%'", (user,))
        return original(cnf, database, binlog)

    monkeypatch.setattr(pipeline, "dump_argv", revoke_then_dump)
    with dump_user(mariadb_server, *DUMP_GRANTS, PROC_GRANT, database=source_db) as user:
        app = make_backup_app(source_db, BACKUP_SOURCE_URL=_url(mariadb_server, user, source_db))
        backup = take_backup(app.test_client(), auth)
    _assert_failed_and_reported(backup, integrations, tmp_path / "backups")
    message = str(backup["error_message"])
    assert "completeness: tables missing from the dump: work_items" in message
    assert "views missing from the dump: open_items" in message
    assert "triggers missing from the dump: work_items_title" in message
    assert "lacks SELECT on the whole database" in message  # why: the grants changed meanwhile


def test_a_table_dropped_before_the_dump_reached_it_is_a_warning_not_a_failure(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_sql(mariadb_server, source_db, "CREATE TABLE scratch_notes (id INT PRIMARY KEY);")
    original = pipeline.dump_argv

    def drop_then_dump(cnf: str, database: str, binlog: bool) -> list[str]:
        run_sql(mariadb_server, source_db, "DROP TABLE scratch_notes;")
        return original(cnf, database, binlog)

    monkeypatch.setattr(pipeline, "dump_argv", drop_then_dump)
    backup = take_backup(make_backup_app(source_db).test_client(), auth, verify="restore")
    assert backup["status"] == "succeeded", backup["error_message"]
    assert backup["verification_status"] == "passed"
    warnings = backup["verification_details"]["warnings"]
    assert "dropped while the dump ran (not in the backup): tables scratch_notes" in warnings


HOSTILE_OBJECTS = r"""
DELIMITER //
CREATE TABLE `we ird``t ✓` (id INT PRIMARY KEY) ENGINE=InnoDB//
INSERT INTO `we ird``t ✓` VALUES (1)//
CREATE TABLE `a
-- Table structure for table ``ghost``` (v TEXT) ENGINE=InnoDB//
INSERT INTO `a
-- Table structure for table ``ghost``` VALUES ('x\n-- Dumping data for table `ghost`\n')//
CREATE TABLE `-- x` (id INT) ENGINE=InnoDB//
CREATE TABLE parts (id INT) ENGINE=MyISAM//
INSERT INTO parts VALUES (1), (2)//
CREATE TABLE all_parts (id INT) ENGINE=MRG_MyISAM UNION=(parts)//
CREATE SEQUENCE `ticket ✓ seq`//
CREATE TABLE audit (id INT PRIMARY KEY, state INT) WITH SYSTEM VERSIONING//
INSERT INTO audit VALUES (1, 1), (2, 1)//
UPDATE audit SET state = 2 WHERE id = 1//
SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')//
CREATE PROCEDURE "ansi ""quoted"" ✓"() SELECT 1//
SET sql_mode = 'ORACLE'//
CREATE PACKAGE pkg AS FUNCTION f RETURN INT; END//
CREATE PACKAGE BODY pkg AS FUNCTION f RETURN INT AS BEGIN RETURN 1; END; END//
SET sql_mode = DEFAULT//
CREATE TRIGGER `tr``ig ✓` BEFORE INSERT ON `we ird``t ✓` FOR EACH ROW SET @x = 1//
CREATE PROCEDURE `p -- ✓`()
BEGIN
-- Table structure for table `ghost`
SELECT 1;
END//
"""


def test_hostile_names_and_bodies_back_up_and_restore_verify(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    run_sql(mariadb_server, source_db, HOSTILE_OBJECTS)
    # Loading objects whose DEFINER is another account (root here) needs SET USER.
    grants = (*DUMP_GRANTS, PROC_GRANT, SCRATCH_GRANT, "SET USER ON *.*")
    with dump_user(mariadb_server, *grants, database=source_db) as user:
        app = make_backup_app(source_db, BACKUP_SOURCE_URL=_url(mariadb_server, user, source_db))
        backup = take_backup(app.test_client(), auth, verify="restore")
    assert backup["status"] == "succeeded", backup["error_message"]
    assert backup["verification_status"] == "passed"
    restored = backup["verification_details"]["restored_fingerprint"]
    assert {"we ird`t ✓", "a\n-- Table structure for table `ghost`", "-- x"} <= set(restored)
    assert "ghost" not in restored
    with app.extensions["backups_runtime"].session_factory() as session:
        inventory = session.get(BackupLog, backup["id"]).dump_inventory
    assert {
        "PROCEDURE p -- ✓",
        'PROCEDURE ansi "quoted" ✓',
        "PACKAGE pkg",
        "PACKAGE BODY pkg",
    } <= set(inventory["routines"])
    assert inventory["triggers"] == ["tr`ig ✓", "work_items_title"]
    assert inventory["table_rows"]["work_items"] > 0
    assert inventory["tables_without_data"] == ["all_parts"]  # MERGE: its rows live in parts
    assert inventory["sequences"] == ["ticket ✓ seq"]
    assert inventory["system_versioned"] == ["audit"]  # in tables; its checksum is not compared
    assert "audit" in inventory["tables"]


def test_tables_whose_triggers_the_dump_user_cannot_see_fail_the_backup(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    integrations: HTTPServer,
    tmp_path: Path,
    auth: Callable[..., dict[str, str]],
) -> None:
    grants = ("SELECT, SHOW VIEW, EVENT, LOCK TABLES ON `{db}`.*", PROC_GRANT)
    with dump_user(mariadb_server, *grants, database=source_db) as user:
        app = make_backup_app(source_db, BACKUP_SOURCE_URL=_url(mariadb_server, user, source_db))
        backup = take_backup(app.test_client(), auth)
    _assert_failed_and_reported(backup, integrations, tmp_path / "backups")
    assert "lacks TRIGGER on clients, work_items" in str(backup["error_message"])


@contextlib.contextmanager
def role_user(server: MariaDBServer, *grants: str) -> Iterator[str]:
    """A login whose privileges all come from its default role."""
    role = f"bk_role_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE ROLE `{role}`")
        for grant in grants:
            cur.execute(f"GRANT {grant} TO `{role}`")
    try:
        with dump_user(server, role, database="") as user:
            with server.connect() as conn, conn.cursor() as cur:
                cur.execute(f"SET DEFAULT ROLE `{role}` FOR %s@'%%'", (user,))
            yield user
    finally:
        with server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP ROLE IF EXISTS `{role}`")


def test_privileges_from_a_default_role_on_a_wildcard_database_are_enough(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    pattern = source_db.rsplit("_", 1)[0].replace("_", "\\_") + "\\_%"  # bk\_source\_%
    grants = (f"SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `{pattern}`.*", PROC_GRANT)
    with role_user(mariadb_server, *grants) as user:
        app = make_backup_app(source_db, BACKUP_SOURCE_URL=_url(mariadb_server, user, source_db))
        backup = take_backup(app.test_client(), auth)
    assert backup["status"] == "succeeded", backup["error_message"]


def test_a_login_with_all_on_its_schema_needs_no_mysql_proc_for_its_own_routines(
    make_backup_app: AppFactory,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    # The compose example's account: ALL on its database, nothing else.
    database = mariadb_server.create_database("bk_own")
    with dump_user(mariadb_server, "ALL ON `{db}`.*", database=database) as user:
        own = pymysql.connect(
            host=mariadb_server.host,
            port=mariadb_server.port,
            user=user,
            password=f"pw-{user}",
            database=database,
            autocommit=True,
        )
        with own, own.cursor() as cur:
            cur.execute("CREATE TABLE t (id INT PRIMARY KEY)")
            cur.execute("CREATE PROCEDURE own_proc() SELECT COUNT(*) FROM t")
        app = make_backup_app(database, BACKUP_SOURCE_URL=_url(mariadb_server, user, database))
        backup = take_backup(app.test_client(), auth)
    assert backup["status"] == "succeeded", backup["error_message"]
