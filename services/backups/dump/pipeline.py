"""The streaming backup: mariadb-dump -> compression -> SHA-256 -> storage, every stage checked."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pymysql

from services.backups.adapters import mariadb_inventory as inventory
from services.backups.adapters.compression import make_compressor
from services.backups.adapters.dump_inventory import DumpInventoryScanner
from services.backups.adapters.dump_privileges import dump_privilege_gaps, source_now
from services.backups.adapters.mariadb_client import (
    ClientProcess,
    MariaDBTarget,
    defaults_file,
    dump_argv,
)
from services.backups.adapters.storage import ArtifactWriter, Storage, StorageError
from services.backups.dump.job_control import stopped_with_job
from services.backups.dump.outcome import DumpOutcome
from services.backups.dump.progress import ProgressCallback, ProgressTracker

TRAILER = b"-- Dump completed"
READ_SIZE = 1 << 20
_HEAD_KEEP = 64 << 10
_CHANGE_MASTER = re.compile(rb"MASTER_LOG_FILE='([^']+)',\s*MASTER_LOG_POS=(\d+)")
_GTID = re.compile(rb"gtid_slave_pos='([^']*)'")
ArgvFactory = Callable[[str, str, bool], list[str]]


class PipelineError(Exception):
    """A stage failed; `stage` names it and `stderr_tail` carries what the program said."""

    def __init__(self, stage: str, message: str, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.stderr_tail = stderr_tail

    def __str__(self) -> str:
        """One message for error_message fields: what failed, then the stderr tail."""
        text = f"{self.stage}: {self.message}"
        return f"{text}\n{self.stderr_tail}" if self.stderr_tail else text


@dataclass(frozen=True)
class SourceFacts:
    """What the preflight learned about the source database, all read on one connection."""

    server_version: str | None
    log_bin: bool
    inventory: dict[str, Any]
    warnings: list[str]
    estimated_bytes: int | None


def binlog_position(head: bytes) -> str | None:
    """The `file:pos` and/or GTID that --master-data=2 --gtid wrote as comments in the header."""
    found = []
    if match := _CHANGE_MASTER.search(head):
        found.append(f"{match.group(1).decode()}:{int(match.group(2))}")
    if match := _GTID.search(head):
        found.append(f"gtid={match.group(1).decode()}")
    return " ".join(found) or None


def _preflight(target: MariaDBTarget, storage: Storage, fingerprint: bool) -> SourceFacts:
    try:
        storage.preflight()
    except StorageError as exc:
        raise PipelineError("storage", str(exc)) from exc
    try:
        # Every check shares one connection: each connect is an auth round trip (and a TLS
        # handshake) to the server being backed up, and a slot in its max_connections.
        # A stopped job must not wait out a pre-dump query blocked behind a table lock.
        with (
            inventory.connect(target, database=target.database) as conn,
            conn.cursor() as cur,
            stopped_with_job(partial(_kill_query, target, conn.thread_id())),
        ):
            return _read_source(cur, target.database, fingerprint)
    except pymysql.MySQLError as exc:
        raise PipelineError("connect", f"cannot read the source database: {exc.args[-1]}") from exc


def _kill_query(target: MariaDBTarget, thread_id: int) -> None:
    """Interrupt what connection `thread_id` runs (its own login may; the server answers 1317)."""
    # The query may have ended meanwhile, or the server be gone: then nothing is left to stop.
    with (
        contextlib.suppress(pymysql.MySQLError),
        inventory.connect(target) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("KILL QUERY %s", (int(thread_id),))


def _read_source(cur: Any, schema: str, fingerprint: bool) -> SourceFacts:
    server = inventory.server_facts(cur)
    objects: dict[str, Any] = dict(inventory.object_inventory(cur, schema))
    if gaps := dump_privilege_gaps(cur, schema, objects):
        raise PipelineError("privileges", "; ".join(gaps))
    # Fingerprints (row counts, CHECKSUM TABLE) scan every table: only a restore check needs them.
    if fingerprint:
        objects = dict(inventory.snapshot_inventory(cur, schema))
    objects["table_rows"] = inventory.row_estimates(cur, schema)
    return SourceFacts(
        server_version=server["server_version"],
        log_bin=server["log_bin"],
        inventory=objects,
        warnings=_consistency_warnings(inventory.non_transactional_tables(cur, schema)),
        estimated_bytes=_estimate(cur, schema),
    )


def _consistency_warnings(tables: list[str]) -> list[str]:
    if not tables:
        return []
    return ["not consistent under --single-transaction (not InnoDB): " + ", ".join(tables)]


def _estimate(cur: Any, schema: str) -> int | None:
    # The estimate only sizes the progress bar and the upload parts: it never stops a backup.
    try:
        return inventory.estimated_dump_bytes(cur, schema) or None
    except pymysql.MySQLError:
        return None


class _Stream:
    """The loop that moves bytes from the dump's stdout through compression and hashing."""

    def __init__(self, codec: str, level: int | None, writer: ArtifactWriter) -> None:
        self.compressor = make_compressor(codec, level=level)
        self.sha = hashlib.sha256()
        self.writer = writer
        self.scanner = DumpInventoryScanner()
        self.raw = 0
        self.stored = 0
        self.head = b""
        self.tail = b""
        self.location = ""
        self.inventory: dict[str, Any] | None = None  # set when objects were dropped meanwhile
        self.warnings: list[str] = []

    def push(self, chunk: bytes, tracker: ProgressTracker) -> None:
        self.scanner.feed(chunk)
        if len(self.head) < _HEAD_KEEP:
            self.head += chunk[: _HEAD_KEEP - len(self.head)]
        self.tail = (self.tail + chunk[-256:])[-256:]
        self.raw += len(chunk)
        stored = self._store(self.compressor.compress(chunk))
        tables = self.scanner.tables_with_structure
        tracker.add(
            raw=len(chunk), stored=stored, current_table=self.scanner.current_table, tables=tables
        )

    def finish(self, tracker: ProgressTracker) -> None:
        self.scanner.finish()
        stored = self._store(self.compressor.flush())
        tracker.add(
            raw=0, stored=stored, current_table=None, tables=self.scanner.tables_with_structure
        )

    def _store(self, data: bytes) -> int:
        if data:
            self.sha.update(data)
            self.writer.write(data)
            self.stored += len(data)
        return len(data)


def _check_dump(stream: _Stream, dump: ClientProcess, code: int) -> None:
    tail = dump.stderr.tail()
    if code != 0:
        raise PipelineError("dump", f"mariadb-dump exited with status {code}", tail)
    if dump.stderr.error_lines:
        raise PipelineError("dump", "mariadb-dump reported errors on stderr", tail)
    if TRAILER not in stream.tail:
        raise PipelineError("dump", "dump is incomplete: no '-- Dump completed' trailer", tail)
    if not stream.scanner.finish().structures:
        raise PipelineError("dump", "dump is empty: it contains no tables", tail)


def _check_complete(stream: _Stream, target: MariaDBTarget, facts: SourceFacts) -> None:
    """Every object of the inventory is in the dump, or was dropped before the dump got to it.

    mariadb-dump leaves out what its login may not see and still exits 0 with a clean stderr.
    A missing object is excused only when the source no longer has it and the login has
    lost no privilege: a revoke looks like a drop to the login it hides things from.
    """
    contents = stream.scanner.finish()
    if not (missing := contents.missing_from(facts.inventory)):
        return
    try:
        now, gaps = source_now(target)
    except pymysql.MySQLError as exc:
        gaps = [f"the source could not be read again: {exc.args[-1]}"]
    if gaps:
        raise PipelineError("completeness", "; ".join([*missing, *gaps]))
    gone = {
        kind: set(facts.inventory.get(kind, [])) - set(names) - contents.named(kind)
        for kind, names in now.items()
        if kind != "tables_without_data"  # a subset of tables, named there
    }
    kept = {kind: sorted(set(facts.inventory.get(kind, [])) - gone[kind]) for kind in gone}
    if still_missing := contents.missing_from(kept):
        raise PipelineError("completeness", "; ".join(still_missing))
    stream.inventory = {**facts.inventory, **kept}
    dropped = [f"{kind} {', '.join(sorted(names))}" for kind, names in gone.items() if names]
    stream.warnings.append("dropped while the dump ran (not in the backup): " + "; ".join(dropped))


def run_mariadb_backup(
    *,
    target: MariaDBTarget,
    storage: Storage,
    artifact_name: str,
    codec: str = "zstd",
    level: int | None = None,
    progress: ProgressCallback | None = None,
    expected_bytes: int | None = None,
    progress_interval: float = 1.0,
    argv_factory: ArgvFactory | None = None,
    fingerprint_tables: bool = True,
) -> DumpOutcome:
    """Dump `target` into `storage` as one stream; raise PipelineError with nothing left behind."""
    started = time.monotonic()
    facts = _preflight(target, storage, fingerprint_tables)
    expected = expected_bytes or facts.estimated_bytes
    tracker = ProgressTracker(
        progress, phase="dumping", expected_bytes=expected, interval=progress_interval
    ).start()
    try:
        stream = _run_stream(
            target,
            storage,
            artifact_name,
            codec,
            level,
            tracker,
            facts,
            argv_factory or dump_argv,
            expected,
        )
    finally:
        tracker.stop()
    return DumpOutcome(
        location=stream.location,
        stored_bytes=stream.stored,
        raw_bytes=stream.raw,
        checksum_sha256=stream.sha.hexdigest(),
        compression=codec,
        tables_dumped=stream.scanner.tables_with_structure,
        server_version=facts.server_version,
        binlog_position=binlog_position(stream.head),
        inventory=stream.inventory or facts.inventory,
        seconds=round(time.monotonic() - started, 3),
        warnings=[*facts.warnings, *stream.warnings],
    )


def _run_stream(
    target: MariaDBTarget,
    storage: Storage,
    name: str,
    codec: str,
    level: int | None,
    tracker: ProgressTracker,
    facts: SourceFacts,
    argv_factory: ArgvFactory,
    expected_bytes: int | None,
) -> _Stream:
    try:
        writer = storage.open_writer(name, expected_bytes)
    except StorageError as exc:
        raise PipelineError("storage", str(exc)) from exc
    stream = _Stream(codec, level, writer)
    with defaults_file(target) as cnf:
        try:
            dump = ClientProcess(argv_factory(cnf, target.database, facts.log_bin), stdout=-1)
        except OSError as exc:
            writer.abort()
            raise PipelineError("dump", f"cannot start mariadb-dump: {exc.strerror}") from exc
        try:
            with stopped_with_job(dump.proc.kill):  # a stopped job ends its dump at once
                _pump(dump, stream, tracker)
                code = dump.wait()
            _check_dump(stream, dump, code)
            _check_complete(stream, target, facts)
            stream.finish(tracker)
            stream.location = writer.commit().location
        except StorageError as exc:
            dump.kill()
            writer.abort()
            raise PipelineError("storage", str(exc), dump.stderr.tail()) from exc
        except BaseException:
            dump.kill()
            writer.abort()
            raise
    return stream


def _pump(dump: ClientProcess, stream: _Stream, tracker: ProgressTracker) -> None:
    assert dump.proc.stdout is not None
    # A raw pipe read returns ~16 KiB at a time; gathering 1 MiB per step cuts the per-chunk
    # Python work (marker scan, hashing, progress) about 60-fold.
    source = io.BufferedReader(dump.proc.stdout, buffer_size=READ_SIZE)  # type: ignore[type-var]
    while chunk := source.read(READ_SIZE):
        stream.push(chunk, tracker)
