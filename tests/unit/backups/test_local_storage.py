"""The local folder storage: atomic commit, nothing left behind on failure, full disks reported."""

from __future__ import annotations

import resource
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.backups.adapters.storage import LocalStorage, StorageError, StorageFull


def test_an_artifact_appears_only_when_committed(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    writer = storage.open_writer("db.sql.zst")
    writer.write(b"abc" * 1000)
    assert not (tmp_path / "db.sql.zst").exists()
    artifact = writer.commit()
    assert artifact.size_bytes == 3000
    assert [p.name for p in tmp_path.iterdir()] == ["db.sql.zst"]
    assert b"".join(storage.read(artifact.location)) == b"abc" * 1000


def test_an_aborted_artifact_leaves_no_file(tmp_path: Path) -> None:
    writer = LocalStorage(tmp_path).open_writer("db.sql.zst")
    writer.write(b"partial")
    writer.abort()
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def file_size_limit() -> Iterator[int]:
    """Make this process's files stop growing at 64 KiB, as a full disk would."""
    limit = 64 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_full_folder_fails_the_write_and_removes_the_partial_file(
    tmp_path: Path, file_size_limit: int
) -> None:
    writer = LocalStorage(tmp_path).open_writer("db.sql.zst")
    with pytest.raises(StorageFull):
        for _ in range(10):
            writer.write(b"x" * file_size_limit)
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_created_fails_preflight(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="folder"):
        LocalStorage(blocker / "backups").preflight()


def test_locations_outside_the_folder_are_refused(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "backups")
    storage.preflight()
    with pytest.raises(StorageError, match="outside"):
        b"".join(storage.read("/etc/passwd"))
