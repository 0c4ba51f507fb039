"""The operator CLI as a real process: the console script, in any folder, on README defaults."""

from __future__ import annotations

import json
import os
import pty
import select as io_select
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, select, update

from shared.models import BackupLog, BackupSchedule, RestoreLog
from tests.integration.backups.backup_fixtures import run_sql
from tests.mariadb import MariaDBServer
from tests.polling import eventually

SCRIPT = Path(sys.executable).parent / "msp-backups"


@pytest.fixture
def operator_env(
    database_url: str, mariadb_server: MariaDBServer, source_db: str
) -> dict[str, str]:
    """The environment an operator has: no PYTHONPATH, no BACKUP_FOLDER (the relative default)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BACKUP_FOLDER")}
    env.update(
        DATABASE_URL=database_url,
        BACKUP_SOURCE_URL=mariadb_server.url(source_db),
        BACKUP_NOTIFY_FAILURES="false",
    )
    return env


def run_cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The console script, run in `cwd` with stderr a pipe (not a terminal)."""
    return subprocess.run(
        [str(SCRIPT), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def assert_one_error_line(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr
    assert lines[-1].startswith("Error: "), done.stderr
    return lines[-1]


def test_the_cli_as_the_readme_shows_it_backs_up_lists_shows_and_restores(
    operator_env: dict[str, str], tmp_path: Path, mariadb_server: MariaDBServer, source_db: str
) -> None:
    taken = run_cli(operator_env, tmp_path, "--json", "backup", "--verify", "restore")
    assert taken.returncode == 0, taken.stderr
    backup = json.loads(taken.stdout)
    assert backup["status"] == "succeeded" and backup["verification_status"] == "passed"
    # The relative default folder was resolved once, in the folder the command ran in.
    artifact = Path(backup["file_path"])
    assert artifact.parent == (tmp_path / "var" / "backups").resolve() and artifact.is_file()
    # stderr is a pipe: no carriage-return frames, no control codes, one final line.
    assert "\r" not in taken.stderr and "\x1b" not in taken.stderr
    assert taken.stderr.strip().count("\n") == 0 and "MB/s" in taken.stderr

    listed = json.loads(run_cli(operator_env, tmp_path, "--json", "list").stdout)
    assert backup["id"] in [row["id"] for row in listed["items"]]
    shown = run_cli(operator_env, tmp_path, "show", backup["id"])
    assert shown.returncode == 0 and f"checksum_sha256: {backup['checksum_sha256']}" in shown.stdout

    target = f"bk_cli_{backup['id'][:8]}"
    mariadb_server.created.append(target)
    restored = run_cli(operator_env, tmp_path, "--json", "restore", backup["id"], target)
    assert restored.returncode == 0, restored.stderr
    record = json.loads(restored.stdout)
    assert record["status"] == "succeeded" and record["requested_by"].startswith("cli:")
    count = "SELECT COUNT(*) FROM work_items;"
    assert run_sql(mariadb_server, target, count) == run_sql(mariadb_server, source_db, count)
    again = run_cli(operator_env, tmp_path, "restore", backup["id"], target)
    assert "exists" in assert_one_error_line(again)


@pytest.mark.parametrize(
    "args",
    [
        ("show", "no-such-backup"),
        ("restore", "--", "no-such-backup", "-Dvictim"),
        ("backup", "--database", "-Dvictim"),
        ("backup", "--database", "information_schema"),
        ("list", "--limit", "0"),
    ],
)
def test_every_refusal_is_one_error_line(
    operator_env: dict[str, str], tmp_path: Path, args: tuple[str, ...]
) -> None:
    done = run_cli(operator_env, tmp_path, *args)
    assert done.returncode in (1, 2)
    assert_one_error_line(done, done.returncode)


def test_an_unreachable_database_is_one_error_line_without_its_url(
    operator_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**operator_env, "DATABASE_URL": "mysql+pymysql://root:s3cret-pw@127.0.0.1:1/nope"}
    done = run_cli(env, tmp_path, "list")
    line = assert_one_error_line(done)
    assert "s3cret-pw" not in done.stderr and "database" in line


@pytest.mark.parametrize(
    ("variable", "value"),
    [("BACKUP_STORAGE", "floppy"), ("BACKUP_ZSTD_LEVEL", "nan"), ("DATABASE_URL", "-Dvictim")],
)
def test_a_bad_setting_is_one_error_line_naming_it(
    operator_env: dict[str, str], tmp_path: Path, variable: str, value: str
) -> None:
    done = run_cli({**operator_env, variable: value}, tmp_path, "list")
    line = assert_one_error_line(done, 2)
    assert variable in line


def test_run_due_exits_1_when_a_backup_it_started_failed(
    operator_env: dict[str, str],
    tmp_path: Path,
    make_backup_app: Callable[..., Flask],
    source_db: str,
    auth: Callable[..., dict[str, str]],
    engine: Engine,
) -> None:
    app = make_backup_app(source_db)
    answer = app.test_client().post(
        "/v1/schedules",
        json={
            "name": f"cli-due-{uuid.uuid4().hex[:8]}",
            "cron_expression": "0 3 * * *",
            "database_name": "bk_no_such_database",
        },
        headers=auth("backups:run"),
    )
    assert answer.status_code == 201, answer.get_json()
    schedule_id = answer.get_json()["id"]
    with engine.begin() as connection:
        connection.execute(
            update(BackupSchedule)
            .where(BackupSchedule.id == schedule_id)
            .values(next_run_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    done = run_cli(operator_env, tmp_path, "--json", "run-due")
    assert_one_error_line(done, 1)
    result = json.loads(done.stdout)
    mine = [row for row in result["started"] if row["schedule_id"] == schedule_id]
    assert [row["status"] for row in mine] == ["failed"]
    assert mine[0]["id"] in result["failed"]


def test_ctrl_c_cancels_a_running_backup_cleanly(
    operator_env: dict[str, str],
    tmp_path: Path,
    mariadb_server: MariaDBServer,
    big_source_db: str,
    engine: Engine,
) -> None:
    env = {**operator_env, "BACKUP_SOURCE_URL": mariadb_server.url(big_source_db)}
    started_at = datetime.now(UTC) - timedelta(seconds=1)
    process = subprocess.Popen(
        [str(SCRIPT), "backup", "--compression", "gzip"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        row = eventually(lambda: _dumping(engine, big_source_db, started_at), within=60, every=0.05)
        process.send_signal(signal.SIGINT)  # to the CLI alone: it must stop its own children
        _out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("Error: cancelled")
    with engine.connect() as connection:
        final = connection.execute(select(BackupLog).where(BackupLog.id == row)).one()
    assert final.status == "failed" and "cancelled by the operator" in final.error_message
    folder = tmp_path / "var" / "backups"
    assert not folder.exists() or list(folder.iterdir()) == []  # no .partial, no artifact


def _dumping(engine: Engine, database: str, since: datetime) -> str | None:
    with engine.connect() as connection:
        return connection.execute(
            select(BackupLog.id).where(
                BackupLog.database_name == database,
                BackupLog.backup_started_at >= since,
                BackupLog.status == "in_progress",
                BackupLog.bytes_processed > 0,
            )
        ).scalar()


def _run_on_a_terminal(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, bytes]:
    """Run the script with stderr on a pseudo-terminal; its exit code and what it drew there."""
    master, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(SCRIPT), *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=terminal
    )
    os.close(terminal)
    drawn = b""
    while True:
        ready, _, _ = io_select.select([master], [], [], 0.5)
        if not ready and process.poll() is not None:
            break
        try:
            chunk = os.read(master, 65536) if ready else b""
        except OSError:  # the terminal's other end closed: the process is done with it
            break
        if ready and not chunk:
            break
        drawn += chunk
    os.close(master)
    return process.wait(timeout=60), drawn


def test_on_a_terminal_the_bar_is_drawn_then_its_line_cleared(
    operator_env: dict[str, str], tmp_path: Path
) -> None:
    code, drawn = _run_on_a_terminal(operator_env, tmp_path, "backup")
    assert code == 0, drawn
    erase_line = b"\x1b[2K"
    assert erase_line in drawn  # the live bar was there, and was wiped
    # After the wipe only the final line is left: no stale characters of the bar.
    tail = drawn.rsplit(erase_line, 1)[1].decode()
    assert tail.startswith("[") and "100%" in tail and tail.rstrip("\r\n").endswith("done")
    assert "\x1b" not in tail and tail.count("\n") == 1


def test_ctrl_c_cancels_a_running_restore_cleanly(
    operator_env: dict[str, str],
    tmp_path: Path,
    mariadb_server: MariaDBServer,
    big_source_db: str,
    engine: Engine,
) -> None:
    env = {**operator_env, "BACKUP_SOURCE_URL": mariadb_server.url(big_source_db)}
    taken = run_cli(env, tmp_path, "--json", "backup", "--compression", "gzip")
    assert taken.returncode == 0, taken.stderr
    backup_id = json.loads(taken.stdout)["id"]
    target = f"bk_cancel_{backup_id[:8]}"
    mariadb_server.created.append(target)
    process = subprocess.Popen(
        [str(SCRIPT), "restore", backup_id, target],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        restore_id = eventually(lambda: _loading(engine, backup_id), within=60, every=0.05)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("Error: cancelled")
    with engine.connect() as connection:
        final = connection.execute(select(RestoreLog).where(RestoreLog.id == restore_id)).one()
    assert final.status == "failed" and "cancelled by the operator" in final.error_message
    left = run_sql(mariadb_server, "mysql", "SHOW DATABASES;").split()
    assert target not in left
    assert not [name for name in left if name.startswith(f"bkverify_{restore_id[:8]}")]


def _loading(engine: Engine, backup_id: str) -> str | None:
    with engine.connect() as connection:
        return connection.execute(
            select(RestoreLog.id).where(
                RestoreLog.backup_id == backup_id,
                RestoreLog.status == "running",
                RestoreLog.bytes_processed > 0,
            )
        ).scalar()
