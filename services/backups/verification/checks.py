"""Proving a backup good: re-read its checksum, or restore it and compare with the source."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pymysql

from services.backups.adapters import mariadb_inventory as inventory
from services.backups.adapters.compression import decompress_stream
from services.backups.adapters.mariadb_client import (
    ClientProcess,
    MariaDBTarget,
    defaults_file,
    load_argv,
)
from services.backups.adapters.storage import Storage, StorageError
from services.backups.dump.job_control import stopped_with_job
from services.backups.dump.pipeline import TRAILER, PipelineError
from services.backups.dump.progress import ProgressCallback, ProgressTracker
from services.backups.dump.sqlite_backup import SQLITE_MAGIC


@dataclass
class VerificationResult:
    """passed or failed, with details for backup_log.verification_details."""

    passed: bool
    mode: str
    details: dict[str, Any] = field(default_factory=dict)
    restore_seconds: float | None = None


def _counted(chunks: Iterable[bytes], sha: Any, counter: list[int]) -> Iterator[bytes]:
    for chunk in chunks:
        sha.update(chunk)
        counter[0] += len(chunk)
        yield chunk


def verify_checksum(
    *,
    storage: Storage,
    location: str,
    codec: str,
    checksum_sha256: str,
    size_bytes: int,
    artifact_format: str = "sql",
) -> VerificationResult:
    """Re-read the stored bytes: SHA-256 and size match, and it decompresses to a complete dump."""
    sha, counter = hashlib.sha256(), [0]
    head, tail = b"", b""
    try:
        for plain in decompress_stream(codec, _counted(storage.read(location), sha, counter)):
            head = head or plain[:16]
            tail = (tail + plain[-256:])[-256:]  # no copy of the whole chunk
    except (StorageError, ValueError) as exc:
        return VerificationResult(False, "checksum", {"error": str(exc)})
    problems = []
    if sha.hexdigest() != checksum_sha256:
        problems.append("SHA-256 of the stored artifact differs from the recorded checksum")
    if counter[0] != size_bytes:
        problems.append(f"stored size is {counter[0]} bytes, {size_bytes} recorded")
    if artifact_format == "sqlite" and not head.startswith(SQLITE_MAGIC):
        problems.append("decompressed artifact is not a SQLite database")
    if artifact_format == "sql" and TRAILER not in tail:
        problems.append("decompressed stream has no '-- Dump completed' trailer")
    details = {"sha256": sha.hexdigest(), "size_bytes": counter[0], "problems": problems}
    return VerificationResult(not problems, "checksum", details)


class TableSections:
    """Counts `-- Table structure for table` lines in a dump stream, across chunk borders."""

    MARKER = b"\n-- Table structure for table `"

    def __init__(self) -> None:
        self.count = 0
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        """Count the markers that end in this chunk (a split one is seen through the tail)."""
        window = self._tail + chunk
        self.count += window.count(self.MARKER)
        # Keep less than one marker: a marker wholly in the tail was counted already.
        self._tail = window[-(len(self.MARKER) - 1) :]


@dataclass(frozen=True)
class LoadResult:
    """One load of an artifact: how long it took and what the bytes it read were."""

    seconds: float
    sha256: str
    stored_bytes: int
    tables: int  # `-- Table structure for table` sections the dump held


def load_into(
    *,
    target: MariaDBTarget,
    storage: Storage,
    location: str,
    codec: str,
    progress: ProgressCallback | None = None,
    expected_raw_bytes: int | None = None,
) -> LoadResult:
    """Stream the artifact into the (existing) database `target.database`."""
    started = time.monotonic()
    tracker = ProgressTracker(
        progress, phase="restoring", expected_bytes=expected_raw_bytes
    ).start()
    # Hashed as it is read: a file changed after an earlier check cannot pass as checked.
    sha, counter, sections = hashlib.sha256(), [0], TableSections()
    try:
        with defaults_file(target) as cnf:
            loader = ClientProcess(load_argv(cnf, target.database), stdin=-1, stdout=-3)
            chunks = _counted(storage.read(location), sha, counter)
            with stopped_with_job(loader.proc.kill):  # a stopped job ends its load at once
                _feed(loader, chunks, codec, tracker, sections)
    finally:
        tracker.stop()
    seconds = round(time.monotonic() - started, 3)
    return LoadResult(seconds, sha.hexdigest(), counter[0], sections.count)


def _feed(
    loader: ClientProcess,
    chunks: Iterable[bytes],
    codec: str,
    tracker: ProgressTracker,
    sections: TableSections,
) -> None:
    sink = loader.proc.stdin
    assert sink is not None
    try:
        for plain in decompress_stream(codec, chunks):
            sections.feed(plain)
            sink.write(plain)
            tracker.add(raw=len(plain), stored=0, current_table=None, tables=0)
        sink.close()
    except BrokenPipeError:
        pass  # the client died; its exit status and stderr say why
    except (StorageError, ValueError) as exc:
        loader.kill()
        raise PipelineError("restore", str(exc), loader.stderr.tail()) from exc
    code = loader.wait()
    if code != 0 or loader.stderr.error_lines:
        raise PipelineError("restore", f"mariadb exited with status {code}", loader.stderr.tail())


def scratch_name(backup_id: str) -> str:
    """A unique throwaway database name for one verification."""
    return f"bkverify_{backup_id.replace('-', '')[:12]}_{secrets.token_hex(3)}"


def verify_by_restore(
    *,
    server: MariaDBTarget,
    storage: Storage,
    location: str,
    codec: str,
    backup_id: str,
    expected_inventory: dict[str, Any],
    progress: ProgressCallback | None = None,
    expected_raw_bytes: int | None = None,
    volatile: frozenset[str] = frozenset(),
) -> VerificationResult:
    """Load the backup into a scratch database, compare it with the dump-time inventory, drop it."""
    scratch = scratch_name(backup_id)
    scratch_target = server.with_database(scratch)
    try:
        inventory.create_database(server, scratch)
        seconds = load_into(
            target=scratch_target,
            storage=storage,
            location=location,
            codec=codec,
            progress=progress,
            expected_raw_bytes=expected_raw_bytes,
        ).seconds
        restored = inventory.take_inventory(scratch_target)
    except (PipelineError, pymysql.MySQLError, StorageError) as exc:
        return VerificationResult(False, "restore", {"error": str(exc)[-2000:]})
    finally:
        inventory.drop_database(server, scratch)
    problems = inventory.compare_inventories(expected_inventory, restored, volatile=volatile)
    details = {
        "changed_during_dump": sorted(volatile),
        "scratch_database": scratch,
        "problems": problems,
        "tables": len(restored["tables"]),
        "rows": sum(t["rows"] for t in restored["table_data"].values()),
        "restored_fingerprint": restored["table_data"],
    }
    return VerificationResult(not problems, "restore", details, restore_seconds=seconds)
