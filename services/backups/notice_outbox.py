"""The notice outbox: a backup's notice (failed, warning, verified) is a row until integrations
has it.

The row is staged in the transaction that writes the backup's final status, so a notice exists
exactly when the status does; it is delivered after the commit, and what stays pending (say,
integrations was down) is retried with exponential backoff by run-due. After the last attempt
it is failed, and `GET /v1/backups?notice=failed` lists its backup. A backup with several
notices (a warning and a verified one) shows the worst of them on its row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from services.backups.notify import IntegrationsNotifier, NoticeNotTaken
from shared.models import BackupLog, utcnow
from shared.models.backups import BackupNotice
from shared.redaction import redact_text

_log = logging.getLogger(__name__)

# An attempt owns its notice this long: longer than its requests can take (connect + read
# timeouts, twice), so two deliverers never send the same notice at the same time.
CLAIM_SECONDS = 60.0
# The backup row shows its worst notice: a delivered verified notice never hides a failed one.
_WORSE = {"delivered": 0, "pending": 1, "failed": 2}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how far apart a notice is tried: first_delay, doubling, capped."""

    max_attempts: int = 8
    first_delay: float = 30.0
    longest_delay: float = 3600.0

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt."""
        return timedelta(seconds=min(self.first_delay * 2 ** (attempts - 1), self.longest_delay))


@dataclass
class DeliveryRound:
    """What one delivery pass did, by backup id."""

    delivered: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass
class _Attempt:
    parts_done: int
    error: str | None = None
    for_good: bool = False


class NoticeOutbox:
    """Stages notices in the caller's transaction (the one that writes the backup's final
    status: the job's, the shutdown's or the sweep's) and delivers them after its commit."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        sender: IntegrationsNotifier,
        policy: RetryPolicy | None = None,
        redact: Callable[[str], str] = redact_text,
        *,
        notify_verified: bool = True,
    ) -> None:
        self._session_factory = session_factory
        self._sender = sender
        self.policy = policy or RetryPolicy()
        self._redact = redact
        self.notify_verified = notify_verified

    def stage(
        self, session: Session, *, backup: dict[str, Any], kind: str, warning: str = ""
    ) -> None:
        """Add the notice of `backup` to the caller's transaction (once per backup and kind;
        a backup_verified one only while BACKUP_NOTIFY_VERIFIED is on)."""
        if kind == "backup_verified" and not self.notify_verified:
            return
        _lock_backup(session, backup["id"])
        taken = select(BackupNotice.id).where(
            BackupNotice.backup_id == backup["id"], BackupNotice.kind == kind
        )
        if session.scalars(taken).first() is not None:
            return
        requests = self._requests(backup, kind, warning)
        session.add(BackupNotice(backup_id=backup["id"], kind=kind, requests=requests))
        session.flush()
        _show_worst_notice(session, backup["id"])

    def _requests(self, backup: dict[str, Any], kind: str, warning: str) -> list[dict[str, Any]]:
        if kind == "backup_warning":
            return self._sender.warning_requests(backup, warning)
        if kind == "backup_verified":
            return self._sender.verified_requests(backup)
        return self._sender.failure_requests(backup)

    def deliver(
        self, *, backup_id: str | None = None, now: datetime | None = None, limit: int = 50
    ) -> DeliveryRound:
        """Try the due notices (of one backup, or all), oldest first; never raises.

        A round stops at the first notice integrations could not be reached for: the rest
        would only wait for the same timeout, and keep their turn for the next round.
        """
        done = DeliveryRound()
        try:
            for notice_id in self._due(backup_id, now or utcnow(), limit):
                if not self._deliver_one(notice_id, done):
                    break
        except SQLAlchemyError as exc:  # the database is down: the notices wait in it
            _log.warning("notices not delivered: %s", type(exc).__name__)
        return done

    def _due(self, backup_id: str | None, now: datetime, limit: int) -> list[str]:
        query = select(BackupNotice.id).where(
            BackupNotice.status == "pending", BackupNotice.next_attempt_at <= now
        )
        if backup_id is not None:
            query = query.where(BackupNotice.backup_id == backup_id)
        with self._session_factory() as session:
            return list(session.scalars(query.order_by(BackupNotice.next_attempt_at).limit(limit)))

    def _deliver_one(self, notice_id: str, done: DeliveryRound) -> bool:
        claimed = self._claim(notice_id)
        if claimed is None:
            return True  # another deliverer has it, or had it
        backup_id, requests, parts_done, attempts = claimed
        attempt = self._attempt(requests, parts_done)
        status = self._record(notice_id, backup_id, attempts, attempt)
        getattr(done, status).append(backup_id)
        return attempt.error is None or attempt.for_good

    def _claim(self, notice_id: str) -> tuple[str, list[dict[str, Any]], int, int] | None:
        now = utcnow()
        with self._session_factory.begin() as session:
            taken = session.execute(
                update(BackupNotice)
                .where(
                    BackupNotice.id == notice_id,
                    BackupNotice.status == "pending",
                    BackupNotice.next_attempt_at <= now,
                )
                .values(
                    attempts=BackupNotice.attempts + 1,
                    next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
                )
            ).rowcount  # type: ignore[attr-defined]
            if not taken:
                return None
            row = session.get(BackupNotice, notice_id)
            assert row is not None
            return row.backup_id, list(row.requests), row.parts_done, row.attempts

    def _attempt(self, requests: list[dict[str, Any]], parts_done: int) -> _Attempt:
        attempt = _Attempt(parts_done)
        for request in requests[parts_done:]:
            try:
                self._sender.send(request)
            except NoticeNotTaken as exc:
                attempt.error = self._redact(f"{request['path']}: {exc}")[:500]
                attempt.for_good = exc.for_good
                return attempt
            attempt.parts_done += 1
        return attempt

    def _record(self, notice_id: str, backup_id: str, attempts: int, attempt: _Attempt) -> str:
        now = utcnow()
        if attempt.error is None:
            status = "delivered"
        elif attempt.for_good or attempts >= self.policy.max_attempts:
            status = "failed"
        else:
            status = "pending"
        values: dict[str, Any] = {
            "status": status,
            "parts_done": attempt.parts_done,
            "last_error": attempt.error,
            "delivered_at": now if status == "delivered" else None,
        }
        if status == "pending":
            values["next_attempt_at"] = now + self.policy.delay(attempts)
        with self._session_factory.begin() as session:
            _lock_backup(session, backup_id)
            session.execute(update(BackupNotice).where(BackupNotice.id == notice_id).values(values))
            _show_worst_notice(session, backup_id)
        if status == "failed":
            _log.error("backup %s: its notice failed for good: %s", backup_id, attempt.error)
        return status

    def restore_finished(self, *, restore: dict[str, Any]) -> dict[str, Any]:
        """A restore's end, sent once now (its row records whether the audit heard it)."""
        return self._sender.restore_finished(restore=restore)


def _lock_backup(session: Session, backup_id: str) -> None:
    """Take the backup row first: whoever changes one of its notices then reads all of them
    after the others' changes, and always in this order (no deadlock between the two)."""
    session.execute(select(BackupLog.id).where(BackupLog.id == backup_id).with_for_update())


def _show_worst_notice(session: Session, backup_id: str) -> None:
    """backup_log's notice columns from the worst of the backup's notices (the caller holds
    the backup row, see _lock_backup): failed, then pending, then delivered; among equals,
    the one tried most."""
    notices = session.execute(
        select(BackupNotice.status, BackupNotice.attempts, BackupNotice.last_error)
        .where(BackupNotice.backup_id == backup_id)
        .with_for_update()
    ).all()
    if not notices:
        return
    worst = max(notices, key=lambda notice: (_WORSE[notice.status], notice.attempts))
    session.execute(
        update(BackupLog)
        .where(BackupLog.id == backup_id)
        .values(
            notice_status=worst.status,
            notice_attempts=worst.attempts,
            notice_error=worst.last_error,
        )
    )
