"""The embedded default: SQLite online backup into a folder, verified by checksum and restore."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from services.backups.adapters.storage import LocalStorage
from services.backups.dump.outcome import DumpOutcome
from services.backups.dump.sqlite_backup import (
    restore_sqlite,
    run_sqlite_backup,
    take_inventory,
    verify_sqlite_restore,
)
from services.backups.verification.checks import verify_checksum


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "msp.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE clients (id TEXT PRIMARY KEY, name TEXT UNIQUE);
        CREATE TABLE notes (id INTEGER PRIMARY KEY, client_id TEXT, body BLOB);
        CREATE VIEW client_names AS SELECT name FROM clients;
        CREATE TRIGGER notes_touch AFTER INSERT ON notes BEGIN SELECT 1; END;
        """
    )
    conn.executemany(
        "INSERT INTO clients VALUES (?, ?)", [(f"c{i}", f"Client {i}") for i in range(500)]
    )
    conn.executemany(
        "INSERT INTO notes (client_id, body) VALUES (?, ?)",
        [(f"c{i % 500}", bytes(range(256))) for i in range(3000)],
    )
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize("codec", ["zstd", "gzip", "none"])
def test_a_sqlite_backup_passes_checksum_and_restore_verification(
    source: Path, tmp_path: Path, codec: str
) -> None:
    storage = LocalStorage(tmp_path / "backups")
    result = run_sqlite_backup(
        source=source, storage=storage, artifact_name=f"b.sqlite3.{codec}", codec=codec
    )
    checked = verify_checksum(
        storage=storage,
        location=result.location,
        codec=codec,
        checksum_sha256=result.checksum_sha256,
        size_bytes=result.stored_bytes,
        artifact_format="sqlite",
    )
    assert checked.passed, checked.details
    passed, details, seconds = verify_sqlite_restore(
        storage=storage,
        location=result.location,
        codec=codec,
        expected_inventory=result.inventory,
    )
    assert passed, details
    assert seconds >= 0
    assert result.inventory["views"] == ["client_names"]
    assert [p.name for p in storage.folder.iterdir()] == [f"b.sqlite3.{codec}"]


def test_a_tampered_sqlite_artifact_fails_the_checksum(source: Path, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "backups")
    result = run_sqlite_backup(source=source, storage=storage, artifact_name="b.zst")
    with open(result.location, "r+b") as fh:
        fh.seek(100)
        fh.write(b"\x00\x01\x02")
    checked = verify_checksum(
        storage=storage,
        location=result.location,
        codec="zstd",
        checksum_sha256=result.checksum_sha256,
        size_bytes=result.stored_bytes,
        artifact_format="sqlite",
    )
    assert not checked.passed


def test_restore_writes_an_identical_database_and_refuses_to_overwrite(
    source: Path, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "backups")
    result = run_sqlite_backup(source=source, storage=storage, artifact_name="b.zst")
    target = tmp_path / "restored.sqlite3"
    restore_sqlite(storage=storage, location=result.location, codec="zstd", target=target)
    assert take_inventory(target) == take_inventory(source)
    with pytest.raises(FileExistsError):
        restore_sqlite(storage=storage, location=result.location, codec="zstd", target=target)


def test_a_sqlite_backup_reports_the_same_outcome_as_a_mariadb_dump(
    source: Path, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "backups")
    result = run_sqlite_backup(source=source, storage=storage, artifact_name="b.gz", codec="gzip")
    assert isinstance(result, DumpOutcome)
    assert result.compression == "gzip"
    assert result.tables_dumped == 2
    assert result.raw_bytes == source.stat().st_size
    assert result.stored_bytes == Path(result.location).stat().st_size
    assert result.server_version is not None and result.server_version.startswith("SQLite ")
    assert result.seconds > 0
    assert result.rate_bytes_per_s is not None and result.rate_bytes_per_s > 0
