"""The embedded default: SQLite's online backup API into the local folder, and its verification."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from services.backups.adapters.compression import decompress_stream, make_compressor
from services.backups.adapters.mariadb_inventory import compare_inventories
from services.backups.adapters.storage import LocalStorage, StorageError
from services.backups.dump.outcome import DumpOutcome
from services.backups.dump.progress import ProgressCallback, ProgressTracker

PAGES_PER_STEP = 1024
SQLITE_MAGIC = b"SQLite format 3\x00"


class SQLiteBackupError(Exception):
    """The SQLite backup or its verification failed."""


def sqlite_path_from_url(url: str) -> Path:
    """The file behind a sqlite:///path URL."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix:
        raise ValueError("expected a sqlite:///path URL")
    return Path(url[len(prefix) :])


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def take_inventory(path: Path) -> dict[str, Any]:
    """Objects, row counts and a content hash per table (SQLite has no CHECKSUM TABLE)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        kinds = {"table": "tables", "view": "views", "trigger": "triggers"}
        found: dict[str, Any] = {"tables": [], "views": [], "triggers": []}
        for kind, name in rows:
            if kind in kinds:
                found[kinds[kind]].append(name)
        found["table_data"] = {t: _fingerprint(conn, t) for t in found["tables"]}
        return found
    finally:
        conn.close()


def _fingerprint(conn: sqlite3.Connection, table: str) -> dict[str, Any]:
    digest = hashlib.sha256()
    count = 0
    for row in conn.execute(f"SELECT * FROM {_quote(table)} ORDER BY 1"):  # noqa: S608
        digest.update(repr(row).encode())
        count += 1
    return {"rows": count, "checksum": digest.hexdigest()}


def _online_copy(source: Path, dest: Path, tracker: ProgressTracker) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(dest)
    try:

        def step(_status: int, remaining: int, total: int) -> None:
            tracker.add(
                raw=0, stored=0, current_table=f"{total - remaining}/{total} pages", tables=0
            )

        src.backup(dst, pages=PAGES_PER_STEP, progress=step)
        # A WAL-mode source makes a WAL-mode copy, and every later open of it (the inventory,
        # a restore) would leave -wal/-shm files: the artifact is a plain rollback-journal file.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def _remove_with_companions(path: Path) -> None:
    """Remove a SQLite file and the -wal, -shm and -journal files SQLite may have made."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def run_sqlite_backup(
    *,
    source: Path,
    storage: LocalStorage,
    artifact_name: str,
    codec: str = "zstd",
    level: int | None = None,
    progress: ProgressCallback | None = None,
) -> DumpOutcome:
    """Copy the live database with the backup API, then compress it into the folder."""
    if not source.is_file():
        raise SQLiteBackupError(f"SQLite database {source.name} does not exist")
    try:
        storage.preflight()
    except StorageError as exc:
        raise SQLiteBackupError(str(exc)) from exc
    started = time.monotonic()
    tracker = ProgressTracker(progress, phase="dumping").start()
    fd, temp = tempfile.mkstemp(prefix=".sqlite-copy-", dir=storage.folder)
    os.close(fd)
    try:
        _online_copy(source, Path(temp), tracker)
        inventory = take_inventory(Path(temp))
        artifact = _compress_into(Path(temp), storage, artifact_name, codec, level, tracker)
    except (sqlite3.Error, OSError, StorageError) as exc:
        raise SQLiteBackupError(f"SQLite backup failed: {exc}") from exc
    finally:
        _remove_with_companions(Path(temp))
        tracker.stop()
    return DumpOutcome(
        location=artifact.location,
        stored_bytes=artifact.stored_bytes,
        raw_bytes=artifact.raw_bytes,
        checksum_sha256=artifact.checksum_sha256,
        compression=codec,
        tables_dumped=len(inventory["tables"]),
        server_version=f"SQLite {sqlite3.sqlite_version}",
        inventory=inventory,
        seconds=round(time.monotonic() - started, 3),
    )


class _Compressed(NamedTuple):
    location: str
    stored_bytes: int
    raw_bytes: int
    checksum_sha256: str


def _compress_into(
    copy: Path,
    storage: LocalStorage,
    name: str,
    codec: str,
    level: int | None,
    tracker: ProgressTracker,
) -> _Compressed:
    writer = storage.open_writer(name)
    compressor, sha, raw, stored = make_compressor(codec, level=level), hashlib.sha256(), 0, 0
    try:
        with open(copy, "rb") as fh:
            while chunk := fh.read(1 << 20):
                out = compressor.compress(chunk)
                sha.update(out)
                writer.write(out)
                raw, stored = raw + len(chunk), stored + len(out)
                tracker.add(raw=len(chunk), stored=len(out), current_table=None, tables=0)
        tail = compressor.flush()
        sha.update(tail)
        writer.write(tail)
        artifact = writer.commit()
    except BaseException:
        writer.abort()
        raise
    return _Compressed(artifact.location, stored + len(tail), raw, sha.hexdigest())


def _expand(storage: LocalStorage, location: str, codec: str, dest: Path) -> None:
    with open(dest, "wb") as out:
        for chunk in decompress_stream(codec, storage.read(location)):
            out.write(chunk)


@contextlib.contextmanager
def _scratch_copy(storage: LocalStorage, location: str, codec: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bkverify-") as folder:
        dest = Path(folder) / "restore.sqlite3"
        _expand(storage, location, codec, dest)
        yield dest


def verify_sqlite_restore(
    *, storage: LocalStorage, location: str, codec: str, expected_inventory: dict[str, Any]
) -> tuple[bool, dict[str, Any], float]:
    """Expand to a scratch file, integrity_check, compare inventories: (passed, details, secs)."""
    started = time.monotonic()
    try:
        with _scratch_copy(storage, location, codec) as copy:
            conn = sqlite3.connect(copy)
            try:
                integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                conn.close()
            restored = take_inventory(copy)
    except (sqlite3.Error, OSError, ValueError, StorageError) as exc:
        return False, {"error": f"restore failed: {exc}"}, time.monotonic() - started
    problems = compare_inventories(expected_inventory, restored)
    if integrity != "ok":
        problems.append(f"integrity_check: {integrity}")
    details = {"problems": problems, "tables": len(restored["tables"])}
    return not problems, details, round(time.monotonic() - started, 3)


def restore_sqlite(
    *, storage: LocalStorage, location: str, codec: str, target: Path, replace: bool = False
) -> float:
    """Write the backup out as the SQLite file `target`; an existing file needs `replace`."""
    if target.exists() and not replace:
        raise FileExistsError(str(target))
    started = time.monotonic()
    temp = target.with_name(f".{target.name}.restoring")
    try:
        _expand(storage, location, codec, temp)
        if replace:  # the old file's -wal would be replayed into the restored one
            for suffix in ("-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{target}{suffix}")
        os.replace(temp, target)
    finally:
        _remove_with_companions(temp)
    return round(time.monotonic() - started, 3)
