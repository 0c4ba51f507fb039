"""SQLite mode leaves only its artifact behind: no -wal, -shm, -journal or copy files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from services.backups.adapters.storage import LocalStorage
from services.backups.dump.sqlite_backup import (
    restore_sqlite,
    run_sqlite_backup,
    verify_sqlite_restore,
)


def _wal_source(path: Path) -> Path:
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body BLOB)")
    conn.executemany("INSERT INTO notes (body) VALUES (?)", [(bytes(200),)] * 2000)
    conn.commit()
    conn.close()
    return path


def test_a_wal_mode_source_leaves_only_the_artifact_in_the_folder(tmp_path: Path) -> None:
    source = _wal_source(tmp_path / "live.sqlite3")
    folder = tmp_path / "backups"
    storage = LocalStorage(folder)
    outcome = run_sqlite_backup(source=source, storage=storage, artifact_name="a.sqlite3.zst")
    assert sorted(p.name for p in folder.iterdir()) == ["a.sqlite3.zst"]
    passed, details, _ = verify_sqlite_restore(
        storage=storage,
        location=outcome.location,
        codec="zstd",
        expected_inventory=outcome.inventory,
    )
    assert passed, details
    assert sorted(p.name for p in folder.iterdir()) == ["a.sqlite3.zst"]


def test_a_restored_file_opens_without_leaving_wal_files(tmp_path: Path) -> None:
    source = _wal_source(tmp_path / "live.sqlite3")
    storage = LocalStorage(tmp_path / "backups")
    outcome = run_sqlite_backup(source=source, storage=storage, artifact_name="a.sqlite3.zst")
    target = tmp_path / "restored" / "db.sqlite3"
    target.parent.mkdir()
    restore_sqlite(storage=storage, location=outcome.location, codec="zstd", target=target)
    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    assert conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 2000
    conn.close()
    assert sorted(p.name for p in target.parent.iterdir()) == ["db.sqlite3"]


def test_replacing_a_file_drops_its_stale_wal(tmp_path: Path) -> None:
    source = _wal_source(tmp_path / "live.sqlite3")
    storage = LocalStorage(tmp_path / "backups")
    outcome = run_sqlite_backup(source=source, storage=storage, artifact_name="a.sqlite3.zst")
    target = tmp_path / "old.sqlite3"
    target.write_bytes(b"old")
    Path(f"{target}-wal").write_bytes(b"stale frames of the old file")
    restore_sqlite(
        storage=storage, location=outcome.location, codec="zstd", target=target, replace=True
    )
    assert not Path(f"{target}-wal").exists()
    conn = sqlite3.connect(target)
    assert conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 2000
    conn.close()
