"""A backup job's lease on its row: one heartbeat thread per process, in every phase."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from services.backups.dump.job_control import LEASE_LOST_REASON, SHUTDOWN_REASON, JobControl
from shared.models import BackupLog

_log = logging.getLogger(__name__)

# Three heartbeats may be missed (a slow commit, a GC pause, a database failover) before the
# lease lapses and the sweep may fail the row; the row is never judged by time since start.
MISSED_HEARTBEATS = 3


def new_owner() -> str:
    """A lease owner naming the host and process (for an operator) and unique to one run."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def held_by(backup_id: str, owner: str) -> tuple[Any, ...]:
    """SQL conditions: the row of `backup_id` while `owner` still holds its lease (a lapsed
    lease taken over by the sweep names the sweep, and the job may write nothing more)."""
    return (
        BackupLog.id == backup_id,
        BackupLog.status == "in_progress",
        BackupLog.lease_owner == owner,
    )


class LeaseKeeper:
    """One thread per process renewing the lease of every backup it holds, queued or running.

    It runs apart from the job's own thread, so a job blocked in a pre-dump query behind a
    table lock still heartbeats; a process that dies stops them all, and its leases lapse.
    """

    def __init__(self, session_factory: sessionmaker[Session], heartbeat_seconds: float) -> None:
        self._session_factory = session_factory
        self.heartbeat_seconds = heartbeat_seconds
        self._lock = threading.Lock()
        self._held: dict[str, tuple[str, JobControl]] = {}
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def ttl(self) -> timedelta:
        """How long a lease lasts without a heartbeat."""
        return timedelta(seconds=self.heartbeat_seconds * MISSED_HEARTBEATS)

    def expiry(self) -> datetime:
        """When a lease renewed now lapses."""
        return datetime.now(UTC) + self.ttl

    def hold(self, backup_id: str, owner: str) -> JobControl:
        """Heartbeat `backup_id` from now on (the same control when already held)."""
        with self._lock:
            if backup_id not in self._held:
                self._held[backup_id] = (owner, JobControl())
            control = self._held[backup_id][1]
            if self._stopping:
                control.stop(SHUTDOWN_REASON)
            if self._thread is None or not self._thread.is_alive():  # none yet, or forked
                self._thread = threading.Thread(target=self._beat, name="backup-lease", daemon=True)
                self._thread.start()
        return control

    def release(self, backup_id: str) -> None:
        """Stop heartbeating `backup_id` (its final status is written, or cannot be)."""
        with self._lock:
            self._held.pop(backup_id, None)

    def held(self) -> dict[str, str]:
        """backup id -> lease owner of every backup this process still holds."""
        with self._lock:
            return {backup_id: owner for backup_id, (owner, _) in self._held.items()}

    def _beat(self) -> None:
        while True:
            time.sleep(self.heartbeat_seconds)
            self.renew()

    def renew(self) -> None:
        """Extend every held lease; a lease found taken over stops its job."""
        for backup_id, (owner, control) in list(self._snapshot().items()):
            try:
                kept = self._extend(backup_id, owner)
            except SQLAlchemyError as exc:  # the lease may lapse; the job notices at its end
                _log.warning("lease of backup %s not renewed: %s", backup_id, type(exc).__name__)
                continue
            if not kept:
                _log.warning("backup %s lost its lease; stopping it", backup_id)
                control.stop(LEASE_LOST_REASON)
                self.release(backup_id)

    def _snapshot(self) -> dict[str, tuple[str, JobControl]]:
        with self._lock:
            return dict(self._held)

    def _extend(self, backup_id: str, owner: str) -> bool:
        with self._session_factory.begin() as session:
            result = session.execute(
                update(BackupLog)
                .where(*held_by(backup_id, owner))
                .values(lease_expires_at=self.expiry())
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def stop_all(self, reason: str = SHUTDOWN_REASON) -> None:
        """Tell every held job to stop, and every job held from now on (process shutdown)."""
        with self._lock:
            self._stopping = True
            controls = [control for _, control in self._held.values()]
        for control in controls:
            control.stop(reason)

    def wait_released(self, seconds: float) -> dict[str, str]:
        """Wait up to `seconds` for the held jobs to end; the ones still held."""
        deadline = time.monotonic() + seconds
        while (still := self.held()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return still
