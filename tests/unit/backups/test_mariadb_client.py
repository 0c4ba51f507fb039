"""The password reaches mariadb-dump through a 0600 defaults file, never argv; stderr is read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from services.backups.adapters.mariadb_client import (
    MariaDBTarget,
    defaults_file,
    dump_argv,
    is_error_line,
)
from services.backups.dump.pipeline import binlog_position

TARGET = MariaDBTarget("db.internal", 3307, "backup", 'p@ss "word"\\x', "msp")


def test_the_defaults_file_is_private_holds_the_password_and_is_removed() -> None:
    with defaults_file(TARGET) as path:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        text = Path(path).read_text()
        assert 'password="p@ss \\"word\\"\\\\x"' in text
        assert "host=db.internal" in text and "port=3307" in text
    assert not os.path.exists(path)


def test_the_dump_command_line_has_no_password_and_the_safe_flags() -> None:
    argv = dump_argv("/tmp/x.cnf", "msp")
    assert argv[1] == "--defaults-extra-file=/tmp/x.cnf"
    assert not any("p@ss" in a or a.startswith("--password") or a.startswith("-p") for a in argv)
    for flag in (
        "--single-transaction",
        "--quick",
        "--routines",
        "--triggers",
        "--events",
        "--hex-blob",
    ):
        assert flag in argv
    assert "--flush-logs" not in argv
    assert "--lock-all-tables" not in argv


def test_binlog_coordinates_are_asked_for_only_when_binary_logging_is_on() -> None:
    assert "--master-data=2" not in dump_argv("c", "msp")
    assert {"--master-data=2", "--gtid"} <= set(dump_argv("c", "msp", True))


def test_the_repr_of_a_target_hides_the_password() -> None:
    assert "p@ss" not in repr(TARGET)


def test_a_url_password_is_decoded() -> None:
    target = MariaDBTarget.from_url("mysql+pymysql://u:p%40ss@h:3306/db?charset=utf8mb4")
    assert (target.user, target.password, target.database, target.port) == ("u", "p@ss", "db", 3306)


@pytest.mark.parametrize(
    ("line", "is_error"),
    [
        ("mariadb-dump: Got error: 1045: \"Access denied for user 'x'@'h'\"", True),
        ("mariadb-dump: Couldn't execute 'SHOW CREATE TABLE'", True),
        ("mariadb-dump: Error 1412: Table definition has changed", True),
        ("Warning: Using a password on the command line interface can be insecure.", False),
    ],
)
def test_stderr_lines_that_mean_failure_are_recognised(line: str, is_error: bool) -> None:
    assert is_error_line(line) is is_error


def test_binlog_position_and_gtid_are_read_from_the_dump_header() -> None:
    head = (
        b"-- Position to start replication or point-in-time recovery from\n"
        b"-- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000042', MASTER_LOG_POS=1234;\n"
        b"-- SET GLOBAL gtid_slave_pos='0-1-99';\n"
    )
    assert binlog_position(head) == "mariadb-bin.000042:1234 gtid=0-1-99"
    assert binlog_position(b"-- MariaDB dump 10.19\n") is None
