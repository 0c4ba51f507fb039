"""The CLI takes a backup with a progress bar and restores it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from services.backups.cli import cli, progress_line
from tests.integration.backups.backup_fixtures import run_sql
from tests.mariadb import MariaDBServer


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    mariadb_server: MariaDBServer,
    source_db: str,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("BACKUP_SOURCE_URL", mariadb_server.url(source_db))
    monkeypatch.setenv("BACKUP_FOLDER", str(tmp_path / "cli-backups"))
    monkeypatch.setenv("BACKUP_NOTIFY_FAILURES", "false")


def test_the_cli_backs_up_with_progress_and_restores(
    cli_env: None, mariadb_server: MariaDBServer, source_db: str
) -> None:
    runner = CliRunner()
    taken = runner.invoke(cli, ["backup", "--verify", "restore"])
    assert taken.exit_code == 0, taken.output
    assert "succeeded (verification passed)" in taken.stdout
    assert "[" in taken.stderr and "MB/s" in taken.stderr
    backup_id = taken.stdout.split()[1].rstrip(":")
    target = f"bk_cli_{backup_id[:8]}"
    mariadb_server.created.append(target)
    restored = runner.invoke(cli, ["restore", backup_id, target])
    assert restored.exit_code == 0, restored.output
    count = "SELECT COUNT(*) FROM work_items;"
    assert run_sql(mariadb_server, target, count) == run_sql(mariadb_server, source_db, count)
    again = runner.invoke(cli, ["restore", backup_id, target])
    assert again.exit_code != 0


def test_a_failed_cli_backup_exits_non_zero(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, mariadb_server: MariaDBServer
) -> None:
    monkeypatch.setenv("BACKUP_SOURCE_URL", mariadb_server.url("bk_no_such_database"))
    result = CliRunner().invoke(cli, ["backup"])
    assert result.exit_code == 1
    assert "Unknown database" in result.stderr


def test_the_progress_line_shows_share_rate_eta_and_table() -> None:
    line = progress_line(
        {
            "bytes_processed": 50_000_000,
            "rate_bytes_per_s": 10_000_000.0,
            "eta_seconds": 5.0,
            "phase": "dumping",
            "current_table": "clients",
        }
    )
    assert line.startswith("[###############---------------]  50%")
    assert "10.0 MB/s" in line and "ETA 5 s" in line and line.endswith("dumping clients")
